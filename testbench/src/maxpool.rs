//! Cycle-by-cycle driver for the generated max-pool unit, and its golden model.
//!
//! The driver plays both ends of the valid/ready contract: it offers input
//! pixels (holding valid, data and last until taken, as a source must), takes
//! pooled pixels with a ready it may drop at random, and checks the unit's side
//! of the contract every cycle: a raised `out_valid` holds with stable data and
//! `out_last` until taken, and `out_last` marks exactly the last pooled pixel of
//! each image.
//!
//! Why several units per model: every configuration is a Verilator build, and
//! the builds, not the simulation, dominate a test run. [`PoolSim::new`] with
//! several configurations puts one generated unit per configuration, each with
//! its own ports (`u<i>_in_valid`, ...), under one test-only wrapper and builds
//! that once; one configuration builds the generated top alone. Units are
//! driven one at a time; the idle ones see no valid input.

use std::time::{Duration, Instant};

use golden::{GoldenError, MaxPoolShape, Padding, PoolWindow};
use hdl::ir::{Conn, Design, Module, SignalKind};
use hdl::manifest::Manifest;
use hdl::maxpool::MaxpoolConfig;
use rand::rngs::StdRng;
use rand::Rng;

use crate::array::{port_descs, DriveError, Traffic};
use crate::verilator::{BuildSpec, Dir, Model, Port, PortDesc};

/// One image: `height` rows of `width` pixels of `channels` int8 values, HWC order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub height: u32,
    pub data: Vec<i8>,
}

impl Image {
    /// Random values over the whole int8 range.
    pub fn random(rng: &mut StdRng, cfg: &MaxpoolConfig, height: u32) -> Image {
        let n = (height * cfg.width * cfg.channels) as usize;
        Image {
            height,
            data: (0..n).map(|_| rng.gen()).collect(),
        }
    }
    /// Random values from a few levels, so windows hold ties and extremes.
    pub fn random_levels(rng: &mut StdRng, cfg: &MaxpoolConfig, height: u32) -> Image {
        const LEVELS: [i8; 5] = [-128, -127, -1, 0, 127];
        let n = (height * cfg.width * cfg.channels) as usize;
        Image {
            height,
            data: (0..n)
                .map(|_| LEVELS[rng.gen_range(0..LEVELS.len())])
                .collect(),
        }
    }
    /// Every value equal to `v`.
    pub fn filled(cfg: &MaxpoolConfig, height: u32, v: i8) -> Image {
        Image {
            height,
            data: vec![v; (height * cfg.width * cfg.channels) as usize],
        }
    }
}

/// The golden shape of pooling `height` rows with `cfg`.
pub fn shape(cfg: &MaxpoolConfig, height: u32, batch: usize) -> MaxPoolShape {
    let (k, s) = (cfg.window as usize, cfg.stride as usize);
    let win = PoolWindow::new(k, k)
        .with_stride(s, s)
        .with_padding(Padding::uniform(cfg.pad as usize));
    MaxPoolShape::new(
        height as usize,
        cfg.width as usize,
        cfg.channels as usize,
        win,
    )
    .with_batch(batch)
}

/// Expected pooled pixels of each image: the global golden model (wgpu), checked
/// against the plain-Rust reference when it runs on a GPU adapter. Images too
/// short to hold a window row give an empty result, as the unit emits nothing.
/// Images of equal height go to the golden model as one batch.
pub fn golden_maxpool(cfg: &MaxpoolConfig, images: &[Image]) -> Result<Vec<Vec<i8>>, GoldenError> {
    let g = golden::Golden::global()?;
    let mut out = vec![Vec::new(); images.len()];
    let mut heights: Vec<u32> = images.iter().map(|i| i.height).collect();
    heights.sort_unstable();
    heights.dedup();
    for h in heights {
        if cfg.out_height(h) == 0 {
            continue;
        }
        let idx: Vec<usize> = (0..images.len())
            .filter(|&i| images[i].height == h)
            .collect();
        let batch: Vec<i8> = idx
            .iter()
            .flat_map(|&i| images[i].data.iter().copied())
            .collect();
        let sh = shape(cfg, h, idx.len());
        let got = g.maxpool(&batch, &sh)?;
        if g.is_gpu() {
            let want = golden::reference::maxpool(&batch, &sh)?;
            if let Some(index) = got.iter().zip(&want).position(|(a, b)| a != b) {
                return Err(GoldenError::Mismatch {
                    op: "maxpool",
                    index,
                    gpu: got[index].into(),
                    reference: want[index].into(),
                    count: got.iter().zip(&want).filter(|(a, b)| a != b).count(),
                    len: want.len(),
                });
            }
        }
        let per = got.len() / idx.len();
        for (n, &i) in idx.iter().enumerate() {
            out[i] = got[n * per..(n + 1) * per].to_vec();
        }
    }
    Ok(out)
}

