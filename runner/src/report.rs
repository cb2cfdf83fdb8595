//! The tables (markdown, readable on a terminal as well) and the report
//! directory: `report.md` and, when the engine ran, `layers.svg`.
//!
//! Files are written under temporary names in the directory and renamed when
//! both are complete, so a failed run leaves no partial report. `report.md`
//! holds no wall-clock times: the same run gives the same bytes.

use std::fmt::Write;
use std::path::Path;

use digits::data::CLASSES;

use crate::stats::{RtlStats, Summary};
use crate::svg::{layers_chart, LayerBar};
use crate::RunError;

/// A count that may be a mean: integers without decimals.
fn num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn pct(v: f64) -> String {
    format!("{:.1}%", 100.0 * v)
}

/// The whole report; `wall` adds the (non-deterministic) wall-clock times.
pub fn render(s: &Summary, wall: bool) -> String {
    let mut o = String::new();
    let names: Vec<&str> = s.backends.iter().map(|b| b.name.as_str()).collect();
    let _ = writeln!(o, "# run: {} on {}\n", s.model, names.join(", "));
    let _ = writeln!(
        o,
        "Model `{}`: input {}, {} layers; {} images of the digits test split.\n",
        s.model,
        s.input,
        s.layers.len(),
        s.images
    );
    if let Some(c) = &s.check {
        let _ = writeln!(o, "{c}\n");
    }
    let _ = writeln!(o, "## Accuracy\n");
    let _ = writeln!(o, "| backend | correct | images | accuracy |");
    let _ = writeln!(o, "|---|---:|---:|---:|");
    for b in &s.backends {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            b.name,
            b.correct,
            b.images,
            pct(b.accuracy())
        );
    }
    for b in &s.backends {
        if let Some(d) = &b.device {
            let _ = writeln!(o, "\n{} ran on the {d}.", b.name);
        }
    }
    let a = &s.recorded;
    let _ = writeln!(
        o,
        "\nThe model file records, over its {} test images: float {} correct, int8 {} correct (the golden model).",
        a.test_images, a.float_correct, a.int8_correct
    );
    for b in &s.backends {
        let _ = writeln!(
            o,
            "\n## Confusion matrix: {} (rows: true class, columns: predicted)\n",
            b.name
        );
        let head: Vec<String> = (0..CLASSES).map(|c| c.to_string()).collect();
        let _ = writeln!(o, "| true \\ predicted | {} |", head.join(" | "));
        let _ = writeln!(o, "|---|{}", "---:|".repeat(CLASSES));
        for (t, row) in b.confusion.iter().enumerate() {
            let cells: Vec<String> = row.iter().map(u64::to_string).collect();
            let _ = writeln!(o, "| {t} | {} |", cells.join(" | "));
        }
    }
    if let Some(r) = &s.rtl {
        render_rtl(&mut o, s, r, wall);
    }
    if wall && !s.wall.is_empty() {
        let _ = writeln!(o, "\n## Wall time\n");
        for (name, d) in &s.wall {
            let per = d.as_secs_f64() * 1e3 / s.images.max(1) as f64;
            let _ = writeln!(
                o,
                "- {name}: {:.2} s, {per:.1} ms per image",
                d.as_secs_f64()
            );
        }
        if let Some(r) = &s.rtl {
            // The simulation's wall time includes the one-start run.
            let cyc = (r.total().cycles + r.network.map_or(0, |c| c.cycles)) as f64;
            let secs = r.wall.as_secs_f64();
            if secs > 0.0 {
                let _ = writeln!(
                    o,
                    "- rtl simulation alone: {:.2} s, {:.0} simulated cycles/s",
                    secs,
                    cyc / secs
                );
            }
        }
    }
    o
}

