//! Each block's command-line flags, written once and shared by `gen` and `flow`
//! (clap `#[command(flatten)]`): the flags, their help, and the checks that turn
//! them into the block's `hdl` configuration.
//!
//! Flags arrive as raw strings, so a bad value gets one line naming the
//! parameter, its rule and the value; the rules themselves come from the block's
//! config (`hdl::array::config` limits, [`MaxpoolConfig::range`]). A flag left out
//! keeps the value of the configuration it is applied to, so each tool chooses
//! its own defaults (`flow` fits the multipliers to the board).

use std::fmt;

use clap::Args;
use hdl::array::{ArrayConfig, DspCell, MulStyle};
use hdl::engine::EngineConfig;
use hdl::maxpool::MaxpoolConfig;
use hdl::ConfigError;

/// Why a block's flags were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlagError {
    /// One flag's value breaks its rule.
    Value(ConfigError),
    /// Flags that do not go together; the message names them.
    Rule(String),
}

impl FlagError {
    /// The message with the parameter written as its flag (`--dsp-cell must be
    /// one of ...`), as `flow` words it; `Display` writes the bare parameter
    /// name (`dsp_cell must be ...`), as `gen` always has.
    pub fn flag_message(&self) -> String {
        match self {
            FlagError::Value(e) => format!(
                "--{} {}, got {}",
                e.param.replace('_', "-"),
                e.rule,
                e.value
            ),
            FlagError::Rule(m) => m.clone(),
        }
    }
}

