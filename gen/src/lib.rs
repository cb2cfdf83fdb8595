//! The logic behind the `gen` binary: raw flags -> one validated block
//! configuration -> generated Verilog and manifest -> atomic writes.
//!
//! Flags are parsed as raw strings first and turned into numbers here, so a bad
//! value gets one line naming the parameter, its rule and the value (the rules
//! themselves live in the block's config struct), and usage errors exit 2. Each
//! block's flags are written once, in [`flags`], and shared with `flow`.

pub mod flags;

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::Parser;
pub use flags::{
    parse_int, parse_int_in, ArrayFlags, EngineBoardFlags, EngineFlags, FlagError, Geometry,
    MaxpoolFlags,
};
use hdl::array::ArrayConfig;
use hdl::board::engine::EngineBoardConfig;
use hdl::engine::EngineConfig;
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
    /// Block to generate: `array` (systolic array), `maxpool` (streaming max pooling),
    /// `engine` (descriptor-driven conv/FC engine; its manifest carries the
    /// programming model) or `engine-board` (the engine with on-chip memory
    /// behind a UART bridge, for a board)
    #[arg(long, default_value = "array", value_name = "BLOCK")]
    pub top: String,
    #[command(flatten)]
    pub array: ArrayFlags,
    #[command(flatten)]
    pub maxpool: MaxpoolFlags,
    #[command(flatten)]
    pub engine: EngineFlags,
    #[command(flatten)]
    pub board: EngineBoardFlags,
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
    Engine(EngineConfig),
    EngineBoard(Box<EngineBoardConfig>),
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

impl From<FlagError> for CliError {
    fn from(e: FlagError) -> Self {
        CliError::Usage(e.to_string())
    }
}

/// A flag of another block is a mistake worth one clear line, not silence. The
/// engine takes the array's flags (its array) and its own; the array and the
/// max-pool take only theirs.
fn reject_foreign_flags(args: &RawArgs, block: &str) -> Result<(), CliError> {
    let array = || args.array.given().into_iter().map(|f| (f, "array"));
    let maxpool = || args.maxpool.given().into_iter().map(|f| (f, "maxpool"));
    let engine = || args.engine.given().into_iter().map(|f| (f, "engine"));
    let board = || args.board.given().into_iter().map(|f| (f, "engine-board"));
    let foreign = match block {
        "array" => maxpool().chain(engine()).chain(board()).next(),
        "maxpool" => array().chain(engine()).chain(board()).next(),
        "engine" => maxpool().chain(board()).next(),
        _ => maxpool().next(),
    };
    match foreign {
        Some((flag, owner)) => Err(CliError::Usage(format!(
            "{flag} applies to --top {owner}, not --top {block}"
        ))),
        None => Ok(()),
    }
}

/// Turn raw flags into one validated job.
pub fn job_from(args: &RawArgs) -> Result<Job, CliError> {
    match args.top.as_str() {
        "array" | "systolic_array" => {
            reject_foreign_flags(args, "array")?;
            let mut cfg = ArrayConfig::default();
            args.array.apply(&mut cfg)?;
            if let Some(n) = &args.name {
                cfg.name = n.clone();
            }
            cfg.validate()?;
            Ok(Job::Array(cfg))
        }
        "maxpool" => {
            reject_foreign_flags(args, "maxpool")?;
            let mut cfg = MaxpoolConfig::default();
            args.maxpool.apply(&mut cfg, Geometry::Required)?;
            if let Some(n) = &args.name {
                cfg.name = n.clone();
            }
            cfg.validate()?;
            Ok(Job::Maxpool(cfg))
        }
        "engine" => {
            reject_foreign_flags(args, "engine")?;
            let mut cfg = EngineConfig::default();
            args.engine.apply(&args.array, &mut cfg)?;
            if let Some(n) = &args.name {
                cfg.name = n.clone();
            }
            cfg.validate()?;
            Ok(Job::Engine(cfg))
        }
        "engine-board" => {
            reject_foreign_flags(args, "engine-board")?;
            let mut cfg = EngineBoardConfig::default();
            args.engine.apply(&args.array, &mut cfg.engine)?;
            args.board.apply(&mut cfg)?;
            if let Some(n) = &args.name {
                cfg.name = n.clone();
            }
            cfg.validate()?;
            Ok(Job::EngineBoard(Box::new(cfg)))
        }
        other => Err(CliError::Usage(format!(
            "top must be one of: array, maxpool, engine, engine-board, got `{other}`"
        ))),
    }
}

/// Generate the job's design.
pub fn generate(job: &Job) -> Result<Generated, CliError> {
    Ok(match job {
        Job::Array(cfg) => hdl::array::generate(cfg)?,
        Job::Maxpool(cfg) => hdl::maxpool::generate(cfg)?,
        Job::Engine(cfg) => hdl::engine::generate(cfg)?,
        Job::EngineBoard(cfg) => hdl::board::engine::generate(cfg)?,
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
