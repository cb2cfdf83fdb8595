//! `summary.md`: the run's report as a page a person reads.

use crate::record::FlowReport;
use crate::report::Usage;

fn usage_cell(u: &Usage) -> String {
    format!("{} / {} ({:.1}%)", u.used, u.available, u.percent())
}

/// Render the report as Markdown.
pub fn markdown(r: &FlowReport) -> String {
    let mut s = format!("# {} {} on {} ({})\n\n", r.design, r.size, r.board, r.part);
    s.push_str(&format!("- Status: **{}**\n", r.status));
    if let Some(p) = &r.problem {
        s.push_str(&format!("- Problem: {p}\n"));
    }
    s.push_str(&format!("- Top: `{}`: {}\n", r.top, r.top_note));
    s.push_str(&format!(
        "- Core clock target: {:.3} MHz (requested {:.3} MHz)\n",
        r.core_mhz, r.target_mhz
    ));
    if let Some(f) = r.fmax_mhz {
        s.push_str(&format!(
            "- Fmax over {} seed(s): min {:.2}, median {:.2}, max {:.2} MHz; target {}\n",
            r.seeds.len(),
            f.min,
            f.median,
            f.max,
            if r.timing_met { "met" } else { "**missed**" }
        ));
    }
    if let Some(g) = r.peak_gops {
        s.push_str(&format!(
            "- Peak int8 throughput at the best Fmax: {g:.3} GOPS (2 x MACs x Fmax)\n"
        ));
    }
    s.push('\n');
    if let Some(y) = &r.synth {
        s.push_str("## After synthesis (yosys)\n\n| LUT4 | FF | carry | DSP | BRAM | cells |\n|---:|---:|---:|---:|---:|---:|\n");
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n\n",
            y.luts, y.ffs, y.carries, y.dsps, y.brams, y.cells
        ));
    }
    if let Some(p) = &r.placed {
        s.push_str(
            "## After place and route (nextpnr)\n\n| resource | used / available |\n|---|---:|\n",
        );
        s.push_str(&format!("| logic | {} |\n", usage_cell(&p.logic)));
        if let Some(ff) = &p.ffs {
            s.push_str(&format!("| flip-flops | {} |\n", usage_cell(ff)));
        }
        s.push_str(&format!("| DSP | {} |\n", usage_cell(&p.dsps)));
        s.push_str(&format!("| block RAM | {} |\n", usage_cell(&p.brams)));
        s.push_str(&format!("| IO | {} |\n\n", usage_cell(&p.ios)));
    }
    if !r.seeds.is_empty() {
        s.push_str("## Seeds\n\n| seed | result | Fmax (MHz) | bitstream |\n|---:|---|---:|---|\n");
        for seed in &r.seeds {
            s.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                seed.seed,
                seed.status,
                seed.fmax_mhz
                    .map(|f| format!("{f:.2}"))
                    .unwrap_or_else(|| "-".into()),
                seed.bitstream.as_deref().unwrap_or("-")
            ));
        }
        s.push('\n');
    }
    s.push_str("## Steps\n\n| command | result | seconds | log |\n|---|---|---:|---|\n");
    for st in &r.steps {
        s.push_str(&format!(
            "| `{}` | {} | {:.1} | {} |\n",
            st.command.replace('|', "\\|"),
            st.status.label(),
            st.seconds,
            st.log
        ));
    }
    s
}