impl fmt::Display for FlagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlagError::Value(e) => e.fmt(f),
            FlagError::Rule(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for FlagError {}

impl From<ConfigError> for FlagError {
    fn from(e: ConfigError) -> Self {
        FlagError::Value(e)
    }
}

/// Parse an integer flag and check it against `lo..=hi`.
pub fn parse_int(param: &str, raw: &str, lo: i64, hi: i64) -> Result<u32, ConfigError> {
    parse_int_in(param, raw, lo, hi, &format!("{lo}..={hi}"))
}

/// [`parse_int`] with the range spelled `range` in messages (e.g. `1..=window (2)`).
pub fn parse_int_in(
    param: &str,
    raw: &str,
    lo: i64,
    hi: i64,
    range: &str,
) -> Result<u32, ConfigError> {
    let rule = format!("must be an integer in {range}");
    let v: i64 = raw
        .trim()
        .parse()
        .map_err(|_| ConfigError::new(param, rule.clone(), format!("`{raw}`")))?;
    if v < lo || v > hi {
        return Err(ConfigError::new(param, format!("must be in {range}"), v));
    }
    u32::try_from(v).map_err(|_| ConfigError::new(param, rule, v))
}

/// The systolic array's flags (the engine's array takes them too).
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct ArrayFlags {
    /// Array: PE rows, 1..=256 (engine: 1..=64, default 8)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub rows: Option<String>,
    /// Array: PE columns, 1..=256 (engine: 1..=64); default: same as --rows
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub cols: Option<String>,
    /// Array: PE pipeline depth, 0..=4 (0: multiply-accumulate in one step; 1: register
    /// the product; 2: also register the multiplier operands; 3: give the multiplier
    /// operand registers of its own; 4: a second product register); results are identical
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub pipeline: Option<String>,
    /// Array: multiplier style: dsp (`*`, mapped to DSP blocks), lut (partial products
    /// in LUTs) or auto (`*` for the first --dsps PEs, LUTs for the rest)
    #[arg(long, value_name = "STYLE")]
    pub mul: Option<String>,
    /// Array: with --mul auto, how many PEs get a DSP multiplier (e.g. 8 on an iCE40UP5K,
    /// 16 with --dsp-cell ice40)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub dsps: Option<String>,
    /// Array: how DSP-style multipliers are written: infer (`*`, any target), ecp5
    /// (MULT18X18D primitives with their own registers; needs --pipeline 3 or more) or
    /// ice40 (SB_MAC16 primitives in 8x8 mode, two neighbouring PEs of a row per block;
    /// the engine's requantization products on two SB_MAC16 per unit, 16x16 mode)
    #[arg(long, value_name = "CELL")]
    pub dsp_cell: Option<String>,
}

impl ArrayFlags {
    /// The flags given, as written on the command line.
    pub fn given(&self) -> Vec<&'static str> {
        [
            ("--rows", self.rows.is_some()),
            ("--cols", self.cols.is_some()),
            ("--pipeline", self.pipeline.is_some()),
            ("--mul", self.mul.is_some()),
            ("--dsps", self.dsps.is_some()),
            ("--dsp-cell", self.dsp_cell.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }

    /// Set the given flags in `cfg` (`--rows` sets the columns too, unless
    /// `--cols` is given). Does not run `cfg.validate()`: the caller does, once
    /// everything (a name, a board's DSP count) is in.
    pub fn apply(&self, cfg: &mut ArrayConfig) -> Result<(), FlagError> {
        self.apply_within(cfg, hdl::array::config::MAX_DIM)
    }

    /// [`ArrayFlags::apply`] for an array whose sides are at most `max_dim`
    /// (the engine's array: [`hdl::engine::config::MAX_DIM`]).
    pub fn apply_within(&self, cfg: &mut ArrayConfig, max_dim: u32) -> Result<(), FlagError> {
        let max = i64::from(max_dim);
        if let Some(r) = &self.rows {
            cfg.rows = parse_int("rows", r, 1, max)?;
            cfg.cols = cfg.rows;
        }
        if let Some(c) = &self.cols {
            cfg.cols = parse_int("cols", c, 1, max)?;
        }
        if let Some(p) = &self.pipeline {
            cfg.pipeline = parse_int("pipeline", p, 0, hdl::array::config::MAX_PIPELINE.into())?;
        }
        if let Some(m) = &self.mul {
            cfg.mul = MulStyle::parse(m)?;
        }
        if let Some(d) = &self.dsps {
            if cfg.mul != MulStyle::Auto {
                return Err(FlagError::Rule("--dsps applies to --mul auto only".into()));
            }
            cfg.dsp_limit = parse_int("dsps", d, 0, max * max)?;
        }
        if let Some(c) = &self.dsp_cell {
            cfg.dsp_cell = DspCell::parse(c)?;
        }
        Ok(())
    }
}

/// The engine's own flags; the engine's array takes the [`ArrayFlags`].
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineFlags {
    /// Engine: memory port width in bits: 32, 64 or 128 (default 64)
    #[arg(long, value_name = "BITS", allow_negative_numbers = true)]
    pub mem_bits: Option<String>,
    /// Engine: reads kept in flight (the read-tag FIFO's depth), a power of two in
    /// 4..=256 (default 64); at least the memory's latency + 2 for full speed
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_inflight: Option<String>,
    /// Engine: input buffer bytes (block RAM; default 131072): a layer whose whole
    /// input fits is read from memory once; a multiple of the chunk (the larger of
    /// mem_bits/8 and rows rounded up to a power of two), at least 2 chunks
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true)]
    pub ibuf_bytes: Option<String>,
    /// Engine: weight buffer rows of COLS bytes per bank (two banks of block RAM; a
    /// power of two in 2..=65536, default 2048): a layer with k_h*k_w*in_c up to
    /// this reads its weights once
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub wbuf_rows: Option<String>,
    /// Engine: requantization units, a divisor of the columns (default: one per
    /// column): with fewer, a row of results is requantized over cols/N cycles
    /// (smaller: one unit is ~1.8k LUT4 on iCE40, ~0.4k with --dsp-cell ice40 and its
    /// two SB_MAC16; slower output path)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub requant_lanes: Option<String>,
    /// Engine: every FIFO of depth 4 or more in block RAM (request, tag, tile-info,
    /// write-job from 4 rows): fewer LUTs and flip-flops for small FPGAs, ceil(bits/16)
    /// iCE40 RAM40 blocks per FIFO, and a cycle more through an empty FIFO
    #[arg(long)]
    pub fifo_ram: bool,
    /// Engine: bits of the byte address space, 12..=32 (default 32): every address
    /// register inside the engine is this wide, and a layer or descriptor list past
    /// 2^BITS is refused (address_wrap); the engine board top sets it to its memory
    #[arg(long, value_name = "BITS", allow_negative_numbers = true)]
    pub addr_bits: Option<String>,
    /// Engine: a register stage in the output path after the requantization's
    /// product: a shorter critical path on FPGAs, write jobs one cycle later
    #[arg(long)]
    pub out_pipe: bool,
    /// Engine: the staging ring in block RAM (a RAM per array row and one for
    /// the weight rows) instead of flip-flops: same cycles, fewer LUTs and
    /// flip-flops for small FPGAs, (rows + cols) * chunk byte lanes of block RAM
    #[arg(long)]
    pub staging_ram: bool,
    /// Engine: fsm (state machines and per-layer hardware, the default) or
    /// micro (a micro-sequencer running the checks and the schedule as a
    /// program: the area-first engine for small FPGAs; rows and cols up to 8,
    /// no input or weight buffer, slower)
    #[arg(long, value_name = "KIND")]
    pub control: Option<String>,
}

