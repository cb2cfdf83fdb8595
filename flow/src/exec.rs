//! Carrying out a [`Plan`]: write its files, run its steps in order, keep every
//! log, check every exit status, read the reports, and decide.
//!
//! Each step's stdout and stderr go to its own log file in the build folder. A
//! step whose prerequisite did not succeed is skipped, not run on stale inputs.
//! nextpnr runs are judged from their report, whatever the exit status: nextpnr
//! 0.4 exits 1 on a missed clock (and still writes the report), but only the
//! report says by how much, and with `--timing-allow-fail` it exits 0 either way.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Serialize;

use crate::config::mhz_text;
use crate::error::FlowError;
use crate::plan::{names, seed_list, Plan, StepKind};
use crate::report::{self, PlacedSummary, PnrReport, Spread, SynthSummary};
use crate::tools::ToolPaths;

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

fn write_atomic(path: &Path, data: &[u8]) -> Result<(), FlowError> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let r = (|| -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    r.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        FlowError::io(format!("cannot write `{}`", path.display()), e)
    })
}

/// Create the build folder and write the plan's files (atomically).
pub fn write_files(plan: &Plan) -> Result<(), FlowError> {
    std::fs::create_dir_all(&plan.dir)
        .map_err(|e| FlowError::io(format!("cannot create `{}`", plan.dir.display()), e))?;
    for f in &plan.files {
        write_atomic(&plan.dir.join(&f.name), f.contents.as_bytes())?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let p = plan.dir.join(names::COMMANDS);
        let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755));
    }
    Ok(())
}

/// Run one program in `dir` with its output in `log`. Returns (exit code, seconds).
fn run_program(
    dir: &Path,
    program: &str,
    args: &[String],
    log: &Path,
) -> Result<(Option<i32>, f64), String> {
    let out = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("cannot share {}: {e}", log.display()))?;
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    Ok((status.code(), start.elapsed().as_secs_f64()))
}

/// Progress messages go through this (stderr for `flow`, a progress bar for sweeps).
pub type Progress<'a> = &'a dyn Fn(&str);

/// What the run found, and the error it ends with, if any.
pub struct Outcome {
    pub report: FlowReport,
    pub error: Option<FlowError>,
}

/// Carry out `plan`: check the tools, write the files, run the steps, write
/// `report.json` and `summary.md`. The tools must already be resolved into the
/// plan's programs (see [`ToolPaths::resolve`]).
pub fn execute(plan: &Plan, progress: Progress) -> Result<Outcome, FlowError> {
    ToolPaths::resolve(&plan.tools())?;
    write_files(plan)?;
    let dir = &plan.dir;
    let mut records: Vec<StepRecord> = Vec::new();
    let mut synth: Option<report::SynthStats> = None;
    let mut pnr: Vec<(u64, Option<PnrReport>, StepStatus)> = Vec::new();
    let mut bitstreams: Vec<(u64, String)> = Vec::new();
    let total = plan.steps.len();

    for (i, step) in plan.steps.iter().enumerate() {
        let command = step.command_line();
        let prereq_ok = step.after.is_none_or(|a| {
            records.get(a).is_some_and(|r| {
                r.status == StepStatus::Ok
                    || (r.status == StepStatus::TimingMissed && plan.allow_timing_fail)
            })
        });
        if !prereq_ok {
            records.push(StepRecord {
                command,
                log: step.log.clone(),
                status: StepStatus::Skipped,
                exit: None,
                seconds: 0.0,
            });
            continue;
        }
        let label = match step.kind {
            StepKind::Synth => format!("{} (synthesis)", step.tool.name()),
            StepKind::PlaceRoute { seed } => format!("{} seed {seed}", step.tool.name()),
            StepKind::Pack { seed } => format!("{} seed {seed}", step.tool.name()),
        };
        progress(&format!("[{}/{total}] {label} ...", i + 1));
        let log = dir.join(&step.log);
        let (exit, seconds, started) = match run_program(dir, &step.program, &step.args, &log) {
            Ok((code, s)) => (code, s, None),
            Err(why) => (None, 0.0, Some(why)),
        };
        let log_text = std::fs::read_to_string(&log).unwrap_or_default();
        let ok_exit = exit == Some(0);
        let status = if let Some(why) = started {
            StepStatus::Failed(why)
        } else {
            match step.kind {
                StepKind::Synth => {
                    if ok_exit {
                        match std::fs::read_to_string(dir.join(names::SYNTH_STAT))
                            .map_err(|e| e.to_string())
                            .and_then(|t| report::parse_yosys_stat(&t, &plan.top))
                        {
                            Ok(s) => {
                                synth = Some(s);
                                StepStatus::Ok
                            }
                            Err(e) => {
                                StepStatus::Failed(format!("reading {}: {e}", names::SYNTH_STAT))
                            }
                        }
                    } else {
                        StepStatus::Failed(report::last_error_line(&log_text))
                    }
                }
                StepKind::PlaceRoute { seed } => {
                    let rep = std::fs::read_to_string(dir.join(names::pnr_report(seed)))
                        .ok()
                        .and_then(|t| report::parse_nextpnr_report(&t).ok());
                    let status = judge_pnr(plan, ok_exit, rep.as_ref(), &log_text);
                    pnr.push((seed, rep, status.clone()));
                    status
                }
                StepKind::Pack { seed } => {
                    if ok_exit {
                        if let Some(p) = step.produces.first() {
                            bitstreams.push((seed, p.clone()));
                        }
                        StepStatus::Ok
                    } else {
                        StepStatus::Failed(report::last_error_line(&log_text))
                    }
                }
            }
        };
        progress(&format!(
            "[{}/{total}] {label}: {} ({seconds:.1} s, log {})",
            i + 1,
            status.label(),
            step.log
        ));
        records.push(StepRecord {
            command,
            log: step.log.clone(),
            status,
            exit,
            seconds,
        });
    }

    let report = build_report(plan, synth.as_ref(), &pnr, &bitstreams, records);
    write_atomic(
        &dir.join(names::REPORT),
        format!(
            "{}\n",
            serde_json::to_string_pretty(&report).map_err(|e| FlowError::Report(e.to_string()))?
        )
        .as_bytes(),
    )?;
    write_atomic(
        &dir.join(names::SUMMARY),
        crate::summary::markdown(&report).as_bytes(),
    )?;
    let error = final_error(plan, &report, &pnr);
    Ok(Outcome { report, error })
}

