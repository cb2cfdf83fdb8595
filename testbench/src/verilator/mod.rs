//! Verilator harness: compile a Verilog design at test time and drive it from Rust.
//!
//! # What
//!
//! [`Model::build`] takes a [`BuildSpec`] (Verilog source text, top module name, port list),
//! turns it into a shared object with Verilator and a small generated C++ shim, loads it with
//! `libloading` and returns a [`Model`] whose ports are read and written through raw pointers
//! into the Verilated model's storage. Results are cached on disk, so a test suite pays for
//! Verilator and the C++ compiler once per design, not once per test run.
//!
//! ```no_run
//! use testbench::verilator::{BuildSpec, Model, PortDesc};
//!
//! let spec = BuildSpec::new(
//!     "module inc(input clk, input [7:0] a, output reg [7:0] y);\n\
//!      always @(posedge clk) y <= a + 1;\nendmodule\n",
//!     "inc",
//!     vec![PortDesc::input("clk", 1), PortDesc::input("a", 8), PortDesc::output("y", 8)],
//! );
//! let mut m = Model::build(&spec)?;
//! let (clk, a, y) = (m.port("clk")?, m.port("a")?, m.port("y")?);
//! m.set(a, 41);
//! m.tick(clk);
//! assert_eq!(m.get(y), 42, "{}", m.trace_note());
//! # Ok::<(), testbench::verilator::HarnessError>(())
//! ```
//!
//! # Why our own builder
//!
//! The `verilated` crate does not build against Verilator 5, and the one-shot
//! `verilator --cc --exe --build -LDFLAGS -shared` recipe recompiles the Verilator runtime
//! (`verilated.cpp`, `verilated_threads.cpp`, `verilated_fst_c.cpp`: ~15 s of g++ each) for
//! every design. The build is therefore split into the same steps Verilator's own makefile
//! performs, so the runtime can be compiled **once** per toolchain and shared:
//!
//! 1. runtime (cached under `runtime-<key>/`): `g++ -c -fPIC -O2` of the runtime sources with
//!    the flags of `verilated.mk`, archived into `libverilated_rt.a`;
//! 2. `verilator --cc <top>.v --top-module <top> --Mdir obj -Wno-fatal --no-timing
//!    --x-assign unique --x-initial unique -CFLAGS "-fPIC -O2" --output-split-cfuncs 1000
//!    [--threads N] [--trace-fst]` (see [`BuildOptions`]);
//! 3. the generated `V<top>.h` is parsed to check the Rust port list (names, directions,
//!    widths; every design port must be listed) and to generate `shim.cpp`;
//! 4. `make -f V<top>.mk V<top>__ALL.a OPT_FAST=-O2 ...` and `g++ -c shim.cpp` in parallel;
//! 5. `g++ -shared` of shim, model archive and runtime archive into `model.so`, exporting only
//!    the shim's `tb_*` functions, so every design carries a private runtime copy and several
//!    designs coexist in one process.
//!
//! Lint (`-Wall`) is deliberately not part of the build; it is a separate check.
//!
//! # Cache
//!
//! Models live under [`cache_root`] (`$VERILATOR_CACHE_DIR`, default
//! `<target>/verilator-cache`), keyed by a SHA-256 of the Verilog, top, port list, trace flag,
//! all tool flags, the shim template and the `verilator`/`g++` versions. Builds happen in a
//! private temporary directory that is renamed into place atomically, so parallel test
//! processes (cargo-nextest) may race to build the same model safely. Failed builds stay
//! under `<cache>/tmp/` so that the log named in the error message can be read; that
//! directory may be deleted at any time no build is running.
//!
//! # Simulation semantics
//!
//! * All registers and memories start **random** (`--x-initial unique` and
//!   `randReset(2)`); tests must reset the design. The seed is `$TB_SEED` if set, random
//!   otherwise, and is reported by [`Model::trace_note`] so a failure can be reproduced.
//! * At construction every listed input is set to 0 and the model is evaluated once, so a
//!   clock starts low and the first [`Model::tick`] is a rising edge.
//! * [`Model::set`] only writes the input; the change is applied by the next evaluation.
//!   Evaluation happens in [`Model::eval`], in [`Model::tick`] (which first settles pending
//!   input changes with the clock still low, then does rising edge, falling edge), and
//!   **lazily in [`Model::get`]/[`Model::get_words`]** when inputs changed since the last
//!   evaluation. So combinational outputs read with `get` always reflect the inputs set
//!   before, without an explicit `eval()`.
//! * Drive inputs between ticks (clock low), as in Verilator's examples: set inputs, `tick`,
//!   read registered outputs.
//! * `$stop`, `$error`, `$fatal` and Verilator's internal fatal errors do not kill the test
//!   process: they surface as [`HarnessError::Simulation`] from the `try_*` methods, or as a
//!   panic from the plain ones. The model is unusable afterwards. `$finish` only sets
//!   [`Model::finished`].
//! * Simulation output (`$display`, Verilator's messages) is re-printed from Rust with
//!   `print!`, so the test harness captures it and shows it with the failing test only.
//!
//! # Waveforms
//!
//! With [`BuildSpec::trace`] or the environment variable `TB_TRACE=1`, the model is built with
//! `--trace-fst` and writes `<cache>/traces/<test>-<pid>-<n>.fst` (test = the name of the
//! current test thread, else the top module). Every evaluation is one time step: a `tick` is a
//! rising edge at time t and a falling edge at t+1. Put [`Model::trace_note`] into assertion
//! messages so a failing test tells where its waveform is (or how to get one).

