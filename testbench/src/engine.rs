//! Cycle-accurate driver for the generated conv/FC engine (`hdl::engine`),
//! built on the testbench agents: a [`CsrMaster`] on the register port and a
//! [`MemSlave`] behind the memory port (random latency, `req_ready` stalls,
//! response gaps, allowed regions, a traffic log).
//!
//! The driver knows the engine only through its ports and its programming
//! model, read back from the generated manifest
//! ([`ProgrammingModel::from_manifest_json`]): registers by name, descriptor
//! and channel-record fields by name ([`oracle`]), nothing hard-coded. On top
//! of the memory slave's own checks (requests held until taken, aligned
//! addresses, writes only into writable regions) it checks that every read
//! falls inside a region the test declared readable, that the engine issues no
//! request once `irq` is up, and that no read response is left untaken.
//!
//! [`image`] lays out a test's memory by hand and [`oracle`] says what the
//! engine must leave in it and report; both are independent of the RTL and of
//! the layer compiler.

pub mod cases;
pub mod image;
pub mod oracle;

use std::time::{Duration, Instant};

use contracts::engine::{ProgrammingModel, COUNTERS};
use hdl::engine::EngineConfig;
use hdl::manifest::Manifest;

use crate::agents::{
    Agent, Bench, BenchError, CsrMaster, CsrPorts, DriveError, MemAccess, MemPorts, MemSlave,
    MemSlaveConfig, Region, RegionAccess,
};
use crate::verilator::{HarnessError, Model, Port};
use image::Program;
use oracle::Machine;

/// The numbers of the engine generated for `cfg` its schedule depends on.
pub fn machine(cfg: &EngineConfig, pm: &ProgrammingModel) -> Machine {
    Machine {
        rows: u64::from(cfg.rows),
        cols: u64::from(cfg.cols),
        mb: u64::from(cfg.mem_bits / 8),
        chunk: u64::from(cfg.chunk_bytes()),
        ibuf_bytes: u64::from(cfg.ibuf_bytes),
        wbuf_rows: u64::from(cfg.wbuf_rows),
        rec_bytes: u64::from(pm.channel_record.bytes),
    }
}

/// The cost model's parameters (`compiler::model`, `compiler::timing`) of the
/// engine generated for `cfg` with a memory of fixed read latency `latency`:
/// the one mapping from the generator's configuration to the model's, so a
/// new option that changes cycles is added here once.
pub fn model_params(cfg: &EngineConfig, latency: u32) -> compiler::ModelParams {
    compiler::ModelParams {
        rows: cfg.rows,
        cols: cfg.cols,
        mem_bits: cfg.mem_bits,
        latency,
        ibuf_bytes: u64::from(cfg.ibuf_bytes),
        wbuf_rows: u64::from(cfg.wbuf_rows),
        chunk_bytes: u64::from(cfg.chunk_bytes()),
        pipeline: cfg.pipeline,
        max_inflight: cfg.max_inflight,
        requant_lanes: cfg.lanes(),
        fifo_ram: cfg.fifo_ram,
        out_pipe: cfg.out_pipe,
    }
}

/// The memory behind the engine: where it lies and how it behaves.
#[derive(Clone, Debug)]
pub struct MemConfig {
    /// First byte address.
    pub base: u64,
    /// Bytes of memory.
    pub size: usize,
    /// Read latency range (cycles, at least 1), drawn per request.
    pub latency_min: u32,
    pub latency_max: u32,
    /// Probability that `mem_req_ready` is high in a cycle.
    pub req_ready_prob: f64,
    /// Probability that a due response waits one more cycle.
    pub resp_gap_prob: f64,
    pub seed: u64,
}

impl MemConfig {
    /// A memory that takes one request per cycle and answers after exactly
    /// `latency` cycles (the benchmark's and the cycle model's memory).
    pub fn fixed(base: u64, size: usize, latency: u32) -> MemConfig {
        MemConfig {
            base,
            size,
            latency_min: latency,
            latency_max: latency,
            req_ready_prob: 1.0,
            resp_gap_prob: 0.0,
            seed: 1,
        }
    }

