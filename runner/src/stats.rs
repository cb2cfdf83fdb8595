//! What a run measured: per backend the classes (accuracy, confusion matrix),
//! for `rtl` the engine's counters per layer next to the cost model.

use std::time::Duration;

use compiler::ProgramCost;
use digits::data::CLASSES;

use crate::check::LayerInfo;
use crate::rtl::{LayerCounters, RtlOptions};

/// Classes one backend gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendStats {
    pub name: String,
    /// What it ran on, where that varies by machine (the GPU's adapter).
    pub device: Option<String>,
    pub images: u64,
    pub correct: u64,
    /// `confusion[true][predicted]`.
    pub confusion: [[u64; CLASSES]; CLASSES],
}

impl BackendStats {
    pub fn new(name: &str) -> BackendStats {
        BackendStats {
            name: name.to_string(),
            device: None,
            images: 0,
            correct: 0,
            confusion: [[0; CLASSES]; CLASSES],
        }
    }

    /// Count one image of class `label` classified as `class`.
    pub fn record(&mut self, label: u8, class: u8) {
        self.images += 1;
        if label == class {
            self.correct += 1;
        }
        let (t, p) = (usize::from(label), usize::from(class));
        if t < CLASSES && p < CLASSES {
            self.confusion[t][p] += 1;
        }
    }

    /// `correct / images` (0 without images).
    pub fn accuracy(&self) -> f64 {
        if self.images == 0 {
            0.0
        } else {
            self.correct as f64 / self.images as f64
        }
    }
}

/// The engine's counters over a run.
#[derive(Clone, Debug)]
pub struct RtlStats {
    pub opts: RtlOptions,
    /// The cost model's per-layer prediction (fixed latency).
    pub cost: ProgramCost,
    /// Counters summed over the images, per layer (one start per layer).
    pub layers: Vec<LayerCounters>,
    pub images: u64,
    /// Cycles per inference (sum of the per-layer starts), least and most.
    pub cycles_min: u64,
    pub cycles_max: u64,
    /// One start for the whole network, on the first image.
    pub network: Option<LayerCounters>,
    /// Wall time of the simulation (stdout only: it is not deterministic).
    pub wall: Duration,
    /// The first layer as transformed by the compiler, `None` when direct.
    pub first_layer: Option<FirstLayerNote>,
}

/// How the engine runs the first layer when the compiler transformed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirstLayerNote {
    /// E.g. `im2col: 1x1, C_in 25`.
    pub note: String,
    /// The packed input the engine reads.
    pub packed: compiler::Shape,
}

impl RtlStats {
    pub fn new(opts: RtlOptions, cost: ProgramCost) -> RtlStats {
        RtlStats {
            layers: vec![LayerCounters::default(); cost.layers.len()],
            opts,
            cost,
            images: 0,
            cycles_min: u64::MAX,
            cycles_max: 0,
            network: None,
            wall: Duration::ZERO,
            first_layer: None,
        }
    }

    /// Add one image's per-layer counters.
    pub fn record(&mut self, counters: &[LayerCounters]) {
        let mut total = 0;
        for (sum, c) in self.layers.iter_mut().zip(counters) {
            sum.add(c);
            total += c.cycles;
        }
        self.images += 1;
        self.cycles_min = self.cycles_min.min(total);
        self.cycles_max = self.cycles_max.max(total);
    }

    /// Mean of `f` of layer `i` per image.
    pub fn mean(&self, i: usize, f: impl Fn(&LayerCounters) -> u64) -> f64 {
        if self.images == 0 {
            0.0
        } else {
            f(&self.layers[i]) as f64 / self.images as f64
        }
    }

    /// The counters summed over the layers (all images).
    pub fn total(&self) -> LayerCounters {
        let mut t = LayerCounters::default();
        for c in &self.layers {
            t.add(c);
        }
        t
    }

    /// `macs / (rows * cols * cycles)`.
    pub fn utilization(&self, macs: f64, cycles: f64) -> f64 {
        let peak = f64::from(self.opts.engine.rows) * f64::from(self.opts.engine.cols) * cycles;
        if peak == 0.0 {
            0.0
        } else {
            macs / peak
        }
    }

    /// Cycles per inference, one start per layer, mean over the images.
    pub fn cycles_per_inference(&self) -> f64 {
        if self.images == 0 {
            0.0
        } else {
            self.total().cycles as f64 / self.images as f64
        }
    }

    /// The model's cycles of layer `i` as its own start.
    pub fn model_layer_cycles(&self, i: usize) -> u64 {
        self.cost.layers[i].cycles + compiler::model::C_START
    }
}

/// Everything a report shows.
#[derive(Clone, Debug)]
pub struct Summary {
    pub model: String,
    /// What the model file records (test split accuracy when it was made).
    pub recorded: digits::model::Accuracy,
    pub input: compiler::Shape,
    pub layers: Vec<LayerInfo>,
    pub images: u64,
    pub backends: Vec<BackendStats>,
    pub rtl: Option<RtlStats>,
    /// The `--check` line, when the check ran (and passed).
    pub check: Option<String>,
    pub fmax_mhz: Option<f64>,
    /// Wall time per backend (stdout only).
    pub wall: Vec<(String, Duration)>,
}