mod builder;
mod error;
mod shim;

pub use builder::cache_root;
pub use error::HarnessError;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use libloading::Library;

/// Direction of a top-level port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Driven by the testbench.
    Input,
    /// Driven by the design.
    Output,
}

/// One top-level port of the design.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PortDesc {
    /// Verilog port name.
    pub name: String,
    /// Width in bits.
    pub width: u32,
    /// Direction.
    pub dir: Dir,
}

impl PortDesc {
    /// An input port.
    pub fn input(name: impl Into<String>, width: u32) -> Self {
        PortDesc {
            name: name.into(),
            width,
            dir: Dir::Input,
        }
    }

    /// An output port.
    pub fn output(name: impl Into<String>, width: u32) -> Self {
        PortDesc {
            name: name.into(),
            width,
            dir: Dir::Output,
        }
    }
}

/// Everything needed to build a model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BuildSpec {
    /// Verilog source text of the whole design.
    pub verilog: String,
    /// Name of the top module.
    pub top: String,
    /// All ports of the top module (checked against the design).
    pub ports: Vec<PortDesc>,
    /// Dump an FST waveform (also enabled by the environment variable `TB_TRACE=1`).
    pub trace: bool,
}

impl BuildSpec {
    /// A spec without tracing.
    pub fn new(verilog: impl Into<String>, top: impl Into<String>, ports: Vec<PortDesc>) -> Self {
        BuildSpec {
            verilog: verilog.into(),
            top: top.into(),
            ports,
            trace: false,
        }
    }
}

/// How a model is compiled and clocked. [`Model::build`] uses [`BuildOptions::default`];
/// [`Model::build_with`] takes others, e.g. [`BuildOptions::legacy`] to measure what the
/// defaults gain (`bench --compare`).
///
/// None of them changes what the model computes; they change how fast it does it. The
/// compile-time ones (`split_cfuncs`, `threads`) are part of the model's cache key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct BuildOptions {
    /// Verilator `--output-split-cfuncs`: evaluation functions of at most this many
    /// statements; 0 leaves one function per scheduling block (Verilator's default). Large
    /// flat designs get one function of thousands of statements, which g++ compiles slowly
    /// (40 s for the 16x16 array) and into code that spills registers; split at 1000 the
    /// same model builds 2.5x faster and runs about 15 % fewer instructions per cycle.
    pub split_cfuncs: u32,
    /// Verilator `--threads`: 1 is single-threaded. More threads spin-wait on each other
    /// every evaluation, which loses badly as soon as the cores are shared (a test run),
    /// so only benchmarks should ask for more.
    pub threads: u32,
    /// [`Model::tick`] does the whole cycle (settle, rising edge, falling edge) in one call
    /// into the shim; `false` makes one call per evaluation, as before that call existed.
    pub fused_tick: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            split_cfuncs: 1000,
            threads: 1,
            fused_tick: true,
        }
    }
}

