//! The sweep's SVG plot: logic cells, DSPs, block RAMs, Fmax and peak GOPS
//! against size, one panel each, one line per block.
//!
//! plotters is built with its SVG backend only and no font support: text is
//! written as SVG `<text>` elements that the viewer renders, so nothing here
//! needs fontconfig or font files. Points that did not place are left out (the
//! table marks them).

use std::ops::Range;

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::error::FlowError;
use crate::points::{of_design, SweepPoint};

type Metric = (&'static str, fn(&SweepPoint) -> Option<f64>);

const METRICS: [Metric; 5] = [
    ("logic cells", |p| p.logic.map(|v| v as f64)),
    ("DSPs", |p| p.dsps.map(|v| v as f64)),
    ("block RAMs", |p| p.brams.map(|v| v as f64)),
    ("Fmax (MHz)", |p| p.fmax_mhz),
    ("peak GOPS", |p| p.peak_gops),
];

const COLORS: [RGBColor; 3] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
];

/// Most labels on a y axis.
const MAX_Y_TICKS: f64 = 8.0;

/// The y axis labels of a panel from 0 to `max`: a step of 1, 2 or 5 times a
/// power of ten, so that at most about [`MAX_Y_TICKS`] fit. Counts (`whole`) step
/// by at least 1, so every label is a distinct integer (never `0, 0, 1, 1`).
pub fn y_ticks(max: f64, whole: bool) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / MAX_Y_TICKS;
    let power = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    if whole {
        step = step.max(1.0).round();
    }
    (0..)
        .map(|i| f64::from(i) * step)
        .take_while(|v| *v <= max * (1.0 + 1e-9))
        .collect()
}

/// Decimals that print every tick distinctly: none for counts, else enough for the step.
fn label_digits(ticks: &[f64], whole: bool) -> usize {
    let step = match ticks {
        [a, b, ..] => b - a,
        _ => 1.0,
    };
    if whole || step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil().max(0.0) as usize
    }
}

/// A linear y axis from 0 whose labels are exactly [`y_ticks`], printed with a
/// fixed number of decimals (plotters' own f64 axis picks its ticks itself).
struct YAxis {
    linear: RangedCoordf64,
    ticks: Vec<f64>,
    digits: usize,
}

impl YAxis {
    fn new(max: f64, ticks: Vec<f64>, digits: usize) -> YAxis {
        YAxis {
            linear: (0.0..max).into(),
            ticks,
            digits,
        }
    }
}

impl Ranged for YAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.linear.range()
    }
}

impl ValueFormatter<f64> for YAxis {
    fn format_ext(&self, value: &f64) -> String {
        format!("{value:.0$}", self.digits)
    }
}

fn plot_err(e: impl std::fmt::Display) -> FlowError {
    FlowError::Report(format!("cannot draw the sweep plot: {e}"))
}