/// Cycles the unit needs for `height` rows with the input always valid and the
/// output always ready, from the first pixel taken to the image's last token:
/// one per pixel, plus the right-padding extras of each row that completes a
/// window row, plus the bottom-padding rows after `in_last`.
pub fn token_cycles(cfg: &MaxpoolConfig, height: u32) -> u64 {
    let plan = cfg.plan();
    let (k, s, p) = (
        i64::from(cfg.window),
        i64::from(cfg.stride),
        i64::from(cfg.pad),
    );
    let h_out = i64::from(cfg.out_height(height));
    // Window row o ends at row o*S - P + K - 1; those inside the image end on an input row.
    let on_input = (0..h_out)
        .filter(|o| o * s - p + k - 1 < i64::from(height))
        .count() as u64;
    let flush_rows = h_out as u64 - on_input;
    let extras = u64::from(plan.last_windows.saturating_sub(1));
    u64::from(height * cfg.width)
        + (on_input + flush_rows) * extras
        + flush_rows * u64::from(cfg.width)
}

/// What one run produced.
#[derive(Clone, Debug, Default)]
pub struct RunResult {
    /// Pooled pixels of each image that has any, HWC order (split at `out_last`).
    pub images: Vec<Vec<i8>>,
    /// Pooled pixels that came after the last `out_last` (0 when every image closed).
    pub trailing: usize,
    /// Cycles from the first offered pixel to the edge that took the last pooled pixel.
    pub cycles: u64,
    /// For each pooled pixel taken, the cycle (from the first offered pixel) whose
    /// edge took it; the edge of cycle `i` takes input pixel `i` at full rate.
    pub out_cycles: Vec<u64>,
    /// Cycles (edges) where a pixel was offered and not taken.
    pub input_stalls: u64,
    /// Wall-clock time of the simulation loop.
    pub wall: Duration,
}

struct Ports {
    in_valid: Port,
    in_ready: Port,
    in_data: Port,
    in_last: Port,
    out_valid: Port,
    out_ready: Port,
    out_data: Port,
    out_last: Port,
}

/// One unit under test inside a [`PoolSim`].
pub struct Unit {
    pub cfg: MaxpoolConfig,
    pub manifest: Manifest,
    p: Ports,
}

/// Units under test in one Verilated model.
pub struct PoolSim {
    pub units: Vec<Unit>,
    /// The Verilog that was built (the generated top, or the wrapper and all units).
    pub verilog: String,
    pub model: Model,
    clk: Port,
    rst: Port,
    cycle: u64,
}

/// Port name of `port` of unit `i` in a model of `units` units.
fn port_name(units: usize, i: usize, port: &str) -> String {
    if units == 1 {
        port.to_string()
    } else {
        format!("u{i}_{port}")
    }
}