impl BuildOptions {
    /// The settings before the simulation-speed work: one evaluation function per block,
    /// one shim call per evaluation.
    pub fn legacy() -> Self {
        BuildOptions {
            split_cfuncs: 0,
            threads: 1,
            fused_tick: false,
        }
    }
}

/// A cheap handle to one port of a [`Model`], obtained with [`Model::port`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Port {
    index: u32,
    width: u32,
    dir: Dir,
    design: u64,
}

impl Port {
    /// Width in bits.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Direction.
    pub fn dir(&self) -> Dir {
        self.dir
    }
}

type CreateFn = unsafe extern "C" fn(u32, *const c_char, *mut c_char, usize) -> *mut c_void;
type EvalFn = unsafe extern "C" fn(*mut c_void, u64) -> c_int;
type TickFn = unsafe extern "C" fn(*mut c_void, *mut u8, *mut u64, c_int, u64) -> c_int;
type ErrorFn = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type PortPtrFn = unsafe extern "C" fn(*mut c_void, u32) -> *mut c_void;
type DestroyFn = unsafe extern "C" fn(*mut c_void);
type CountFn = unsafe extern "C" fn() -> u32;

/// Entry points of one loaded shim.
#[derive(Clone, Copy)]
struct Api {
    create: CreateFn,
    eval: EvalFn,
    tick: TickFn,
    error: ErrorFn,
    output: ErrorFn,
    port_ptr: PortPtrFn,
    destroy: DestroyFn,
}

/// Loaded libraries stay loaded for the life of the process: unloading C++ code with
/// thread-local destructors is fragile and a test process is short-lived. Loading the same path
/// again returns the same library; each [`Model`] still gets its own context and instance.
fn load_library(path: &Path) -> Result<(&'static Library, Api, u32), HarnessError> {
    static LIBS: OnceLock<Mutex<HashMap<PathBuf, &'static Library>>> = OnceLock::new();
    let load_err = |reason: String| HarnessError::Load {
        path: path.to_path_buf(),
        reason,
    };
    let lib = {
        let mut libs = LIBS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match libs.get(path) {
            Some(lib) => *lib,
            None => {
                // SAFETY: the library is our own generated shim; its initialisers only set up
                // the Verilator runtime's statics.
                let lib = unsafe { Library::new(path) }.map_err(|e| load_err(e.to_string()))?;
                let lib: &'static Library = Box::leak(Box::new(lib));
                libs.insert(path.to_path_buf(), lib);
                lib
            }
        }
    };
    // SAFETY: the symbol types match the `TB_EXPORT` declarations in `shim::SHIM_TEMPLATE`;
    // the ABI version check guards against stale objects.
    unsafe {
        let abi: CountFn = sym(lib, b"tb_abi_version\0").map_err(load_err)?;
        if abi() != shim::SHIM_ABI_VERSION {
            return Err(load_err(format!(
                "shim ABI version {} != expected {}",
                abi(),
                shim::SHIM_ABI_VERSION
            )));
        }
        let count: CountFn = sym(lib, b"tb_port_count\0").map_err(load_err)?;
        let api = Api {
            create: sym(lib, b"tb_create\0").map_err(load_err)?,
            eval: sym(lib, b"tb_eval\0").map_err(load_err)?,
            tick: sym(lib, b"tb_tick\0").map_err(load_err)?,
            error: sym(lib, b"tb_error\0").map_err(load_err)?,
            output: sym(lib, b"tb_output_text\0").map_err(load_err)?,
            port_ptr: sym(lib, b"tb_port_ptr\0").map_err(load_err)?,
            destroy: sym(lib, b"tb_destroy\0").map_err(load_err)?,
        };
        Ok((lib, api, count()))
    }
}

/// # Safety
/// `T` must be the exact function-pointer type of the exported symbol `name`.
unsafe fn sym<T: Copy>(lib: &Library, name: &[u8]) -> Result<T, String> {
    // SAFETY: forwarded from the caller.
    unsafe { lib.get::<T>(name) }
        .map(|s| *s)
        .map_err(|e| e.to_string())
}

struct Slot {
    name: String,
    width: u32,
    dir: Dir,
    ptr: *mut u8,
}

impl Slot {
    fn words(&self) -> usize {
        self.width.div_ceil(32) as usize
    }
}

