//! Building Verilated models and the shared Verilator runtime into the on-disk cache.
//!
//! Cache layout (root: [`cache_root`]):
//!
//! ```text
//! runtime-<key>/libverilated_rt.a   Verilator runtime, compiled once per toolchain
//! models/<top>-<key>/model.so       one shared object per (design, ports, flags, toolchain)
//! models/<top>-<key>/*.log          output of every tool that ran, plus the generated C++
//! traces/<test>-<pid>-<n>.fst       waveforms (TB_TRACE=1)
//! tmp/                              in-progress builds; failed builds stay here for their logs
//! locks/                            cross-process build locks
//! ```
//!
//! Every entry is built in a private directory under `tmp/` and published with one atomic
//! `rename`; if two builders of the same entry race (parallel test processes), the loser's
//! rename fails because the destination exists, and it uses the winner's copy. To avoid the
//! duplicated work, builders within one process are serialised per entry by a mutex, and
//! across processes by a best-effort lock directory under `locks/` (broken when its holder
//! has died); correctness never depends on the lock.
//!
//! Every tool runs through `toolrun` (one log per run, exit status checked, the log's
//! tail in the error); [`toolrun::spawn`] lets the model's C++ and the shim compile side
//! by side.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use toolrun::{Running, ToolError};

use super::shim::{self, EXPORTS_MAP, PRINTF_HEADER, SHIM_ABI_VERSION, SHIM_TEMPLATE};
use super::{BuildOptions, Dir, HarnessError, PortDesc};

/// How to get the toolchain on Debian/Ubuntu.
pub(crate) const INSTALL_HINT: &str =
    "install it with `sudo apt-get install -y verilator make g++ \
     binutils zlib1g-dev` (Debian/Ubuntu), or run `scripts/test.sh`, which installs everything \
     the test suite needs";

/// Flags passed to `verilator` for every model (`--trace-fst` is added for traced models).
pub(crate) const VERILATOR_FLAGS: &[&str] = &[
    "--cc",
    "-Wno-fatal",
    "--no-timing",
    "--x-assign",
    "unique",
    "--x-initial",
    "unique",
    "-CFLAGS",
    "-fPIC -O2",
];

/// The Verilator flags that [`BuildOptions`] adds to [`VERILATOR_FLAGS`] (and so to the key).
pub(crate) fn model_flags(options: &BuildOptions) -> Vec<String> {
    let mut flags = Vec::new();
    if options.split_cfuncs > 0 {
        flags.push("--output-split-cfuncs".to_string());
        flags.push(options.split_cfuncs.to_string());
    }
    if options.threads > 1 {
        flags.push("--threads".to_string());
        flags.push(options.threads.to_string());
    }
    flags
}

/// Optimisation settings for the model's own C++ (passed to the Verilator-generated makefile).
pub(crate) const MAKE_OPT: &[&str] = &["OPT_FAST=-O2", "OPT_SLOW=-O1", "OPT_GLOBAL=-O2"];

/// Flags for compiling the runtime and the shim; they mirror `verilated.mk`
/// (`CFG_CXXFLAGS_NO_UNUSED`) so all objects agree on the language standard and ABI.
const CXX_FLAGS: &[&str] = &[
    "-fPIC",
    "-O2",
    "-faligned-new",
    "-Wno-bool-operation",
    "-Wno-sign-compare",
    "-Wno-uninitialized",
    "-Wno-unused-but-set-variable",
    "-Wno-unused-parameter",
    "-Wno-unused-variable",
    "-Wno-shadow",
    "-DVM_COVERAGE=0",
    "-DVM_SC=0",
    "-DVM_TRACE_VCD=0",
];

/// The runtime replaces Verilator's `$finish`/`$stop`/fatal handlers with the shim's, and
/// prints through the shim's `tb_vl_printf` (declared by the force-included header).
const RUNTIME_DEFINES: &[&str] = &[
    "-DVM_TRACE=1",
    "-DVM_TRACE_FST=1",
    "-DVL_USER_FINISH",
    "-DVL_USER_STOP",
    "-DVL_USER_FATAL",
    "-DVL_PRINTF=tb_vl_printf",
    "-include",
    PRINTF_HEADER_FILE,
];

