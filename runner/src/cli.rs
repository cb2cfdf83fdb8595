//! The command line of `run` and the run itself: open the model, build the
//! backends, classify the images on each, check, report.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use compiler::FirstLayer;
use digits::{Dataset, ModelError, ModelFile};
use hdl::engine::{Control, EngineConfig};
use indicatif::{ProgressBar, ProgressStyle};

use crate::backend::{Backend, ImageRun};
use crate::check::{check_image, LayerInfo};
use crate::report;
use crate::rtl::{Rtl, RtlOptions};
use crate::stats::{BackendStats, FirstLayerNote, RtlStats, Summary};
use crate::RunError;

/// A backend to run the model on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// golden's plain-Rust reference
    Ref,
    /// golden's wgpu kernels (an error without an adapter)
    Gpu,
    /// the Verilated engine with the Rust memory model
    Rtl,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Ref => "ref",
            BackendKind::Gpu => "gpu",
            BackendKind::Rtl => "rtl",
        }
    }
}

fn defaults() -> EngineConfig {
    EngineConfig::default()
}

/// Run a model over the digits test split on the golden model and the
/// engine: accuracy, confusion matrix, the engine's cycles, utilization and
/// traffic, a bit-exact check across backends, a report with a picture.
#[derive(Clone, Debug, Parser)]
#[command(name = "run", version)]
pub struct Args {
    /// digits-cnn, lenet5 (models/NAME.json) or a model file path.
    #[arg(long)]
    pub model: String,
    /// Backend(s) to run: ref, gpu, rtl; repeat the flag for several.
    #[arg(long = "backend", value_enum, required = true)]
    pub backends: Vec<BackendKind>,
    /// Only the first N images of the test split (default: all 360).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub images: Option<u64>,
    /// Compare every layer's output bit by bit across the backends (ref is
    /// added when not given).
    #[arg(long)]
    pub check: bool,
    /// Engine clock for images/s (MHz).
    #[arg(long)]
    pub fmax_mhz: Option<f64>,
    /// Report directory (default: report/MODEL-BACKENDS, e.g. report/lenet5-ref-rtl8x8).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// rtl: array rows.
    #[arg(long, default_value_t = defaults().rows)]
    pub rows: u32,
    /// rtl: array columns.
    #[arg(long, default_value_t = defaults().cols)]
    pub cols: u32,
    /// rtl: memory port width in bits (32, 64, 128).
    #[arg(long, default_value_t = defaults().mem_bits)]
    pub mem_bits: u32,
    /// rtl: memory read latency in cycles (fixed; one request per cycle).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub latency: u32,
    /// rtl: a hostile memory instead (latency 1..=32, stalls, response gaps) from this seed.
    #[arg(long, value_name = "SEED")]
    pub random_mem: Option<u64>,
    /// rtl: the array's PE pipeline depth (0..=4).
    #[arg(long, default_value_t = defaults().pipeline)]
    pub pipeline: u32,
    /// rtl: input buffer bytes.
    #[arg(long, default_value_t = defaults().ibuf_bytes)]
    pub ibuf_bytes: u32,
    /// rtl: weight buffer rows per bank.
    #[arg(long, default_value_t = defaults().wbuf_rows)]
    pub wbuf_rows: u32,
    /// rtl: reads in flight at most (a power of two, 4..=256).
    #[arg(long, default_value_t = defaults().max_inflight)]
    pub max_inflight: u32,
    /// rtl: requantization units, a divisor of --cols (default: one per
    /// column); fewer are smaller and take cols/N cycles per row of results.
    #[arg(long, value_name = "N")]
    pub requant_lanes: Option<u32>,
    /// rtl: the engine's FIFOs of depth 4 or more in block RAM (as `gen --fifo-ram`).
    #[arg(long)]
    pub fifo_ram: bool,
    /// rtl: a register stage in the output path after the requantization's
    /// product (as `gen --out-pipe`).
    #[arg(long)]
    pub out_pipe: bool,
    /// rtl: the staging ring in block RAM (as `gen --staging-ram`; same cycles).
    #[arg(long)]
    pub staging_ram: bool,
    /// rtl: the engine's control, fsm or micro (the area-first engine of the
    /// iCE40 boards, as `gen --control micro`: rows and cols up to 8, no
    /// buffers; its cycle model is `compiler::micro`).
    #[arg(long, default_value = "fsm", value_parser = parse_control)]
    pub control: Control,
    /// rtl: the first layer as written (direct), or im2col'ed by the host:
    /// horizontal taps only (im2col-rows) or all taps (im2col, a 1x1 layer).
    #[arg(long, default_value_t = crate::rtl::DEFAULT_FIRST_LAYER, value_parser = parse_first_layer)]
    pub first_layer: FirstLayer,
}

