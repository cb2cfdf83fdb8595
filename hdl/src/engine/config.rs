//! `EngineConfig`: the one configuration of the conv/FC engine, validated in one
//! place, with every derived number computed here.

use serde::Serialize;

use crate::array::{ArrayConfig, DspCell, MulStyle};
use crate::{check_name, check_range, ConfigError};

/// Largest array side the engine supports (its tile counters and the
/// `config0.rows`/`cols` fields are 8 bits).
pub const MAX_DIM: u32 = 64;

/// User-facing parameters of the engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EngineConfig {
    /// Name of the top module; sub-modules are prefixed with it.
    pub name: String,
    /// Array rows = output pixels per tile (1..=64).
    pub rows: u32,
    /// Array columns = output channels per tile (1..=64).
    pub cols: u32,
    /// Memory port width in bits: 32, 64 or 128.
    pub mem_bits: u32,
    /// The array's PE pipeline depth (`gen --pipeline`).
    pub pipeline: u32,
    /// The array's multiplier style (`gen --mul`).
    pub mul: MulStyle,
    /// With `mul = auto`: PEs (row-major) with the DSP-style multiplier.
    pub dsp_limit: u32,
    /// How the DSP-style multipliers are written (`gen --dsp-cell`). With
    /// `ice40` the requantization's product is two instantiated `SB_MAC16`
    /// per unit as well (`requant::Product::Ice40`).
    pub dsp_cell: DspCell,
    /// Depth of the read-tag FIFO: reads the engine keeps in flight at once
    /// (a power of two, 4..=256). It must cover the memory's latency for full
    /// speed: with latency L the port stays busy when this is at least L + 2.
    pub max_inflight: u32,
    /// Input buffer bytes (block RAM, a multiple of `mem_bits/8`, at most 65,536
    /// words): a layer whose whole input fits is read from memory once and its
    /// im2col reads come from this buffer; a larger input streams from memory.
    pub ibuf_bytes: u32,
    /// Weight buffer rows of COLS bytes per bank (a power of two, 2..=65,536;
    /// two banks in block RAM): a layer with `k_h*k_w*in_c` up to this keeps a
    /// group's weights on chip, read once per layer, and loads the next group's
    /// into the other bank while it computes; a deeper reduction streams its
    /// weights from memory per tile.
    pub wbuf_rows: u32,
    /// Requantization units (`gen --requant-lanes`): a row of results leaving
    /// the array is requantized and merged into the running max `L` columns a
    /// cycle, over `cols / L` cycles. `None` (the default) is one unit per
    /// column (`L = cols`), the fastest and largest: on iCE40 one unit is
    /// ~1.8k LUT4. Must be in 1..=cols and divide cols. Not serialized when
    /// `None`, so the default engine's manifest and Verilog banner stay as
    /// they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requant_lanes: Option<u32>,
    /// Every FIFO of depth 4 or more in block RAM (`gen --fifo-ram`): the
    /// request, tag and tile-info FIFOs (and the write-job FIFO from 4 rows)
    /// leave the logic fabric, for the small FPGAs, at `ceil(width/16)`
    /// iCE40 RAM40 blocks each and a cycle more from an empty FIFO to its output (`compiler::timing` models
    /// both storages). Off: block RAM only for the tag FIFO from 32 entries
    /// and the write-job FIFO from 8 rows. The depth-2 FIFOs stay registers
    /// (a block-RAM FIFO needs 3 words to stream one word a clock). Not in
    /// the configuration record when off, so older configurations print the
    /// same.
    #[serde(skip_serializing_if = "is_false")]
    pub fifo_ram: bool,
    /// Bits of the byte address space (`gen --addr-bits`, 12..=32; default
    /// 32, the whole port): with fewer, every address register and adder
    /// inside the engine is this wide, and a layer or descriptor list past
    /// `2^addr_bits` is refused with `address_wrap` (the manifest's
    /// `limits.addr_bits`, which the compiler reads). A board top sets it to
    /// its memory's size, so a stray address is refused instead of aliasing.
    /// Not in the configuration record at 32.
    #[serde(skip_serializing_if = "is_full_space")]
    pub addr_bits: u32,
    /// A register stage in the output path after the requantization's
    /// product (`gen --out-pipe`): the product, and the rounding, shift,
    /// clamp and running max after it, are no longer one clock's path (the
    /// longest on an FPGA); a row's write job leaves one cycle later and a
    /// full write-job FIFO holds the stage (`compiler::timing` models it).
    /// Not in the configuration record when off.
    #[serde(skip_serializing_if = "is_false")]
    pub out_pipe: bool,
    /// The staging ring in block RAM (`gen --staging-ram`): a RAM per array
    /// row for the A bytes and one for the B rows (every byte lane its own
    /// memory, `parts::ram`), read a cycle ahead of the beat with the write
    /// of that cycle forwarded, and a written flag per row (A) and column (B)
    /// per half for the bytes a chunk leaves unwritten (read as zero). Same
    /// cycles as the registers; instead of `4 * (ROWS + COLS) * CB` bytes of
    /// flip-flops and their load muxes it takes `(ROWS + COLS) * CB` byte
    /// lanes of block RAM, for the small FPGAs. Not in the configuration
    /// record when off.
    #[serde(skip_serializing_if = "is_false")]
    pub staging_ram: bool,
    /// How the checks and the schedule are run (`gen --control`): state
    /// machines and per-layer hardware (`fsm`, the default), or a
    /// micro-sequencer running a program (`micro`, `engine::micro`): the
    /// area-first engine for the small FPGAs, same contract, no input or
    /// weight buffer, slower. Not in the configuration record for `fsm`.
    #[serde(skip_serializing_if = "Control::is_fsm")]
    pub control: Control,
}