/// A loaded, running instance of a Verilated design.
///
/// Not `Send`/`Sync`: a Verilated model belongs to the thread that created it.
pub struct Model {
    handle: *mut c_void,
    api: Api,
    ports: Vec<Slot>,
    top: String,
    design: u64,
    /// Inputs changed since the last evaluation.
    dirty: Cell<bool>,
    /// Simulation time of the next evaluation.
    time: Cell<u64>,
    finished: Cell<bool>,
    /// Set once the simulation raised an error; the model is unusable afterwards.
    failure: RefCell<Option<String>>,
    trace_path: Option<PathBuf>,
    cached: bool,
    dir: PathBuf,
    seed: u32,
    fused_tick: bool,
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| {
        let v = v.trim().to_ascii_lowercase();
        !(v.is_empty() || v == "0" || v == "false" || v == "no" || v == "off")
    })
}

static INSTANCE_COUNTER: AtomicU64 = AtomicU64::new(0);

fn choose_seed() -> u32 {
    if let Some(seed) = std::env::var("TB_SEED")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    {
        return seed.max(1);
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::time::SystemTime::now().hash(&mut h);
    std::process::id().hash(&mut h);
    INSTANCE_COUNTER.load(Ordering::Relaxed).hash(&mut h);
    (h.finish() as u32).max(1)
}

fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.chars().take(80).collect()
}

fn validate(spec: &BuildSpec) -> Result<(), HarnessError> {
    let invalid = |reason: String| HarnessError::InvalidSpec {
        top: spec.top.clone(),
        reason,
    };
    let ident = |s: &str| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if !ident(&spec.top) {
        return Err(invalid(
            "the top module name must be a plain identifier".into(),
        ));
    }
    for (i, p) in spec.ports.iter().enumerate() {
        if p.name.is_empty() || p.name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(format!("bad port name {:?}", p.name)));
        }
        if p.width == 0 || p.width > 1 << 20 {
            return Err(invalid(format!("port `{}` has width {}", p.name, p.width)));
        }
        if spec.ports[..i].iter().any(|q| q.name == p.name) {
            return Err(invalid(format!("port `{}` is listed twice", p.name)));
        }
    }
    Ok(())
}

impl Model {
    /// Build the design (or take it from the cache), load it and create an instance.
    ///
    /// All inputs are then set to 0 and the model is evaluated once; registers hold random
    /// values until the design is reset.
    pub fn build(spec: &BuildSpec) -> Result<Model, HarnessError> {
        Model::build_with(spec, &BuildOptions::default())
    }

