//! Cycle-by-cycle driver for the generated systolic array.
//!
//! The driver plays both ends of the valid/ready contract with the testbench
//! agents ([`crate::agents`]): a [`StreamSource`] offers operand beats (column
//! `kk` of A on `in_a`, row `kk` of B on `in_b`, holding them until taken), a
//! [`StreamSink`] takes result rows with a ready it may drop at random and
//! checks the array's side of the contract every cycle: a raised `out_valid`
//! holds with stable data until taken, `out_last` marks exactly row ROWS-1 of
//! each tile, nothing comes out after the last tile. Results are returned per
//! tile for the caller to compare with the golden model.

use hdl::array::ArrayConfig;
use hdl::manifest::Manifest;
use rand::rngs::StdRng;
use rand::Rng;

use crate::agents::{Agent, Bench, NoCombPath, StreamPorts, StreamSink, StreamSource};
pub use crate::agents::{DriveError, Traffic};
pub use crate::models::port_descs;
use crate::verilator::{Model, Port};

/// One tile: A is rows x k, B is k x cols, both row-major.
#[derive(Clone, Debug)]
pub struct Tile {
    pub k: usize,
    pub a: Vec<i8>,
    pub b: Vec<i8>,
}

impl Tile {
    /// A tile of random operands drawn from `values` (or the full int8 range).
    pub fn random(rng: &mut StdRng, rows: usize, cols: usize, k: usize) -> Tile {
        Tile {
            k,
            a: (0..rows * k).map(|_| rng.gen()).collect(),
            b: (0..k * cols).map(|_| rng.gen()).collect(),
        }
    }
    /// A tile with every operand equal to `v`.
    pub fn filled(rows: usize, cols: usize, k: usize, v: i8) -> Tile {
        Tile {
            k,
            a: vec![v; rows * k],
            b: vec![v; k * cols],
        }
    }
}

/// Operand beats packed for the input stream by [`ArrayDut::pack`].
#[derive(Clone, Debug)]
pub struct Beats {
    /// Flat, the input stream's words per beat.
    words: Vec<u32>,
    lasts: Vec<bool>,
    tiles: usize,
}

/// What one run produced.
#[derive(Clone, Debug, Default)]
pub struct RunResult {
    /// Per tile, C as rows x cols row-major.
    pub c: Vec<Vec<i32>>,
    /// Cycles from the first offered beat to the edge that took the last row.
    pub cycles: u64,
}

struct Ports {
    clk: Port,
    rst: Port,
    input: StreamPorts,
    output: StreamPorts,
    in_valid: Port,
    out_ready: Port,
}

/// The array under test: its configuration, manifest and Verilated model.
pub struct ArrayDut {
    pub cfg: ArrayConfig,
    pub manifest: Manifest,
    pub verilog: String,
    pub model: Model,
    /// Also check, every cycle, that `in_ready` and `out_valid` do not depend
    /// combinationally on `out_ready` (costs two extra evaluations per cycle).
    pub check_registered_ready: bool,
    p: Ports,
    bench: Bench,
}

impl ArrayDut {
    /// Generate the array for `cfg`, build (or load) its model and reset it.
    pub fn new(cfg: &ArrayConfig) -> Result<ArrayDut, DriveError> {
        let g = hdl::array::generate(cfg).map_err(|e| DriveError::Gen(e.to_string()))?;
        let spec = crate::models::build_spec(&g, &cfg.name).map_err(DriveError::Gen)?;
        let model = Model::build(&spec)?;
        ArrayDut::with_model(cfg, g.manifest, g.verilog, model)
    }

    /// Drive an already built `model` of the array generated for `cfg`; reset it.
    pub fn with_model(
        cfg: &ArrayConfig,
        manifest: Manifest,
        verilog: String,
        model: Model,
    ) -> Result<ArrayDut, DriveError> {
        let p = Ports {
            clk: model.port("clk")?,
            rst: model.port("rst")?,
            input: StreamPorts::prefixed(&model, "in", &["a", "b"], true)?,
            output: StreamPorts::prefixed(&model, "out", &["c"], true)?,
            in_valid: model.port("in_valid")?,
            out_ready: model.port("out_ready")?,
        };
        let mut dut = ArrayDut {
            cfg: cfg.clone(),
            manifest,
            verilog,
            bench: Bench::new(p.clk),
            model,
            check_registered_ready: false,
            p,
        };
        dut.reset(3)?;
        Ok(dut)
    }

    /// Clock cycles simulated since the model was built (reset included).
    pub fn cycle(&self) -> u64 {
        self.bench.cycle()
    }

    /// Hold reset for `cycles` clock cycles with both streams idle.
    pub fn reset(&mut self, cycles: usize) -> Result<(), DriveError> {
        self.model.set(self.p.in_valid, 0);
        self.model.set(self.p.out_ready, 0);
        self.model.set(self.p.rst, 1);
        self.bench.steps(&mut self.model, &mut [], cycles as u64)?;
        self.model.set(self.p.rst, 0);
        Ok(())
    }