/// Judge one nextpnr run from its exit status, report and log.
fn judge_pnr(plan: &Plan, ok_exit: bool, rep: Option<&PnrReport>, log: &str) -> StepStatus {
    if let Some(r) = rep {
        // The board table is the authority on size: the 12F is a 25F die to nextpnr.
        let placed = report::summarize_placed(plan.board.family, r);
        if placed.logic.used > plan.board.resources.luts {
            return StepStatus::NoFit(format!(
                "{} {} used, board {} has {}",
                report::bel_names(plan.board.family).logic,
                placed.logic.used,
                plan.board.name,
                plan.board.resources.luts
            ));
        }
        if !r.clocks.is_empty() && !r.timing_met() {
            return StepStatus::TimingMissed;
        }
        if ok_exit {
            return StepStatus::Ok;
        }
    }
    if let Some(why) = report::no_fit_in_log(log) {
        return StepStatus::NoFit(why);
    }
    if ok_exit && rep.is_none() {
        return StepStatus::Failed("exited 0 but wrote no readable report".into());
    }
    StepStatus::Failed(report::last_error_line(log))
}

fn build_report(
    plan: &Plan,
    synth: Option<&report::SynthStats>,
    pnr: &[(u64, Option<PnrReport>, StepStatus)],
    bitstreams: &[(u64, String)],
    steps: Vec<StepRecord>,
) -> FlowReport {
    let family = plan.board.family;
    let seeds: Vec<SeedResult> = pnr
        .iter()
        .map(|(seed, rep, status)| SeedResult {
            seed: *seed,
            status: status.label().into(),
            timing_met: *status == StepStatus::Ok,
            fmax_mhz: rep
                .as_ref()
                .and_then(|r| r.main_clock())
                .map(|c| c.achieved_mhz),
            clocks: rep.as_ref().map(|r| r.clocks.clone()).unwrap_or_default(),
            bitstream: bitstreams
                .iter()
                .find(|(s, _)| s == seed)
                .map(|(_, b)| b.clone()),
        })
        .collect();
    // nextpnr counts the die's bels; the board table knows the package's IOs and
    // the licensed size (the 12F is a 25F die), so the smaller count is available.
    let placed = pnr.iter().find_map(|(_, r, _)| r.as_ref()).map(|r| {
        let mut p = report::summarize_placed(family, r);
        let res = &plan.board.resources;
        p.ios.available = p.ios.available.min(res.ios);
        p.logic.available = p.logic.available.min(res.luts);
        p
    });
    let fmaxes: Vec<f64> = seeds.iter().filter_map(|s| s.fmax_mhz).collect();
    let fmax = report::spread(&fmaxes);
    let fits = !pnr.is_empty()
        && pnr
            .iter()
            .all(|(_, _, s)| !matches!(s, StepStatus::NoFit(_)));
    let timing_met = seeds.iter().any(|s| s.timing_met);
    let failed = steps
        .iter()
        .any(|s| matches!(s.status, StepStatus::Failed(_)));
    let status = if !fits && !pnr.is_empty() {
        "does not fit"
    } else if failed || pnr.is_empty() {
        "failed"
    } else if !timing_met {
        "timing missed"
    } else {
        "ok"
    };
    FlowReport {
        board: plan.board.name.clone(),
        part: plan.board.part.clone(),
        family: family.to_string(),
        design: plan.design.kind().into(),
        size: plan.design.size_label(),
        top: plan.top.clone(),
        top_note: plan.note.clone(),
        target_mhz: plan.target_hz as f64 / 1e6,
        core_mhz: plan.core_hz as f64 / 1e6,
        status: status.into(),
        problem: steps.iter().find_map(|s| match &s.status {
            StepStatus::NoFit(w) | StepStatus::Failed(w) => Some(w.clone()),
            _ => None,
        }),
        fits,
        timing_met,
        synth: synth.map(|s| report::summarize_synth(family, s)),
        synth_cells_by_type: synth.map(|s| s.by_type.clone()),
        logic_percent: placed.as_ref().map(|p| p.logic.percent()),
        placed,
        peak_gops: plan
            .design
            .macs_per_cycle()
            .zip(fmax)
            .map(|(m, f)| 2.0 * m as f64 * f.max / 1e3),
        fmax_mhz: fmax,
        seeds,
        steps,
    }
}