/// The engine's control (`EngineConfig::control`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Control {
    #[default]
    Fsm,
    Micro,
}

impl Control {
    fn is_fsm(&self) -> bool {
        *self == Control::Fsm
    }

    pub fn parse(s: &str) -> Result<Control, ConfigError> {
        match s {
            "fsm" => Ok(Control::Fsm),
            "micro" => Ok(Control::Micro),
            other => Err(ConfigError::new(
                "control",
                "must be one of fsm, micro",
                format!("`{other}`"),
            )),
        }
    }
}

/// Largest array side of the micro-sequenced engine (its program unrolls
/// per row and column; registers run out past it).
pub const MICRO_MAX_DIM: u32 = 8;

/// Largest address space of the micro-sequenced engine: bit 31 of a lane
/// address marks a padded row.
pub const MICRO_MAX_ADDR_BITS: u32 = 31;

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_full_space(bits: &u32) -> bool {
    *bits == contracts::engine::PORT_ADDR_BITS
}

/// Fewest address bits a build may have: a 4 KiB space, the smallest board
/// memory (the HX8K's block RAM); a smaller one would leave a layer little
/// room beside its descriptor and records.
pub const MIN_ADDR_BITS: u32 = 12;

/// Where the engine keeps each of its FIFOs: true for block RAM. The one rule,
/// used by the generator; `compiler::timing` mirrors it (the `engine_model`
/// sweep checks the two agree cycle for cycle).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FifoStorage {
    pub rq: bool,
    pub tag: bool,
    pub info: bool,
    pub wjob: bool,
    pub wr: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            name: "engine".into(),
            rows: 8,
            cols: 8,
            mem_bits: 64,
            pipeline: 0,
            mul: MulStyle::Dsp,
            dsp_limit: 0,
            dsp_cell: DspCell::Infer,
            max_inflight: 64,
            ibuf_bytes: 128 * 1024,
            wbuf_rows: 2048,
            requant_lanes: None,
            fifo_ram: false,
            addr_bits: contracts::engine::PORT_ADDR_BITS,
            out_pipe: false,
            staging_ram: false,
            control: Control::Fsm,
        }
    }
}

/// Numbers derived from an [`EngineConfig`]; written to the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EngineDerived {
    /// Bytes per memory word (`mem_bits / 8`), also the staging chunk: the
    /// input channels one chunk of array beats covers.
    pub mem_bytes: u32,
    /// Array beats per staging chunk (at most `mem_bytes`).
    pub staging_beats: u32,
    pub csr_addr_bits: u32,
    pub array_macs: u32,
}