fn render_rtl(o: &mut String, s: &Summary, r: &RtlStats, _wall: bool) {
    let e = &r.opts.engine;
    let _ = writeln!(
        o,
        "\n## Engine (rtl): {}x{} array, {}-bit memory, {}\n",
        e.rows,
        e.cols,
        e.mem_bits,
        r.opts.memory_summary()
    );
    let _ = writeln!(
        o,
        "Input buffer {} bytes, weight buffer {} rows, pipeline {}, {} requant lanes, {} reads in flight. \
         One start per layer (counters per layer); per-layer figures are means per image over {} images. \
         `model` is `compiler::model` for a memory of fixed latency {} (cycle-exact there). \
         Utilization = MACs / (rows x cols x cycles); moved = rd_bytes + wr_bytes; \
         compulsory = input + weights + channel records + output + descriptor bytes.\n",
        e.ibuf_bytes,
        e.wbuf_rows,
        e.pipeline,
        e.lanes(),
        e.max_inflight,
        r.images,
        r.opts.latency
    );
    if let Some(f) = &r.first_layer {
        let _ = writeln!(
            o,
            "First layer compiled as {}: the host packs the {} input to {} ({} bytes); \
             the first layer's compulsory bytes count that packed input. Its output is the \
             original layer's (checked against the untransformed network).\n",
            f.note,
            s.input,
            f.packed,
            f.packed.bytes()
        );
    }
    let _ = writeln!(
        o,
        "| layer | name | output | MACs | cycles | model cycles | utilization | array beats | rd bytes | wr bytes | moved | compulsory | moved/compulsory |"
    );
    let _ = writeln!(
        o,
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let (mut macs, mut comp, mut model) = (0u64, 0u64, 0u64);
    for (i, info) in s.layers.iter().enumerate() {
        let c = &r.cost.layers[i];
        let cycles = r.mean(i, |x| x.cycles);
        let rd = r.mean(i, |x| x.rd_bytes);
        let wr = r.mean(i, |x| x.wr_bytes);
        let mc = r.model_layer_cycles(i);
        macs += c.macs;
        comp += c.compulsory_bytes;
        model += mc;
        let name = match (&r.first_layer, i) {
            (Some(f), 0) => format!("{} ({})", info.name, f.note),
            _ => info.name.clone(),
        };
        let _ = writeln!(
            o,
            "| {i} | {} | {} | {} | {} | {mc} | {} | {} | {} | {} | {} | {} | {:.2} |",
            name,
            info.output,
            c.macs,
            num(cycles),
            pct(r.utilization(c.macs as f64, cycles)),
            num(r.mean(i, |x| x.array_beats)),
            num(rd),
            num(wr),
            num(rd + wr),
            c.compulsory_bytes,
            (rd + wr) / c.compulsory_bytes.max(1) as f64
        );
    }
    let t = r.total();
    let n = r.images.max(1) as f64;
    let (cycles, rd, wr) = (
        t.cycles as f64 / n,
        t.rd_bytes as f64 / n,
        t.wr_bytes as f64 / n,
    );
    let _ = writeln!(
        o,
        "| all | | | {macs} | {} | {model} | {} | {} | {} | {} | {} | {comp} | {:.2} |",
        num(cycles),
        pct(r.utilization(macs as f64, cycles)),
        num(t.array_beats as f64 / n),
        num(rd),
        num(wr),
        num(rd + wr),
        (rd + wr) / comp.max(1) as f64
    );
    let _ = writeln!(o);
    let spread = if r.cycles_min == r.cycles_max {
        String::new()
    } else {
        format!(" (least {}, most {})", r.cycles_min, r.cycles_max)
    };
    let _ = writeln!(
        o,
        "- cycles per inference, one start per layer: {}{spread}; model {model}",
        num(r.cycles_per_inference())
    );
    if let Some(net) = &r.network {
        let _ = writeln!(
            o,
            "- cycles per inference, one start for the whole network (first image): {}; model {}; utilization {}",
            net.cycles,
            r.cost.total.cycles,
            pct(r.utilization(macs as f64, net.cycles as f64))
        );
        match s.fmax_mhz {
            Some(f) => {
                let _ = writeln!(
                    o,
                    "- at {f} MHz: {:.0} images/s ({:.1} us per image)",
                    f * 1e6 / net.cycles.max(1) as f64,
                    net.cycles as f64 / f
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "- images/s: pass --fmax-mhz (the engine's measured Fmax per board: docs/measurements.md, e.g. 28.2 MHz for 4x4 on the ULX3S)"
                );
            }
        }
    }
}

/// The per-layer picture of an `rtl` run.
pub fn svg(s: &Summary, r: &RtlStats) -> String {
    let bars: Vec<LayerBar> = s
        .layers
        .iter()
        .enumerate()
        .map(|(i, info)| {
            let cycles = r.mean(i, |x| x.cycles);
            LayerBar {
                name: info.name.clone(),
                utilization: r.utilization(r.cost.layers[i].macs as f64, cycles),
                cycles,
                model_cycles: r.model_layer_cycles(i) as f64,
            }
        })
        .collect();
    let e = &r.opts.engine;
    layers_chart(
        &format!(
            "{} on the engine: {}x{} array, {}-bit memory, {}",
            s.model,
            e.rows,
            e.cols,
            e.mem_bits,
            r.opts.memory_summary()
        ),
        &bars,
    )
}

/// Write `report.md` (and `layers.svg` when the engine ran) into `dir`,
/// creating it; each file goes to a temporary name first and is renamed once
/// all are written.
pub fn write(dir: &Path, s: &Summary) -> Result<Vec<std::path::PathBuf>, RunError> {
    let io = |what: &Path, e: std::io::Error| {
        RunError::Runtime(format!("report: {}: {e}", what.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut files = vec![("report.md", render(s, false))];
    if let Some(r) = &s.rtl {
        files.push(("layers.svg", svg(s, r)));
    }
    let tmp = |name: &str| dir.join(format!(".{name}.tmp-{}", std::process::id()));
    for (name, text) in &files {
        let t = tmp(name);
        if let Err(e) = std::fs::write(&t, text) {
            for (n, _) in &files {
                let _ = std::fs::remove_file(tmp(n));
            }
            return Err(io(&t, e));
        }
    }
    let mut out = Vec::new();
    for (name, _) in &files {
        let path = dir.join(name);
        std::fs::rename(tmp(name), &path).map_err(|e| io(&path, e))?;
        out.push(path);
    }
    Ok(out)
}