impl EngineFlags {
    /// The flags given, as written on the command line.
    pub fn given(&self) -> Vec<&'static str> {
        [
            ("--mem-bits", self.mem_bits.is_some()),
            ("--max-inflight", self.max_inflight.is_some()),
            ("--ibuf-bytes", self.ibuf_bytes.is_some()),
            ("--wbuf-rows", self.wbuf_rows.is_some()),
            ("--requant-lanes", self.requant_lanes.is_some()),
            ("--fifo-ram", self.fifo_ram),
            ("--addr-bits", self.addr_bits.is_some()),
            ("--out-pipe", self.out_pipe),
            ("--staging-ram", self.staging_ram),
            ("--control", self.control.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }

    /// Set the given engine flags and the array's flags (`array`, sides up to
    /// [`hdl::engine::config::MAX_DIM`]) in `cfg`; each engine value is checked
    /// against [`EngineConfig::validate`]'s rule for it. Does not run
    /// `cfg.validate()`.
    pub fn apply(&self, array: &ArrayFlags, cfg: &mut EngineConfig) -> Result<(), FlagError> {
        let mut a = cfg.array();
        array.apply_within(&mut a, hdl::engine::config::MAX_DIM)?;
        cfg.rows = a.rows;
        cfg.cols = a.cols;
        cfg.pipeline = a.pipeline;
        cfg.mul = a.mul;
        cfg.dsp_limit = a.dsp_limit;
        cfg.dsp_cell = a.dsp_cell;
        // In this order: the input buffer's rule depends on the rows and the
        // memory width.
        if let Some(raw) = &self.mem_bits {
            cfg.mem_bits = engine_value(cfg, "mem_bits", raw, |c, v| c.mem_bits = v)?;
        }
        if let Some(raw) = &self.max_inflight {
            cfg.max_inflight = engine_value(cfg, "max_inflight", raw, |c, v| c.max_inflight = v)?;
        }
        if let Some(raw) = &self.ibuf_bytes {
            cfg.ibuf_bytes = engine_value(cfg, "ibuf_bytes", raw, |c, v| c.ibuf_bytes = v)?;
        }
        if let Some(raw) = &self.wbuf_rows {
            cfg.wbuf_rows = engine_value(cfg, "wbuf_rows", raw, |c, v| c.wbuf_rows = v)?;
        }
        if let Some(raw) = &self.requant_lanes {
            let v = engine_value(cfg, "requant_lanes", raw, |c, v| c.requant_lanes = Some(v))?;
            cfg.requant_lanes = Some(v);
        }
        if self.fifo_ram {
            cfg.fifo_ram = true;
        }
        if let Some(raw) = &self.addr_bits {
            cfg.addr_bits = engine_value(cfg, "addr_bits", raw, |c, v| c.addr_bits = v)?;
        }
        if self.out_pipe {
            cfg.out_pipe = true;
        }
        if self.staging_ram {
            cfg.staging_ram = true;
        }
        if let Some(c) = &self.control {
            cfg.control = hdl::engine::Control::parse(c)?;
            // The micro engine's address space is at most 31 bits (bit 31
            // of a lane address marks a padded row): its default.
            if cfg.control == hdl::engine::Control::Micro && self.addr_bits.is_none() {
                cfg.addr_bits = cfg.addr_bits.min(hdl::engine::config::MICRO_MAX_ADDR_BITS);
            }
        }
        Ok(())
    }
}

/// The engine board top's own flags; its engine takes the [`EngineFlags`] and
/// the [`ArrayFlags`] (starting from `hdl::board::engine::small_engine`).
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineBoardFlags {
    /// Engine board: FPGA family, ice40 or ecp5 (default ice40)
    #[arg(long, value_name = "FAMILY")]
    pub family: Option<String>,
    /// Engine board: board clock on clk_in in Hz, which the bridge and UART run on (default 12000000)
    #[arg(long, value_name = "HZ", allow_negative_numbers = true)]
    pub clock_in_hz: Option<String>,
    /// Engine board: engine clock in Hz (a PLL output; equal to --clock-in-hz: no PLL)
    #[arg(long, value_name = "HZ", allow_negative_numbers = true)]
    pub engine_hz: Option<String>,
    /// Engine board: engine clock source, pll or pin (a second input clk_engine, for simulation)
    #[arg(long, value_name = "SOURCE")]
    pub engine_clock: Option<String>,
    /// Engine board, iCE40: pad (the clock pin is the PLL's pad: SB_PLL40_2_PAD, default) or fabric (SB_PLL40_CORE from any pin)
    #[arg(long, value_name = "INPUT")]
    pub pll_input: Option<String>,
    /// Engine board: UART baud rate (default 115200)
    #[arg(long, value_name = "BAUD", allow_negative_numbers = true)]
    pub baud: Option<String>,
    /// Engine board: bytes of on-chip memory (block RAM) behind the engine, a power of two (default 8192)
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true)]
    pub mem_bytes: Option<String>,
    /// Engine board: width of the led port, 1..=16 (default 5)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub leds: Option<String>,
}

