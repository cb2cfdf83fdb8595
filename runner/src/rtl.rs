//! The `rtl` backend: the Verilated engine with the Rust memory model, running
//! the compiler's program for the network.
//!
//! The program is compiled once (input region left zero); per image the whole
//! image is loaded again with the image's input in place, so activation regions
//! start from the compiler's `UNWRITTEN` fill and a byte the engine forgot to
//! write cannot keep the previous image's value.
//!
//! Each layer is its own start (`desc_addr` of descriptor `i`, `desc_count`
//! 1), so every layer's output can be read before the next layer overwrites
//! the ping-pong region, and the counters (cleared by every start) are per
//! layer. A start adds `compiler::model::C_START` cycles (the start checks and
//! `DONE`) to its descriptors', and the engine fetches the next descriptor
//! only after a layer's last write, so one start per layer costs exactly
//! `C_START` cycles per extra start over one start for the whole network: the
//! cost model predicts both, and [`Rtl::run_network`] measures the one-start
//! figure.

use compiler::{CompileOptions, FirstLayer, ModelParams, Network, Program, ProgramCost};
use contracts::engine::ProgrammingModel;
use hdl::engine::{Control, EngineConfig};
use testbench::engine::{EngineSim, MemConfig};

use crate::backend::ImageRun;
use crate::RunError;

/// Where the program's image starts: not zero, so an engine that dropped
/// address bits would read outside the memory.
pub const BASE: u32 = 0x1000_0000;

/// The engine and memory the `rtl` backend simulates.
#[derive(Clone, Debug, PartialEq)]
pub struct RtlOptions {
    pub engine: EngineConfig,
    /// Fixed read latency in cycles (ignored with `random_mem`).
    pub latency: u32,
    /// A hostile memory (latency 1..=32, `req_ready` stalls, response gaps)
    /// drawn from this seed, instead of the fixed latency.
    pub random_mem: Option<u64>,
    /// How the first layer is compiled (`compiler::first_layer`); the input
    /// is packed per image accordingly.
    pub first_layer: FirstLayer,
}

/// The default first-layer mode of `run` (fewest cycles on both models at
/// 4x4 and 8x8; docs/run.md).
pub const DEFAULT_FIRST_LAYER: FirstLayer = FirstLayer::Im2col;

impl RtlOptions {
    /// The memory in words, for reports.
    pub fn memory_summary(&self) -> String {
        match self.random_mem {
            None => format!("fixed latency {}, one request per cycle", self.latency),
            Some(seed) => {
                format!("random latency 1..=32, req_ready 70%, response gaps 20% (seed {seed})")
            }
        }
    }

    /// The cost model's view of this engine (fixed latency).
    pub fn model_params(&self) -> ModelParams {
        testbench::engine::model_params(&self.engine, self.latency)
    }
}

/// The area-first engine's cycles (`compiler::micro`, exact for a fixed
/// latency) in place of `compiler::model`'s: per layer (a start each; the
/// report adds `compiler::model::C_START` to a layer's figure, so it is taken
/// off here) and for one start of the whole network. Traffic and MACs stay
/// the cost model's (the micro engine's traffic is its own: the report's
/// counters are the RTL's).
fn micro_cycles(
    opts: &RtlOptions,
    program: &Program,
    cost: &mut ProgramCost,
) -> Result<(), RunError> {
    let e = &opts.engine;
    let code = useq::program::program(&e.micro()).map_err(|err| {
        RunError::Usage(format!("backend rtl: the micro engine's program: {err}"))
    })?;
    let p = compiler::micro::MicroParams {
        program: e.micro(),
        pipeline: u64::from(e.pipeline),
        requant_lanes: u64::from(e.requant_lanes.unwrap_or(0)),
        fifo_ram: e.fifo_ram,
        out_pipe: e.out_pipe,
        latency: u64::from(opts.latency),
    };
    let db = 64 * 1024;
    let run = |first: u32, count: u32| {
        compiler::micro::run(
            &p,
            &code,
            &program.image,
            program.base,
            program.desc_addr + first * 64,
            count,
            u64::from(count) * db * 1024,
        )
        .map(|r| r.cycles)
        .map_err(|err| RunError::Runtime(format!("backend rtl: micro cycle model: {err}")))
    };
    for (i, l) in cost.layers.iter_mut().enumerate() {
        l.cycles = run(i as u32, 1)?.saturating_sub(compiler::model::C_START);
    }
    cost.total.cycles = run(0, program.desc_count)?;
    Ok(())
}