    /// A hostile memory: latency 1..=32, `req_ready` high 70% of cycles,
    /// a due response paused 20% of cycles.
    pub fn random(base: u64, size: usize, seed: u64) -> MemConfig {
        MemConfig {
            base,
            size,
            latency_min: 1,
            latency_max: 32,
            req_ready_prob: 0.7,
            resp_gap_prob: 0.2,
            seed,
        }
    }

    fn slave(&self) -> MemSlaveConfig {
        MemSlaveConfig {
            latency: self.latency_min..=self.latency_max,
            req_ready_p: self.req_ready_prob,
            resp_gap_p: self.resp_gap_prob,
            // The engine bounds its own reads in flight; the memory never throttles it.
            max_outstanding: 4096,
        }
    }
}

/// What one start ended with: the status fields and the counters as the
/// engine reports them, and what the testbench saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunResult {
    /// The raw `status` register.
    pub status: u32,
    pub busy: bool,
    pub done: bool,
    pub error: bool,
    pub code: u32,
    pub index: u32,
    /// The name of `code` in the programming model, if any.
    pub error_name: Option<String>,
    /// Counter registers (64 bits each, from `NAME_lo`/`NAME_hi`).
    pub cycles: u64,
    pub array_beats: u64,
    pub rd_bytes: u64,
    pub wr_bytes: u64,
    /// Clock edges from the one that took the start write to the first cycle
    /// `irq` was seen high.
    pub sim_cycles: u64,
    /// Bytes the memory model returned / wrote since the last start.
    pub mem_rd_bytes: u64,
    pub mem_wr_bytes: u64,
    /// Wall-clock time of the simulation loop (start to irq).
    pub wall: Duration,
}

/// Why the driver stopped.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The harness, an agent or the generator failed (boxed: it is large).
    #[error(transparent)]
    Drive(Box<DriveError>),
    /// The test asked for something the engine or the memory cannot do.
    #[error("engine testbench setup: {0}")]
    Setup(String),
    /// The engine broke a rule of its contract.
    #[error("engine broke a rule at cycle {cycle}: {rule} ({note})")]
    Rule {
        cycle: u64,
        rule: String,
        note: String,
    },
}

impl From<DriveError> for EngineError {
    fn from(e: DriveError) -> Self {
        EngineError::Drive(Box::new(e))
    }
}

impl From<BenchError> for EngineError {
    fn from(e: BenchError) -> Self {
        DriveError::Bench(e).into()
    }
}

impl From<HarnessError> for EngineError {
    fn from(e: HarnessError) -> Self {
        DriveError::Harness(e).into()
    }
}

struct Ports {
    clk: Port,
    rst: Port,
    irq: Port,
    csr_valid: Port,
    req_valid: Port,
    req_ready: Port,
    resp_valid: Port,
}

/// The engine under test with its register master and its memory.
pub struct EngineSim {
    pub cfg: EngineConfig,
    /// The programming model, read back from the generated manifest.
    pub pm: ProgrammingModel,
    pub manifest: Manifest,
    pub verilog: String,
    pub model: Model,
    mem_cfg: MemConfig,
    p: Ports,
    csr_ports: CsrPorts,
    mem_ports: MemPorts,
    bench: Bench,
    csr: CsrMaster,
    mem: MemSlave,
    /// Agents rebuilt so far (each reset draws fresh seeds).
    generation: u64,
    read_only: Vec<(u64, u64)>,
    writable: Vec<(u64, u64)>,
    /// Entries of the memory log already checked against the read regions.
    checked: usize,
    /// Cycle after the edge that took the last start write.
    start_cycle: u64,
    /// The memory's byte counts when the last start was written.
    start_bytes: (u64, u64),
}

