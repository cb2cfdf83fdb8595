//! One validated flow configuration, built from raw flag strings in one place.
//!
//! As in `gen`, flags arrive as strings and are checked here, so every bad value
//! gets one line naming the flag, its rule and the value, and exits 2.

use std::path::PathBuf;

use boards::Board;
use hdl::array::ArrayConfig;
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
}

impl DesignSpec {
    /// `array`, `maxpool` or `array-ooc`.
    pub fn kind(&self) -> &'static str {
        match self {
            DesignSpec::Array(_) => "array",
            DesignSpec::Maxpool(_) => "maxpool",
            DesignSpec::ArrayOoc(_) => "array-ooc",
        }
    }

    /// The PE pipeline depth of an array.
    pub fn pipeline(&self) -> Option<u32> {
        match self {
            DesignSpec::Array(a) | DesignSpec::ArrayOoc(a) => Some(a.pipeline),
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
            DesignSpec::Maxpool(m) => format!("{}ch", m.channels),
        }
    }

    /// Multiply-accumulates per clock (peak), where the design has them.
    pub fn macs_per_cycle(&self) -> Option<u64> {
        match self {
            DesignSpec::Array(a) | DesignSpec::ArrayOoc(a) => {
                Some(u64::from(a.rows) * u64::from(a.cols))
            }
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

/// Raw design flags shared by `flow`, `flow sweep` and `flow asic`.
#[derive(Clone, Debug, Default)]
pub struct RawDesign {
    pub design: Option<String>,
    pub rows: Option<String>,
    pub cols: Option<String>,
    /// Array PE pipeline depth, 0..=4.
    pub pipeline: Option<String>,
    /// Array multiplier style: dsp, lut or auto (default on a board: auto, with the
    /// board's DSP count).
    pub mul: Option<String>,
}

/// Build the design from raw flags. For `maxpool`, `--rows` is the channel count
/// (the size axis of a sweep) and the window is the default 2x2 stride 2 over
/// 28-pixel rows.
pub fn design_from(raw: &RawDesign) -> Result<DesignSpec, FlowError> {
    let max = u64::from(hdl::array::config::MAX_DIM);
    let kind = raw.design.as_deref().unwrap_or("array");
    let rows = raw
        .rows
        .as_deref()
        .ok_or_else(|| FlowError::Usage("--rows is required".into()))?;
    match kind {
        "array" | "array-ooc" => {
            let rows = parse_int("rows", rows, 1, max)? as u32;
            let cols = match &raw.cols {
                Some(c) => parse_int("cols", c, 1, max)? as u32,
                None => rows,
            };
            let mut cfg = ArrayConfig {
                rows,
                cols,
                name: "systolic_array".into(),
                ..ArrayConfig::default()
            };
            if let Some(p) = &raw.pipeline {
                cfg.pipeline =
                    parse_int("pipeline", p, 0, hdl::array::config::MAX_PIPELINE.into())? as u32;
            }
            if let Some(m) = &raw.mul {
                cfg.mul = hdl::array::MulStyle::parse(m)?;
            }
            cfg.validate()?;
            Ok(if kind == "array" {
                DesignSpec::Array(cfg)
            } else {
                DesignSpec::ArrayOoc(cfg)
            })
        }
        "maxpool" => {
            if raw.pipeline.is_some() || raw.mul.is_some() {
                return Err(FlowError::Usage(
                    "--pipeline and --mul apply to --design array only, got them with maxpool"
                        .into(),
                ));
            }
            if raw.cols.is_some() {
                return Err(FlowError::Usage(
                    "--cols applies to --design array only, got it with maxpool".into(),
                ));
            }
            let channels = parse_int(
                "rows",
                rows,
                1,
                u64::from(hdl::maxpool::config::MAX_CHANNELS),
            )? as u32;
            let cfg = MaxpoolConfig {
                channels,
                ..MaxpoolConfig::default()
            };
            cfg.validate()?;
            Ok(DesignSpec::Maxpool(cfg))
        }
        other => Err(FlowError::Usage(format!(
            "--design must be one of: array, maxpool, array-ooc, got `{other}`"
        ))),
    }
}

/// Fit a design to a board: unless the user chose a multiplier style, an array gets
/// `auto`, with as many DSP multipliers as the board has DSP blocks and LUT
/// multipliers for the rest (so a 4x4 array fits the 8 DSPs of an iCE40UP5K). On
/// ECP5, from pipeline depth 3 on, the DSP multipliers are `MULT18X18D` blocks with
/// their own registers (`hdl::array::ecp5_mult`): yosys leaves them unregistered.
pub fn fit_to_board(design: DesignSpec, raw: &RawDesign, board: &Board) -> DesignSpec {
    let fit = |mut a: ArrayConfig| {
        if raw.mul.is_none() {
            a.mul = hdl::array::MulStyle::Auto;
            a.dsp_limit = u32::try_from(board.resources.dsps).unwrap_or(u32::MAX);
        }
        if board.family == boards::Family::Ecp5 && a.pipeline >= 3 {
            a.dsp_cell = hdl::array::DspCell::Ecp5;
        }
        a
    };
    match design {
        DesignSpec::Array(a) => DesignSpec::Array(fit(a)),
        DesignSpec::ArrayOoc(a) => DesignSpec::ArrayOoc(fit(a)),
        other => other,
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
        let raw = RawDesign {
            design: None,
            rows: Some("4".into()),
            cols: None,
            ..RawDesign::default()
        };
        assert_eq!(
            design_from(&raw).ok().map(|d| d.size_label()),
            Some("4x4".into())
        );
        let raw = RawDesign {
            rows: Some("0".into()),
            ..raw
        };
        assert_eq!(usage(design_from(&raw)), "--rows must be in 1..=256, got 0");
        let raw = RawDesign {
            design: Some("fft".into()),
            rows: Some("2".into()),
            cols: None,
            ..RawDesign::default()
        };
        assert_eq!(
            usage(design_from(&raw)),
            "--design must be one of: array, maxpool, array-ooc, got `fft`"
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
            design: RawDesign {
                rows: Some("2".into()),
                ..RawDesign::default()
            },
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
        let raw = RawDesign {
            rows: Some("4".into()),
            ..RawDesign::default()
        };
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
        let raw = RawDesign {
            rows: Some("4".into()),
            mul: Some("lut".into()),
            pipeline: Some("2".into()),
            ..RawDesign::default()
        };
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
        let raw = RawDesign {
            rows: Some("4".into()),
            mul: Some("fast".into()),
            ..RawDesign::default()
        };
        assert_eq!(
            usage(design_from(&raw)),
            "mul must be one of dsp, lut, auto, got `fast`"
        );
    }
}
