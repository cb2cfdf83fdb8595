//! A small SVG writer (rectangles, lines, text; coordinates printed with a
//! fixed number of decimals, so the same data gives the same bytes) and the
//! report's picture: per layer the array utilization and the cycles of the
//! engine, with the cost model's cycles marked.
//!
//! Text is SVG `<text>`, left for the viewer to render: no fonts are needed.

use std::fmt::Write;

/// Escape `&`, `<`, `>`, `"` for text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// An SVG document being built.
pub struct Svg {
    width: f64,
    height: f64,
    body: String,
}

impl Svg {
    pub fn new(width: f64, height: f64) -> Svg {
        Svg {
            width,
            height,
            body: String::new(),
        }
    }

    /// A filled rectangle with a class (the tests count bars by class) and a
    /// tooltip.
    #[allow(clippy::too_many_arguments)]
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, class: &str, title: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect class="{}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{}"><title>{}</title></rect>"#,
            escape(class),
            escape(fill),
            escape(title)
        );
    }

    /// A straight line.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, class: &str) {
        let _ = writeln!(
            self.body,
            r#"<line class="{}" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{}" stroke-width="2"/>"#,
            escape(class),
            escape(stroke)
        );
    }

    /// Text anchored `start`, `middle` or `end` at `(x, y)`.
    pub fn text(&mut self, x: f64, y: f64, anchor: &str, size: u32, s: &str) {
        let _ = writeln!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-family="sans-serif" font-size="{size}">{}</text>"#,
            escape(s)
        );
    }

    /// The document.
    pub fn finish(self) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\">\n<rect x=\"0\" y=\"0\" width=\"{w:.0}\" height=\"{h:.0}\" fill=\"white\"/>\n{}</svg>\n",
            self.body,
            w = self.width,
            h = self.height
        )
    }
}

/// One layer of the picture.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerBar {
    pub name: String,
    /// Array utilization, 0..=1.
    pub utilization: f64,
    /// Measured cycles (mean per image) and the model's.
    pub cycles: f64,
    pub model_cycles: f64,
}

const BAR_W: f64 = 56.0;
const SLOT_W: f64 = 96.0;
const LEFT: f64 = 80.0;
const PANEL_H: f64 = 180.0;
/// Room for the title.
const MIN_W: f64 = 760.0;

/// Two panels, one bar per layer each: utilization (0..100%) and cycles per
/// image (RTL bars, the model's cycles as a line across each bar).
pub fn layers_chart(title: &str, layers: &[LayerBar]) -> String {
    let width = (LEFT + SLOT_W * layers.len().max(1) as f64 + 30.0).max(MIN_W);
    let height = 80.0 + 2.0 * (PANEL_H + 80.0);
    let mut s = Svg::new(width, height);
    s.text(width / 2.0, 24.0, "middle", 15, title);
    let max_cycles = layers
        .iter()
        .map(|l| l.cycles.max(l.model_cycles))
        .fold(1.0, f64::max);
    for (panel, label) in [(0, "array utilization (%)"), (1, "cycles per image")] {
        let top = 70.0 + f64::from(panel) * (PANEL_H + 80.0);
        let bottom = top + PANEL_H;
        s.text(16.0, top - 22.0, "start", 13, label);
        s.line(LEFT, bottom, width - 20.0, bottom, "#444", "axis");
        s.line(LEFT, top, LEFT, bottom, "#444", "axis");
        let max = if panel == 0 { 100.0 } else { max_cycles };
        for k in 0..=4 {
            let v = max * f64::from(k) / 4.0;
            let y = bottom - PANEL_H * f64::from(k) / 4.0;
            s.line(LEFT - 4.0, y, LEFT, y, "#444", "tick");
            s.text(LEFT - 8.0, y + 4.0, "end", 11, &format!("{v:.0}"));
        }
        for (i, l) in layers.iter().enumerate() {
            let x = LEFT + 20.0 + SLOT_W * i as f64;
            let (v, class, fill, shown) = if panel == 0 {
                let pct = (100.0 * l.utilization).clamp(0.0, 100.0);
                (pct, "util-bar", "#1f77b4", format!("{pct:.1}%"))
            } else {
                (
                    l.cycles,
                    "cycles-bar",
                    "#2ca02c",
                    format!("{:.0}", l.cycles),
                )
            };
            let h = PANEL_H * v / max;
            s.rect(
                x,
                bottom - h,
                BAR_W,
                h,
                fill,
                class,
                &format!("{}: {shown}", l.name),
            );
            s.text(x + BAR_W / 2.0, bottom - h - 4.0, "middle", 11, &shown);
            if panel == 1 {
                let y = bottom - PANEL_H * l.model_cycles / max;
                s.line(x - 4.0, y, x + BAR_W + 4.0, y, "#d62728", "model-cycles");
            }
            s.text(x + BAR_W / 2.0, bottom + 16.0, "middle", 11, &l.name);
        }
    }
    let y = height - 12.0;
    s.text(
        LEFT,
        y,
        "start",
        11,
        "bars: RTL counters; red line: the cost model's cycles (compiler::model)",
    );
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_is_deterministic() {
        assert_eq!(escape(r#"a<b & "c">"#), "a&lt;b &amp; &quot;c&quot;&gt;");
        let bars = vec![
            LayerBar {
                name: "conv<1>".into(),
                utilization: 0.25,
                cycles: 100.0,
                model_cycles: 100.0,
            },
            LayerBar {
                name: "fc".into(),
                utilization: 1.5,
                cycles: 40.0,
                model_cycles: 50.0,
            },
        ];
        let a = layers_chart("t", &bars);
        assert_eq!(a, layers_chart("t", &bars));
        assert_eq!(a.matches(r#"class="util-bar""#).count(), 2);
        assert_eq!(a.matches(r#"class="cycles-bar""#).count(), 2);
        assert!(a.contains("conv&lt;1&gt;"));
        // Utilization is clamped to the panel.
        assert!(a.contains("fc: 100.0%"));
    }
}
