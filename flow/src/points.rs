//! The sweep's points and their tables: one [`SweepPoint`] per flow run, read
//! from its report, written as CSV and Markdown. Below `sweep` (which
//! runs the points) and `plot` (which draws them).

use std::path::Path;

use serde::Serialize;

use crate::config;
use crate::record::FlowReport;

/// One row of the sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepPoint {
    pub design: String,
    /// PE pipeline depth, for arrays.
    pub pipeline: Option<u32>,
    /// The size axis: array rows (= cols), maxpool channels.
    pub size: u32,
    pub label: String,
    /// `ok`, `timing missed`, `does not fit`, `failed`, or the error.
    pub status: String,
    /// What overflowed or failed, when the status is not `ok`.
    pub problem: Option<String>,
    pub logic: Option<u64>,
    pub logic_available: Option<u64>,
    pub ffs: Option<u64>,
    pub dsps: Option<u64>,
    pub brams: Option<u64>,
    pub fmax_mhz: Option<f64>,
    pub target_mhz: f64,
    pub peak_gops: Option<f64>,
    pub folder: String,
}

impl SweepPoint {
    pub fn from_report(size: u32, r: &FlowReport, folder: &Path) -> SweepPoint {
        let placed = r.placed.as_ref();
        SweepPoint {
            design: r.design.clone(),
            pipeline: None,
            size,
            label: r.size.clone(),
            status: r.status.clone(),
            problem: r.problem.clone(),
            logic: placed.map(|p| p.logic.used),
            logic_available: placed.map(|p| p.logic.available),
            ffs: r.synth.as_ref().map(|s| s.ffs),
            dsps: placed
                .map(|p| p.dsps.used)
                .or(r.synth.as_ref().map(|s| s.dsps)),
            brams: placed
                .map(|p| p.brams.used)
                .or(r.synth.as_ref().map(|s| s.brams)),
            fmax_mhz: r.fmax_mhz.map(|f| f.max),
            target_mhz: r.core_mhz,
            peak_gops: r.peak_gops,
            folder: folder.display().to_string(),
        }
    }

    /// The plot series and table label (`config::series_label`).
    pub fn series(&self) -> String {
        config::series_label(&self.design, self.pipeline)
    }

    /// The point placed and routed (whatever its timing).
    pub fn placed(&self) -> bool {
        self.fmax_mhz.is_some() && self.status != "does not fit"
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map(|v| v.to_string()).unwrap_or_default()
}

fn opt_f(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}")).unwrap_or_default()
}

/// A CSV field, quoted when it holds a comma, a quote or a newline.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\"").replace('\n', " "))
    } else {
        s.to_string()
    }
}

/// The CSV (one header line, one line per point).
pub fn csv(points: &[SweepPoint]) -> String {
    let mut s = String::from(
        "design,pipeline,size,label,status,logic,logic_available,ffs,dsps,brams,fmax_mhz,target_mhz,peak_gops,folder,problem\n",
    );
    for p in points {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            p.design,
            opt(&p.pipeline),
            p.size,
            p.label,
            p.status.replace(',', ";"),
            opt(&p.logic),
            opt(&p.logic_available),
            opt(&p.ffs),
            opt(&p.dsps),
            opt(&p.brams),
            opt_f(p.fmax_mhz, 2),
            p.target_mhz,
            opt_f(p.peak_gops, 3),
            p.folder.replace(',', ";"),
            csv_field(p.problem.as_deref().unwrap_or(""))
        ));
    }
    s
}

/// The Markdown table.
pub fn markdown(board: &str, points: &[SweepPoint]) -> String {
    let mut s = format!(
        "# Sweep on {board}\n\n| design | size | result | logic | FF | DSP | BRAM | Fmax (MHz) | peak GOPS |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|\n"
    );
    for p in points {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            p.series(),
            p.label,
            match &p.problem {
                Some(why) => format!("{}: {}", p.status, why.replace('|', "/")),
                None => p.status.clone(),
            },
            match (p.logic, p.logic_available) {
                (Some(u), Some(a)) => format!("{u} / {a}"),
                _ => "-".into(),
            },
            opt(&p.ffs),
            opt(&p.dsps),
            opt(&p.brams),
            opt_f(p.fmax_mhz, 2),
            opt_f(p.peak_gops, 3)
        ));
    }
    s.push_str(
        "\nPeak GOPS = 2 x rows x cols x Fmax (one int8 multiply and one add per PE per cycle).\n",
    );
    s
}

/// Points of one series (`SweepPoint::series`), for tests and plots.
pub fn of_design<'a>(points: &'a [SweepPoint], series: &str) -> Vec<&'a SweepPoint> {
    points.iter().filter(|p| p.series() == series).collect()
}
