//! Cycle-by-cycle driver for the generated systolic array.
//!
//! The driver plays both ends of the valid/ready contract: it offers operand
//! beats (holding valid and data until taken, as the contract requires of a
//! source), takes result rows with a ready that it may drop at random, and
//! checks the array's side of the contract every cycle: a raised `out_valid`
//! holds with stable data until taken, `out_last` marks exactly row ROWS-1 of
//! each tile. Results are returned per tile for the caller to compare with the
//! golden model.

use hdl::array::ArrayConfig;
use hdl::manifest::Manifest;
use rand::rngs::StdRng;
use rand::Rng;

use crate::verilator::{Dir, HarnessError, Model, Port, PortDesc};

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

/// Probabilities with which the driver offers a beat / accepts a row each cycle.
#[derive(Clone, Copy, Debug)]
pub struct Traffic {
    pub in_valid_p: f64,
    pub out_ready_p: f64,
}

impl Traffic {
    /// No stalls on either side.
    pub const FULL: Traffic = Traffic {
        in_valid_p: 1.0,
        out_ready_p: 1.0,
    };
}

/// What one run produced.
#[derive(Clone, Debug, Default)]
pub struct RunResult {
    /// Per tile, C as rows x cols row-major.
    pub c: Vec<Vec<i32>>,
    /// Cycles from the first offered beat to the edge that took the last row.
    pub cycles: u64,
}

/// A broken contract rule or a harness failure.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error(transparent)]
    Harness(#[from] HarnessError),
    #[error("protocol violation at cycle {cycle}: {rule} ({note})")]
    Protocol {
        cycle: u64,
        rule: String,
        note: String,
    },
    #[error("generator failed: {0}")]
    Gen(String),
}

struct Ports {
    clk: Port,
    rst: Port,
    in_valid: Port,
    in_ready: Port,
    in_a: Port,
    in_b: Port,
    in_last: Port,
    out_valid: Port,
    out_ready: Port,
    out_c: Port,
    out_last: Port,
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
    cycle: u64,
}

/// The harness port list of a generated block, read from its manifest.
pub fn port_descs(manifest: &Manifest) -> Vec<PortDesc> {
    manifest
        .ports
        .iter()
        .map(|p| PortDesc {
            name: p.name.clone(),
            width: p.width,
            dir: if p.dir == hdl::ir::PortDir::Input {
                Dir::Input
            } else {
                Dir::Output
            },
        })
        .collect()
}

impl ArrayDut {
    /// Generate the array for `cfg`, build (or load) its model and reset it.
    pub fn new(cfg: &ArrayConfig) -> Result<ArrayDut, DriveError> {
        let g = hdl::array::generate(cfg).map_err(|e| DriveError::Gen(e.to_string()))?;
        let spec = crate::models::build_spec(&g, &cfg.name).map_err(DriveError::Gen)?;
        let model = Model::build(&spec)?;
        let p = Ports {
            clk: model.port("clk")?,
            rst: model.port("rst")?,
            in_valid: model.port("in_valid")?,
            in_ready: model.port("in_ready")?,
            in_a: model.port("in_a")?,
            in_b: model.port("in_b")?,
            in_last: model.port("in_last")?,
            out_valid: model.port("out_valid")?,
            out_ready: model.port("out_ready")?,
            out_c: model.port("out_c")?,
            out_last: model.port("out_last")?,
        };
        let mut dut = ArrayDut {
            cfg: cfg.clone(),
            manifest: g.manifest,
            verilog: g.verilog,
            model,
            check_registered_ready: false,
            p,
            cycle: 0,
        };
        dut.reset(3);
        Ok(dut)
    }

    /// Hold reset for `cycles` clock cycles with both streams idle.
    pub fn reset(&mut self, cycles: usize) {
        self.model.set(self.p.in_valid, 0);
        self.model.set(self.p.out_ready, 0);
        self.model.set(self.p.rst, 1);
        for _ in 0..cycles {
            self.step();
        }
        self.model.set(self.p.rst, 0);
    }

    fn step(&mut self) {
        self.model.tick(self.p.clk);
        self.cycle += 1;
    }

    fn violation(&self, rule: impl Into<String>) -> DriveError {
        DriveError::Protocol {
            cycle: self.cycle,
            rule: rule.into(),
            note: self.model.trace_note(),
        }
    }

    /// Put beat `kk` of `tile` on the input port.
    fn drive_beat(&mut self, tile: &Tile, kk: usize) {
        let (rows, cols) = (self.cfg.rows as usize, self.cfg.cols as usize);
        let mut a = vec![0u32; rows.div_ceil(4)];
        for i in 0..rows {
            a[i / 4] |= u32::from(tile.a[i * tile.k + kk] as u8) << (8 * (i % 4));
        }
        let mut b = vec![0u32; cols.div_ceil(4)];
        for j in 0..cols {
            b[j / 4] |= u32::from(tile.b[kk * cols + j] as u8) << (8 * (j % 4));
        }
        self.model.set_words(self.p.in_a, &a);
        self.model.set_words(self.p.in_b, &b);
        self.model.set(self.p.in_last, u64::from(kk + 1 == tile.k));
    }

