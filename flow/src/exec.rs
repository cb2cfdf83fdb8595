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
use std::process::Command;

use crate::config::{mhz_text, FlowConfig};
use crate::error::FlowError;
use crate::plan::{names, seed_list, Plan, StepKind};
pub use crate::record::{FlowReport, SeedResult, StepRecord, StepStatus};
use crate::report::{self, PnrReport};
use crate::tools::ToolPaths;

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

/// Run one step in `dir` with the shared runner (`toolrun`): its output goes to
/// its log, and the caller judges the exit status.
fn run_step(dir: &Path, step: &crate::plan::Step) -> Result<toolrun::Finished, String> {
    let mut cmd = Command::new(&step.program);
    cmd.args(&step.args).current_dir(dir);
    toolrun::run(cmd, &dir.join(&step.log), step.tool.install_hint()).map_err(|e| e.to_string())
}

/// Progress messages go through this (stderr for `flow`, a progress bar for sweeps).
pub type Progress<'a> = &'a dyn Fn(&str);

/// What the run found, and the error it ends with, if any.
pub struct Outcome {
    pub report: FlowReport,
    pub error: Option<FlowError>,
}

/// Run the whole flow for `cfg`: find the tools, generate the design, plan, execute.
pub fn run_flow(cfg: &FlowConfig, progress: Progress) -> Result<Outcome, FlowError> {
    let tools = ToolPaths::resolve(&crate::tools::Tool::for_family(cfg.board.family))?;
    let plan = crate::plan::plan_for(cfg, &tools)?;
    execute(&plan, progress)
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
        let (exit, seconds, log_text, started) = match run_step(dir, step) {
            Ok(f) => (f.code(), f.seconds, f.output, None),
            Err(why) => (None, 0.0, String::new(), Some(why)),
        };
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
