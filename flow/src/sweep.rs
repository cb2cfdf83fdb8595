//! `flow sweep`: the flow over several sizes (and blocks) on one board, with the
//! results as a CSV, a Markdown table and an SVG plot of cells, DSPs, BRAMs,
//! Fmax and peak GOPS against size.
//!
//! Every point runs with timing failure allowed: the sweep measures Fmax, and a
//! missed target is marked, not fatal. A size that does not fit is marked and the
//! sweep goes on to the next. The run fails (exit 1) only when a tool failed, or
//! before anything runs (missing tool, bad flags).

use std::path::PathBuf;

use gencli::flags::ArrayFlags;

use crate::args::RawSweepArgs;
use crate::config::{self, FlowConfig, RawDesign};
use crate::error::FlowError;
pub use crate::points::{csv, markdown, of_design, SweepPoint};
use indicatif::{ProgressBar, ProgressStyle};

fn sizes_from(raw: Option<&str>) -> Result<Vec<u64>, FlowError> {
    let raw = raw.ok_or_else(|| FlowError::Usage("--rows is required (a list: 2,4,8)".into()))?;
    let mut sizes = config::parse_list("rows", raw, 1, u64::from(hdl::array::config::MAX_DIM), 32)?;
    // Smallest first: the table and the plot read along the size axis.
    sizes.sort_unstable();
    Ok(sizes)
}

/// Run the sweep from raw flags.
pub fn run_cli(raw: &RawSweepArgs) -> Result<(), FlowError> {
    let board = config::board_from(raw.board.as_deref())?;
    let sizes = sizes_from(raw.rows.as_deref())?;
    let designs: Vec<String> = raw
        .designs
        .as_deref()
        .unwrap_or("array")
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let target_hz = match &raw.freq {
        Some(f) => config::parse_freq_mhz(f)?,
        None => board.clock.hz,
    };
    let seeds = match &raw.seeds {
        Some(s) => config::parse_list("seeds", s, 1, u64::from(u32::MAX), config::MAX_SEEDS)?,
        None => vec![1],
    };
    let out = raw
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("build").join(format!("sweep-{}", board.name)));
    // Array pipeline depths: a list, so one sweep compares depths on the same board
    // and tools (each array design runs at every depth).
    let pipelines: Vec<Option<String>> = match &raw.pipeline {
        Some(p) => config::parse_list(
            "pipeline",
            p,
            0,
            u64::from(hdl::array::config::MAX_PIPELINE),
            usize::try_from(hdl::array::config::MAX_PIPELINE + 1).unwrap_or(1),
        )?
        .into_iter()
        .map(|v| Some(v.to_string()))
        .collect(),
        None => vec![None],
    };
    // Validate every point before running any.
    let mut jobs: Vec<(u32, FlowConfig)> = Vec::new();
    for d in &designs {
        let is_array = d.starts_with("array");
        let depths: &[Option<String>] = if is_array { &pipelines } else { &[None] };
        for pipeline in depths {
            for &n in &sizes {
                let raw_design = RawDesign {
                    design: Some(d.clone()),
                    array: ArrayFlags {
                        rows: Some(n.to_string()),
                        pipeline: pipeline.clone(),
                        mul: is_array.then(|| raw.mul.clone()).flatten(),
                        dsp_cell: is_array.then(|| raw.dsp_cell.clone()).flatten(),
                        ..ArrayFlags::default()
                    },
                    maxpool: Default::default(),
                    engine: Default::default(),
                };
                let design =
                    config::fit_to_board(config::design_from(&raw_design)?, &raw_design, &board);
                let mut folder = design.folder(&board.name);
                if pipelines.len() > 1 && is_array {
                    folder.push_str(&format!("-p{}", pipeline.as_deref().unwrap_or("0")));
                }
                jobs.push((
                    n as u32,
                    FlowConfig {
                        board: board.clone(),
                        design,
                        target_hz,
                        seeds: seeds.clone(),
                        out_dir: out.join(folder),
                        allow_timing_fail: true,
                    },
                ));
            }
        }
    }
    let points = run_jobs(&jobs)?;
    std::fs::create_dir_all(&out)
        .map_err(|e| FlowError::io(format!("cannot create `{}`", out.display()), e))?;
    let write = |name: &str, text: &str| {
        let p = out.join(name);
        std::fs::write(&p, text)
            .map_err(|e| FlowError::io(format!("cannot write `{}`", p.display()), e))
    };
    write("sweep.csv", &csv(&points))?;
    write("sweep.md", &markdown(&board.name, &points))?;
    write("sweep.svg", &crate::plot::svg(&board.title, &points)?)?;
    let mut stdout = markdown(&board.name, &points);
    stdout.push_str(&format!(
        "\nwrote {}/sweep.csv, sweep.md, sweep.svg\n",
        out.display()
    ));
    crate::out::print_out(&stdout)?;
    if let Some(p) = points.iter().find(|p| p.status.starts_with("failed")) {
        return Err(FlowError::Tool {
            step: format!("sweep point {} {}", p.design, p.label),
            status: p.status.clone(),
            log: PathBuf::from(&p.folder),
            last_error: "see the logs in that folder".into(),
        });
    }
    Ok(())
}

fn run_jobs(jobs: &[(u32, FlowConfig)]) -> Result<Vec<SweepPoint>, FlowError> {
    let bar = ProgressBar::new(jobs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut points = Vec::new();
    for (size, cfg) in jobs {
        let name = format!("{} {}", cfg.design.series(), cfg.design.size_label());
        bar.set_message(name.clone());
        let step_msg = |m: &str| bar.set_message(format!("{name}: {m}"));
        let point = match crate::exec::run_flow(cfg, &step_msg) {
            Ok(outcome) => SweepPoint {
                pipeline: cfg.design.pipeline(),
                ..SweepPoint::from_report(*size, &outcome.report, &cfg.out_dir)
            },
            // Nothing can run without the tools: stop here.
            Err(e @ FlowError::Missing(_)) => {
                bar.finish_and_clear();
                return Err(e);
            }
            Err(e) => SweepPoint {
                design: cfg.design.kind().into(),
                pipeline: cfg.design.pipeline(),
                size: *size,
                label: cfg.design.size_label(),
                status: "failed".into(),
                problem: Some(e.to_string()),
                logic: None,
                logic_available: None,
                ffs: None,
                dsps: None,
                brams: None,
                fmax_mhz: None,
                target_mhz: cfg.target_hz as f64 / 1e6,
                peak_gops: None,
                folder: cfg.out_dir.display().to_string(),
            },
        };
        bar.println(match &point.problem {
            Some(why) => format!("{name}: {}: {why}", point.status),
            None => format!("{name}: {}", point.status),
        });
        points.push(point);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(points)
}