    /// Stream `tiles` through the array with the given traffic pattern; return every
    /// result row, checking the output side of the contract on the way.
    pub fn run(
        &mut self,
        tiles: &[Tile],
        traffic: Traffic,
        rng: &mut StdRng,
    ) -> Result<RunResult, DriveError> {
        let (rows, cols) = (self.cfg.rows as usize, self.cfg.cols as usize);
        for t in tiles {
            assert!(t.k >= 1 && t.a.len() == rows * t.k && t.b.len() == t.k * cols);
        }
        let total_beats: usize = tiles.iter().map(|t| t.k).sum();
        let budget = ((total_beats + rows + cols + 16) as f64
            / (traffic.in_valid_p.min(traffic.out_ready_p).max(0.05))) as u64
            * 4
            + 200
            + (tiles.len() * rows) as u64 * 4;

        let (mut tile_i, mut beat_k) = (0usize, 0usize);
        let mut offering = false;
        let mut rows_out: Vec<Vec<i32>> = Vec::new();
        let mut pending: Option<(Vec<u32>, bool)> = None; // out beat offered but not taken
        let start = self.cycle;
        let mut end = start;
        let mut c = Vec::new();
        while c.len() < tiles.len() {
            if self.cycle - start > budget {
                return Err(self.violation(format!(
                    "no progress: {} of {} tiles out after {budget} cycles",
                    c.len(),
                    tiles.len()
                )));
            }
            // Source: offer the next beat; once offered, hold it until taken.
            if !offering && tile_i < tiles.len() && rng.gen_bool(traffic.in_valid_p) {
                offering = true;
                let t = tiles[tile_i].clone();
                self.drive_beat(&t, beat_k);
            }
            self.model.set(self.p.in_valid, u64::from(offering));
            let ready = rng.gen_bool(traffic.out_ready_p);
            if self.check_registered_ready {
                self.model.set(self.p.out_ready, u64::from(!ready));
                let other = (
                    self.model.get(self.p.in_ready),
                    self.model.get(self.p.out_valid),
                );
                self.model.set(self.p.out_ready, u64::from(ready));
                let this = (
                    self.model.get(self.p.in_ready),
                    self.model.get(self.p.out_valid),
                );
                if other != this {
                    return Err(self.violation(
                        "in_ready or out_valid changed with out_ready in the same cycle",
                    ));
                }
            }
            self.model.set(self.p.out_ready, u64::from(ready));

            let in_fire = offering && self.model.get(self.p.in_ready) == 1;
            let out_valid = self.model.get(self.p.out_valid) == 1;
            if let Some((data, last)) = &pending {
                let now = self.model.get_words(self.p.out_c);
                let now_last = self.model.get(self.p.out_last) == 1;
                if !out_valid || &now != data || now_last != *last {
                    return Err(self.violation(
                        "out_valid dropped or out_c/out_last changed before the row was taken",
                    ));
                }
            }
            pending = None;
            if out_valid {
                let words = self.model.get_words(self.p.out_c);
                let last = self.model.get(self.p.out_last) == 1;
                if ready {
                    let row: Vec<i32> = words.iter().take(cols).map(|&w| w as i32).collect();
                    rows_out.push(row);
                    let expect_last = rows_out.len() == rows;
                    if last != expect_last {
                        return Err(self.violation(format!(
                            "out_last = {last} on row {} of a {rows}-row tile",
                            rows_out.len() - 1
                        )));
                    }
                    if expect_last {
                        c.push(rows_out.drain(..).flatten().collect());
                        end = self.cycle + 1;
                    }
                } else {
                    pending = Some((words, last));
                }
            }
            self.step();
            if in_fire {
                offering = false;
                beat_k += 1;
                if beat_k == tiles[tile_i].k {
                    beat_k = 0;
                    tile_i += 1;
                }
            }
        }
        self.model.set(self.p.in_valid, 0);
        // Nothing more may come out.
        self.model.set(self.p.out_ready, 1);
        for _ in 0..(rows + cols + 4) {
            if self.model.get(self.p.out_valid) == 1 {
                return Err(self.violation("a result row appeared after all tiles were drained"));
            }
            self.step();
        }
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
        let (mut sent, mut guard, mut offering) = (0, 0, false);
        while sent < beats.min(tile.k) {
            guard += 1;
            if guard > 100_000 {
                return Err(self.violation("input never accepted before the reset"));
            }
            if !offering && rng.gen_bool(traffic.in_valid_p) {
                offering = true;
                self.drive_beat(tile, sent);
            }
            self.model.set(self.p.in_valid, u64::from(offering));
            self.model.set(
                self.p.out_ready,
                u64::from(rng.gen_bool(traffic.out_ready_p)),
            );
            let fire = offering && self.model.get(self.p.in_ready) == 1;
            self.step();
            if fire {
                sent += 1;
                offering = false;
            }
        }
        self.reset(2);
        Ok(())
    }
}
