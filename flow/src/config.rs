//! One validated flow configuration, built from raw flag strings in one place.
//!
//! As in `gen`, flags arrive as strings and are checked here, so every bad value
//! gets one line naming the flag, its rule and the value, and exits 2. The
//! blocks' own flags and rules are `gen`'s (`gencli::flags`), written once.

use std::path::PathBuf;

use boards::Board;
use gencli::flags::{parse_int_in, ArrayFlags, EngineFlags, FlagError, Geometry, MaxpoolFlags};
use hdl::array::ArrayConfig;
use hdl::engine::EngineConfig;
use hdl::maxpool::MaxpoolConfig;

use crate::error::FlowError;

/// Highest `--freq` accepted, in MHz: far above anything these FPGAs reach, low
/// enough to catch a value typed in Hz or kHz.
pub const MAX_FREQ_MHZ: f64 = 1000.0;
/// Most seeds per run.
pub const MAX_SEEDS: usize = 16;

/// Which block goes on the board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DesignSpec {
    /// The systolic array inside the board top (UART bridge, reset, PLL).
    Array(ArrayConfig),
    /// The max-pool unit, synthesized on its own (out of context).
    Maxpool(MaxpoolConfig),
    /// The systolic array alone, out of context in the timing harness
    /// (`hdl::harness`): measures the array's own Fmax and size, no bitstream.
    ArrayOoc(ArrayConfig),
    /// The conv/FC engine in its board top (`hdl::board::engine`): on-chip
    /// memory, UART bridge on the board clock, the engine on its own PLL clock.
    Engine(EngineConfig),
}

impl DesignSpec {
    /// `array`, `maxpool` or `array-ooc`.
    pub fn kind(&self) -> &'static str {
        match self {
            DesignSpec::Array(_) => "array",
            DesignSpec::Maxpool(_) => "maxpool",
            DesignSpec::ArrayOoc(_) => "array-ooc",
            DesignSpec::Engine(_) => "engine",
        }
    }

    /// The PE pipeline depth of an array.
    pub fn pipeline(&self) -> Option<u32> {
        match self {
            DesignSpec::Array(a) | DesignSpec::ArrayOoc(a) => Some(a.pipeline),
            DesignSpec::Engine(e) => Some(e.pipeline),
            DesignSpec::Maxpool(_) => None,
        }
    }

    /// The series a sweep plots it in (see [`series_label`]).
    pub fn series(&self) -> String {
        series_label(self.kind(), self.pipeline())
    }

    /// Size as used in folder names and tables: `4x4`, `8ch`.
    pub fn size_label(&self) -> String {
        match self {
            DesignSpec::Array(a) | DesignSpec::ArrayOoc(a) => format!("{}x{}", a.rows, a.cols),
            DesignSpec::Engine(e) => format!("{}x{}", e.rows, e.cols),
            DesignSpec::Maxpool(m) => format!("{}ch", m.channels),
        }
    }

    /// Multiply-accumulates per clock (peak), where the design has them.
    pub fn macs_per_cycle(&self) -> Option<u64> {
        match self {
            DesignSpec::Array(a) | DesignSpec::ArrayOoc(a) => {
                Some(u64::from(a.rows) * u64::from(a.cols))
            }
            DesignSpec::Engine(e) => Some(u64::from(e.rows) * u64::from(e.cols)),
            DesignSpec::Maxpool(_) => None,
        }
    }

    /// The default build folder name: `<board>-<design>-<size>`.
    pub fn folder(&self, board: &str) -> String {
        format!("{board}-{}-{}", self.kind(), self.size_label())
    }
}

/// A sweep series: the design kind, with the PE pipeline depth for arrays
/// (`array p4`, `maxpool`).
pub fn series_label(kind: &str, pipeline: Option<u32>) -> String {
    match pipeline {
        Some(p) => format!("{kind} p{p}"),
        None => kind.to_string(),
    }
}

