//! The logic behind the `gen` binary: raw flags -> one validated block
//! configuration -> generated Verilog and manifest -> atomic writes.
//!
//! Flags are parsed as raw strings first and turned into numbers here, so a bad
//! value gets one line naming the parameter, its rule and the value (the rules
//! themselves live in the block's config struct), and usage errors exit 2.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::Parser;
use hdl::array::ArrayConfig;
use hdl::maxpool::MaxpoolConfig;
use hdl::{ConfigError, GenError, Generated};

/// Raw command-line flags, before any validation.
#[derive(Parser, Debug)]
#[command(
    name = "gen",
    version,
    about = "Generate synthesizable Verilog-2005 for the int8 CNN accelerator blocks",
    long_about = "Generate synthesizable Verilog-2005 for the int8 CNN accelerator blocks.\n\
                  Verilog goes to stdout (or --out FILE, written atomically); diagnostics go to stderr."
)]
pub struct RawArgs {
    /// Block to generate: `array` (systolic array) or `maxpool` (streaming max pooling)
    #[arg(long, default_value = "array", value_name = "BLOCK")]
    pub top: String,
    /// Array: PE rows, 1..=256
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub rows: Option<String>,
    /// Array: PE columns, 1..=256 (default: same as --rows)
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
    /// Array: with --mul auto, how many PEs get a DSP multiplier (e.g. 8 on an iCE40UP5K)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub dsps: Option<String>,
    /// Array: how DSP-style multipliers are written: infer (`*`, any target) or ecp5
    /// (MULT18X18D primitives with their own registers; needs --pipeline 3 or more)
    #[arg(long, value_name = "CELL")]
    pub dsp_cell: Option<String>,
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
    /// Top module name (default: the block's name); sub-modules are prefixed with it
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Write the Verilog to FILE (atomically) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write the JSON manifest (config, derived widths, ports, version) to FILE
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
}

/// One fully validated job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Job {
    Array(ArrayConfig),
    Maxpool(MaxpoolConfig),
}

/// What can go wrong, with the exit status each deserves.
#[derive(Debug)]
pub enum CliError {
    /// Bad flags or values: exit 2.
    Usage(String),
    /// The generator itself failed (a bug): exit 1.
    Gen(String),
    /// Writing an output failed: exit 1.
    Io(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            _ => 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Gen(m) | CliError::Io(m) => f.write_str(m),
        }
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        CliError::Usage(e.to_string())
    }
}