/// Written into the runtime build directory (the compiler's working directory).
const PRINTF_HEADER_FILE: &str = "tb_printf.h";

/// Runtime sources from `$VERILATOR_ROOT/include`. They go into an archive, so a model
/// links only what it uses (the FST writer, and hence zlib, only when traced).
const RUNTIME_SOURCES: &[&str] = &[
    "verilated.cpp",
    "verilated_threads.cpp",
    "verilated_fst_c.cpp",
];

/// Libraries for the final link (`-lz` is added for traced models).
const LINK_LIBS: &[&str] = &["-pthread", "-latomic"];

/// Facts about the installed toolchain, queried once per process.
#[derive(Clone, Debug)]
pub(crate) struct Toolchain {
    pub verilator_version: String,
    pub include_dir: PathBuf,
    pub cxx_version: String,
}

/// Where models, runtime objects and traces are cached.
///
/// `$VERILATOR_CACHE_DIR` if set, else `<cargo target dir>/verilator-cache`, where the target
/// dir is `$CARGO_TARGET_DIR` (at run time, then at build time) or `<workspace>/target`.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("VERILATOR_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| option_env!("CARGO_TARGET_DIR").map(PathBuf::from))
        .map(|t| {
            if t.is_absolute() {
                t
            } else {
                workspace.join(t)
            }
        })
        .unwrap_or_else(|| workspace.join("target"));
    target.join("verilator-cache")
}

pub(crate) fn require_tool(tool: &str) -> Result<(), HarnessError> {
    if toolrun::find_program(&[tool], &[]).is_some() {
        Ok(())
    } else {
        Err(HarnessError::ToolMissing {
            tool: tool.to_string(),
            hint: INSTALL_HINT.to_string(),
        })
    }
}