impl EngineBoardFlags {
    /// The flags given, as written on the command line.
    pub fn given(&self) -> Vec<&'static str> {
        [
            ("--family", self.family.is_some()),
            ("--clock-in-hz", self.clock_in_hz.is_some()),
            ("--engine-hz", self.engine_hz.is_some()),
            ("--engine-clock", self.engine_clock.is_some()),
            ("--pll-input", self.pll_input.is_some()),
            ("--baud", self.baud.is_some()),
            ("--mem-bytes", self.mem_bytes.is_some()),
            ("--leds", self.leds.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }

    /// Set the given flags in `cfg` (the engine's own flags are applied by the
    /// caller). Does not run `cfg.validate()`.
    pub fn apply(&self, cfg: &mut hdl::board::engine::EngineBoardConfig) -> Result<(), FlagError> {
        use hdl::board::engine::EngineClock;
        use hdl::board::Family;
        let hz = |param: &str, raw: &str| -> Result<u64, ConfigError> {
            raw.trim()
                .parse::<u64>()
                .ok()
                .filter(|v| (1_000..=1_000_000_000).contains(v))
                .ok_or_else(|| {
                    ConfigError::new(
                        param,
                        "must be an integer in 1000..=1000000000",
                        format!("`{raw}`"),
                    )
                })
        };
        if let Some(raw) = &self.family {
            cfg.family = match raw.as_str() {
                "ice40" => Family::Ice40,
                "ecp5" => Family::Ecp5,
                other => {
                    return Err(ConfigError::new(
                        "family",
                        "must be ice40 or ecp5",
                        format!("`{other}`"),
                    )
                    .into())
                }
            };
        }
        if let Some(raw) = &self.clock_in_hz {
            cfg.clock_in_hz = hz("clock_in_hz", raw)?;
            if self.engine_hz.is_none() {
                cfg.engine_hz = cfg.clock_in_hz;
            }
        }
        if let Some(raw) = &self.engine_hz {
            cfg.engine_hz = hz("engine_hz", raw)?;
        }
        if let Some(raw) = &self.engine_clock {
            cfg.engine_clock = match raw.as_str() {
                "pll" => EngineClock::Pll,
                "pin" => EngineClock::Pin,
                other => {
                    return Err(ConfigError::new(
                        "engine_clock",
                        "must be pll or pin",
                        format!("`{other}`"),
                    )
                    .into())
                }
            };
        }
        if let Some(raw) = &self.pll_input {
            cfg.pll_input = match raw.as_str() {
                "pad" => hdl::board::engine::PllInput::Pad,
                "fabric" => hdl::board::engine::PllInput::Fabric,
                other => {
                    return Err(ConfigError::new(
                        "pll_input",
                        "must be pad or fabric",
                        format!("`{other}`"),
                    )
                    .into())
                }
            };
        }
        if let Some(raw) = &self.baud {
            cfg.baud = parse_int("baud", raw, 1, 100_000_000)?;
        }
        if let Some(raw) = &self.mem_bytes {
            cfg.mem_bytes = parse_int("mem_bytes", raw, 1, 1 << 30)?;
        }
        if let Some(raw) = &self.leds {
            cfg.leds = parse_int("leds", raw, 1, 16)?;
        }
        Ok(())
    }
}

/// Parse an engine parameter and check it against the rule
/// [`EngineConfig::validate`] has for it (the rule is written there only), in
/// the configuration `cfg` built so far.
fn engine_value(
    cfg: &EngineConfig,
    param: &str,
    raw: &str,
    set: impl Fn(&mut EngineConfig, u32),
) -> Result<u32, ConfigError> {
    let check = |v: u32| {
        let mut c = cfg.clone();
        set(&mut c, v);
        match c.validate() {
            Err(e) if e.param == param => Err(e),
            _ => Ok(v),
        }
    };
    // The rule's text, for values that are not even a u32: 0 breaks every
    // engine rule this is used for.
    let refuse = |value: String| match check(0) {
        Err(e) => ConfigError::new(param, e.rule, value),
        Ok(_) => ConfigError::new(param, "must be a valid value", value),
    };
    match raw.trim().parse::<i64>() {
        Ok(v) => match u32::try_from(v) {
            Ok(u) => check(u),
            Err(_) => Err(refuse(v.to_string())),
        },
        Err(_) => Err(refuse(format!("`{raw}`"))),
    }
}

/// The max-pool unit's flags.
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct MaxpoolFlags {
    /// Max-pool: channels per pixel, 1..=256 (required)
    #[arg(long, value_name = "C", allow_negative_numbers = true)]
    pub channels: Option<String>,
    /// Max-pool: image width in pixels, 1..=4096 (required)
    #[arg(long, value_name = "W", allow_negative_numbers = true)]
    pub width: Option<String>,
    /// Max-pool: window K (K x K), 1..=8 (default 2)
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    pub window: Option<String>,
    /// Max-pool: stride, 1..=window (default: the window)
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub stride: Option<String>,
    /// Max-pool: padding on every side, 0..=window/2 (default 0); padded cells never win
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub pad: Option<String>,
}

/// Whether [`MaxpoolFlags::apply`] insists on `--channels` and `--width`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Geometry {
    /// Both must be given (`gen`: no default image).
    Required,
    /// Missing ones keep the configuration's values.
    Defaulted,
}