/// Everything one flow run needs, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowConfig {
    pub board: Board,
    pub design: DesignSpec,
    /// Core clock target in Hz (default: the board clock, no PLL).
    pub target_hz: u64,
    pub seeds: Vec<u64>,
    pub out_dir: PathBuf,
    /// Keep going (and exit 0) when timing is missed.
    pub allow_timing_fail: bool,
}

/// Parse an integer flag in `lo..=hi`.
pub fn parse_int(flag: &str, raw: &str, lo: u64, hi: u64) -> Result<u64, FlowError> {
    let v: u64 = raw.trim().parse().map_err(|_| {
        FlowError::Usage(format!(
            "--{flag} must be an integer in {lo}..={hi}, got `{raw}`"
        ))
    })?;
    if !(lo..=hi).contains(&v) {
        return Err(FlowError::Usage(format!(
            "--{flag} must be in {lo}..={hi}, got {v}"
        )));
    }
    Ok(v)
}

/// Parse a comma-separated list of integers in `lo..=hi`, unique, 1..=max items.
pub fn parse_list(
    flag: &str,
    raw: &str,
    lo: u64,
    hi: u64,
    max: usize,
) -> Result<Vec<u64>, FlowError> {
    let mut out = Vec::new();
    for part in raw.split(',') {
        let v = parse_int(flag, part, lo, hi)?;
        if out.contains(&v) {
            return Err(FlowError::Usage(format!(
                "--{flag} must not repeat a value, got {v} twice in `{raw}`"
            )));
        }
        out.push(v);
    }
    if out.len() > max {
        return Err(FlowError::Usage(format!(
            "--{flag} takes at most {max} values, got {} in `{raw}`",
            out.len()
        )));
    }
    Ok(out)
}

/// Parse `--freq` (MHz, decimals allowed) into Hz.
pub fn parse_freq_mhz(raw: &str) -> Result<u64, FlowError> {
    let rule = format!("--freq must be a frequency in MHz in 1..={MAX_FREQ_MHZ}");
    let v: f64 = raw
        .trim()
        .parse()
        .map_err(|_| FlowError::Usage(format!("{rule}, got `{raw}`")))?;
    if !v.is_finite() || !(1.0..=MAX_FREQ_MHZ).contains(&v) {
        return Err(FlowError::Usage(format!("{rule}, got {raw}")));
    }
    Ok((v * 1e6).round() as u64)
}