impl From<GenError> for CliError {
    fn from(e: GenError) -> Self {
        match e {
            GenError::Config(c) => c.into(),
            other => CliError::Gen(other.to_string()),
        }
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

/// Flags that belong to one block only, as (flag, block, given).
fn block_flags(args: &RawArgs) -> [(&'static str, &'static str, bool); 11] {
    [
        ("--dsp-cell", "array", args.dsp_cell.is_some()),
        ("--rows", "array", args.rows.is_some()),
        ("--cols", "array", args.cols.is_some()),
        ("--pipeline", "array", args.pipeline.is_some()),
        ("--mul", "array", args.mul.is_some()),
        ("--dsps", "array", args.dsps.is_some()),
        ("--channels", "maxpool", args.channels.is_some()),
        ("--width", "maxpool", args.width.is_some()),
        ("--window", "maxpool", args.window.is_some()),
        ("--stride", "maxpool", args.stride.is_some()),
        ("--pad", "maxpool", args.pad.is_some()),
    ]
}

/// A flag of another block is a mistake worth one clear line, not silence.
fn reject_foreign_flags(args: &RawArgs, block: &str) -> Result<(), CliError> {
    match block_flags(args)
        .iter()
        .find(|(_, owner, given)| *given && *owner != block)
    {
        Some((flag, owner, _)) => Err(CliError::Usage(format!(
            "{flag} applies to --top {owner}, not --top {block}"
        ))),
        None => Ok(()),
    }
}

/// The max-pool job: each value is checked against its rule from [`MaxpoolConfig::range`]
/// as soon as the values it depends on are known (stride and pad depend on the window).
fn maxpool_job(args: &RawArgs) -> Result<MaxpoolConfig, CliError> {
    let mut cfg = MaxpoolConfig::default();
    let value = |cfg: &MaxpoolConfig, param: &str, raw: &str| -> Result<u32, CliError> {
        let r = cfg.range(param).ok_or_else(|| {
            CliError::Gen(format!("internal error: no rule for parameter `{param}`"))
        })?;
        Ok(parse_int_in(
            param,
            raw,
            i64::from(r.lo),
            i64::from(r.hi),
            &r.text,
        )?)
    };
    let required = |flag: &Option<String>, name: &str, what: &str| {
        flag.clone().ok_or_else(|| {
            CliError::Usage(format!(
                "--top maxpool needs --{name} ({what}, {})",
                MaxpoolConfig::default()
                    .range(name)
                    .map(|r| r.text)
                    .unwrap_or_default()
            ))
        })
    };
    cfg.channels = value(
        &cfg,
        "channels",
        &required(&args.channels, "channels", "channels per pixel")?,
    )?;
    cfg.width = value(
        &cfg,
        "width",
        &required(&args.width, "width", "image width")?,
    )?;
    if let Some(k) = &args.window {
        cfg.window = value(&cfg, "window", k)?;
    }
    cfg.stride = match &args.stride {
        Some(s) => value(&cfg, "stride", s)?,
        None => cfg.window,
    };
    cfg.pad = match &args.pad {
        Some(p) => value(&cfg, "pad", p)?,
        None => 0,
    };
    if let Some(n) = &args.name {
        cfg.name = n.clone();
    }
    cfg.validate()?;
    Ok(cfg)
}

/// Turn raw flags into one validated job.
pub fn job_from(args: &RawArgs) -> Result<Job, CliError> {
    match args.top.as_str() {
        "array" | "systolic_array" => {
            reject_foreign_flags(args, "array")?;
            let max = i64::from(hdl::array::config::MAX_DIM);
            let mut cfg = ArrayConfig::default();
            if let Some(r) = &args.rows {
                cfg.rows = parse_int("rows", r, 1, max)?;
                cfg.cols = cfg.rows;
            }
            if let Some(c) = &args.cols {
                cfg.cols = parse_int("cols", c, 1, max)?;
            }
            if let Some(p) = &args.pipeline {
                cfg.pipeline =
                    parse_int("pipeline", p, 0, hdl::array::config::MAX_PIPELINE.into())?;
            }
            if let Some(m) = &args.mul {
                cfg.mul = hdl::array::MulStyle::parse(m)?;
            }
            if let Some(d) = &args.dsps {
                if cfg.mul != hdl::array::MulStyle::Auto {
                    return Err(CliError::Usage("--dsps applies to --mul auto only".into()));
                }
                cfg.dsp_limit = parse_int("dsps", d, 0, max * max)?;
            }
            if let Some(c) = &args.dsp_cell {
                cfg.dsp_cell = hdl::array::DspCell::parse(c)?;
            }
            if let Some(n) = &args.name {
                cfg.name = n.clone();
            }
            cfg.validate()?;
            Ok(Job::Array(cfg))
        }
        "maxpool" => {
            reject_foreign_flags(args, "maxpool")?;
            Ok(Job::Maxpool(maxpool_job(args)?))
        }
        other => Err(CliError::Usage(format!(
            "top must be one of: array, maxpool, got `{other}`"
        ))),
    }
}

/// Generate the job's design.
pub fn generate(job: &Job) -> Result<Generated, CliError> {
    Ok(match job {
        Job::Array(cfg) => hdl::array::generate(cfg)?,
        Job::Maxpool(cfg) => hdl::maxpool::generate(cfg)?,
    })
}

/// Write `data` to `path` atomically: a temporary file in the same folder, then rename.
/// On any error the temporary file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), CliError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path.file_name().ok_or_else(|| {
        CliError::Usage(format!(
            "output path must name a file, got `{}`",
            path.display()
        ))
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp.{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CliError::Io(format!("cannot write `{}`: {e}", path.display()))
    })
}

/// `path` as the file system will resolve it: canonical where the file exists,
/// else its folder canonical (where that exists) joined with its name.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match (dir.canonicalize(), path.file_name()) {
        (Ok(d), Some(name)) => d.join(name),
        _ => path.to_path_buf(),
    }
}

/// `--out` and `--manifest` must name two different files: one would overwrite
/// the other.
pub fn check_outputs(args: &RawArgs) -> Result<(), CliError> {
    if let (Some(out), Some(manifest)) = (&args.out, &args.manifest) {
        if out == manifest || resolved(out) == resolved(manifest) {
            return Err(CliError::Usage(format!(
                "--out and --manifest must be different files, got `{}` and `{}`",
                out.display(),
                manifest.display()
            )));
        }
    }
    Ok(())
}

/// Run `gen` with parsed flags: generate everything first, then write outputs.
pub fn run(args: &RawArgs) -> Result<(), CliError> {
    check_outputs(args)?;
    let job = job_from(args)?;
    let g = generate(&job)?;
    let manifest = g.manifest.to_json();
    if let Some(path) = &args.out {
        write_atomic(path, g.verilog.as_bytes())?;
    }
    if let Some(path) = &args.manifest {
        write_atomic(path, manifest.as_bytes())?;
    }
    if args.out.is_none() {
        let mut stdout = io::stdout().lock();
        match stdout
            .write_all(g.verilog.as_bytes())
            .and_then(|_| stdout.flush())
        {
            Ok(()) => {}
            // `gen | head` closes the pipe early: not an error.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            Err(e) => return Err(CliError::Io(format!("cannot write Verilog to stdout: {e}"))),
        }
    }
    Ok(())
}
