//! Cycle-by-cycle driver for the generated max-pool unit, and its golden model.
//!
//! The driver plays both ends of the valid/ready contract with the testbench
//! agents ([`crate::agents`]): a [`StreamSource`] offers input pixels (holding
//! valid, data and last until taken), a [`StreamSink`] takes pooled pixels with
//! a ready it may drop at random and checks the unit's side of the contract
//! every cycle: a raised `out_valid` holds with stable data and `out_last` until
//! taken, and `out_last` marks exactly the last pooled pixel of each image.
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
use hdl::parts::Instantiate;
use rand::rngs::StdRng;
use rand::Rng;

use crate::agents::{Agent, Bench, DriveError, StreamPorts, StreamSink, StreamSource, Traffic};
use crate::models::port_descs;
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
    input: StreamPorts,
    output: StreamPorts,
    in_valid: Port,
    out_ready: Port,
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
    rst: Port,
    bench: Bench,
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
        top.inst(unit_top, &format!("unit{i}"))
            .conns(conns)
            .finish()
            .map_err(|e| DriveError::Gen(e.to_string()))?;
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
            let name = |port: &str| port_name(n, i, port);
            let stream = |dir: &str| {
                StreamPorts::new(
                    &model,
                    &name(&format!("{dir}_valid")),
                    &name(&format!("{dir}_ready")),
                    &[&name(&format!("{dir}_data"))],
                    Some(&name(&format!("{dir}_last"))),
                )
            };
            units.push(Unit {
                p: Ports {
                    input: stream("in")?,
                    output: stream("out")?,
                    in_valid: model.port(&name("in_valid"))?,
                    out_ready: model.port(&name("out_ready"))?,
                },
                cfg,
                manifest: g.manifest,
            });
        }
        let mut sim = PoolSim {
            units,
            verilog,
            bench: Bench::new(model.port("clk")?),
            rst: model.port("rst")?,
            model,
        };
        sim.reset(3)?;
        Ok(sim)
    }

    /// Hold reset for `cycles` clock cycles with every stream idle.
    pub fn reset(&mut self, cycles: usize) -> Result<(), DriveError> {
        for u in &self.units {
            self.model.set(u.p.in_valid, 0);
            self.model.set(u.p.out_ready, 0);
        }
        self.model.set(self.rst, 1);
        self.bench.steps(&mut self.model, &mut [], cycles as u64)?;
        self.model.set(self.rst, 0);
        Ok(())
    }

    /// A source on unit `u` holding `beats` (pixel, in_last).
    fn source(
        &self,
        u: usize,
        beats: &[(&[i8], bool)],
        valid_p: f64,
        rng: &mut StdRng,
    ) -> Result<StreamSource, DriveError> {
        let p = &self.units[u].p.input;
        let mut src = StreamSource::new(format!("unit {u} in"), p.clone(), valid_p, rng.gen())?;
        let mut words = vec![0u32; p.words()];
        for (pixel, last) in beats {
            words.fill(0);
            for (c, v) in pixel.iter().enumerate() {
                words[c / 4] |= u32::from(*v as u8) << (8 * (c % 4));
            }
            src.push(&words, *last);
        }
        Ok(src)
    }

    fn sink(&self, u: usize, ready_p: f64, rng: &mut StdRng) -> Result<StreamSink, DriveError> {
        let p = &self.units[u].p.output;
        Ok(StreamSink::new(
            format!("unit {u} ({:?}) out", self.units[u].cfg),
            p.clone(),
            ready_p,
            rng.gen(),
        )?)
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
    /// the count and `out_last` of every image are checked; without, the run ends
    /// once every pixel was taken and nothing moved for a while.
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
        let outputs: usize = expect.map_or(0, |e| e.iter().sum());
        let slowest = traffic.in_valid_p.min(traffic.out_ready_p).max(0.02);
        let w = u64::from(cfg.width);
        let budget = ((beats.len() + outputs) as f64 / slowest) as u64 * 4
            + 8 * w * u64::from(cfg.pad + 2)
            + 500;
        let mut src = self.source(u, beats, traffic.in_valid_p, rng)?;
        let mut sink = self.sink(u, traffic.out_ready_p, rng)?;
        if let Some(e) = expect {
            sink.expect_packets(e);
        }
        let start = self.bench.cycle();
        let t0 = Instant::now();
        match expect {
            Some(_) => {
                self.bench
                    .run(&mut self.model, &mut [&mut src, &mut sink], budget)?;
            }
            None => {
                // Until every pixel is in and nothing moved on either side for a while.
                let quiet = 16 * w + 64;
                loop {
                    let moved = src.last_fire().max(sink.cycles().last().copied());
                    let now = self.bench.cycle();
                    if src.done() && moved.map_or(now - start, |c| now - c - 1) >= quiet {
                        break;
                    }
                    if now - start > budget {
                        return Err(self
                            .bench
                            .timeout(&self.model, &[&mut src, &mut sink], budget)
                            .into());
                    }
                    self.bench
                        .step(&mut self.model, &mut [&mut src, &mut sink])?;
                }
            }
        }
        let wall = t0.elapsed();
        let end = sink.cycles().last().map_or(start, |&c| c + 1);
        if expect.is_some() {
            // Nothing more may come out: the sink, now always ready, fails on any beat.
            sink.set_ready_p(1.0);
            self.bench
                .steps(&mut self.model, &mut [&mut src, &mut sink], 4 * w + 16)?;
        }
        let mut images: Vec<Vec<i8>> = Vec::new();
        let mut cur: Vec<i8> = Vec::new();
        for (i, &last) in sink.lasts().iter().enumerate() {
            let words = sink.beat(i);
            cur.extend((0..c).map(|i| (words[i / 4] >> (8 * (i % 4))) as u8 as i8));
            if last {
                images.push(std::mem::take(&mut cur));
            }
        }
        let trailing = cur.len() / c;
        if !cur.is_empty() {
            images.push(cur);
        }
        Ok(RunResult {
            images,
            trailing,
            out_cycles: sink.cycles().iter().map(|&t| t - start).collect(),
            cycles: end - start,
            input_stalls: src.stalls(),
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
        let beats: Vec<(&[i8], bool)> = (0..pixels)
            .map(|i| (&image.data[i * c..(i + 1) * c], false))
            .collect();
        let mut src = self.source(u, &beats, traffic.in_valid_p, rng)?;
        let mut sink = self.sink(u, traffic.out_ready_p, rng)?;
        self.bench
            .run(&mut self.model, &mut [&mut src, &mut sink], 1_000_000)?;
        self.reset(2)
    }
}