/// A test-only top holding one generated unit per configuration, sharing clock
/// and reset, every other port brought out with a `u<i>_` prefix.
fn wrapper(gens: &[(MaxpoolConfig, hdl::Generated)]) -> Result<Design, DriveError> {
    let mut top = Module::new("maxpool_zoo");
    top.doc("Test wrapper: independent max-pool units sharing clock and reset.");
    let clk = top.input("clk", hdl::ir::Ty::bit(), Some("Shared"), "");
    let rst = top.input("rst", hdl::ir::Ty::bit(), None, "");
    let mut design = Design::new("maxpool_zoo");
    for (i, (cfg, g)) in gens.iter().enumerate() {
        let unit_top = g
            .design
            .top_module()
            .ok_or_else(|| DriveError::Gen(format!("{}: no top module", cfg.name)))?;
        let mut conns = Vec::new();
        for (_, p) in unit_top.ports() {
            let conn = match p.name.as_str() {
                "clk" => Conn::In(clk.into()),
                "rst" => Conn::In(rst.into()),
                name => {
                    let outer = port_name(gens.len(), i, name);
                    let group = (name == "in_valid").then(|| format!("Unit {i}: {}", cfg.name));
                    if p.kind == SignalKind::Input {
                        Conn::In(top.input(&outer, p.ty, group.as_deref(), "").into())
                    } else {
                        Conn::Out(top.output(&outer, p.ty, group.as_deref(), ""))
                    }
                }
            };
            conns.push((p.name.clone(), conn));
        }
        top.instance(&cfg.name, &format!("unit{i}"), conns);
    }
    design.add(top);
    for (_, g) in gens {
        for m in &g.design.modules {
            design.add(m.clone());
        }
    }
    Ok(design)
}

impl PoolSim {
    /// Generate every configuration, build (or load) the model and reset it. With
    /// more than one configuration each unit is renamed `mp<i>` so names stay unique.
    pub fn new(cfgs: &[MaxpoolConfig]) -> Result<PoolSim, DriveError> {
        if cfgs.is_empty() {
            return Err(DriveError::Gen("no configuration given".into()));
        }
        let many = cfgs.len() > 1;
        let mut gens = Vec::new();
        for (i, c) in cfgs.iter().enumerate() {
            let mut c = c.clone();
            if many {
                c.name = format!("mp{i}");
            }
            let g = hdl::maxpool::generate(&c).map_err(|e| DriveError::Gen(e.to_string()))?;
            gens.push((c, g));
        }
        let (verilog, top, ports) = if many {
            let d = wrapper(&gens)?;
            let v = hdl::verilog::print(&d).map_err(|e| DriveError::Gen(e.to_string()))?;
            let top = d
                .top_module()
                .ok_or_else(|| DriveError::Gen("wrapper has no top".into()))?;
            let ports = top
                .ports()
                .map(|(_, p)| PortDesc {
                    name: p.name.clone(),
                    width: p.ty.width,
                    dir: if p.kind == SignalKind::Input {
                        Dir::Input
                    } else {
                        Dir::Output
                    },
                })
                .collect();
            (v, d.top.clone(), ports)
        } else {
            let (c, g) = &gens[0];
            (g.verilog.clone(), c.name.clone(), port_descs(&g.manifest))
        };
        let model = Model::build(&BuildSpec::new(verilog.clone(), top, ports))?;
        let n = gens.len();
        let mut units = Vec::new();
        for (i, (cfg, g)) in gens.into_iter().enumerate() {
            let port = |name: &str| model.port(&port_name(n, i, name));
            units.push(Unit {
                p: Ports {
                    in_valid: port("in_valid")?,
                    in_ready: port("in_ready")?,
                    in_data: port("in_data")?,
                    in_last: port("in_last")?,
                    out_valid: port("out_valid")?,
                    out_ready: port("out_ready")?,
                    out_data: port("out_data")?,
                    out_last: port("out_last")?,
                },
                cfg,
                manifest: g.manifest,
            });
        }
        let mut sim = PoolSim {
            units,
            verilog,
            clk: model.port("clk")?,
            rst: model.port("rst")?,
            model,
            cycle: 0,
        };
        sim.reset(3);
        Ok(sim)
    }

    /// Hold reset for `cycles` clock cycles with every stream idle.
    pub fn reset(&mut self, cycles: usize) {
        for u in &self.units {
            self.model.set(u.p.in_valid, 0);
            self.model.set(u.p.out_ready, 0);
        }
        self.model.set(self.rst, 1);
        for _ in 0..cycles {
            self.step();
        }
        self.model.set(self.rst, 0);
    }