fn parse_control(s: &str) -> Result<Control, String> {
    Control::parse(s).map_err(|e| e.to_string())
}

fn parse_first_layer(s: &str) -> Result<FirstLayer, String> {
    s.parse()
}

impl Args {
    /// The backends, duplicates dropped, in the order given; with `--check`
    /// and without `ref`, `ref` first (the check compares with the golden
    /// reference even when only the engine was asked for).
    pub fn backend_list(&self) -> Vec<BackendKind> {
        let mut out: Vec<BackendKind> = Vec::new();
        if self.check && !self.backends.contains(&BackendKind::Ref) {
            out.push(BackendKind::Ref);
        }
        for &b in &self.backends {
            if !out.contains(&b) {
                out.push(b);
            }
        }
        out
    }

    /// The `rtl` backend's engine and memory.
    pub fn rtl_options(&self) -> RtlOptions {
        RtlOptions {
            engine: EngineConfig {
                rows: self.rows,
                cols: self.cols,
                mem_bits: self.mem_bits,
                pipeline: self.pipeline,
                ibuf_bytes: self.ibuf_bytes,
                wbuf_rows: self.wbuf_rows,
                max_inflight: self.max_inflight,
                requant_lanes: self.requant_lanes,
                fifo_ram: self.fifo_ram,
                out_pipe: self.out_pipe,
                staging_ram: self.staging_ram,
                control: self.control,
                // The micro engine's address space is at most 31 bits.
                addr_bits: if self.control == Control::Micro {
                    hdl::engine::config::MICRO_MAX_ADDR_BITS
                } else {
                    contracts::engine::PORT_ADDR_BITS
                },
                ..EngineConfig::default()
            },
            latency: self.latency,
            random_mem: self.random_mem,
            first_layer: self.first_layer,
        }
    }

    /// `report/<model>-<backends>` (`rtl` with its array size, e.g.
    /// `report/lenet5-ref-rtl8x8`) unless `--report` names a directory.
    pub fn report_dir(&self, model: &str) -> PathBuf {
        if let Some(d) = &self.report {
            return d.clone();
        }
        let safe: String = model
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let names: Vec<String> = self
            .backend_list()
            .iter()
            .map(|b| match b {
                BackendKind::Rtl => format!("rtl{}x{}", self.rows, self.cols),
                other => other.name().to_string(),
            })
            .collect();
        PathBuf::from("report").join(format!("{safe}-{}", names.join("-")))
    }
}

/// The progress bar (on stderr, hidden when it is not a terminal), cleared
/// however the run ends, so an error line is not drawn over.
struct Progress(ProgressBar);

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Open the model: an unknown name or a malformed file is a usage error.
pub fn open_model(name: &str) -> Result<ModelFile, RunError> {
    ModelFile::open(name).map_err(|e| match e {
        ModelError::Io { .. } | ModelError::Invalid { .. } | ModelError::Unknown(_) => {
            RunError::Usage(format!("--model: {e}"))
        }
    })
}

