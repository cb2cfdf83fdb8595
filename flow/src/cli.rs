//! The command line: raw flags (clap, all strings) -> validated configuration ->
//! the library -> stdout (the product: plan, result line, file paths) and stderr
//! (progress and diagnostics). Usage errors exit 2 with one line; failures
//! (tool, fit, timing) exit 1.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, RawDesign, RawFlow};
use crate::error::FlowError;

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
pub struct RawRunArgs {
    /// Board name (see `boards/*.toml`)
    #[arg(long, value_name = "NAME")]
    pub board: Option<String>,
    /// Array PE rows, 1..=256 (maxpool: channels)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub rows: Option<String>,
    /// Array PE columns (default: same as --rows)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub cols: Option<String>,
    /// Core clock target in MHz (default: the board clock, no PLL)
    #[arg(long, value_name = "MHZ", allow_negative_numbers = true)]
    pub freq: Option<String>,
    /// Array PE pipeline depth, 0..=4 (default 0)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub pipeline: Option<String>,
    /// Array multipliers: dsp, lut or auto (default auto: the board's DSP blocks first)
    #[arg(long, value_name = "STYLE")]
    pub mul: Option<String>,
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
pub struct RawAsicArgs {
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub rows: Option<String>,
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub cols: Option<String>,
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
                rows: self.rows.clone(),
                cols: self.cols.clone(),
                pipeline: self.pipeline.clone(),
                mul: self.mul.clone(),
            },
            freq: self.freq.clone(),
            seeds: self.seeds.clone(),
            out: self.out.clone(),
            allow_timing_fail: self.allow_timing_fail,
        }
    }
}

/// Write the product to stdout; a closed pipe (`flow ... | head`) is not an error.
pub(crate) fn print_out(text: &str) -> Result<(), FlowError> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(FlowError::io("cannot write to stdout", e)),
    }
}

fn progress_to_stderr(msg: &str) {
    eprintln!("flow: {msg}");
}

/// One flow run (the default command).
pub fn run(args: &RawRunArgs) -> Result<(), FlowError> {
    let cfg = config::flow_from(&args.to_raw_flow())?;
    if args.plan_only {
        let plan = crate::plan_for(&cfg, false)?;
        return print_out(&plan.describe());
    }
    let outcome = crate::run_flow(&cfg, &progress_to_stderr)?;
    print_out(&format!(
        "{}\nreport: {}\nsummary: {}\n",
        crate::exec::result_line(&outcome.report),
        crate::exec::report_path(&cfg.out_dir).display(),
        cfg.out_dir.join(crate::plan::names::SUMMARY).display()
    ))?;
    match outcome.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Parse the process arguments and run; returns the exit status.
pub fn main() -> i32 {
    let cli = match RawCli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return 0;
            }
            // One line: clap's first line names the flag and the value.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments").trim();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("flow: error: {first} (see flow --help)");
            return 2;
        }
    };
    let result = match &cli.cmd {
        None => run(&cli.run),
        Some(RawCmd::Sweep(s)) => crate::sweep::run_cli(s),
        Some(RawCmd::Asic(a)) => crate::asic::run_cli(a),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("flow: error: {e}");
            e.exit_code()
        }
    }
}
