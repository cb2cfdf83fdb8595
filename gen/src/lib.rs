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
    /// Block to generate: `array` (systolic array)
    #[arg(long, default_value = "array", value_name = "BLOCK")]
    pub top: String,
    /// Array: PE rows, 1..=256
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub rows: Option<String>,
    /// Array: PE columns, 1..=256 (default: same as --rows)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub cols: Option<String>,
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
    let rule = format!("must be an integer in {lo}..={hi}");
    let v: i64 = raw
        .trim()
        .parse()
        .map_err(|_| ConfigError::new(param, rule.clone(), format!("`{raw}`")))?;
    if v < lo || v > hi {
        return Err(ConfigError::new(
            param,
            format!("must be in {lo}..={hi}"),
            v,
        ));
    }
    u32::try_from(v).map_err(|_| ConfigError::new(param, rule, v))
}

/// Turn raw flags into one validated job.
pub fn job_from(args: &RawArgs) -> Result<Job, CliError> {
    match args.top.as_str() {
        "array" | "systolic_array" => {
            let max = i64::from(hdl::array::config::MAX_DIM);
            let mut cfg = ArrayConfig::default();
            if let Some(r) = &args.rows {
                cfg.rows = parse_int("rows", r, 1, max)?;
                cfg.cols = cfg.rows;
            }
            if let Some(c) = &args.cols {
                cfg.cols = parse_int("cols", c, 1, max)?;
            }
            if let Some(n) = &args.name {
                cfg.name = n.clone();
            }
            cfg.validate()?;
            Ok(Job::Array(cfg))
        }
        other => Err(CliError::Usage(format!(
            "top must be one of: array, got `{other}`"
        ))),
    }
}

/// Generate the job's design.
pub fn generate(job: &Job) -> Result<Generated, CliError> {
    Ok(match job {
        Job::Array(cfg) => hdl::array::generate(cfg)?,
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

/// Run `gen` with parsed flags: generate everything first, then write outputs.
pub fn run(args: &RawArgs) -> Result<(), CliError> {
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