impl EngineSim {
    /// Generate the engine for `cfg`, build (or load from the cache) its
    /// Verilated model, attach a memory and reset it.
    pub fn new(cfg: &EngineConfig, mem: MemConfig) -> Result<EngineSim, EngineError> {
        let g = hdl::engine::generate(cfg).map_err(|e| DriveError::Gen(e.to_string()))?;
        let pm = ProgrammingModel::from_manifest_json(&g.manifest.to_json())
            .map_err(EngineError::Setup)?;
        if pm.mem_bits != cfg.mem_bits {
            return Err(EngineError::Setup(format!(
                "manifest says mem_bits {}, the configuration {}",
                pm.mem_bits, cfg.mem_bits
            )));
        }
        let spec = crate::models::build_spec(&g, &cfg.name).map_err(DriveError::Gen)?;
        let model = Model::build(&spec)?;
        let p = Ports {
            clk: model.port("clk")?,
            rst: model.port("rst")?,
            irq: model.port("irq")?,
            csr_valid: model.port("csr_valid")?,
            req_valid: model.port("mem_req_valid")?,
            req_ready: model.port("mem_req_ready")?,
            resp_valid: model.port("mem_resp_valid")?,
        };
        let csr_ports = CsrPorts::new(&model, "csr_")?;
        let mem_ports = MemPorts::new(&model, "mem_")?;
        if mem_ports.bytes() as u32 * 8 != cfg.mem_bits {
            return Err(EngineError::Setup(format!(
                "memory port is {} bits, the configuration says {}",
                mem_ports.bytes() * 8,
                cfg.mem_bits
            )));
        }
        let csr = CsrMaster::new("csr", csr_ports.clone(), 1.0, mem.seed ^ 0xC5);
        let slave = MemSlave::new(
            "mem",
            mem_ports.clone(),
            mem.base,
            mem.size,
            mem.slave(),
            mem.seed,
        )?;
        let mut sim = EngineSim {
            cfg: cfg.clone(),
            pm,
            manifest: g.manifest,
            verilog: g.verilog,
            bench: Bench::new(p.clk),
            model,
            mem_cfg: mem,
            p,
            csr_ports,
            mem_ports,
            csr,
            mem: slave,
            generation: 0,
            read_only: Vec::new(),
            writable: Vec::new(),
            checked: 0,
            start_cycle: 0,
            start_bytes: (0, 0),
        };
        sim.reset_for(3)?;
        Ok(sim)
    }

    /// The numbers of this engine its schedule depends on.
    pub fn machine(&self) -> Machine {
        machine(&self.cfg, &self.pm)
    }

    /// Clock cycles simulated since the model was built.
    pub fn cycle(&self) -> u64 {
        self.bench.cycle()
    }

    /// Whether `irq` is high now.
    pub fn irq(&self) -> bool {
        self.model.get(self.p.irq) == 1
    }

    /// The whole memory (from `base`).
    pub fn memory(&self) -> &[u8] {
        self.mem.bytes(self.mem_cfg.base, self.mem_cfg.size)
    }

    /// `len` bytes of memory at `addr`.
    pub fn memory_at(&self, addr: u64, len: usize) -> Result<&[u8], EngineError> {
        self.check_inside(addr, len as u64)?;
        Ok(self.mem.bytes(addr, len))
    }

    /// The memory's traffic log since the last reset.
    pub fn mem_log(&self) -> &[MemAccess] {
        self.mem.log()
    }

    fn check_inside(&self, addr: u64, len: u64) -> Result<(), EngineError> {
        let (b, s) = (self.mem_cfg.base, self.mem_cfg.size as u64);
        if addr < b || addr + len > b + s {
            return Err(EngineError::Setup(format!(
                "{len} bytes at {addr:#x} lie outside the memory {b:#x}..{:#x}",
                b + s
            )));
        }
        Ok(())
    }

    /// Copy `bytes` into memory at `addr`.
    pub fn load(&mut self, addr: u64, bytes: &[u8]) -> Result<(), EngineError> {
        self.check_inside(addr, bytes.len() as u64)?;
        self.mem.load(addr, bytes);
        Ok(())
    }

    /// Allow the engine to read `read_only` ranges and to write (and read)
    /// `writable` ranges, each (start, len); any other access fails the run,
    /// as does a read of a range only listed as writable.
    pub fn set_regions(
        &mut self,
        read_only: Vec<(u64, u64)>,
        writable: Vec<(u64, u64)>,
    ) -> Result<(), EngineError> {
        self.read_only = read_only;
        self.writable = writable;
        self.mem.set_regions(self.regions())?;
        Ok(())
    }

    fn regions(&self) -> Vec<Region> {
        let w =
            self.writable.iter().enumerate().map(|(i, &(a, n))| {
                Region::new(format!("writable{i}"), a, n, RegionAccess::ReadWrite)
            });
        let r =
            self.read_only.iter().enumerate().map(|(i, &(a, n))| {
                Region::new(format!("readable{i}"), a, n, RegionAccess::ReadOnly)
            });
        w.chain(r).collect()
    }