impl EngineConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_name("name", &self.name)?;
        check_range("rows", u64::from(self.rows), 1, u64::from(MAX_DIM))?;
        check_range("cols", u64::from(self.cols), 1, u64::from(MAX_DIM))?;
        if ![32, 64, 128].contains(&self.mem_bits) {
            return Err(ConfigError::new(
                "mem_bits",
                "must be one of 32, 64, 128",
                self.mem_bits,
            ));
        }
        if !self.max_inflight.is_power_of_two() || !(4..=256).contains(&self.max_inflight) {
            return Err(ConfigError::new(
                "max_inflight",
                "must be a power of two in 4..=256",
                self.max_inflight,
            ));
        }
        let (mb, cb) = (self.mem_bits / 8, self.chunk_bytes());
        if self.ibuf_bytes % cb != 0 || self.ibuf_bytes / cb < 2 || self.ibuf_bytes / mb > 65536 {
            return Err(ConfigError::new(
                "ibuf_bytes",
                format!(
                    "must be a multiple of {cb} (the chunk), at least 2 chunks and at most 65536 memory words"
                ),
                self.ibuf_bytes,
            ));
        }
        if !self.wbuf_rows.is_power_of_two() || !(2..=65536).contains(&self.wbuf_rows) {
            return Err(ConfigError::new(
                "wbuf_rows",
                "must be a power of two in 2..=65536 (two banks of it are built)",
                self.wbuf_rows,
            ));
        }
        check_range(
            "addr_bits",
            u64::from(self.addr_bits),
            u64::from(MIN_ADDR_BITS),
            u64::from(contracts::engine::PORT_ADDR_BITS),
        )?;
        if let Some(l) = self.requant_lanes {
            if l == 0 || l > self.cols || self.cols % l != 0 {
                return Err(ConfigError::new(
                    "requant_lanes",
                    format!(
                        "must divide cols ({}): one of {}",
                        self.cols,
                        self.lane_choices()
                    ),
                    l,
                ));
            }
        }
        if self.control == Control::Micro {
            check_range("rows", u64::from(self.rows), 1, u64::from(MICRO_MAX_DIM))?;
            check_range("cols", u64::from(self.cols), 1, u64::from(MICRO_MAX_DIM))?;
            check_range(
                "addr_bits",
                u64::from(self.addr_bits),
                u64::from(MIN_ADDR_BITS),
                u64::from(MICRO_MAX_ADDR_BITS),
            )?;
        }
        self.array().validate()
    }

    /// The micro-sequenced engine's program parameters.
    pub fn micro(&self) -> useq::program::UConfig {
        useq::program::UConfig {
            rows: self.rows,
            cols: self.cols,
            mem_bits: self.mem_bits,
            addr_bits: self.addr_bits,
        }
    }

    /// `config2.ibuf_bytes` as built (the micro engine has no input buffer).
    pub fn ibuf_built(&self) -> u32 {
        match self.control {
            Control::Fsm => self.ibuf_bytes,
            Control::Micro => 0,
        }
    }

    /// `config3.wbuf_rows` as built (the micro engine has no weight buffer).
    pub fn wbuf_built(&self) -> u32 {
        match self.control {
            Control::Fsm => self.wbuf_rows,
            Control::Micro => 0,
        }
    }

    /// The valid `requant_lanes` values (the divisors of `cols`), for messages.
    fn lane_choices(&self) -> String {
        (1..=self.cols)
            .filter(|l| self.cols % l == 0)
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Is each requantization product two instantiated iCE40 `SB_MAC16`
    /// (`requant::Product::Ice40`)? With `dsp_cell = ice40`: the flow keeps
    /// yosys' `-dsp` off for such designs, so a `*` would be LUTs.
    pub fn requant_on_mac16(&self) -> bool {
        self.dsp_cell == DspCell::Ice40
    }

    /// Requantization units built (`requant_lanes`, default `cols`).
    pub fn lanes(&self) -> u32 {
        self.requant_lanes.unwrap_or(self.cols)
    }

    /// Cycles the output path spends on one row of results: `cols / lanes`
    /// column groups, one a cycle.
    pub fn requant_groups(&self) -> u32 {
        self.cols / self.lanes().max(1)
    }

    /// Input channels per chunk (array beats per staging buffer): at least a
    /// memory word, and at least ROWS (rounded up to a power of two), so that
    /// the A walk (one row per cycle) keeps pace with the beats it feeds.
    pub fn chunk_bytes(&self) -> u32 {
        match self.control {
            Control::Fsm => (self.mem_bits / 8).max(self.rows.next_power_of_two()),
            // One memory word of channels per A lane.
            Control::Micro => self.mem_bits / 8,
        }
    }

    /// Which FIFOs are block RAM (see [`EngineConfig::fifo_ram`]); their
    /// depths: request and tile-info 4, tag `max_inflight`, write-job
    /// `max(rows, 2)`, write 2.
    pub fn fifo_storage(&self) -> FifoStorage {
        let deep = |depth: u32| self.fifo_ram && depth >= 4;
        FifoStorage {
            rq: deep(4),
            tag: self.max_inflight >= 32 || deep(self.max_inflight),
            info: deep(4),
            wjob: self.rows >= 8 || deep(self.rows.max(2)),
            wr: false,
        }
    }

    /// The configuration of the array inside the engine.
    pub fn array(&self) -> ArrayConfig {
        ArrayConfig {
            rows: self.rows,
            cols: self.cols,
            name: format!("{}_array", self.name),
            pipeline: self.pipeline,
            mul: self.mul,
            dsp_limit: self.dsp_limit,
            dsp_cell: self.dsp_cell,
        }
    }

    pub fn derived(&self) -> EngineDerived {
        EngineDerived {
            mem_bytes: self.mem_bits / 8,
            staging_beats: self.chunk_bytes(),
            csr_addr_bits: contracts::engine::CSR_ADDR_BITS,
            array_macs: self.rows * self.cols,
        }
    }

    /// The programming model this engine implements (written into its manifest).
    pub fn programming_model(&self) -> contracts::engine::ProgrammingModel {
        contracts::engine::ProgrammingModel::in_space(self.mem_bits, self.addr_bits)
    }
}
