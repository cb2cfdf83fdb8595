//! What one flow run records: the types of `report.json` (per step, per seed, and
//! the whole run). `exec` fills them in; `summary` and the
//! sweep's table (`points`) read them.

use serde::Serialize;

use crate::report::{self, PlacedSummary, Spread, SynthSummary};

/// How one step ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum StepStatus {
    Ok,
    /// Placed and routed, but a clock missed its target.
    TimingMissed,
    /// The design does not fit; the detail says what overflowed.
    NoFit(String),
    /// Exited non-zero (or could not start); the detail is the last error line.
    Failed(String),
    /// Not run: its prerequisite did not succeed.
    Skipped,
}

impl StepStatus {
    pub fn label(&self) -> &'static str {
        match self {
            StepStatus::Ok => "ok",
            StepStatus::TimingMissed => "timing missed",
            StepStatus::NoFit(_) => "does not fit",
            StepStatus::Failed(_) => "failed",
            StepStatus::Skipped => "skipped",
        }
    }
}

/// The record of one step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepRecord {
    pub command: String,
    pub log: String,
    #[serde(flatten)]
    pub status: StepStatus,
    pub exit: Option<i32>,
    pub seconds: f64,
}

/// The result of one seed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeedResult {
    pub seed: u64,
    pub status: String,
    pub timing_met: bool,
    /// Achieved Fmax of the core clock.
    pub fmax_mhz: Option<f64>,
    pub clocks: Vec<report::ClockFmax>,
    pub bitstream: Option<String>,
}

/// `report.json`: everything the run measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowReport {
    pub board: String,
    pub part: String,
    pub family: String,
    pub design: String,
    pub size: String,
    pub top: String,
    pub top_note: String,
    pub target_mhz: f64,
    pub core_mhz: f64,
    /// `ok`, `timing missed`, `does not fit`, `failed`.
    pub status: String,
    /// Why, when the status is not `ok`: what overflowed, the tool's last error line.
    pub problem: Option<String>,
    pub fits: bool,
    /// At least one seed met every clock's target.
    pub timing_met: bool,
    pub synth: Option<SynthSummary>,
    pub synth_cells_by_type: Option<std::collections::BTreeMap<String, u64>>,
    pub placed: Option<PlacedSummary>,
    /// Utilization of the board's LUT count, in percent.
    pub logic_percent: Option<f64>,
    pub fmax_mhz: Option<Spread>,
    /// 2 * MACs per cycle * best Fmax, in GOPS (int8 ops: one multiply and one add per MAC).
    pub peak_gops: Option<f64>,
    pub seeds: Vec<SeedResult>,
    pub steps: Vec<StepRecord>,
}
