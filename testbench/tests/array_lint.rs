//! Every emitted array passes Verilator's `-Wall` lint and yosys' `proc; check
//! -assert` with no latch, and generation is deterministic.

use hdl::array::ArrayConfig;
use testbench::tools::{verilator_lint, yosys_check};

const SIZES: [(u32, u32); 8] = [
    (1, 1),
    (1, 8),
    (8, 1),
    (2, 3),
    (3, 5),
    (4, 4),
    (8, 8),
    (16, 16),
];

fn verilog(rows: u32, cols: u32, name: &str) -> String {
    let cfg = ArrayConfig {
        rows,
        cols,
        name: name.into(),
        ..ArrayConfig::default()
    };
    hdl::array::generate(&cfg)
        .unwrap_or_else(|e| panic!("{rows}x{cols}: {e}"))
        .verilog
}

#[test]
fn verilator_lint_clean() {
    for (r, c) in SIZES {
        let v = verilog(r, c, "systolic_array");
        verilator_lint(&format!("lint-array-{r}x{c}"), "systolic_array", &v)
            .unwrap_or_else(|e| panic!("{r}x{c}: {e}"));
    }
    // A renamed top keeps every sub-module name distinct and stays clean.
    let v = verilog(2, 2, "my_gemm");
    verilator_lint("lint-array-renamed", "my_gemm", &v).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn variants_lint_and_check_clean() {
    use hdl::array::MulStyle;
    for (pipeline, mul, dsp_limit) in [
        (1, MulStyle::Dsp, 0),
        (2, MulStyle::Lut, 0),
        (2, MulStyle::Auto, 5),
        (3, MulStyle::Dsp, 0),
        (4, MulStyle::Auto, 5),
    ] {
        let cfg = ArrayConfig {
            rows: 3,
            cols: 3,
            pipeline,
            mul,
            dsp_limit,
            ..ArrayConfig::default()
        };
        let v = hdl::array::generate(&cfg)
            .unwrap_or_else(|e| panic!("{e}"))
            .verilog;
        let label = format!("variant-p{pipeline}-{mul:?}-{dsp_limit}");
        verilator_lint(&label, "systolic_array", &v).unwrap_or_else(|e| panic!("{label}: {e}"));
        yosys_check(&label, "systolic_array", &v).unwrap_or_else(|e| panic!("{label}: {e}"));
        // auto: exactly dsp_limit PEs get the `*` multiplier.
        let dsp_pes = v.matches("systolic_array_pe pe_r").count();
        let lut_pes = v.matches("systolic_array_pe_lut pe_r").count();
        let want_dsp = match mul {
            MulStyle::Dsp => 9,
            MulStyle::Lut => 0,
            MulStyle::Auto => dsp_limit as usize,
        };
        assert_eq!((dsp_pes, lut_pes), (want_dsp, 9 - want_dsp), "{label}");
    }
}

/// `--dsp-cell ice40` (SB_MAC16 blocks shared by two PEs, the split accumulator)
/// lints clean with the block's simulation model at every depth and is latch-free
/// against lint-only stubs; a 3x3 array has two blocks per row (one pair, one
/// lone PE).
#[test]
fn ice40_variant_is_clean() {
    for pipeline in 0..=hdl::array::config::MAX_PIPELINE {
        let cfg = ArrayConfig {
            rows: 3,
            cols: 3,
            pipeline,
            dsp_cell: hdl::array::DspCell::Ice40,
            ..ArrayConfig::default()
        };
        let g = hdl::array::generate(&cfg).unwrap_or_else(|e| panic!("{e}"));
        let label = format!("variant-ice40-p{pipeline}");
        assert_eq!(g.verilog.matches("SB_MAC16 #(").count(), 6, "{label}");
        testbench::models::lint_with_models(&label, &g.design, &g.verilog)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
    }
}

#[test]
fn yosys_check_no_latch() {
    for (r, c) in SIZES {
        let v = verilog(r, c, "systolic_array");
        yosys_check(&format!("yosys-array-{r}x{c}"), "systolic_array", &v)
            .unwrap_or_else(|e| panic!("{r}x{c}: {e}"));
    }
}

#[test]
fn deterministic_and_self_describing() {
    for (r, c) in [(3, 5), (16, 16)] {
        let a = verilog(r, c, "systolic_array");
        let b = verilog(r, c, "systolic_array");
        assert_eq!(a, b, "{r}x{c}: two generations differ");
        let head: Vec<&str> = a.lines().take(3).collect();
        assert!(
            head[0].contains(hdl::VERSION),
            "header must carry the generator version: {head:?}"
        );
        assert!(
            head[1].contains(&format!("\"rows\":{r}"))
                && head[1].contains(&format!("\"cols\":{c}")),
            "header must carry the full configuration: {head:?}"
        );
        assert!(a.contains("`default_nettype none"));
    }
    assert_ne!(
        verilog(3, 5, "systolic_array"),
        verilog(5, 3, "systolic_array")
    );
}

#[test]
fn manifest_matches_ports() {
    let cfg = ArrayConfig {
        rows: 3,
        cols: 5,
        name: "systolic_array".into(),
        ..ArrayConfig::default()
    };
    let g = hdl::array::generate(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let json: serde_json::Value =
        serde_json::from_str(&g.manifest.to_json()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["config"]["rows"], 3);
    assert_eq!(json["config"]["cols"], 5);
    let width = |name: &str| {
        json["ports"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .map(|p| p["width"].as_u64().unwrap_or(0))
            .unwrap_or_else(|| panic!("port {name} missing from manifest"))
    };
    // The contract's widths, computed independently of the generator.
    assert_eq!(width("in_a"), 3 * 8);
    assert_eq!(width("in_b"), 5 * 8);
    assert_eq!(width("out_c"), 5 * 32);
    for p in [
        "clk",
        "rst",
        "in_valid",
        "in_ready",
        "in_last",
        "out_valid",
        "out_ready",
        "out_last",
    ] {
        assert_eq!(width(p), 1, "{p}");
    }
    // Every manifest port is declared in the Verilog top with that width.
    for p in json["ports"].as_array().into_iter().flatten() {
        let (name, w) = (
            p["name"].as_str().unwrap_or(""),
            p["width"].as_u64().unwrap_or(0),
        );
        let decl = if w == 1 {
            format!("wire {name}")
        } else {
            format!("wire [{}:0] {name}", w - 1)
        };
        assert!(g.verilog.contains(&decl), "Verilog lacks `{decl}`");
    }
}

/// The ECP5 variant (MULT18X18D blocks) lints clean together with the blocks'
/// simulation model and is latch-free against lint-only stubs; the timing
/// harness around it (what `flow --design array-ooc` builds) is clean too.
#[test]
fn ecp5_variant_and_timing_harness_are_clean() {
    let cfg = ArrayConfig {
        rows: 3,
        cols: 2,
        pipeline: hdl::array::config::MAX_PIPELINE,
        dsp_cell: hdl::array::DspCell::Ecp5,
        ..ArrayConfig::default()
    };
    let d = hdl::array::design(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let (d, _) = hdl::harness::wrap(d, "array_harness").unwrap_or_else(|e| panic!("{e}"));
    let v = hdl::verilog::print(&d).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.matches("MULT18X18D #(").count(), 1, "one PE module");
    assert_eq!(v.matches("systolic_array_pe pe_r").count(), 6);
    testbench::models::lint_with_models("ecp5-harness", &d, &v).unwrap_or_else(|e| panic!("{e}"));
}