/// Run a short query command and return its trimmed stdout.
fn query(program: &str, args: &[&str]) -> Result<String, HarnessError> {
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    let out = cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            HarnessError::ToolMissing {
                tool: program.to_string(),
                hint: INSTALL_HINT.to_string(),
            }
        } else {
            HarnessError::io(format!("cannot run `{program}`"), e)
        }
    })?;
    if !out.status.success() {
        return Err(HarnessError::CommandFailed {
            command: toolrun::command_line(&cmd),
            status: out.status.to_string(),
            log: PathBuf::from("(not logged: query command)"),
            tail: String::from_utf8_lossy(&out.stderr).into_owned(),
            hint: String::new(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Check for the tools and query their versions (once per process).
pub(crate) fn toolchain() -> Result<Toolchain, HarnessError> {
    static CACHE: Mutex<Option<Toolchain>> = Mutex::new(None);
    let mut guard = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(tc) = guard.as_ref() {
        return Ok(tc.clone());
    }
    for tool in ["verilator", "make", "g++", "ar"] {
        require_tool(tool)?;
    }
    let verilator_version = query("verilator", &["--version"])?;
    let root = query("verilator", &["--getenv", "VERILATOR_ROOT"])?;
    let include_dir = PathBuf::from(root).join("include");
    if !include_dir.join("verilated.h").is_file() {
        return Err(HarnessError::ToolMissing {
            tool: "verilator runtime headers".into(),
            hint: format!(
                "{} does not contain verilated.h; {INSTALL_HINT}",
                include_dir.display()
            ),
        });
    }
    let cxx_version = query("g++", &["--version"])?
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let tc = Toolchain {
        verilator_version,
        include_dir,
        cxx_version,
    };
    *guard = Some(tc.clone());
    Ok(tc)
}

/// `program` to run in `cwd`.
fn tool(program: &str, cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(cwd);
    cmd
}

/// A failed tool run as the harness reports it: the command, its exit status,
/// the log and its tail (from `toolrun`), with advice for a known failure.
fn tool_error(e: ToolError) -> HarnessError {
    match e {
        ToolError::Missing { tool, .. } => HarnessError::ToolMissing {
            tool,
            hint: INSTALL_HINT.to_string(),
        },
        ToolError::Failed {
            command,
            status,
            log,
            tail,
        } => {
            let hint = if tail.contains("cannot find -lz") {
                "\nhint: tracing needs zlib: `sudo apt-get install -y zlib1g-dev`".to_string()
            } else {
                String::new()
            };
            HarnessError::CommandFailed {
                command,
                status,
                log,
                tail,
                hint,
            }
        }
        ToolError::Io { what, err } => HarnessError::io(what, err),
    }
}

/// Start `cmd` with its stdout and stderr in `log` ([`toolrun::spawn`]).
fn spawn(cmd: Command, log: PathBuf) -> Result<Running, HarnessError> {
    toolrun::spawn(cmd, &log, INSTALL_HINT).map_err(tool_error)
}

/// Wait for `job`; it must exit 0.
fn wait(job: Running) -> Result<(), HarnessError> {
    job.wait_checked().map(drop).map_err(tool_error)
}

/// Run `cmd` with its stdout and stderr in `log`; it must exit 0.
fn run(cmd: Command, log: PathBuf) -> Result<(), HarnessError> {
    wait(spawn(cmd, log)?)
}

/// Wait for all jobs, returning the first failure (after all have finished).
fn wait_all(jobs: Vec<Running>) -> Result<(), HarnessError> {
    let mut first_err = None;
    for job in jobs {
        if let Err(e) = wait(job) {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}

/// Length-prefixed hashing so that field boundaries cannot be confused.
struct KeyHasher(Sha256);

impl KeyHasher {
    fn new(domain: &str) -> Self {
        let mut h = KeyHasher(Sha256::new());
        h.field(domain);
        h
    }

    fn field(&mut self, s: impl AsRef<[u8]>) -> &mut Self {
        let s = s.as_ref();
        self.0.update((s.len() as u64).to_le_bytes());
        self.0.update(s);
        self
    }

    fn finish(self) -> String {
        let digest = self.0.finalize();
        let mut hex = String::with_capacity(64);
        for b in digest {
            let _ = write!(hex, "{b:02x}");
        }
        hex
    }
}

/// Short form of a cache key used in directory names.
fn short(key: &str) -> &str {
    &key[..20.min(key.len())]
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// A fresh, process-unique directory under `<root>/tmp`.
fn make_temp_dir(root: &Path, label: &str) -> Result<PathBuf, HarnessError> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
    let dir = root
        .join("tmp")
        .join(format!("{label}-{}-{n}-{nanos:08x}", std::process::id()));
    fs::create_dir_all(&dir)
        .map_err(|e| HarnessError::io(format!("cannot create {}", dir.display()), e))?;
    Ok(dir)
}

/// Failed builds are kept under `<root>/tmp` for their logs; drop those older than a day.
/// (In-progress builds are minutes old at most.)
fn remove_stale_temp_dirs(root: &Path) {
    const MAX_AGE: Duration = Duration::from_secs(24 * 3600);
    let Ok(entries) = fs::read_dir(root.join("tmp")) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > MAX_AGE);
        if old {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Atomically move a finished build into place. If another builder won the race (the
/// destination already holds `marker`), our copy is discarded and theirs is used.
fn publish(tmp: &Path, dest: &Path, marker: &str) -> Result<(), HarnessError> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| HarnessError::io(format!("cannot create {}", parent.display()), e))?;
    }
    match fs::rename(tmp, dest) {
        Ok(()) => Ok(()),
        Err(_) if dest.join(marker).is_file() => {
            let _ = fs::remove_dir_all(tmp);
            Ok(())
        }
        Err(e) => Err(HarnessError::io(
            format!("cannot move {} to {}", tmp.display(), dest.display()),
            e,
        )),
    }
}

/// Per-entry lock so that threads of one process do not build the same entry twice.
fn entry_lock(dest: &Path) -> Arc<Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = OnceLock::new();
    let mut map = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.entry(dest.to_path_buf()).or_default().clone()
}

/// Best-effort lock between processes (parallel test binaries under cargo-nextest), so that
/// only one of them builds a given cache entry while the others wait for it. It is an
/// optimisation only: correctness rests on the atomic `rename` in [`publish`], so a lock left
/// by a dead process is broken, and a waiter that gives up simply builds too.
struct ProcessLock {
    dir: PathBuf,
}

impl ProcessLock {
    const GIVE_UP: Duration = Duration::from_secs(30 * 60);

    /// Wait until we hold the lock for `dest` (`Some`), or `done` exists or waiting failed
    /// (`None`).
    fn acquire(root: &Path, dest: &Path, done: &Path) -> Option<ProcessLock> {
        let name = dest.file_name()?.to_string_lossy().into_owned();
        let locks = root.join("locks");
        fs::create_dir_all(&locks).ok()?;
        let dir = locks.join(format!("{name}.lock"));
        let start = Instant::now();
        loop {
            match fs::create_dir(&dir) {
                Ok(()) => {
                    let _ = fs::write(dir.join("pid"), std::process::id().to_string());
                    return Some(ProcessLock { dir });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(_) => return None,
            }
            if done.is_file() || start.elapsed() > Self::GIVE_UP {
                return None;
            }
            if Self::is_stale(&dir) {
                let _ = fs::remove_dir_all(&dir);
                continue;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The holder died (no such process), or never wrote its pid within a minute.
    fn is_stale(dir: &Path) -> bool {
        match fs::read_to_string(dir.join("pid")) {
            Ok(pid) => {
                let pid = pid.trim();
                !pid.is_empty() && !Path::new("/proc").join(pid).exists()
            }
            Err(_) => fs::metadata(dir)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(60)),
        }
    }
}

impl Drop for ProcessLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> Result<(), HarnessError> {
    fs::write(path, contents)
        .map_err(|e| HarnessError::io(format!("cannot write {}", path.display()), e))
}

fn include_flags(tc: &Toolchain) -> Vec<String> {
    vec![
        format!("-I{}", tc.include_dir.display()),
        format!("-I{}", tc.include_dir.join("vltstd").display()),
    ]
}

fn runtime_key(tc: &Toolchain) -> String {
    let mut h = KeyHasher::new("testbench-verilator-runtime-v1");
    h.field(&tc.verilator_version)
        .field(&tc.cxx_version)
        .field(tc.include_dir.to_string_lossy().as_bytes());
    for f in CXX_FLAGS
        .iter()
        .chain(RUNTIME_DEFINES)
        .chain(RUNTIME_SOURCES)
    {
        h.field(f);
    }
    h.finish()
}

const RUNTIME_ARCHIVE: &str = "libverilated_rt.a";

/// Build (or find) the archive of Verilator runtime objects shared by all models.
pub(crate) fn ensure_runtime(root: &Path, tc: &Toolchain) -> Result<PathBuf, HarnessError> {
    let key = runtime_key(tc);
    let dest = root.join(format!("runtime-{}", short(&key)));
    let archive = dest.join(RUNTIME_ARCHIVE);
    let lock = entry_lock(&dest);
    let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
    if archive.is_file() {
        return Ok(archive);
    }
    let _process_lock = ProcessLock::acquire(root, &dest, &archive);
    if archive.is_file() {
        return Ok(archive);
    }
    let start = Instant::now();
    let tmp = make_temp_dir(root, "runtime")?;
    write_file(&tmp.join(PRINTF_HEADER_FILE), PRINTF_HEADER)?;
    let mut running = Vec::new();
    let mut objects = Vec::new();
    for src in RUNTIME_SOURCES {
        let stem = src.trim_end_matches(".cpp");
        let obj = format!("{stem}.o");
        let mut cmd = tool("g++", &tmp);
        cmd.args(CXX_FLAGS)
            .args(RUNTIME_DEFINES)
            .args(include_flags(tc))
            .arg("-c")
            .arg(tc.include_dir.join(src))
            .arg("-o")
            .arg(&obj);
        match spawn(cmd, tmp.join(format!("{stem}.log"))) {
            Ok(job) => running.push(job),
            Err(e) => {
                let _ = wait_all(running);
                return Err(e);
            }
        }
        objects.push(obj);
    }
    wait_all(running)?;
    let mut ar = tool("ar", &tmp);
    ar.arg("rcs").arg(RUNTIME_ARCHIVE).args(&objects);
    run(ar, tmp.join("ar.log"))?;
    for obj in &objects {
        let _ = fs::remove_file(tmp.join(obj));
    }
    write_file(
        &tmp.join("meta.txt"),
        format!(
            "verilator: {}\ncompiler: {}\nkey: {key}\n",
            tc.verilator_version, tc.cxx_version
        ),
    )?;
    publish(&tmp, &dest, RUNTIME_ARCHIVE)?;
    eprintln!(
        "testbench::verilator: built the Verilator runtime in {:.1}s ({})",
        start.elapsed().as_secs_f64(),
        dest.display()
    );
    Ok(archive)
}

/// What [`ensure_model`] found or built.
pub(crate) struct BuiltModel {
    pub dir: PathBuf,
    pub library: PathBuf,
    pub cached: bool,
}

pub(crate) const MODEL_LIBRARY: &str = "model.so";

/// Cache key of one model: everything that influences the shared object.
fn model_key(
    tc: &Toolchain,
    verilog: &str,
    top: &str,
    ports: &[PortDesc],
    trace: bool,
    extra_flags: &[String],
) -> String {
    let mut h = KeyHasher::new("testbench-verilator-model-v1");
    h.field(verilog).field(top).field([u8::from(trace)]);
    for p in ports {
        let dir = match p.dir {
            Dir::Input => "in",
            Dir::Output => "out",
        };
        h.field(&p.name).field(p.width.to_le_bytes()).field(dir);
    }
    for f in VERILATOR_FLAGS.iter().chain(MAKE_OPT).chain(LINK_LIBS) {
        h.field(f);
    }
    // Length-prefixed as a group, so that no extra flags hashes unlike any other list.
    h.field((extra_flags.len() as u64).to_le_bytes());
    for f in extra_flags {
        h.field(f);
    }
    h.field(SHIM_ABI_VERSION.to_le_bytes())
        .field(SHIM_TEMPLATE)
        .field(EXPORTS_MAP)
        .field(runtime_key(tc));
    h.finish()
}

/// Find the model in the cache or build it.
pub(crate) fn ensure_model(
    root: &Path,
    tc: &Toolchain,
    verilog: &str,
    top: &str,
    ports: &[PortDesc],
    trace: bool,
    extra_flags: &[String],
) -> Result<BuiltModel, HarnessError> {
    let key = model_key(tc, verilog, top, ports, trace, extra_flags);
    let label = format!("{top}-{}{}", if trace { "fst-" } else { "" }, short(&key));
    let dest = root.join("models").join(&label);
    let library = dest.join(MODEL_LIBRARY);
    let lock = entry_lock(&dest);
    let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
    if library.is_file() {
        return Ok(BuiltModel {
            dir: dest,
            library,
            cached: true,
        });
    }
    let runtime = ensure_runtime(root, tc)?;
    let _process_lock = ProcessLock::acquire(root, &dest, &library);
    if library.is_file() {
        return Ok(BuiltModel {
            dir: dest,
            library,
            cached: true,
        });
    }
    remove_stale_temp_dirs(root);
    let start = Instant::now();
    let tmp = make_temp_dir(root, &label)?;
    let built = build_model_in(
        &tmp,
        tc,
        &runtime,
        verilog,
        top,
        ports,
        trace,
        extra_flags,
        &key,
    );
    if let Err(e) = built {
        // A failed tool run keeps its directory for the log named in the error.
        if !matches!(e, HarnessError::CommandFailed { .. }) {
            let _ = fs::remove_dir_all(&tmp);
        }
        return Err(e);
    }
    publish(&tmp, &dest, MODEL_LIBRARY)?;
    eprintln!(
        "testbench::verilator: built model `{top}` in {:.1}s ({})",
        start.elapsed().as_secs_f64(),
        dest.display()
    );
    Ok(BuiltModel {
        dir: dest,
        library,
        cached: false,
    })
}

#[allow(clippy::too_many_arguments)]
fn build_model_in(
    dir: &Path,
    tc: &Toolchain,
    runtime: &Path,
    verilog: &str,
    top: &str,
    ports: &[PortDesc],
    trace: bool,
    extra_flags: &[String],
    key: &str,
) -> Result<(), HarnessError> {
    let source = format!("{top}.v");
    write_file(&dir.join(&source), verilog)?;

    // 1. Verilog -> C++.
    let mut verilator = tool("verilator", dir);
    verilator
        .args(VERILATOR_FLAGS)
        .args(extra_flags)
        .args(trace.then_some("--trace-fst"))
        .arg(&source)
        .args(["--top-module", top, "--Mdir", "obj"]);
    run(verilator, dir.join("verilator.log"))?;

    // 2. Check the port list against the generated header and write the shim.
    let header_path = dir.join("obj").join(format!("V{top}.h"));
    let header = fs::read_to_string(&header_path)
        .map_err(|e| HarnessError::io(format!("cannot read {}", header_path.display()), e))?;
    let invalid = |reason: String| HarnessError::InvalidSpec {
        top: top.to_string(),
        reason,
    };
    let header_ports = shim::parse_header_ports(&header).map_err(invalid)?;
    let cnames = shim::match_ports(ports, &header_ports).map_err(invalid)?;
    write_file(
        &dir.join("shim.cpp"),
        shim::generate_shim(top, trace, ports, &cnames),
    )?;
    write_file(&dir.join("exports.map"), EXPORTS_MAP)?;

    // 3. Compile the model (Verilator's makefile) and the shim in parallel.
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut make = tool("make", dir);
    make.args(["-C", "obj", "-f"])
        .arg(format!("V{top}.mk"))
        .arg(format!("V{top}__ALL.a"))
        .args(MAKE_OPT)
        .arg(format!("-j{jobs}"));
    let make = spawn(make, dir.join("make.log"))?;
    let trace_defines = if trace {
        ["-DVM_TRACE=1", "-DVM_TRACE_FST=1"]
    } else {
        ["-DVM_TRACE=0", "-DVM_TRACE_FST=0"]
    };
    let mut shim = tool("g++", dir);
    shim.args(CXX_FLAGS)
        .args(trace_defines)
        .arg("-Iobj")
        .args(include_flags(tc))
        .args(["-c", "shim.cpp", "-o", "shim.o"]);
    let shim_job = spawn(shim, dir.join("shim.log"));
    let made = wait(make);
    wait(shim_job?)?;
    made?;

    // 4. Link one self-contained shared object exporting only tb_*.
    let mut link = tool("g++", dir);
    link.args(["-shared", "-fPIC", "-O2", "-o", MODEL_LIBRARY])
        .args(["-Wl,--version-script=exports.map", "-Wl,--no-undefined"])
        .arg("shim.o")
        .arg("-Wl,--start-group")
        .arg(format!("obj/V{top}__ALL.a"))
        .arg(runtime)
        .arg("-Wl,--end-group")
        .args(LINK_LIBS)
        .args(trace.then_some("-lz"));
    run(link, dir.join("link.log"))?;

    // Object files are large and no longer needed; generated C++ and logs stay for debugging.
    let _ = fs::remove_file(dir.join("shim.o"));
    if let Ok(entries) = fs::read_dir(dir.join("obj")) {
        for entry in entries.flatten() {
            let path = entry.path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("o" | "a" | "d")
            ) {
                let _ = fs::remove_file(path);
            }
        }
    }
    let mut meta = format!(
        "top: {top}\ntrace: {trace}\nflags: {}\nkey: {key}\nverilator: {}\ncompiler: {}\nports:\n",
        extra_flags.join(" "),
        tc.verilator_version,
        tc.cxx_version
    );
    for p in ports {
        let _ = writeln!(meta, "  {:?} {} {}", p.dir, p.width, p.name);
    }
    write_file(&dir.join("meta.txt"), meta)
}