    fn step(&mut self) {
        self.model.tick(self.clk);
        self.cycle += 1;
    }

    fn violation(&self, unit: usize, rule: impl Into<String>) -> DriveError {
        DriveError::Protocol {
            cycle: self.cycle,
            rule: format!("unit {unit} ({:?}): {}", self.units[unit].cfg, rule.into()),
            note: self.model.trace_note(),
        }
    }

    /// Put one pixel (all channels) on unit `u`'s input.
    fn drive(&mut self, u: usize, pixel: &[i8], last: bool) {
        let mut words = vec![0u32; pixel.len().div_ceil(4)];
        for (c, v) in pixel.iter().enumerate() {
            words[c / 4] |= u32::from(*v as u8) << (8 * (c % 4));
        }
        let p = &self.units[u].p;
        let (data, lastp) = (p.in_data, p.in_last);
        self.model.set_words(data, &words);
        self.model.set(lastp, u64::from(last));
    }

    /// Stream `images` through unit `u` with `traffic`; return the pooled pixels of each
    /// image that has any, checking the output side of the contract every cycle and
    /// that `out_last` marks exactly each image's last pooled pixel.
    pub fn run(
        &mut self,
        u: usize,
        images: &[Image],
        traffic: Traffic,
        rng: &mut StdRng,
    ) -> Result<RunResult, DriveError> {
        let cfg = self.units[u].cfg.clone();
        let px = (cfg.width * cfg.channels) as usize;
        for im in images {
            assert_eq!(im.data.len(), im.height as usize * px, "image size");
        }
        let beats: Vec<(&[i8], bool)> = images
            .iter()
            .flat_map(|im| {
                let n = im.height as usize * cfg.width as usize;
                let c = cfg.channels as usize;
                (0..n).map(move |i| (&im.data[i * c..(i + 1) * c], i + 1 == n))
            })
            .collect();
        let expect: Vec<usize> = images
            .iter()
            .map(|im| (cfg.out_height(im.height) * cfg.plan().w_out) as usize)
            .filter(|&n| n > 0)
            .collect();
        self.stream(u, &beats, Some(&expect), traffic, rng)
    }