    /// [`Model::build`] with other compile and clocking options.
    pub fn build_with(spec: &BuildSpec, options: &BuildOptions) -> Result<Model, HarnessError> {
        validate(spec)?;
        if options.threads == 0 || options.threads > 64 {
            return Err(HarnessError::InvalidSpec {
                top: spec.top.clone(),
                reason: format!("{} Verilator threads (1 to 64)", options.threads),
            });
        }
        let trace = spec.trace || env_flag("TB_TRACE");
        let tc = builder::toolchain()?;
        let root = cache_root();
        let built = builder::ensure_model(
            &root,
            &tc,
            &spec.verilog,
            &spec.top,
            &spec.ports,
            trace,
            &builder::model_flags(options),
        )?;
        let (_lib, api, count) = load_library(&built.library)?;
        if count as usize != spec.ports.len() {
            return Err(HarnessError::Load {
                path: built.library,
                reason: format!("shim has {count} ports, spec lists {}", spec.ports.len()),
            });
        }

        let trace_path = if trace {
            let dir = root.join("traces");
            std::fs::create_dir_all(&dir)
                .map_err(|e| HarnessError::io(format!("cannot create {}", dir.display()), e))?;
            let thread = std::thread::current();
            let name = match thread.name() {
                Some(n) if n != "main" => n.to_string(),
                _ => spec.top.clone(),
            };
            let n = INSTANCE_COUNTER.fetch_add(1, Ordering::Relaxed);
            Some(dir.join(format!(
                "{}-{}-{n}.fst",
                sanitize(&name),
                std::process::id()
            )))
        } else {
            None
        };
        let c_trace = trace_path
            .as_ref()
            .map(|p| CString::new(p.to_string_lossy().into_owned()))
            .transpose()
            .map_err(|_| HarnessError::InvalidSpec {
                top: spec.top.clone(),
                reason: "trace path contains a NUL byte".into(),
            })?;

        let seed = choose_seed();
        INSTANCE_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut err_buf = vec![0u8; 4096];
        // SAFETY: `tb_create` copies at most `err_buf.len()` bytes (NUL-terminated) into the
        // buffer; the trace path is a valid C string or null.
        let handle = unsafe {
            (api.create)(
                seed,
                c_trace.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
                err_buf.as_mut_ptr().cast(),
                err_buf.len(),
            )
        };
        if handle.is_null() {
            let msg = CStr::from_bytes_until_nul(&err_buf)
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Err(HarnessError::Simulation {
                top: spec.top.clone(),
                message: format!("creating the model failed: {msg}"),
            });
        }

        let mut ports = Vec::with_capacity(spec.ports.len());
        for (i, p) in spec.ports.iter().enumerate() {
            // SAFETY: `handle` is a live instance and `i` < port count.
            let ptr = unsafe { (api.port_ptr)(handle, i as u32) }.cast::<u8>();
            if ptr.is_null() {
                // SAFETY: handle is live and not used afterwards.
                unsafe { (api.destroy)(handle) };
                return Err(HarnessError::Load {
                    path: built.library,
                    reason: format!("no storage for port `{}`", p.name),
                });
            }
            ports.push(Slot {
                name: p.name.clone(),
                width: p.width,
                dir: p.dir,
                ptr,
            });
        }

        let mut h = std::collections::hash_map::DefaultHasher::new();
        built.library.hash(&mut h);
        let model = Model {
            handle,
            api,
            ports,
            top: spec.top.clone(),
            design: h.finish(),
            dirty: Cell::new(false),
            time: Cell::new(0),
            finished: Cell::new(false),
            failure: RefCell::new(None),
            trace_path,
            cached: built.cached,
            dir: built.dir,
            seed,
            fused_tick: options.fused_tick,
        };
        for slot in model.ports.iter().filter(|s| s.dir == Dir::Input) {
            let zeros = vec![0u8; shim::storage_bytes(slot.width)];
            // SAFETY: the slot points at exactly `storage_bytes(width)` bytes of port storage
            // (checked by the shim's static_asserts).
            unsafe { std::ptr::copy_nonoverlapping(zeros.as_ptr(), slot.ptr, zeros.len()) };
        }
        model.eval_inner()?;
        Ok(model)
    }