/// Run everything `args` asks for, print the tables to `out`, write the
/// report; the summary is returned for callers that want the numbers.
pub fn execute(args: &Args, out: &mut dyn Write) -> Result<Summary, RunError> {
    let model = open_model(&args.model)?;
    if let Some(f) = args.fmax_mhz {
        if !(f.is_finite() && f > 0.0) {
            return Err(RunError::Usage(format!(
                "--fmax-mhz must be a positive number of MHz, is {f}"
            )));
        }
    }
    let data = Dataset::load().map_err(|e| RunError::Runtime(e.to_string()))?;
    let split = &data.test;
    let n = match args.images {
        None => split.len(),
        Some(n) if n as usize <= split.len() => n as usize,
        Some(n) => {
            return Err(RunError::Usage(format!(
                "--images {n}: the test split has {} images",
                split.len()
            )))
        }
    };
    let net = &model.network;
    let shapes = net
        .shapes()
        .map_err(|e| RunError::Usage(format!("--model: {e}")))?;
    let layers: Vec<LayerInfo> = net
        .layers
        .iter()
        .zip(&shapes)
        .map(|(l, s)| LayerInfo {
            name: l.name.clone(),
            output: s.output,
        })
        .collect();

    let mut backends = Vec::new();
    let mut rtl_stats = None;
    for kind in args.backend_list() {
        let b = match kind {
            BackendKind::Ref => Backend::reference(net)?,
            BackendKind::Gpu => Backend::gpu(net)?,
            BackendKind::Rtl => {
                let opts = args.rtl_options();
                let r = Rtl::new(net, opts.clone())?;
                let mut st = RtlStats::new(opts, r.cost.clone());
                st.first_layer = r.first_layer_note().map(|note| FirstLayerNote {
                    note,
                    packed: r.program.input_shape,
                });
                rtl_stats = Some(st);
                Backend::Rtl(Box::new(r))
            }
        };
        backends.push(b);
    }
    let mut stats: Vec<BackendStats> = backends
        .iter()
        .map(|b| BackendStats {
            device: b.device(),
            ..BackendStats::new(b.name())
        })
        .collect();
    let mut wall = vec![Duration::ZERO; backends.len()];

    let bar = Progress(ProgressBar::new(n as u64));
    bar.0.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} images, {elapsed} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.0.set_message(format!("run {}", model.name()));
    for (i, sample) in split[..n].iter().enumerate() {
        let image = model.image(sample);
        let mut runs: Vec<ImageRun> = Vec::with_capacity(backends.len());
        for (k, b) in backends.iter_mut().enumerate() {
            let t0 = Instant::now();
            let r = b.run(&image)?;
            wall[k] += t0.elapsed();
            let class = r.layers.last().map_or(0, |s| digits::argmax(s));
            stats[k].record(sample.label, class);
            if let (Some(c), Some(rs)) = (&r.counters, rtl_stats.as_mut()) {
                rs.record(c);
            }
            runs.push(r);
        }
        if args.check {
            let named: Vec<(&str, &ImageRun)> = backends
                .iter()
                .zip(&runs)
                .map(|(b, r)| (b.name(), r))
                .collect();
            check_image(&layers, i, sample.index, &named)?;
        }
        // The whole network in one start, once: its cycles and its output.
        if i == 0 {
            for (b, r) in backends.iter_mut().zip(&runs) {
                if let Backend::Rtl(rtl) = b {
                    let (last, c) = rtl.run_network(&image)?;
                    if Some(&last) != r.layers.last() {
                        return Err(RunError::Mismatch(format!(
                            "rtl: one start for the whole network and one start per layer give different outputs on image 0 (data set row {})",
                            sample.index
                        )));
                    }
                    if let Some(rs) = rtl_stats.as_mut() {
                        rs.network = Some(c);
                    }
                }
            }
        }
        bar.0.inc(1);
    }
    drop(bar);
    if let Some(rs) = rtl_stats.as_mut() {
        for b in &backends {
            if let Backend::Rtl(r) = b {
                rs.wall = r.wall;
            }
        }
    }
    let names: Vec<&str> = backends.iter().map(Backend::name).collect();
    let summary = Summary {
        model: model.name().to_string(),
        recorded: model.accuracy.clone(),
        input: net.input,
        images: n as u64,
        check: args.check.then(|| {
            format!(
                "check: {n} images x {} layers bit-identical across {}",
                layers.len(),
                names.join(", ")
            )
        }),
        layers,
        backends: stats,
        rtl: rtl_stats,
        fmax_mhz: args.fmax_mhz,
        wall: names
            .iter()
            .zip(&wall)
            .map(|(n, w)| (n.to_string(), *w))
            .collect(),
    };
    let dir = args.report_dir(model.name());
    let written = report::write(&dir, &summary)?;
    let text = report::render(&summary, true);
    let io = |e: std::io::Error| RunError::Runtime(format!("stdout: {e}"));
    out.write_all(text.as_bytes()).map_err(io)?;
    let files: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    writeln!(out, "\nreport: {}", files.join(", ")).map_err(io)?;
    Ok(summary)
}
