//! The raw command-line flags of `flow`, `flow sweep` and `flow asic` (clap, all
//! strings), before any validation ([`crate::config`] checks them). Below the
//! commands that read them (`cli`, `sweep`, `asic`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use gencli::flags::{ArrayFlags, EngineFlags, MaxpoolFlags};

use crate::config::{RawDesign, RawFlow};

#[derive(Parser, Debug)]
#[command(
    name = "flow",
    version,
    about = "Synthesize, place and route the accelerator on an FPGA board (yosys + nextpnr)",
    long_about = "Synthesize, place and route the accelerator on an FPGA board (yosys + nextpnr).\n\
                  Writes a build folder with the Verilog, constraints, scripts, commands.sh, every \
                  tool log, report.json and summary.md. Exits 1 when a tool fails, the design does \
                  not fit or timing is missed (unless --allow-timing-fail), 2 on usage errors.",
    args_conflicts_with_subcommands = true
)]
pub struct RawCli {
    #[command(subcommand)]
    pub cmd: Option<RawCmd>,
    #[command(flatten)]
    pub run: RawRunArgs,
}

#[derive(Subcommand, Debug)]
pub enum RawCmd {
    /// Run the flow over several sizes; write a CSV, a Markdown table and an SVG plot
    Sweep(RawSweepArgs),
    /// Technology-independent estimate: yosys generic synthesis, transistor count, logic depth
    Asic(RawAsicArgs),
}

/// Flags of one flow run.
#[derive(Args, Debug, Default)]
#[command(
    mut_arg("rows", |a| a.help("Array: PE rows, 1..=256 (maxpool: its channels, or --channels)")),
    mut_arg("channels", |a| a.help("Max-pool: channels per pixel, 1..=256 (or --rows)")),
    mut_arg("width", |a| a.help("Max-pool: image width in pixels, 1..=4096 (default 28)")),
    mut_arg("mem_bits", |a| a.help("Engine: memory port width in bits: 32, 64 or 128 (flow default 32)")),
    mut_arg("max_inflight", |a| a.help("Engine: reads kept in flight, a power of two in 4..=256 (flow default 4)")),
    mut_arg("ibuf_bytes", |a| a.help("Engine: input buffer bytes, a multiple of the chunk, at least 2 chunks (flow default 1024)")),
    mut_arg("wbuf_rows", |a| a.help("Engine: weight buffer rows per bank, a power of two in 2..=65536 (flow default 256)"))
)]
pub struct RawRunArgs {
    /// Board name (see `boards/*.toml`)
    #[arg(long, value_name = "NAME")]
    pub board: Option<String>,
    // The blocks' flags, as in `gen`; `--rows` is also a max-pool's channels.
    #[command(flatten)]
    pub array: ArrayFlags,
    #[command(flatten)]
    pub maxpool: MaxpoolFlags,
    #[command(flatten)]
    pub engine: EngineFlags,
    /// Core clock target in MHz (default: the board clock, no PLL)
    #[arg(long, value_name = "MHZ", allow_negative_numbers = true)]
    pub freq: Option<String>,
    /// nextpnr seeds, comma separated (default 1)
    #[arg(long, value_name = "N,N,..")]
    pub seeds: Option<String>,
    /// Block to build: array (in the board top), maxpool or array-ooc (the array alone, out of context)
    #[arg(long, value_name = "BLOCK")]
    pub design: Option<String>,
    /// Print the files and commands without writing or running anything
    #[arg(long)]
    pub plan_only: bool,
    /// Build folder (default build/<board>-<design>-<size>)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Exit 0 and keep the bitstream even when timing is missed
    #[arg(long)]
    pub allow_timing_fail: bool,
}

/// Flags of `flow sweep`.
#[derive(Args, Debug, Default)]
pub struct RawSweepArgs {
    #[arg(long, value_name = "NAME")]
    pub board: Option<String>,
    /// Sizes, comma separated: array rows = cols (maxpool: channels)
    #[arg(long, value_name = "N,N,..")]
    pub rows: Option<String>,
    /// Blocks, comma separated: array, maxpool, array-ooc (default array)
    #[arg(long, value_name = "LIST")]
    pub designs: Option<String>,
    /// Array PE pipeline depths, comma separated, 0..=4 (default 0): each array runs at each
    #[arg(long, value_name = "N,N,..", allow_negative_numbers = true)]
    pub pipeline: Option<String>,
    /// Array multipliers: dsp, lut or auto (default auto)
    #[arg(long, value_name = "STYLE")]
    pub mul: Option<String>,
    /// Array DSP cell: infer, ecp5 or ice40 (two PEs per SB_MAC16); default: the
    /// board's (ecp5 on ECP5 from pipeline 3, otherwise infer)
    #[arg(long, value_name = "CELL")]
    pub dsp_cell: Option<String>,
    /// Core clock target in MHz (default: the board clock)
    #[arg(long, value_name = "MHZ", allow_negative_numbers = true)]
    pub freq: Option<String>,
    /// nextpnr seeds per point, comma separated (default 1)
    #[arg(long, value_name = "N,N,..")]
    pub seeds: Option<String>,
    /// Output folder (default build/sweep-<board>)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Flags of `flow asic`.
#[derive(Args, Debug, Default)]
#[command(
    mut_arg("rows", |a| a.help("Array: PE rows, 1..=256 (maxpool: its channels, or --channels)")),
    mut_arg("channels", |a| a.help("Max-pool: channels per pixel, 1..=256 (or --rows)")),
    mut_arg("width", |a| a.help("Max-pool: image width in pixels, 1..=4096 (default 28)"))
)]
pub struct RawAsicArgs {
    #[command(flatten)]
    pub array: ArrayFlags,
    #[command(flatten)]
    pub maxpool: MaxpoolFlags,
    #[arg(long, value_name = "BLOCK")]
    pub design: Option<String>,
    /// Clock target in MHz for ABC's delay-driven mapping (abc -D); default 500
    #[arg(long, value_name = "MHZ", allow_negative_numbers = true)]
    pub freq: Option<String>,
    /// Assumed delay of one 2-input gate in ps, to turn logic depth into a clock estimate
    #[arg(long, value_name = "PS", allow_negative_numbers = true)]
    pub gate_ps: Option<String>,
    /// Output folder (default build/asic-<design>-<size>)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl RawRunArgs {
    pub fn to_raw_flow(&self) -> RawFlow {
        RawFlow {
            board: self.board.clone(),
            design: RawDesign {
                design: self.design.clone(),
                array: self.array.clone(),
                maxpool: self.maxpool.clone(),
                engine: self.engine.clone(),
            },
            freq: self.freq.clone(),
            seeds: self.seeds.clone(),
            out: self.out.clone(),
            allow_timing_fail: self.allow_timing_fail,
        }
    }
}