/// Draw the plot as SVG text.
pub fn svg(title: &str, points: &[SweepPoint]) -> Result<String, FlowError> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (1200, 760)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let root = root
            .titled(&format!("Sweep on {title}"), ("sans-serif", 22))
            .map_err(plot_err)?;
        let panels = root.split_evenly((2, 3));
        let mut designs: Vec<String> = points.iter().map(SweepPoint::series).collect();
        designs.dedup();
        let placed: Vec<&SweepPoint> = points.iter().filter(|p| p.placed()).collect();
        let max_size = points.iter().map(|p| p.size).max().unwrap_or(1).max(2);
        for (panel, (name, metric)) in panels.iter().zip(METRICS.iter()) {
            let ymax = placed
                .iter()
                .filter_map(|p| metric(p))
                .fold(0.0f64, f64::max)
                .max(1.0)
                * 1.15;
            let whole = !name.contains("MHz") && !name.contains("GOPS");
            let ticks = y_ticks(ymax, whole);
            let digits = label_digits(&ticks, whole);
            let mut chart = ChartBuilder::on(panel)
                .caption(*name, ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(55)
                .build_cartesian_2d(0u32..max_size + 1, YAxis::new(ymax, ticks, digits))
                .map_err(plot_err)?;
            chart
                .configure_mesh()
                .x_desc("size (array rows = cols; maxpool channels)")
                .label_style(("sans-serif", 12))
                .draw()
                .map_err(plot_err)?;
            for (i, d) in designs.iter().enumerate() {
                let color = COLORS[i % COLORS.len()];
                let series: Vec<(u32, f64)> = of_design(points, d)
                    .into_iter()
                    .filter(|p| p.placed())
                    .filter_map(|p| metric(p).map(|v| (p.size, v)))
                    .collect();
                chart
                    .draw_series(LineSeries::new(series.clone(), color.stroke_width(2)))
                    .map_err(plot_err)?
                    .label(d.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                    });
                chart
                    .draw_series(
                        series
                            .iter()
                            .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
                    )
                    .map_err(plot_err)?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 12))
                .draw()
                .map_err(plot_err)?;
        }
        // Sixth panel: what did not place.
        if let Some(panel) = panels.get(5) {
            let missing: Vec<String> = points
                .iter()
                .filter(|p| !p.placed())
                .map(|p| format!("{} {}: {}", p.design, p.label, p.status))
                .collect();
            let lines = if missing.is_empty() {
                vec!["every size placed and routed".to_string()]
            } else {
                missing
            };
            for (i, line) in lines.iter().take(12).enumerate() {
                let short: String = line.chars().take(60).collect();
                panel
                    .draw(&Text::new(
                        short,
                        (10, 30 + 20 * i as i32),
                        ("sans-serif", 13),
                    ))
                    .map_err(plot_err)?;
            }
        }
        root.present().map_err(plot_err)?;
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points of one array series whose block RAM counts are `brams`, with a
    /// small Fmax and GOPS range.
    fn points(brams: &[u64]) -> Vec<SweepPoint> {
        brams
            .iter()
            .enumerate()
            .map(|(i, b)| SweepPoint {
                design: "array".into(),
                pipeline: Some(0),
                size: i as u32 + 1,
                label: format!("{0}x{0}", i + 1),
                status: "ok".into(),
                problem: None,
                logic: Some(100 * i as u64 + 50),
                logic_available: Some(5280),
                ffs: Some(10),
                dsps: Some(i as u64),
                brams: Some(*b),
                fmax_mhz: Some(20.0 + 0.1 * i as f64),
                target_mhz: 12.0,
                peak_gops: Some(0.01 * i as f64),
                folder: "x".into(),
            })
            .collect()
    }

    /// The y-axis labels of each panel, by caption: the right-aligned texts
    /// (`text-anchor="end"`) that follow the panel's caption in the SVG.
    fn y_labels(svg: &str) -> Vec<(String, Vec<String>)> {
        let captions: Vec<&str> = METRICS.iter().map(|(n, _)| *n).collect();
        let mut panels: Vec<(String, Vec<String>)> = Vec::new();
        for element in svg.split("<text ").skip(1) {
            let (attrs, rest) = element.split_once('>').unwrap_or_default();
            let content = rest.split("</text>").next().unwrap_or_default().trim();
            if captions.contains(&content) {
                panels.push((content.to_string(), Vec::new()));
            } else if attrs.contains("text-anchor=\"end\"") {
                if let Some((_, labels)) = panels.last_mut() {
                    labels.push(content.to_string());
                }
            }
        }
        panels
    }

    #[test]
    fn tick_steps_are_round_and_counts_step_by_whole_numbers() {
        assert_eq!(y_ticks(2.3, true), vec![0.0, 1.0, 2.0]);
        assert_eq!(y_ticks(5.75, true), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(
            y_ticks(1150.0, true),
            vec![0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]
        );
        assert_eq!(y_ticks(0.0, true), vec![0.0, 1.0]);
        let t = y_ticks(1.15, false);
        assert_eq!(t.len(), 6, "{t:?}");
        assert!((t[1] - 0.2).abs() < 1e-12, "{t:?}");
        assert_eq!(label_digits(&t, false), 1);
        assert_eq!(label_digits(&y_ticks(0.23, false), false), 2);
        assert_eq!(label_digits(&y_ticks(150.0, false), false), 0);
    }

    #[test]
    fn every_panel_labels_distinct_increasing_values() {
        // The block RAM counts that used to print `0, 0, 1, 2, 2, 2` on the axis.
        let svg = svg("test board", &points(&[0, 0, 1, 2, 2, 2])).unwrap_or_else(|e| panic!("{e}"));
        let panels = y_labels(&svg);
        let names: Vec<&str> = panels.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, METRICS.iter().map(|(n, _)| *n).collect::<Vec<_>>());
        for (name, labels) in &panels {
            let values: Vec<f64> = labels
                .iter()
                .map(|l| l.parse().unwrap_or_else(|_| panic!("{name}: label `{l}`")))
                .collect();
            assert!(values.len() >= 2, "{name}: {labels:?}");
            assert!(
                values.windows(2).all(|w| w[0] < w[1]),
                "{name}: labels must be distinct and increasing: {labels:?}"
            );
        }
        let brams = &panels[2].1;
        assert_eq!(
            brams,
            &["0", "1", "2"],
            "block RAMs: one label per whole number"
        );
    }
}