    /// Stream raw beats (pixel, in_last) through unit `u`; the result holds the pooled
    /// pixels grouped by `out_last`. With `expect` (pooled pixels per non-empty image)
    /// the count and `out_last` of every image are checked.
    pub fn stream(
        &mut self,
        u: usize,
        beats: &[(&[i8], bool)],
        expect: Option<&[usize]>,
        traffic: Traffic,
        rng: &mut StdRng,
    ) -> Result<RunResult, DriveError> {
        let cfg = self.units[u].cfg.clone();
        let c = cfg.channels as usize;
        let p = &self.units[u].p;
        let (in_valid, in_ready, out_valid, out_ready, out_data, out_last) = (
            p.in_valid,
            p.in_ready,
            p.out_valid,
            p.out_ready,
            p.out_data,
            p.out_last,
        );
        let outputs: usize = match expect {
            Some(e) => e.iter().sum(),
            None => 0,
        };
        let slowest = traffic.in_valid_p.min(traffic.out_ready_p).max(0.02);
        let w = u64::from(cfg.width);
        let budget = ((beats.len() + outputs) as f64 / slowest) as u64 * 4
            + 8 * w * u64::from(cfg.pad + 2)
            + 500;
        let start = self.cycle;
        let t0 = Instant::now();
        let (mut next, mut offering) = (0usize, false);
        let mut pending: Option<(Vec<u32>, bool)> = None;
        let mut images: Vec<Vec<i8>> = Vec::new();
        let mut cur: Vec<i8> = Vec::new();
        let mut end = start;
        let mut input_stalls = 0u64;
        let mut out_cycles = Vec::new();
        let mut idle = 0u64;
        let done = |images: &Vec<Vec<i8>>, next: usize| match expect {
            Some(e) => images.len() == e.len(),
            None => next == beats.len(),
        };
        while !done(&images, next) || (expect.is_none() && idle < 16 * w + 64) {
            if self.cycle - start > budget {
                return Err(self.violation(
                    u,
                    format!(
                        "no progress: {} of {} pixels in, {} images out after {budget} cycles",
                        next,
                        beats.len(),
                        images.len()
                    ),
                ));
            }
            if !offering && next < beats.len() && rng.gen_bool(traffic.in_valid_p) {
                offering = true;
                let (px, last) = beats[next];
                self.drive(u, px, last);
            }
            self.model.set(in_valid, u64::from(offering));
            let ready = rng.gen_bool(traffic.out_ready_p);
            self.model.set(out_ready, u64::from(ready));
            let in_fire = offering && self.model.get(in_ready) == 1;
            if offering && !in_fire {
                input_stalls += 1;
            }
            let valid = self.model.get(out_valid) == 1;
            if let Some((data, last)) = &pending {
                let now = self.model.get_words(out_data);
                let now_last = self.model.get(out_last) == 1;
                if !valid || &now != data || now_last != *last {
                    return Err(self.violation(
                        u,
                        "out_valid dropped or out_data/out_last changed before the pixel was taken",
                    ));
                }
            }
            pending = None;
            idle += 1;
            if valid {
                let words = self.model.get_words(out_data);
                let last = self.model.get(out_last) == 1;
                if ready {
                    idle = 0;
                    out_cycles.push(self.cycle - start);
                    cur.extend((0..c).map(|i| (words[i / 4] >> (8 * (i % 4))) as u8 as i8));
                    let n = cur.len() / c;
                    if let Some(e) = expect {
                        let Some(&want) = e.get(images.len()) else {
                            return Err(self.violation(u, "a pooled pixel after the last image"));
                        };
                        if last != (n == want) {
                            return Err(self.violation(
                                u,
                                format!(
                                    "out_last = {last} on pooled pixel {} of {want} of image {}",
                                    n - 1,
                                    images.len()
                                ),
                            ));
                        }
                    }
                    if last {
                        images.push(std::mem::take(&mut cur));
                        end = self.cycle + 1;
                    }
                } else {
                    pending = Some((words, last));
                }
            }
            self.step();
            if in_fire {
                offering = false;
                next += 1;
                idle = 0;
            }
        }
        let wall = t0.elapsed();
        self.model.set(in_valid, 0);
        self.model.set(out_ready, 1);
        if expect.is_some() {
            // Nothing more may come out.
            for _ in 0..(4 * w + 16) {
                if self.model.get(out_valid) == 1 {
                    return Err(self.violation(u, "a pooled pixel after the last image"));
                }
                self.step();
            }
        }
        let trailing = cur.len() / c;
        if !cur.is_empty() {
            images.push(cur);
        }
        Ok(RunResult {
            images,
            trailing,
            out_cycles,
            cycles: end - start,
            input_stalls,
            wall,
        })
    }

    /// Offer the first `pixels` pixels of `image` to unit `u` with `traffic`, then
    /// assert reset for 2 cycles: an image cut in the middle.
    pub fn run_then_reset(
        &mut self,
        u: usize,
        image: &Image,
        pixels: usize,
        traffic: Traffic,
        rng: &mut StdRng,
    ) -> Result<(), DriveError> {
        let c = self.units[u].cfg.channels as usize;
        let p = &self.units[u].p;
        let (in_valid, in_ready, out_ready) = (p.in_valid, p.in_ready, p.out_ready);
        let (mut sent, mut guard, mut offering) = (0, 0, false);
        while sent < pixels {
            guard += 1;
            if guard > 1_000_000 {
                return Err(self.violation(u, "input never accepted before the reset"));
            }
            if !offering && rng.gen_bool(traffic.in_valid_p) {
                offering = true;
                self.drive(u, &image.data[sent * c..(sent + 1) * c], false);
            }
            self.model.set(in_valid, u64::from(offering));
            self.model
                .set(out_ready, u64::from(rng.gen_bool(traffic.out_ready_p)));
            let fire = offering && self.model.get(in_ready) == 1;
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
