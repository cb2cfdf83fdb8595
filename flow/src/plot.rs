//! The sweep's SVG plot: logic cells, DSPs, block RAMs, Fmax and peak GOPS
//! against size, one panel each, one line per block.
//!
//! plotters is built with its SVG backend only and no font support: text is
//! written as SVG `<text>` elements that the viewer renders, so nothing here
//! needs fontconfig or font files. Points that did not place are left out (the
//! table marks them).

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
            // Counts get an axis of at least 0..5, so that whole-number labels
            // never repeat (0, 0, 1, 1, ...) when every point has 0 or 1.
            let ymax = if whole { ymax.max(5.0) } else { ymax };
            let mut chart = ChartBuilder::on(panel)
                .caption(*name, ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(55)
                .build_cartesian_2d(0u32..max_size + 1, 0.0..ymax)
                .map_err(plot_err)?;
            chart
                .configure_mesh()
                .x_desc("size (array rows = cols; maxpool channels)")
                .y_label_formatter(&|v| {
                    if whole {
                        format!("{v:.0}")
                    } else {
                        format!("{v:.1}")
                    }
                })
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