/// The engine's four counters after one start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LayerCounters {
    pub cycles: u64,
    pub array_beats: u64,
    pub rd_bytes: u64,
    pub wr_bytes: u64,
}

impl LayerCounters {
    /// Element-wise sum.
    pub fn add(&mut self, o: &LayerCounters) {
        self.cycles += o.cycles;
        self.array_beats += o.array_beats;
        self.rd_bytes += o.rd_bytes;
        self.wr_bytes += o.wr_bytes;
    }
}

/// The engine, its memory and the compiled network.
pub struct Rtl {
    pub opts: RtlOptions,
    pub pm: ProgrammingModel,
    pub program: Program,
    /// The cost model's prediction for this program (fixed latency).
    pub cost: ProgramCost,
    /// Layer names, for errors.
    names: Vec<String>,
    sim: EngineSim,
    /// Simulated wall time of all starts so far.
    pub wall: std::time::Duration,
}

impl Rtl {
    /// Check the configuration, compile `net` for it (a layer the engine
    /// refuses is a usage error naming the rule), build (or load from the
    /// cache) the Verilated engine and load the program.
    pub fn new(net: &Network, opts: RtlOptions) -> Result<Rtl, RunError> {
        opts.engine
            .validate()
            .map_err(|e| RunError::Usage(format!("backend rtl: engine configuration: {e}")))?;
        if opts.latency == 0 {
            return Err(RunError::Usage(
                "backend rtl: --latency must be >= 1, is 0".into(),
            ));
        }
        let pm = opts.engine.programming_model();
        let copts = CompileOptions {
            first_layer: opts.first_layer,
        };
        let program = compiler::compile_with(net, None, &pm, BASE, &copts).map_err(|e| {
            RunError::Usage(format!(
                "backend rtl: model `{}` on a {}x{} engine with a {}-bit memory, first layer {}: {e}",
                net.name, opts.engine.rows, opts.engine.cols, opts.engine.mem_bits, opts.first_layer
            ))
        })?;
        let mut cost = compiler::program_cost(
            &pm,
            &opts.model_params(),
            program.desc_addr,
            &program.descriptors,
        )
        .map_err(|e| RunError::Runtime(format!("backend rtl: cost model: {e}")))?;
        if opts.engine.control == Control::Micro {
            micro_cycles(&opts, &program, &mut cost)?;
        }
        eprintln!(
            "run: building the {}x{} engine (Verilator; cached after the first build)",
            opts.engine.rows, opts.engine.cols
        );
        let size = program.image.len().div_ceil(64) * 64;
        let mem = match opts.random_mem {
            None => MemConfig::fixed(u64::from(BASE), size, opts.latency),
            Some(seed) => MemConfig::random(u64::from(BASE), size, seed),
        };
        let mut sim = EngineSim::new(&opts.engine, mem)
            .map_err(|e| RunError::Runtime(format!("backend rtl: building the engine: {e}")))?;
        sim.load_compiled(&program)
            .map_err(|e| RunError::Runtime(format!("backend rtl: loading the program: {e}")))?;
        Ok(Rtl {
            names: net.layers.iter().map(|l| l.name.clone()).collect(),
            opts,
            pm,
            program,
            cost,
            sim,
            wall: std::time::Duration::ZERO,
        })
    }