    /// Load a program made by the compiler (`compiler::compile`): its image,
    /// and the regions of its map: descriptors, input, weights and records
    /// readable (rounded out to whole memory words, as the engine reads them),
    /// activations readable and writable.
    pub fn load_compiled(&mut self, p: &compiler::compile::Program) -> Result<(), EngineError> {
        use compiler::compile::RegionKind;
        self.load(u64::from(p.base), &p.image)?;
        let mb = u64::from(self.cfg.mem_bits / 8);
        let words = |r: &compiler::compile::Region| {
            let start = u64::from(r.addr) / mb * mb;
            (start, r.end().div_ceil(mb) * mb - start)
        };
        let read_only = p.regions.iter().map(words).collect();
        let writable = p
            .regions
            .iter()
            .filter(|r| r.kind == RegionKind::Activation)
            .map(|r| (u64::from(r.addr), u64::from(r.bytes)))
            .collect();
        self.set_regions(read_only, writable)
    }

    /// Load a program's image and regions.
    pub fn load_program(&mut self, p: &Program) -> Result<(), EngineError> {
        self.load(p.image.base, &p.image.bytes)?;
        self.set_regions(p.read_only.clone(), p.writable.clone())
    }

    /// Every new memory access: reads only inside the readable regions.
    fn check_log(&mut self) -> Result<(), EngineError> {
        let log = self.mem.log();
        for a in &log[self.checked..] {
            if a.write {
                continue;
            }
            let n = u64::from(a.bytes);
            let ok = self
                .read_only
                .iter()
                .any(|&(s, len)| a.addr >= s && a.addr + n <= s + len);
            if !ok {
                return Err(EngineError::Rule {
                    cycle: a.cycle,
                    rule: format!(
                        "read at {:#x} outside the descriptor list, inputs, weights and channel records (readable: {})",
                        a.addr,
                        self.read_only
                            .iter()
                            .map(|&(s, l)| format!("{s:#x}..{:#x}", s + l))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    note: self.model.trace_note(),
                });
            }
        }
        self.checked = log.len();
        Ok(())
    }

    /// Run `n` cycles with the register port idle.
    pub fn step(&mut self, n: u64) -> Result<(), EngineError> {
        self.bench
            .steps(&mut self.model, &mut [&mut self.csr, &mut self.mem], n)?;
        self.check_log()
    }

    /// Step until the register master has nothing queued or outstanding.
    fn drain_csr(&mut self) -> Result<(), EngineError> {
        self.bench.run_until(
            &mut self.model,
            &mut [&mut self.csr, &mut self.mem],
            10_000,
            |a| a[0].done(),
        )?;
        self.check_log()
    }

    /// Write register `name` (by name, through the programming model).
    pub fn write_reg(&mut self, name: &str, value: u32) -> Result<(), EngineError> {
        let off = self.pm.reg_offset(name).map_err(EngineError::Setup)?;
        self.csr.write(u64::from(off), u64::from(value));
        self.drain_csr()
    }

    /// Write field `field` of register `reg` to `value`, other fields zero.
    pub fn write_field(&mut self, reg: &str, field: &str, value: u32) -> Result<(), EngineError> {
        let v = self
            .pm
            .reg_value(reg, field, value)
            .map_err(EngineError::Setup)?;
        self.write_reg(reg, v)
    }

    /// Read registers `names`, in order, back to back.
    pub fn read_regs(&mut self, names: &[&str]) -> Result<Vec<u32>, EngineError> {
        self.csr.take_reads();
        for name in names {
            let off = self.pm.reg_offset(name).map_err(EngineError::Setup)?;
            self.csr.read(u64::from(off));
        }
        self.drain_csr()?;
        let got = self.csr.take_reads();
        if got.len() != names.len() {
            return Err(EngineError::Rule {
                cycle: self.cycle(),
                rule: format!(
                    "{} register reads issued, {} answered",
                    names.len(),
                    got.len()
                ),
                note: self.model.trace_note(),
            });
        }
        Ok(got.into_iter().map(|(_, v)| v as u32).collect())
    }

    /// Read register `name`.
    pub fn read_reg(&mut self, name: &str) -> Result<u32, EngineError> {
        Ok(self.read_regs(&[name])?[0])
    }

    /// Field `field` of register `reg` in `value`.
    pub fn field(&self, reg: &str, field: &str, value: u32) -> Result<u32, EngineError> {
        self.pm
            .reg_field(reg, field, value)
            .map_err(EngineError::Setup)
    }

    /// Clear done/error, write the list's address and length, then `ctrl.start`.
    pub fn start(&mut self, desc_addr: u64, desc_count: u64) -> Result<(), EngineError> {
        let addr = u32::try_from(desc_addr)
            .map_err(|_| EngineError::Setup(format!("desc_addr {desc_addr:#x} is past 32 bits")))?;
        let count = u32::try_from(desc_count)
            .map_err(|_| EngineError::Setup(format!("desc_count {desc_count} is past 32 bits")))?;
        self.write_field("ctrl", "clear", 1)?;
        self.start_bytes = (self.mem.bytes_read(), self.mem.bytes_written());
        self.write_reg("desc_addr", addr)?;
        self.write_reg("desc_count", count)?;
        self.write_field("ctrl", "start", 1)?;
        self.start_cycle = self.cycle();
        Ok(())
    }

    /// Step until `irq` is high (a timeout after `max_cycles`), check that the
    /// engine then stays quiet, and read the status and the counters.
    pub fn run_until_irq(&mut self, max_cycles: u64) -> Result<RunResult, EngineError> {
        let (rd0, wr0) = self.start_bytes;
        let t0 = Instant::now();
        let budget_end = self.cycle() + max_cycles;
        while self.model.get(self.p.irq) == 0 {
            if self.cycle() >= budget_end {
                let agents: [&mut dyn Agent; 2] = [&mut self.csr, &mut self.mem];
                let e = self.bench.timeout(&self.model, &agents, max_cycles);
                return Err(EngineError::Rule {
                    cycle: self.cycle(),
                    rule: format!(
                        "no irq within {max_cycles} cycles of the start; {}; {e}",
                        self.mem.summary()
                    ),
                    note: self.model.trace_note(),
                });
            }
            self.bench
                .step(&mut self.model, &mut [&mut self.csr, &mut self.mem])?;
            if self.mem.log().len() > self.checked {
                self.check_log()?;
            }
        }
        let wall = t0.elapsed();
        let sim_cycles = self.cycle() - self.start_cycle;
        let quiet_from = self.mem.log().len();
        let irq_cycle = self.cycle();
        let mut names = vec!["status".to_string()];
        for c in COUNTERS {
            names.push(format!("{c}_lo"));
            names.push(format!("{c}_hi"));
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let v = self.read_regs(&refs)?;
        let quiet = &self.mem.log()[quiet_from..];
        if let Some(a) = quiet.first() {
            return Err(EngineError::Rule {
                cycle: a.cycle,
                rule: format!(
                    "memory {} at {:#x} after irq rose at cycle {irq_cycle}",
                    if a.write { "write" } else { "read" },
                    a.addr
                ),
                note: self.model.trace_note(),
            });
        }
        if !self.mem.done() {
            return Err(EngineError::Rule {
                cycle: self.cycle(),
                rule: format!(
                    "read responses left untaken after irq: {}",
                    self.mem.status()
                ),
                note: self.model.trace_note(),
            });
        }
        let status = v[0];
        let f = |name: &str| self.field("status", name, status);
        let counter = |i: usize| u64::from(v[1 + 2 * i]) | (u64::from(v[2 + 2 * i]) << 32);
        let code = f("code")?;
        Ok(RunResult {
            status,
            busy: f("busy")? == 1,
            done: f("done")? == 1,
            error: f("error")? == 1,
            code,
            index: f("index")?,
            error_name: self.pm.error_name(code).map(str::to_string),
            cycles: counter(0),
            array_beats: counter(1),
            rd_bytes: counter(2),
            wr_bytes: counter(3),
            sim_cycles,
            mem_rd_bytes: self.mem.bytes_read() - rd0,
            mem_wr_bytes: self.mem.bytes_written() - wr0,
            wall,
        })
    }

    /// Load `p`, start it and run it to `irq`.
    pub fn run_program(&mut self, p: &Program, max_cycles: u64) -> Result<RunResult, EngineError> {
        self.load_program(p)?;
        self.start(p.desc_addr, p.desc_count)?;
        self.run_until_irq(max_cycles)
    }

    /// Hold `rst` for `cycles` cycles with the register port idle and the
    /// memory silent, then start a fresh register master and a fresh memory
    /// model with the same contents and regions: reads in flight are dropped.
    pub fn reset_for(&mut self, cycles: u64) -> Result<(), EngineError> {
        self.model.set(self.p.rst, 1);
        self.model.set(self.p.csr_valid, 0);
        self.model.set(self.p.req_ready, 0);
        self.model.set(self.p.resp_valid, 0);
        self.bench.steps(&mut self.model, &mut [], cycles)?;
        self.model.set(self.p.rst, 0);
        self.generation += 1;
        let seed = self
            .mem_cfg
            .seed
            .wrapping_add(self.generation.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut mem = MemSlave::new(
            "mem",
            self.mem_ports.clone(),
            self.mem_cfg.base,
            self.mem_cfg.size,
            self.mem_cfg.slave(),
            seed,
        )?;
        mem.load(self.mem_cfg.base, self.memory());
        mem.set_regions(self.regions())?;
        self.mem = mem;
        self.csr = CsrMaster::new("csr", self.csr_ports.clone(), 1.0, seed ^ 0xC5);
        self.checked = 0;
        self.start_bytes = (0, 0);
        Ok(())
    }

    /// After a run of `prog` (result `r`): every byte of the program's image
    /// equals `want_mem` (a difference names the output element it lies in)
    /// and the status is the oracle's outcome `want`: done, or the error and
    /// descriptor index.
    pub fn check_memory_and_status(
        &self,
        prog: &Program,
        want_mem: &oracle::MemImage,
        want: &oracle::Outcome,
        r: &RunResult,
        what: &str,
    ) {
        let got = self
            .memory_at(prog.image.base, prog.image.bytes.len())
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        if let Some(i) = got.iter().zip(&want_mem.bytes).position(|(a, b)| a != b) {
            let addr = prog.image.base + i as u64;
            let wrong = got
                .iter()
                .zip(&want_mem.bytes)
                .filter(|(a, b)| a != b)
                .count();
            panic!(
                "{what}: memory differs first at {addr:#x}, {}: engine {} expected {} ({wrong} bytes differ; status {:#x})",
                locate(&self.pm, prog, addr),
                got[i] as i8,
                want_mem.bytes[i] as i8,
                r.status
            );
        }
        match want.error {
            None => assert!(
                r.done && !r.error && !r.busy,
                "{what}: status {:#x} (busy {} done {} error {} code {} index {}), expected done",
                r.status,
                r.busy,
                r.done,
                r.error,
                r.code,
                r.index
            ),
            Some((name, index)) => {
                assert!(
                    r.error && !r.busy,
                    "{what}: status {:#x}, expected error {name} at index {index}",
                    r.status
                );
                assert_eq!(
                    (r.error_name.as_deref(), r.index),
                    (Some(name), index),
                    "{what}: error code {} / index, expected {name} at {index}",
                    r.code
                );
            }
        }
    }

    /// Step `cycles` cycles and fail if the engine raises `mem_req_valid` in
    /// any of them (an idle engine issues no request).
    pub fn expect_idle(&mut self, cycles: u64) -> Result<(), EngineError> {
        for _ in 0..cycles {
            if self.model.get(self.p.req_valid) == 1 {
                return Err(EngineError::Rule {
                    cycle: self.cycle(),
                    rule: "idle engine raised mem_req_valid".into(),
                    note: self.model.trace_note(),
                });
            }
            self.step(1)?;
        }
        Ok(())
    }
}

/// Where byte `addr` lies, in words: an output element or something else.
fn locate(pm: &ProgrammingModel, prog: &Program, addr: u64) -> String {
    for (i, d) in prog.descs.iter().enumerate() {
        let Some(g) = d.geometry() else { continue };
        let n = d.output_bytes();
        if addr >= d.out_addr && addr < d.out_addr + n && d.check_fields(pm).is_ok() {
            let off = addr - d.out_addr;
            let (p, co) = (off / d.out_c, off % d.out_c);
            return format!(
                "output of descriptor {i} ({}) at y {} x {} co {}",
                d.summary(),
                p / g.w_o,
                p % g.w_o,
                co
            );
        }
    }
    "a byte no descriptor may write (guard, input, weights, records or descriptors)".into()
}