/// Format Hz as MHz for nextpnr and humans: `12`, `48.5`, `33.333333`.
pub fn mhz_text(hz: u64) -> String {
    let s = format!("{:.6}", hz as f64 / 1e6);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Raw design flags shared by `flow`, `flow sweep` and `flow asic`: the block,
/// and each block's flags as `gen` has them (`gencli::flags`, one definition).
#[derive(Clone, Debug, Default)]
pub struct RawDesign {
    pub design: Option<String>,
    /// The array's flags; for `maxpool`, `--rows` is the channel count (the size
    /// axis of a sweep).
    pub array: ArrayFlags,
    pub maxpool: MaxpoolFlags,
    /// The engine's own flags (`--design engine`): memory width, reads in
    /// flight, buffer sizes, over [`hdl::board::engine::small_engine`].
    pub engine: EngineFlags,
}

/// A block flag error worded with the flag's name (`--rows must be ...`).
fn flag_usage(e: FlagError) -> FlowError {
    FlowError::Usage(e.flag_message())
}

/// `flags` apply to another block than `kind`: one line naming them.
fn foreign(flags: &[&str], owner: &str, kind: &str) -> Result<(), FlowError> {
    match flags {
        [] => Ok(()),
        [one] => Err(FlowError::Usage(format!(
            "{one} applies to --design {owner} only, got it with {kind}"
        ))),
        [first @ .., last] => Err(FlowError::Usage(format!(
            "{} and {last} apply to --design {owner} only, got them with {kind}",
            first.join(", ")
        ))),
    }
}

/// Build the design from raw flags. An array gets the shared array flags
/// (`--rows` required). A max-pool gets the shared max-pool flags over the default
/// geometry (2x2 stride 2 over 28-pixel rows); its channels come from `--rows` or
/// `--channels`.
pub fn design_from(raw: &RawDesign) -> Result<DesignSpec, FlowError> {
    let kind = raw.design.as_deref().unwrap_or("array");
    match kind {
        "array" | "array-ooc" => {
            foreign(&raw.maxpool.given(), "maxpool", kind)?;
            foreign(&raw.engine.given(), "engine", kind)?;
            if raw.array.rows.is_none() {
                return Err(FlowError::Usage("--rows is required".into()));
            }
            let mut cfg = ArrayConfig {
                name: "systolic_array".into(),
                ..ArrayConfig::default()
            };
            raw.array.apply(&mut cfg).map_err(flag_usage)?;
            cfg.validate()?;
            Ok(if kind == "array" {
                DesignSpec::Array(cfg)
            } else {
                DesignSpec::ArrayOoc(cfg)
            })
        }
        "engine" => {
            foreign(&raw.maxpool.given(), "maxpool", kind)?;
            if raw.array.rows.is_none() {
                return Err(FlowError::Usage("--rows is required".into()));
            }
            // The board's defaults (32-bit port, small buffers), then the flags.
            let mut cfg = hdl::board::engine::small_engine(1, 1);
            raw.engine.apply(&raw.array, &mut cfg).map_err(flag_usage)?;
            cfg.validate()?;
            Ok(DesignSpec::Engine(cfg))
        }
        "maxpool" => {
            foreign(&raw.engine.given(), "engine", kind)?;
            let array_only: Vec<&str> = raw
                .array
                .given()
                .into_iter()
                .filter(|f| *f != "--rows")
                .collect();
            foreign(&array_only, "array", kind)?;
            let mut cfg = MaxpoolConfig::default();
            match (&raw.array.rows, &raw.maxpool.channels) {
                (Some(_), Some(_)) => {
                    return Err(FlowError::Usage(
                        "--rows and --channels both set the max-pool's channels, give one".into(),
                    ))
                }
                (None, None) => return Err(FlowError::Usage("--rows is required".into())),
                (Some(rows), None) => {
                    let r = cfg.range("channels").ok_or_else(|| {
                        FlowError::Gen("internal error: no rule for max-pool channels".into())
                    })?;
                    cfg.channels =
                        parse_int_in("rows", rows, i64::from(r.lo), i64::from(r.hi), &r.text)
                            .map_err(|e| flag_usage(e.into()))?;
                }
                (None, Some(_)) => {}
            }
            raw.maxpool
                .apply(&mut cfg, Geometry::Defaulted)
                .map_err(flag_usage)?;
            cfg.validate()?;
            Ok(DesignSpec::Maxpool(cfg))
        }
        other => Err(FlowError::Usage(format!(
            "--design must be one of: array, maxpool, array-ooc, engine, got `{other}`"
        ))),
    }
}

/// Fit a design to a board: unless the user chose a multiplier style, an array gets
/// `auto`, with as many DSP multipliers as the board has DSP blocks and LUT
/// multipliers for the rest (so a 4x4 array fits the 8 DSPs of an iCE40UP5K; with
/// `--dsp-cell ice40`, two PEs per block, its 16 multipliers are all DSPs). On
/// ECP5, from pipeline depth 3 on, the DSP multipliers are `MULT18X18D` blocks with
/// their own registers (`hdl::array::ecp5_mult`): yosys leaves them unregistered.
pub fn fit_to_board(design: DesignSpec, raw: &RawDesign, board: &Board) -> DesignSpec {
    let fit = |mut a: ArrayConfig, reserved: u64| {
        if raw.array.mul.is_none() {
            a.mul = hdl::array::MulStyle::Auto;
            // With --dsp-cell ice40 each SB_MAC16 serves two PEs.
            let per_block = if a.dsp_cell == hdl::array::DspCell::Ice40 {
                2
            } else {
                1
            };
            a.dsp_limit = u32::try_from(board.resources.dsps.saturating_sub(reserved))
                .unwrap_or(u32::MAX)
                .saturating_mul(per_block);
        }
        if raw.array.dsp_cell.is_none() && board.family == boards::Family::Ecp5 && a.pipeline >= 3 {
            a.dsp_cell = hdl::array::DspCell::Ecp5;
        }
        a
    };
    match design {
        DesignSpec::Array(a) => DesignSpec::Array(fit(a, 0)),
        DesignSpec::ArrayOoc(a) => DesignSpec::ArrayOoc(fit(a, 0)),
        DesignSpec::Engine(mut e) => {
            ice40_engine_defaults(&mut e, raw, board);
            let a = fit(e.array(), engine_dsp_reserve(&e));
            (e.mul, e.dsp_limit, e.dsp_cell) = (a.mul, a.dsp_limit, a.dsp_cell);
            DesignSpec::Engine(e)
        }
        other => other,
    }
}

/// The engine on an iCE40 board, unless the flags say otherwise: the
/// area-first engine (`--control micro`: the state-machine engine does not
/// fit these parts), one requantization unit, and on a part with DSP blocks
/// (the UP5K) the products in `SB_MAC16` cells, two PEs per block
/// (`--dsp-cell ice40`). An array past the micro engine's 8 x 8 keeps the
/// state machines (and the flow reports what it takes).
fn ice40_engine_defaults(e: &mut EngineConfig, raw: &RawDesign, board: &Board) {
    use hdl::engine::config::{MICRO_MAX_ADDR_BITS, MICRO_MAX_DIM};
    if board.family != boards::Family::Ice40
        || raw.engine.control.is_some()
        || e.rows > MICRO_MAX_DIM
        || e.cols > MICRO_MAX_DIM
    {
        return;
    }
    e.control = hdl::engine::Control::Micro;
    if raw.engine.addr_bits.is_none() {
        e.addr_bits = e.addr_bits.min(MICRO_MAX_ADDR_BITS);
    }
    if raw.engine.requant_lanes.is_none() {
        e.requant_lanes = Some(1);
    }
    if raw.array.dsp_cell.is_none() && raw.array.mul.is_none() && board.resources.dsps > 0 {
        e.dsp_cell = hdl::array::DspCell::Ice40;
    }
}

/// DSP blocks the engine's own products take besides the array's PEs, kept
/// out of the PEs' share so that synthesis does not ask for more blocks than
/// the part has. With `--dsp-cell ice40`: exactly two `SB_MAC16` per
/// requantization unit, which the engine instantiates (and synthesis runs
/// without `-dsp`, so nothing else becomes a block). Otherwise, inferred: two
/// per requantization unit (the 32 x 17 product) and 8 for the control path,
/// counted in yosys' netlists of the ULX3S board top (4x4: 16 besides the PEs,
/// 8x8: 24).
pub fn engine_dsp_reserve(e: &EngineConfig) -> u64 {
    let units = u64::from(e.lanes());
    if e.requant_on_mac16() {
        2 * units
    } else {
        2 * units + 8
    }
}

/// Look a board up; an unknown name lists the known ones.
pub fn board_from(raw: Option<&str>) -> Result<Board, FlowError> {
    let name = raw.ok_or_else(|| {
        FlowError::Usage(format!(
            "--board is required, one of: {}",
            boards::names().join(", ")
        ))
    })?;
    boards::get(name).map_err(|e| {
        if boards::source(name).is_none() {
            FlowError::Usage(format!(
                "--board must be one of: {}, got `{name}`",
                boards::names().join(", ")
            ))
        } else {
            FlowError::Usage(e.to_string())
        }
    })
}

/// Raw flags of one flow run.
#[derive(Clone, Debug, Default)]
pub struct RawFlow {
    pub board: Option<String>,
    pub design: RawDesign,
    pub freq: Option<String>,
    pub seeds: Option<String>,
    pub out: Option<PathBuf>,
    pub allow_timing_fail: bool,
}

/// Turn raw flags into one validated flow configuration.
pub fn flow_from(raw: &RawFlow) -> Result<FlowConfig, FlowError> {
    let board = board_from(raw.board.as_deref())?;
    let design = fit_to_board(design_from(&raw.design)?, &raw.design, &board);
    let target_hz = match &raw.freq {
        Some(f) => parse_freq_mhz(f)?,
        None => board.clock.hz,
    };
    let seeds = match &raw.seeds {
        Some(s) => parse_list("seeds", s, 1, u64::from(u32::MAX), MAX_SEEDS)?,
        None => vec![1],
    };
    let out_dir = match &raw.out {
        Some(p) => p.clone(),
        None => PathBuf::from("build").join(design.folder(&board.name)),
    };
    Ok(FlowConfig {
        board,
        design,
        target_hz,
        seeds,
        out_dir,
        allow_timing_fail: raw.allow_timing_fail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An array design with the given flags (name, value).
    fn array(flags: &[(&str, &str)]) -> RawDesign {
        let mut a = ArrayFlags::default();
        for (name, value) in flags {
            let v = Some(value.to_string());
            match *name {
                "rows" => a.rows = v,
                "cols" => a.cols = v,
                "pipeline" => a.pipeline = v,
                "mul" => a.mul = v,
                "dsps" => a.dsps = v,
                "dsp_cell" => a.dsp_cell = v,
                other => panic!("no array flag {other}"),
            }
        }
        RawDesign {
            array: a,
            ..RawDesign::default()
        }
    }

    #[test]
    fn maxpool_takes_its_channels_from_rows_or_channels_and_its_own_flags() {
        let pool = |flags: &[(&str, &str)], maxpool: MaxpoolFlags| RawDesign {
            design: Some("maxpool".into()),
            maxpool,
            ..array(flags)
        };
        match design_from(&pool(&[("rows", "16")], MaxpoolFlags::default())) {
            Ok(DesignSpec::Maxpool(m)) => {
                assert_eq!((m.channels, m.width, m.window, m.stride), (16, 28, 2, 2))
            }
            other => panic!("{other:?}"),
        }
        let geometry = MaxpoolFlags {
            channels: Some("4".into()),
            width: Some("14".into()),
            window: Some("3".into()),
            ..MaxpoolFlags::default()
        };
        match design_from(&pool(&[], geometry.clone())) {
            Ok(DesignSpec::Maxpool(m)) => {
                assert_eq!((m.channels, m.width, m.window, m.stride), (4, 14, 3, 3))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            usage(design_from(&pool(&[("rows", "4")], geometry))),
            "--rows and --channels both set the max-pool's channels, give one"
        );
        assert_eq!(
            usage(design_from(&pool(
                &[("rows", "0")],
                MaxpoolFlags::default()
            ))),
            "--rows must be in 1..=256, got 0"
        );
        assert_eq!(
            usage(design_from(&pool(
                &[("rows", "4"), ("pipeline", "1"), ("mul", "lut")],
                MaxpoolFlags::default()
            ))),
            "--pipeline and --mul apply to --design array only, got them with maxpool"
        );
        let window = MaxpoolFlags {
            window: Some("2".into()),
            ..MaxpoolFlags::default()
        };
        assert_eq!(
            usage(design_from(&RawDesign {
                maxpool: window,
                ..array(&[("rows", "4")])
            })),
            "--window applies to --design maxpool only, got it with array"
        );
    }

    fn usage(r: Result<impl std::fmt::Debug, FlowError>) -> String {
        match r {
            Err(FlowError::Usage(m)) => m,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn freq_is_parsed_in_mhz_and_checked() {
        assert_eq!(parse_freq_mhz("12").ok(), Some(12_000_000));
        assert_eq!(parse_freq_mhz("48.5").ok(), Some(48_500_000));
        assert_eq!(
            usage(parse_freq_mhz("12000000")),
            "--freq must be a frequency in MHz in 1..=1000, got 12000000"
        );
        assert_eq!(
            usage(parse_freq_mhz("fast")),
            "--freq must be a frequency in MHz in 1..=1000, got `fast`"
        );
        assert_eq!(mhz_text(12_000_000), "12");
        assert_eq!(mhz_text(48_500_000), "48.5");
    }

    #[test]
    fn seed_lists_are_checked() {
        assert_eq!(
            parse_list("seeds", "1,2,3", 1, 9, 16).ok(),
            Some(vec![1, 2, 3])
        );
        assert_eq!(
            usage(parse_list("seeds", "1,x", 1, 9, 16)),
            "--seeds must be an integer in 1..=9, got `x`"
        );
        assert_eq!(
            usage(parse_list("seeds", "2,2", 1, 9, 16)),
            "--seeds must not repeat a value, got 2 twice in `2,2`"
        );
    }

    #[test]
    fn design_flags() {
        let raw = array(&[("rows", "4")]);
        assert_eq!(
            design_from(&raw).ok().map(|d| d.size_label()),
            Some("4x4".into())
        );
        let raw = array(&[("rows", "0")]);
        assert_eq!(usage(design_from(&raw)), "--rows must be in 1..=256, got 0");
        let raw = RawDesign {
            design: Some("fft".into()),
            ..array(&[("rows", "2")])
        };
        assert_eq!(
            usage(design_from(&raw)),
            "--design must be one of: array, maxpool, array-ooc, engine, got `fft`"
        );
    }

    #[test]
    fn unknown_board_lists_the_known_ones() {
        let m = usage(board_from(Some("nexys")));
        assert!(
            m.starts_with("--board must be one of: icebreaker, ice40-hx8k, ulx3s"),
            "{m}"
        );
        assert!(m.ends_with("got `nexys`"), "{m}");
    }

    #[test]
    fn defaults_follow_the_board() {
        let cfg = flow_from(&RawFlow {
            board: Some("icebreaker".into()),
            design: array(&[("rows", "2")]),
            ..RawFlow::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.target_hz, 12_000_000);
        assert_eq!(cfg.seeds, vec![1]);
        assert_eq!(cfg.out_dir, PathBuf::from("build/icebreaker-array-2x2"));
        assert!(!cfg.allow_timing_fail);
    }

    #[test]
    fn arrays_use_the_boards_dsps_unless_told_otherwise() {
        let board = board_from(Some("icebreaker")).unwrap_or_else(|e| panic!("{e:?}"));
        let raw = array(&[("rows", "4")]);
        let fitted = fit_to_board(
            design_from(&raw).unwrap_or_else(|e| panic!("{e:?}")),
            &raw,
            &board,
        );
        match fitted {
            DesignSpec::Array(a) => {
                assert_eq!(a.mul, hdl::array::MulStyle::Auto);
                assert_eq!(u64::from(a.dsp_limit), board.resources.dsps);
            }
            other => panic!("{other:?}"),
        }
        let raw = array(&[("rows", "4"), ("mul", "lut"), ("pipeline", "2")]);
        match fit_to_board(
            design_from(&raw).unwrap_or_else(|e| panic!("{e:?}")),
            &raw,
            &board,
        ) {
            DesignSpec::Array(a) => {
                assert_eq!((a.mul, a.pipeline), (hdl::array::MulStyle::Lut, 2));
            }
            other => panic!("{other:?}"),
        }
        // --dsp-cell ice40: two PEs per SB_MAC16, so twice the board's blocks.
        let raw = array(&[("rows", "4"), ("dsp_cell", "ice40")]);
        match fit_to_board(
            design_from(&raw).unwrap_or_else(|e| panic!("{e:?}")),
            &raw,
            &board,
        ) {
            DesignSpec::Array(a) => {
                assert_eq!(a.mul, hdl::array::MulStyle::Auto);
                assert_eq!(u64::from(a.dsp_limit), 2 * board.resources.dsps);
                assert_eq!(a.derived().dsp_blocks, 8);
            }
            other => panic!("{other:?}"),
        }
        // The engine keeps blocks for its requantization and control products.
        // ULX3S 8x8: 156 blocks less 24 (yosys used 88 = 64 PEs + 24); UP5K
        // 2x2 with the state machines (`--control fsm`): 8 blocks less 12,
        // none left for the PEs.
        for (name, cols, limit) in [("ulx3s", 8u32, 132u32), ("icebreaker", 2, 0)] {
            let board = board_from(Some(name)).unwrap_or_else(|e| panic!("{e:?}"));
            let mut raw = RawDesign {
                design: Some("engine".into()),
                ..RawDesign::default()
            };
            raw.array.rows = Some(cols.to_string());
            raw.engine.control = Some("fsm".into());
            match fit_to_board(
                design_from(&raw).unwrap_or_else(|e| panic!("{e:?}")),
                &raw,
                &board,
            ) {
                DesignSpec::Engine(e) => {
                    assert_eq!(e.mul, hdl::array::MulStyle::Auto);
                    assert_eq!(e.dsp_limit, limit, "{name}");
                }
                other => panic!("{other:?}"),
            }
        }
        // No flags on an iCE40 board: the area-first engine, one requant unit,
        // SB_MAC16 products (8 - 2 blocks, two PEs each); on the HX8K (no
        // DSP) LUT multipliers. A user's choice stays.
        for (name, cell, limit) in [
            ("icebreaker", hdl::array::DspCell::Ice40, 12u32),
            ("ice40-hx8k", hdl::array::DspCell::Infer, 0),
        ] {
            let board = board_from(Some(name)).unwrap_or_else(|e| panic!("{e:?}"));
            let mut raw = RawDesign {
                design: Some("engine".into()),
                ..RawDesign::default()
            };
            raw.array.rows = Some("2".into());
            match fit_to_board(
                design_from(&raw).unwrap_or_else(|e| panic!("{e:?}")),
                &raw,
                &board,
            ) {
                DesignSpec::Engine(e) => {
                    assert_eq!(e.control, hdl::engine::Control::Micro, "{name}");
                    assert_eq!(e.requant_lanes, Some(1), "{name}");
                    assert_eq!((e.dsp_cell, e.dsp_limit), (cell, limit), "{name}");
                    assert!(e.addr_bits <= hdl::engine::config::MICRO_MAX_ADDR_BITS);
                    e.validate().unwrap_or_else(|err| panic!("{name}: {err}"));
                }
                other => panic!("{other:?}"),
            }
            raw.engine.requant_lanes = Some("2".into());
            match fit_to_board(
                design_from(&raw).unwrap_or_else(|e| panic!("{e:?}")),
                &raw,
                &board,
            ) {
                DesignSpec::Engine(e) => assert_eq!(e.requant_lanes, Some(2), "{name}"),
                other => panic!("{other:?}"),
            }
        }
        // --dsp-cell ice40: the engine instantiates two SB_MAC16 per requant
        // unit and nothing else; UP5K 2x2, one unit: 8 - 2 blocks, two PEs each.
        let board = board_from(Some("icebreaker")).unwrap_or_else(|e| panic!("{e:?}"));
        let mut raw = RawDesign {
            design: Some("engine".into()),
            ..RawDesign::default()
        };
        raw.array.rows = Some("2".into());
        raw.array.dsp_cell = Some("ice40".into());
        raw.engine.requant_lanes = Some("1".into());
        match fit_to_board(
            design_from(&raw).unwrap_or_else(|e| panic!("{e:?}")),
            &raw,
            &board,
        ) {
            DesignSpec::Engine(e) => {
                assert_eq!(engine_dsp_reserve(&e), 2);
                assert_eq!(e.dsp_limit, 12);
            }
            other => panic!("{other:?}"),
        }
        let raw = array(&[("rows", "4"), ("mul", "fast")]);
        assert_eq!(
            usage(design_from(&raw)),
            "--mul must be one of dsp, lut, auto, got `fast`"
        );
    }
}