    /// How the first layer runs, e.g. `im2col: 1x1, C_in 25`; `None` when
    /// it runs as written.
    pub fn first_layer_note(&self) -> Option<String> {
        let p = &self.program;
        let d = p.descriptors.first()?;
        (p.first_layer != FirstLayer::Direct)
            .then(|| format!("{}: {}x{}, C_in {}", p.first_layer, d.k_h, d.k_w, d.in_c))
    }

    /// Load the program's image with the raw `image` (the network's input)
    /// packed as the program's first layer reads it.
    fn load_image(&mut self, image: &[i8]) -> Result<(), RunError> {
        let p = &self.program;
        let image = p
            .pack_input(image)
            .map_err(|e| RunError::Runtime(format!("backend rtl: {e}")))?;
        let image = image.as_slice();
        let mut bytes = p.image.clone();
        let at = (p.input.addr - p.base) as usize;
        for (d, &v) in bytes[at..at + image.len()].iter_mut().zip(image) {
            *d = v as u8;
        }
        self.sim
            .load(u64::from(p.base), &bytes)
            .map_err(|e| RunError::Runtime(format!("backend rtl: {e}")))
    }

    /// Start `count` descriptors from descriptor `first`, run to `irq` and
    /// read the counters; an engine error names the layer and the rule.
    fn start(&mut self, first: usize, count: usize) -> Result<LayerCounters, RunError> {
        let db = u64::from(self.pm.descriptor.bytes);
        let model: u64 = self.cost.layers[first..first + count]
            .iter()
            .map(|c| c.cycles)
            .sum();
        // A timeout, not a measure: far above any memory the options allow.
        let budget = 200 * model + 1_000_000;
        let addr = u64::from(self.program.desc_addr) + db * first as u64;
        let rtl_err = |e| RunError::Runtime(format!("backend rtl: {e}"));
        self.sim.start(addr, count as u64).map_err(rtl_err)?;
        let r = self.sim.run_until_irq(budget).map_err(rtl_err)?;
        self.wall += r.wall;
        if r.error || !r.done {
            let index = first + r.index as usize;
            return Err(RunError::Runtime(format!(
                "backend rtl: the engine stopped with error `{}` (code {}) at layer {index} `{}` (status {:#x})",
                r.error_name.as_deref().unwrap_or("unknown"),
                r.code,
                self.names.get(index).map_or("?", String::as_str),
                r.status
            )));
        }
        Ok(LayerCounters {
            cycles: r.cycles,
            array_beats: r.array_beats,
            rd_bytes: r.rd_bytes,
            wr_bytes: r.wr_bytes,
        })
    }

    fn output(&self, layer: usize) -> Result<Vec<i8>, RunError> {
        let pl = &self.program.layers[layer];
        let bytes = self
            .sim
            .memory_at(u64::from(pl.out_addr), pl.out_shape.bytes() as usize)
            .map_err(|e| RunError::Runtime(format!("backend rtl: {e}")))?;
        Ok(bytes.iter().map(|&b| b as i8).collect())
    }

    /// One start per layer: every layer's output and counters.
    pub fn run_layers(&mut self, image: &[i8]) -> Result<ImageRun, RunError> {
        self.load_image(image)?;
        let n = self.program.layers.len();
        let mut layers = Vec::with_capacity(n);
        let mut counters = Vec::with_capacity(n);
        for i in 0..n {
            counters.push(self.start(i, 1)?);
            layers.push(self.output(i)?);
        }
        Ok(ImageRun {
            layers,
            counters: Some(counters),
        })
    }

    /// One start for the whole network: the last layer's output and the
    /// counters of the whole inference.
    pub fn run_network(&mut self, image: &[i8]) -> Result<(Vec<i8>, LayerCounters), RunError> {
        self.load_image(image)?;
        let n = self.program.layers.len();
        let c = self.start(0, n)?;
        Ok((self.output(n - 1)?, c))
    }
}