/// The error the run ends with: a failed step, a design that does not fit, or
/// (unless allowed) no seed meeting timing.
fn final_error(
    plan: &Plan,
    report: &FlowReport,
    pnr: &[(u64, Option<PnrReport>, StepStatus)],
) -> Option<FlowError> {
    if let Some((i, s)) = report
        .steps
        .iter()
        .enumerate()
        .find(|(_, s)| matches!(s.status, StepStatus::Failed(_)))
    {
        let why = match &s.status {
            StepStatus::Failed(w) => w.clone(),
            _ => String::new(),
        };
        return Some(FlowError::Tool {
            step: plan.steps[i].tool.name().to_string(),
            status: s
                .exit
                .map(|c| format!("exit {c}"))
                .unwrap_or_else(|| "did not run to completion".into()),
            log: plan.dir.join(&s.log),
            last_error: why,
        });
    }
    if let Some((seed, _, StepStatus::NoFit(why))) = pnr
        .iter()
        .find(|(_, _, s)| matches!(s, StepStatus::NoFit(_)))
    {
        return Some(FlowError::NoFit {
            board: plan.board.name.clone(),
            detail: why.clone(),
            log: plan.dir.join(names::pnr_log(*seed)),
        });
    }
    if !report.timing_met && !plan.allow_timing_fail {
        // Name the clock of the best seed that misses by the least.
        let best = pnr
            .iter()
            .filter_map(|(_, r, _)| r.as_ref())
            .filter_map(|r| r.worst_clock())
            .fold(None, |b: Option<&report::ClockFmax>, c| match b {
                Some(b)
                    if b.achieved_mhz / b.constraint_mhz >= c.achieved_mhz / c.constraint_mhz =>
                {
                    Some(b)
                }
                _ => Some(c),
            });
        let (clock, achieved, target) = best
            .map(|c| (c.name.clone(), c.achieved_mhz, c.constraint_mhz))
            .unwrap_or_else(|| ("?".into(), 0.0, plan.core_hz as f64 / 1e6));
        return Some(FlowError::Timing {
            board: plan.board.name.clone(),
            clock,
            achieved_mhz: achieved,
            target_mhz: target,
            requested_mhz: (plan.core_hz != plan.target_hz).then(|| plan.target_hz as f64 / 1e6),
            seeds: seed_list(&plan.seeds),
        });
    }
    None
}

/// The one-line result printed at the end of a run.
pub fn result_line(r: &FlowReport) -> String {
    let fmax = r
        .fmax_mhz
        .map(|f| {
            format!(
                "Fmax {:.2} MHz (target {} MHz)",
                f.max,
                mhz_text((r.core_mhz * 1e6).round() as u64)
            )
        })
        .unwrap_or_else(|| "no Fmax".into());
    let logic = r
        .placed
        .as_ref()
        .map(|p| {
            format!(
                "{} logic cells ({:.1}%)",
                p.logic.used,
                r.logic_percent.unwrap_or(0.0)
            )
        })
        .unwrap_or_else(|| "not placed".into());
    format!(
        "{} {} on {}: {}; {logic}; {fmax}",
        r.design, r.size, r.board, r.status
    )
}

/// Where a run's report lives.
pub fn report_path(dir: &Path) -> PathBuf {
    dir.join(names::REPORT)
}