impl MaxpoolFlags {
    /// The flags given, as written on the command line.
    pub fn given(&self) -> Vec<&'static str> {
        [
            ("--channels", self.channels.is_some()),
            ("--width", self.width.is_some()),
            ("--window", self.window.is_some()),
            ("--stride", self.stride.is_some()),
            ("--pad", self.pad.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }

    /// Set the given flags in `cfg`, each checked against its rule from
    /// [`MaxpoolConfig::range`] as soon as the values it depends on are known
    /// (stride and pad depend on the window). The stride defaults to the window
    /// and the pad to 0. Does not run `cfg.validate()`.
    pub fn apply(&self, cfg: &mut MaxpoolConfig, geometry: Geometry) -> Result<(), FlagError> {
        fn value(cfg: &MaxpoolConfig, param: &str, raw: &str) -> Result<u32, FlagError> {
            let r = cfg.range(param).ok_or_else(|| {
                FlagError::Rule(format!("internal error: no rule for parameter `{param}`"))
            })?;
            Ok(parse_int_in(
                param,
                raw,
                i64::from(r.lo),
                i64::from(r.hi),
                &r.text,
            )?)
        }
        let required = |flag: &Option<String>, name: &str, what: &str| match (flag, geometry) {
            (None, Geometry::Required) => Err(FlagError::Rule(format!(
                "--top maxpool needs --{name} ({what}, {})",
                MaxpoolConfig::default()
                    .range(name)
                    .map(|r| r.text)
                    .unwrap_or_default()
            ))),
            _ => Ok(flag.clone()),
        };
        if let Some(c) = required(&self.channels, "channels", "channels per pixel")? {
            cfg.channels = value(cfg, "channels", &c)?;
        }
        if let Some(w) = required(&self.width, "width", "image width")? {
            cfg.width = value(cfg, "width", &w)?;
        }
        if let Some(k) = &self.window {
            cfg.window = value(cfg, "window", k)?;
        }
        cfg.stride = match &self.stride {
            Some(s) => value(cfg, "stride", s)?,
            None => cfg.window,
        };
        cfg.pad = match &self.pad {
            Some(p) => value(cfg, "pad", p)?,
            None => 0,
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_flags_set_only_what_is_given() {
        let mut cfg = ArrayConfig::default();
        let before = cfg.clone();
        ArrayFlags::default()
            .apply(&mut cfg)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg, before);
        let flags = ArrayFlags {
            rows: Some("6".into()),
            pipeline: Some("2".into()),
            mul: Some("auto".into()),
            dsps: Some("5".into()),
            ..ArrayFlags::default()
        };
        flags.apply(&mut cfg).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (cfg.rows, cfg.cols, cfg.pipeline, cfg.mul, cfg.dsp_limit),
            (6, 6, 2, MulStyle::Auto, 5)
        );
        assert_eq!(flags.given(), ["--rows", "--pipeline", "--mul", "--dsps"]);
    }

    #[test]
    fn errors_name_the_parameter_or_the_flag() {
        let bad = |flags: ArrayFlags| {
            flags
                .apply(&mut ArrayConfig::default())
                .expect_err("must be refused")
        };
        let e = bad(ArrayFlags {
            rows: Some("0".into()),
            ..ArrayFlags::default()
        });
        assert_eq!(e.to_string(), "rows must be in 1..=256, got 0");
        assert_eq!(e.flag_message(), "--rows must be in 1..=256, got 0");
        let e = bad(ArrayFlags {
            dsp_cell: Some("xilinx".into()),
            ..ArrayFlags::default()
        });
        assert_eq!(
            e.flag_message(),
            "--dsp-cell must be one of infer, ecp5, ice40, got `xilinx`"
        );
        let e = bad(ArrayFlags {
            mul: Some("lut".into()),
            dsps: Some("3".into()),
            ..ArrayFlags::default()
        });
        assert_eq!(e.to_string(), "--dsps applies to --mul auto only");
    }

    #[test]
    fn engine_flags_pass_the_array_flags_through() {
        let mut cfg = EngineConfig::default();
        let before = cfg.clone();
        EngineFlags::default()
            .apply(&ArrayFlags::default(), &mut cfg)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg, before, "no flags: the engine's defaults");
        let array = ArrayFlags {
            rows: Some("4".into()),
            pipeline: Some("3".into()),
            dsp_cell: Some("ecp5".into()),
            ..ArrayFlags::default()
        };
        let engine = EngineFlags {
            mem_bits: Some("128".into()),
            max_inflight: Some("16".into()),
            ibuf_bytes: Some("4096".into()),
            wbuf_rows: Some("64".into()),
            requant_lanes: Some("2".into()),
            fifo_ram: true,
            addr_bits: Some("17".into()),
            out_pipe: true,
            staging_ram: true,
            control: None,
        };
        engine
            .apply(&array, &mut cfg)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (cfg.rows, cfg.cols, cfg.pipeline, cfg.dsp_cell),
            (4, 4, 3, DspCell::Ecp5)
        );
        assert_eq!(
            (
                cfg.mem_bits,
                cfg.max_inflight,
                cfg.ibuf_bytes,
                cfg.wbuf_rows,
                cfg.requant_lanes,
                cfg.fifo_ram,
                cfg.addr_bits,
                cfg.out_pipe,
                cfg.staging_ram
            ),
            (128, 16, 4096, 64, Some(2), true, 17, true, true)
        );
        assert_eq!(
            engine.given(),
            [
                "--mem-bits",
                "--max-inflight",
                "--ibuf-bytes",
                "--wbuf-rows",
                "--requant-lanes",
                "--fifo-ram",
                "--addr-bits",
                "--out-pipe",
                "--staging-ram"
            ]
        );
    }

    #[test]
    fn engine_values_get_the_config_rule() {
        let bad = |array: ArrayFlags, engine: EngineFlags| {
            engine
                .apply(&array, &mut EngineConfig::default())
                .expect_err("must be refused")
                .to_string()
        };
        let mem = |v: &str| EngineFlags {
            mem_bits: Some(v.into()),
            ..EngineFlags::default()
        };
        let none = ArrayFlags::default;
        assert_eq!(
            bad(none(), mem("48")),
            "mem_bits must be one of 32, 64, 128, got 48"
        );
        assert_eq!(
            bad(none(), mem("-64")),
            "mem_bits must be one of 32, 64, 128, got -64"
        );
        assert_eq!(
            bad(none(), mem("wide")),
            "mem_bits must be one of 32, 64, 128, got `wide`"
        );
        let e = bad(
            none(),
            EngineFlags {
                max_inflight: Some("48".into()),
                ..EngineFlags::default()
            },
        );
        assert_eq!(e, "max_inflight must be a power of two in 4..=256, got 48");
        // The input buffer's rule is the one of the configuration being built:
        // 128-bit words make the chunk 16 bytes.
        let e = bad(
            none(),
            EngineFlags {
                mem_bits: Some("128".into()),
                ibuf_bytes: Some("40".into()),
                ..EngineFlags::default()
            },
        );
        assert!(
            e.starts_with("ibuf_bytes must be a multiple of 16 (the chunk)")
                && e.ends_with("got 40"),
            "{e}"
        );
        let e = bad(
            none(),
            EngineFlags {
                wbuf_rows: Some("1".into()),
                ..EngineFlags::default()
            },
        );
        assert_eq!(
            e,
            "wbuf_rows must be a power of two in 2..=65536 (two banks of it are built), got 1"
        );
        for v in ["11", "33", "-1"] {
            let e = bad(
                none(),
                EngineFlags {
                    addr_bits: Some(v.into()),
                    ..EngineFlags::default()
                },
            );
            assert_eq!(e, format!("addr_bits must be in 12..=32, got {v}"));
        }
        // The lanes' rule is the one of the array being built: 6 columns.
        let lanes = |v: &str| EngineFlags {
            requant_lanes: Some(v.into()),
            ..EngineFlags::default()
        };
        let cols6 = || ArrayFlags {
            cols: Some("6".into()),
            ..ArrayFlags::default()
        };
        for v in ["4", "0", "7", "-2"] {
            assert_eq!(
                bad(cols6(), lanes(v)),
                format!("requant_lanes must divide cols (6): one of 1, 2, 3, 6, got {v}")
            );
        }
        let rows = ArrayFlags {
            rows: Some("65".into()),
            ..ArrayFlags::default()
        };
        assert_eq!(
            bad(rows, EngineFlags::default()),
            "rows must be in 1..=64, got 65"
        );
    }

    #[test]
    fn maxpool_geometry_is_required_or_defaulted() {
        let mut cfg = MaxpoolConfig::default();
        let e = MaxpoolFlags::default()
            .apply(&mut cfg, Geometry::Required)
            .expect_err("channels are required");
        assert_eq!(
            e.to_string(),
            "--top maxpool needs --channels (channels per pixel, 1..=256)"
        );
        let flags = MaxpoolFlags {
            window: Some("3".into()),
            ..MaxpoolFlags::default()
        };
        flags
            .apply(&mut cfg, Geometry::Defaulted)
            .unwrap_or_else(|e| panic!("{e}"));
        let d = MaxpoolConfig::default();
        assert_eq!(
            (cfg.channels, cfg.width, cfg.window, cfg.stride, cfg.pad),
            (d.channels, d.width, 3, 3, 0)
        );
        let e = MaxpoolFlags {
            pad: Some("2".into()),
            ..MaxpoolFlags::default()
        }
        .apply(&mut MaxpoolConfig::default(), Geometry::Defaulted)
        .expect_err("pad above window/2");
        assert_eq!(e.to_string(), "pad must be in 0..=window/2 (1), got 2");
    }
}