    /// The operand beats of `tiles`, packed for the input stream: beat `kk` of a tile
    /// holds column `kk` of A on `in_a` and row `kk` of B on `in_b`, and `in_last` on
    /// the tile's last. Pack once to run the same tiles many times ([`Self::run_packed`]).
    ///
    /// # Panics
    /// If a tile's shape does not match the array.
    pub fn pack(&self, tiles: &[Tile]) -> Beats {
        let (rows, cols) = (self.cfg.rows as usize, self.cfg.cols as usize);
        // A tile's beats are packed as bytes (A[i][kk] at byte i of beat kk, B[kk][j] at
        // byte j of in_b's words), then turned into words.
        let words = self.p.input.words();
        let ob = 4 * self.p.input.offset(1);
        let beat_bytes = 4 * words;
        let mut packed = Beats {
            words: Vec::new(),
            lasts: Vec::new(),
            tiles: tiles.len(),
        };
        let mut bytes = Vec::new();
        for t in tiles {
            assert!(t.k >= 1 && t.a.len() == rows * t.k && t.b.len() == t.k * cols);
            bytes.clear();
            bytes.resize(t.k * beat_bytes, 0u8);
            for (i, row) in t.a.chunks_exact(t.k).enumerate() {
                for (kk, &x) in row.iter().enumerate() {
                    bytes[kk * beat_bytes + i] = x as u8;
                }
            }
            for (beat, row) in bytes
                .chunks_exact_mut(beat_bytes)
                .zip(t.b.chunks_exact(cols))
            {
                for (byte, &x) in beat[ob..ob + cols].iter_mut().zip(row) {
                    *byte = x as u8;
                }
            }
            packed.words.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            packed.lasts.extend((0..t.k).map(|kk| kk + 1 == t.k));
        }
        packed
    }

    /// A source holding the first `limit` of `beats`.
    fn source(
        &self,
        beats: &Beats,
        limit: usize,
        valid_p: f64,
        rng: &mut StdRng,
    ) -> Result<StreamSource, DriveError> {
        let mut src = StreamSource::new("in", self.p.input.clone(), valid_p, rng.gen())?;
        let n = limit.min(beats.lasts.len());
        src.push_all(&beats.words[..n * self.p.input.words()], &beats.lasts[..n]);
        Ok(src)
    }

    /// Stream `tiles` through the array with the given traffic pattern; return every
    /// result row, checking the output side of the contract on the way.
    pub fn run(
        &mut self,
        tiles: &[Tile],
        traffic: Traffic,
        rng: &mut StdRng,
    ) -> Result<RunResult, DriveError> {
        let beats = self.pack(tiles);
        self.run_packed(&beats, traffic, rng)
    }

    /// [`Self::run`] on tiles packed by [`Self::pack`].
    pub fn run_packed(
        &mut self,
        beats: &Beats,
        traffic: Traffic,
        rng: &mut StdRng,
    ) -> Result<RunResult, DriveError> {
        let (rows, cols) = (self.cfg.rows as usize, self.cfg.cols as usize);
        let (tiles, total_beats) = (beats.tiles, beats.lasts.len());
        let budget = ((total_beats + rows + cols + 16) as f64
            / (traffic.in_valid_p.min(traffic.out_ready_p).max(0.05))) as u64
            * 4
            + 200
            + (tiles * rows) as u64 * 4;

        let mut src = self.source(beats, usize::MAX, traffic.in_valid_p, rng)?;
        let mut sink =
            StreamSink::new("out", self.p.output.clone(), traffic.out_ready_p, rng.gen())?;
        sink.expect_packets(&vec![rows; tiles]);
        let start = self.bench.cycle();
        if self.check_registered_ready {
            let mut check = NoCombPath::new(&self.model, "out_ready", &["in_ready", "out_valid"])?;
            let agents: &mut [&mut dyn Agent] = &mut [&mut src, &mut sink, &mut check];
            self.bench.run(&mut self.model, agents, budget)?;
        } else {
            self.bench
                .run(&mut self.model, &mut [&mut src, &mut sink], budget)?;
        }
        let end = sink.cycles().last().map_or(start, |&c| c + 1);
        let c = (0..tiles)
            .map(|t| {
                (t * rows..(t + 1) * rows)
                    .flat_map(|r| sink.beat(r).iter().take(cols).map(|&w| w as i32))
                    .collect()
            })
            .collect();
        // Nothing more may come out: the sink, now always ready, fails on any beat.
        sink.set_ready_p(1.0);
        self.bench.steps(
            &mut self.model,
            &mut [&mut src, &mut sink],
            (rows + cols + 4) as u64,
        )?;
        Ok(RunResult {
            c,
            cycles: end - start,
        })
    }

    /// Offer `beats` beats of `tile` (must be fewer than its K) with the given traffic,
    /// then assert reset for 2 cycles: a tile cut in the middle.
    pub fn run_then_reset(
        &mut self,
        tile: &Tile,
        beats: usize,
        traffic: Traffic,
        rng: &mut StdRng,
    ) -> Result<(), DriveError> {
        let want = beats.min(tile.k);
        let beats = self.pack(std::slice::from_ref(tile));
        let mut src = self.source(&beats, want, traffic.in_valid_p, rng)?;
        let mut sink =
            StreamSink::new("out", self.p.output.clone(), traffic.out_ready_p, rng.gen())?;
        self.bench
            .run(&mut self.model, &mut [&mut src, &mut sink], 100_000)?;
        self.reset(2)
    }
}