    /// Look up a port by its Verilog name.
    pub fn port(&self, name: &str) -> Result<Port, HarnessError> {
        match self.ports.iter().position(|s| s.name == name) {
            Some(i) => Ok(Port {
                index: i as u32,
                width: self.ports[i].width,
                dir: self.ports[i].dir,
                design: self.design,
            }),
            None => Err(HarnessError::UnknownPort {
                top: self.top.clone(),
                name: name.to_string(),
                available: self
                    .ports
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    fn slot(&self, p: Port) -> &Slot {
        assert!(
            p.design == self.design && (p.index as usize) < self.ports.len(),
            "port handle does not belong to model `{}`",
            self.top
        );
        &self.ports[p.index as usize]
    }

    fn input_slot(&self, p: Port) -> &Slot {
        let slot = self.slot(p);
        assert!(
            slot.dir == Dir::Input,
            "port `{}` of `{}` is an output and cannot be set",
            slot.name,
            self.top
        );
        slot
    }

    /// Write an input port of at most 64 bits; `value` is truncated to the port width.
    /// Applied at the next evaluation (see the module docs).
    ///
    /// # Panics
    /// If `p` is an output, wider than 64 bits, or from another design.
    pub fn set(&mut self, p: Port, value: u64) {
        let slot = self.input_slot(p);
        assert!(
            slot.width <= 64,
            "port `{}` is {} bits wide: use set_words",
            slot.name,
            slot.width
        );
        let v = value & mask64(slot.width);
        // SAFETY: the storage type matches the width (shim static_asserts); unaligned
        // accesses are used so no alignment assumption is needed.
        unsafe { write_scalar(slot.ptr, slot.width, v) };
        self.dirty.set(true);
    }

    /// Read a port of at most 64 bits, evaluating first if inputs changed.
    ///
    /// # Panics
    /// If the port is wider than 64 bits, is from another design, or the pending evaluation
    /// fails.
    pub fn get(&self, p: Port) -> u64 {
        let slot = self.slot(p);
        assert!(
            slot.width <= 64,
            "port `{}` is {} bits wide: use get_words",
            slot.name,
            slot.width
        );
        self.settle();
        // SAFETY: as in `set`.
        unsafe { read_scalar(slot.ptr, slot.width) }
    }

    /// Write an input port of any width from 32-bit words, least significant word first.
    /// Missing high words are zero; bits above the port width are dropped.
    ///
    /// # Panics
    /// If `p` is an output, from another design, or more words are given than the port has.
    pub fn set_words(&mut self, p: Port, words: &[u32]) {
        let slot = self.input_slot(p);
        let n = slot.words();
        assert!(
            words.len() <= n,
            "port `{}` has {n} word(s), got {}",
            slot.name,
            words.len()
        );
        if slot.width <= 64 {
            let v = u64::from(words.first().copied().unwrap_or(0))
                | (u64::from(words.get(1).copied().unwrap_or(0)) << 32);
            // SAFETY: as in `set`.
            unsafe { write_scalar(slot.ptr, slot.width, v & mask64(slot.width)) };
        } else if words.len() == n && slot.width % 32 == 0 {
            // Every word given and none to mask (an operand bus each beat): one copy.
            // SAFETY: VlWide<n> is an array of n u32 words (4n bytes), `words` holds n
            // and does not overlap the model's storage; bytes need no alignment.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    words.as_ptr().cast::<u8>(),
                    slot.ptr.cast::<u8>(),
                    4 * n,
                );
            }
        } else {
            let wide = slot.ptr.cast::<u32>();
            for i in 0..n {
                let mut w = words.get(i).copied().unwrap_or(0);
                if i == n - 1 && slot.width % 32 != 0 {
                    w &= (1u32 << (slot.width % 32)) - 1;
                }
                // SAFETY: VlWide<n> is an array of n u32 words.
                unsafe { wide.add(i).write_unaligned(w) };
            }
        }
        self.dirty.set(true);
    }

    /// Read a port of any width as 32-bit words (least significant first; `ceil(width/32)`
    /// words), evaluating first if inputs changed.
    pub fn get_words(&self, p: Port) -> Vec<u32> {
        let slot = self.slot(p);
        self.settle();
        let n = slot.words();
        if slot.width <= 64 {
            // SAFETY: as in `set`.
            let v = unsafe { read_scalar(slot.ptr, slot.width) };
            [v as u32, (v >> 32) as u32][..n].to_vec()
        } else {
            let wide = slot.ptr.cast::<u32>();
            // SAFETY: VlWide<n> is an array of n u32 words.
            (0..n)
                .map(|i| unsafe { wide.add(i).read_unaligned() })
                .collect()
        }
    }

    /// [`Model::get_words`] into a caller's buffer, without allocating: fills `out` with the
    /// port's words (least significant first) and zeroes any words past the port's.
    ///
    /// # Panics
    /// If `out` is shorter than the port's `ceil(width/32)` words or `p` is from another
    /// design.
    pub fn get_words_into(&self, p: Port, out: &mut [u32]) {
        let slot = self.slot(p);
        let n = slot.words();
        assert!(
            out.len() >= n,
            "port `{}` has {n} word(s), the buffer {}",
            slot.name,
            out.len()
        );
        self.settle();
        if slot.width <= 64 {
            // SAFETY: as in `set`.
            let v = unsafe { read_scalar(slot.ptr, slot.width) };
            out[0] = v as u32;
            if n > 1 {
                out[1] = (v >> 32) as u32;
            }
        } else {
            let wide = slot.ptr.cast::<u32>();
            for (i, w) in out[..n].iter_mut().enumerate() {
                // SAFETY: VlWide<n> is an array of n u32 words.
                *w = unsafe { wide.add(i).read_unaligned() };
            }
        }
        out[n..].fill(0);
    }

    /// Write an input port of at most 128 bits (convenience over [`Model::set_words`]).
    pub fn set_u128(&mut self, p: Port, value: u128) {
        assert!(
            p.width <= 128,
            "port is {} bits wide: use set_words",
            p.width
        );
        let words: Vec<u32> = (0..p.width.div_ceil(32))
            .map(|i| (value >> (32 * i)) as u32)
            .collect();
        self.set_words(p, &words);
    }

    /// Read a port of at most 128 bits (convenience over [`Model::get_words`]).
    pub fn get_u128(&self, p: Port) -> u128 {
        assert!(
            p.width <= 128,
            "port is {} bits wide: use get_words",
            p.width
        );
        self.get_words(p)
            .iter()
            .enumerate()
            .fold(0u128, |acc, (i, &w)| acc | (u128::from(w) << (32 * i)))
    }

    /// Evaluate the model (one trace time step).
    ///
    /// # Panics
    /// If the simulation raises an error; see [`Model::try_eval`].
    pub fn eval(&mut self) {
        if let Err(e) = self.try_eval() {
            panic!("{e}\n{}", self.trace_note());
        }
    }

    /// Evaluate the model, returning `$stop`/`$error`/`$fatal`/internal errors.
    pub fn try_eval(&mut self) -> Result<(), HarnessError> {
        self.eval_inner()
    }

    /// One full clock cycle on `clk`: settle pending input changes (clock low), rising edge,
    /// falling edge. Returns with the clock low.
    ///
    /// # Panics
    /// If `clk` is not a 1-bit input or the simulation raises an error.
    pub fn tick(&mut self, clk: Port) {
        if let Err(e) = self.try_tick(clk) {
            panic!("{e}\n{}", self.trace_note());
        }
    }

    /// [`Model::tick`] returning simulation errors instead of panicking.
    pub fn try_tick(&mut self, clk: Port) -> Result<(), HarnessError> {
        self.try_ticks(clk, 1)
    }

    /// Run `n` clock cycles.
    ///
    /// # Panics
    /// As [`Model::tick`].
    pub fn ticks(&mut self, clk: Port, n: usize) {
        if let Err(e) = self.try_ticks(clk, n) {
            panic!("{e}\n{}", self.trace_note());
        }
    }

    /// [`Model::ticks`] returning simulation errors instead of panicking. The `n` cycles take
    /// one call into the model (unless built with [`BuildOptions::fused_tick`] off), the same
    /// evaluations and time steps as `n` calls of [`Model::tick`].
    pub fn try_ticks(&mut self, clk: Port, n: usize) -> Result<(), HarnessError> {
        let slot = self.input_slot(clk);
        assert_eq!(
            slot.width, 1,
            "clock port `{}` must be 1 bit wide",
            slot.name
        );
        let ptr = slot.ptr;
        if n == 0 {
            return Ok(());
        }
        if !self.fused_tick {
            for _ in 0..n {
                if self.dirty.get() {
                    self.eval_inner()?;
                }
                // SAFETY: a 1-bit port is stored as one byte (CData).
                unsafe { ptr.write(1) };
                self.eval_inner()?;
                // SAFETY: as above.
                unsafe { ptr.write(0) };
                self.eval_inner()?;
            }
            return Ok(());
        }
        self.check_not_failed()?;
        let settle = self.dirty.replace(false);
        let mut time = self.time.get();
        // SAFETY: `handle` is a live instance owned by `self`; `ptr` is the one-byte storage of
        // a 1-bit input of that instance; `time` is a valid u64 the shim advances.
        let rc =
            unsafe { (self.api.tick)(self.handle, ptr, &mut time, c_int::from(settle), n as u64) };
        self.time.set(time);
        self.finish_call(rc)
    }

    fn settle(&self) {
        if self.dirty.get() {
            if let Err(e) = self.eval_inner() {
                panic!("{e}\n{}", self.trace_note());
            }
        }
    }

    fn check_not_failed(&self) -> Result<(), HarnessError> {
        match self.failure.borrow().as_ref() {
            Some(msg) => Err(HarnessError::Simulation {
                top: self.top.clone(),
                message: format!("the model already failed earlier: {msg}"),
            }),
            None => Ok(()),
        }
    }

    fn eval_inner(&self) -> Result<(), HarnessError> {
        self.check_not_failed()?;
        let t = self.time.get();
        self.time.set(t + 1);
        self.dirty.set(false);
        // SAFETY: `handle` is a live instance owned by `self`.
        let rc = unsafe { (self.api.eval)(self.handle, t) };
        self.finish_call(rc)
    }

    /// Print the output of a `tb_eval`/`tb_tick` call and turn its status into a result.
    fn finish_call(&self, rc: c_int) -> Result<(), HarnessError> {
        let output = if rc & 4 != 0 {
            // SAFETY: `tb_output_text` returns a NUL-terminated string owned by the instance,
            // valid until the next evaluation.
            let text = unsafe { CStr::from_ptr((self.api.output)(self.handle)) }
                .to_string_lossy()
                .into_owned();
            // print! rather than writing to fd 1: the test harness captures it.
            print!("{text}");
            text
        } else {
            String::new()
        };
        match rc & 3 {
            0 => Ok(()),
            1 => {
                self.finished.set(true);
                Ok(())
            }
            _ => {
                // SAFETY: `tb_error` returns a NUL-terminated string owned by the instance.
                let mut msg = unsafe { CStr::from_ptr((self.api.error)(self.handle)) }
                    .to_string_lossy()
                    .into_owned();
                let lines: Vec<&str> = output.lines().collect();
                if !lines.is_empty() {
                    msg.push_str("\nsimulation output:\n");
                    msg.push_str(&lines[lines.len().saturating_sub(20)..].join("\n"));
                }
                *self.failure.borrow_mut() = Some(msg.clone());
                Err(HarnessError::Simulation {
                    top: self.top.clone(),
                    message: msg,
                })
            }
        }
    }

    /// Whether the design executed `$finish`.
    pub fn finished(&self) -> bool {
        self.finished.get()
    }

    /// Time of the next evaluation (number of evaluations so far).
    pub fn time(&self) -> u64 {
        self.time.get()
    }

    /// The FST file this instance writes, if tracing.
    pub fn trace_path(&self) -> Option<&Path> {
        self.trace_path.as_deref()
    }

    /// One line for assertion messages: where the waveform is, or how to get one, and the
    /// random seed that reproduces the initial state.
    pub fn trace_note(&self) -> String {
        match &self.trace_path {
            Some(p) => format!("waveform: {} (TB_SEED={})", p.display(), self.seed),
            None => format!(
                "set TB_TRACE=1 to dump a waveform (TB_SEED={} reproduces the initial state)",
                self.seed
            ),
        }
    }

    /// True if the shared object came from the cache (neither Verilator nor g++ ran).
    pub fn was_cached(&self) -> bool {
        self.cached
    }

    /// The model's cache directory (generated C++, logs, `model.so`).
    pub fn build_dir(&self) -> &Path {
        &self.dir
    }

    /// Seed of the random initial state.
    pub fn seed(&self) -> u32 {
        self.seed
    }

    /// Name of the top module.
    pub fn top(&self) -> &str {
        &self.top
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: `handle` is live and never used again; `tb_destroy` calls `final()`, closes
        // the trace and frees the instance.
        unsafe { (self.api.destroy)(self.handle) };
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("top", &self.top)
            .field("dir", &self.dir)
            .field("time", &self.time.get())
            .field("trace_path", &self.trace_path)
            .finish_non_exhaustive()
    }
}

fn mask64(width: u32) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

/// # Safety
/// `ptr` must point at the Verilator storage of a port of `width` <= 64 bits.
unsafe fn write_scalar(ptr: *mut u8, width: u32, v: u64) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match shim::storage_bytes(width) {
            1 => ptr.write(v as u8),
            2 => ptr.cast::<u16>().write_unaligned(v as u16),
            4 => ptr.cast::<u32>().write_unaligned(v as u32),
            _ => ptr.cast::<u64>().write_unaligned(v),
        }
    }
}

/// # Safety
/// `ptr` must point at the Verilator storage of a port of `width` <= 64 bits.
unsafe fn read_scalar(ptr: *const u8, width: u32) -> u64 {
    // SAFETY: forwarded from the caller.
    unsafe {
        match shim::storage_bytes(width) {
            1 => u64::from(ptr.read()),
            2 => u64::from(ptr.cast::<u16>().read_unaligned()),
            4 => u64::from(ptr.cast::<u32>().read_unaligned()),
            _ => ptr.cast::<u64>().read_unaligned(),
        }
    }
}
