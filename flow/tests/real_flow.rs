//! Real tool runs, kept small (2x2 arrays, one seed): the iCE40 flow on the
//! iCEBreaker, the iCE40 two-products-per-block cell through synthesis, a
//! missed clock, a sweep past a size that does not fit, the ASIC estimate, and
//! the ECP5 flow on the ULX3S.
//!
//! A missing tool fails the test with the tool's name and its install command
//! (`bash scripts/install.sh` installs them all, as `scripts/test.sh` does):
//! a flow test that did not run never passes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use boards::Family;
use flow::tools::{Tool, ToolPaths};
use serde_json::Value;

/// Fail, naming the tool and how to install it, unless the family's tools are installed.
fn require_tools(family: Family, extra: &[Tool]) {
    let mut tools = Tool::for_family(family).to_vec();
    tools.extend_from_slice(extra);
    if let Err(e) = ToolPaths::resolve(&tools) {
        panic!("cannot run this flow test: {e}");
    }
}

fn out_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("real-flow")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn flow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flow"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run flow: {e}"))
}

/// Run `flow` and require exit status 0, showing its output otherwise.
fn flow_ok(args: &[&str]) -> Output {
    let out = flow(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}
fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn report(dir: &Path) -> Value {
    let p = dir.join("report.json");
    let t = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&t).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn num(v: &Value, ptr: &str) -> f64 {
    v.pointer(ptr)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("report lacks {ptr}: {v:#}"))
}

/// The checks every successful run must pass.
fn assert_plausible(dir: &Path, device_luts: f64) -> Value {
    let r = report(dir);
    assert_eq!(r["status"], "ok", "{r:#}");
    assert_eq!(r["fits"], true);
    assert_eq!(r["timing_met"], true);
    let logic = num(&r, "/placed/logic/used");
    assert!(
        logic > 0.0 && logic < device_luts,
        "logic {logic} of {device_luts}"
    );
    assert!(num(&r, "/synth/luts") > 0.0);
    assert!(num(&r, "/synth/ffs") > 0.0);
    assert!(
        num(&r, "/placed/ios/used") >= 4.0,
        "clk, rx, tx and LEDs are IOs"
    );
    for k in ["min", "median", "max"] {
        let f = num(&r, &format!("/fmax_mhz/{k}"));
        assert!(f > 1.0 && f < 1000.0, "Fmax {k} {f}");
    }
    assert!(num(&r, "/peak_gops") > 0.0);
    for step in r["steps"].as_array().expect("steps") {
        let log = dir.join(step["log"].as_str().expect("log"));
        assert!(log.is_file(), "missing log {}", log.display());
    }
    let bit = r["seeds"][0]["bitstream"].as_str().expect("a bitstream");
    let len = std::fs::metadata(dir.join(bit))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(len > 1000, "bitstream {bit} is {len} bytes");
    for f in [
        "summary.md",
        "commands.sh",
        "synth.ys",
        "board_top.v",
        "board_top.manifest.json",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    r
}

#[test]
fn ice40_flow_on_icebreaker_2x2() {
    require_tools(Family::Ice40, &[]);
    let dir = out_dir("icebreaker-2x2");
    let d = dir.display().to_string();
    let out = flow_ok(&["--board", "icebreaker", "--rows", "2", "--out", &d]);
    let r = assert_plausible(&dir, 5280.0);
    // -dsp: one SB_MAC16 per PE.
    assert_eq!(num(&r, "/placed/dsps/used"), 4.0);
    assert!(std::fs::read_to_string(dir.join("board_top.pcf"))
        .is_ok_and(|t| t.contains("set_io clk_in 35")));
    let line = text(&out.stdout);
    assert!(line.starts_with("array 2x2 on icebreaker: ok;"), "{line}");
}

/// The engine's board top on the UP5K: the iCE40 defaults build the
/// area-first engine (`--control micro`, one requantization unit, products
/// in SB_MAC16 cells), and it fits, placed, routed and on time at 12 MHz.
#[test]
fn engine_flow_on_icebreaker_2x2() {
    require_tools(Family::Ice40, &[]);
    let dir = out_dir("icebreaker-engine-2x2");
    let d = dir.display().to_string();
    let out = flow_ok(&[
        "--board",
        "icebreaker",
        "--design",
        "engine",
        "--rows",
        "2",
        "--out",
        &d,
    ]);
    let r = assert_plausible(&dir, 5280.0);
    // Two blocks for the array's 4 products, two for the requantization unit.
    assert_eq!(num(&r, "/placed/dsps/used"), 4.0);
    let m = std::fs::read_to_string(dir.join("board_top.manifest.json"))
        .unwrap_or_else(|e| panic!("manifest: {e}"));
    assert!(
        m.contains("\"control\": \"micro\""),
        "the area-first engine: {m}"
    );
    let line = text(&out.stdout);
    assert!(line.starts_with("engine 2x2 on icebreaker: ok;"), "{line}");
}

/// `--dsp-cell ice40`: a 2x4 array's 8 products in 4 SB_MAC16 blocks, and the
/// synthesized blocks keep the generator's parameters (8x8 mode, signed, with
/// their registers at depth 3). `synth_ice40 -dsp` rewrote them (yosys 0.23's
/// `ice40_dsp` pass), so this checks the netlist, not just the counts.
#[test]
fn ice40_cell_keeps_its_blocks_through_synthesis() {
    require_tools(Family::Ice40, &[]);
    let dir = out_dir("icebreaker-ooc-2x4-ice40");
    let d = dir.display().to_string();
    flow_ok(&[
        "--board",
        "icebreaker",
        "--design",
        "array-ooc",
        "--rows",
        "2",
        "--cols",
        "4",
        "--pipeline",
        "3",
        "--dsp-cell",
        "ice40",
        "--allow-timing-fail",
        "--out",
        &d,
    ]);
    let r = report(&dir);
    assert_eq!(num(&r, "/placed/dsps/used"), 4.0);
    let p = dir.join("array_harness.json");
    let t = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let net: Value = serde_json::from_str(&t).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let cells = net["modules"]["array_harness"]["cells"]
        .as_object()
        .unwrap_or_else(|| panic!("no cells in {}", p.display()));
    let blocks: Vec<&Value> = cells.values().filter(|c| c["type"] == "SB_MAC16").collect();
    assert_eq!(blocks.len(), 4);
    // yosys writes a 1-bit parameter as "1" (or as a 32-bit integer string).
    let one = |v: &Value| v.as_str().is_some_and(|s| s.trim_start_matches('0') == "1");
    for b in blocks {
        let params = &b["parameters"];
        for name in [
            "MODE_8x8",
            "A_SIGNED",
            "B_SIGNED",
            "A_REG",
            "B_REG",
            "TOP_8x8_MULT_REG",
        ] {
            assert!(one(&params[name]), "{name} = {}: {params}", params[name]);
        }
        assert_eq!(params["TOPOUTPUT_SELECT"], "10", "{params}");
        assert_eq!(params["BOTOUTPUT_SELECT"], "10", "{params}");
    }
}

#[test]
fn an_impossible_clock_fails_naming_achieved_and_target() {
    require_tools(Family::Ice40, &[]);
    let dir = out_dir("icebreaker-2x2-250mhz");
    let d = dir.display().to_string();
    // 250 MHz: inside the iCE40 PLL's range, far beyond what the fabric reaches.
    let out = flow(&[
        "--board",
        "icebreaker",
        "--rows",
        "2",
        "--freq",
        "250",
        "--out",
        &d,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("flow: error: timing missed on icebreaker"))
        .unwrap_or_else(|| panic!("no timing line in\n{err}"));
    // The target is the PLL's output for 250 MHz (249 MHz from 12 MHz).
    assert!(
        line.contains(" achieved ") && line.contains(" MHz < target 2"),
        "{line}"
    );
    assert!(line.contains("(the PLL's output for --freq 250)"), "{line}");
    let r = report(&dir);
    assert_eq!(r["status"], "timing missed");
    assert_eq!(r["timing_met"], false);
    assert!(
        r["seeds"][0]["bitstream"].is_null(),
        "no bitstream for a missed clock"
    );
    assert!(num(&r, "/fmax_mhz/max") < num(&r, "/core_mhz"));
    assert!(num(&r, "/core_mhz") > 240.0);

    // Asked to, the run keeps going and exits 0, still saying timing was missed.
    let out = flow(&[
        "--board",
        "icebreaker",
        "--rows",
        "2",
        "--freq",
        "250",
        "--out",
        &d,
        "--allow-timing-fail",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = report(&dir);
    assert_eq!(r["status"], "timing missed");
    assert!(r["seeds"][0]["bitstream"].is_string());
}

#[test]
fn sweep_goes_past_a_size_that_does_not_fit() {
    require_tools(Family::Ice40, &[]);
    let dir = out_dir("sweep-icebreaker");
    let d = dir.display().to_string();
    // With every multiplier on a DSP (not the board default, `auto`), 3x3 needs
    // 9 SB_MAC16; the UP5K has 8.
    flow_ok(&[
        "sweep",
        "--board",
        "icebreaker",
        "--mul",
        "dsp",
        "--rows",
        "3,1",
        "--out",
        &d,
    ]);
    let csv = std::fs::read_to_string(dir.join("sweep.csv")).expect("sweep.csv");
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    // Smallest first, whatever the order asked.
    assert!(rows[1].starts_with("array,0,1,1x1,ok,"), "{csv}");
    assert!(rows[2].starts_with("array,0,3,3x3,does not fit,"), "{csv}");
    assert!(
        rows[2].contains("ICESTORM_DSP"),
        "the reason is recorded: {csv}"
    );
    let md = std::fs::read_to_string(dir.join("sweep.md")).expect("sweep.md");
    assert!(md.contains("| array p0 | 3x3 | does not fit: "), "{md}");
    let svg = std::fs::read_to_string(dir.join("sweep.svg")).expect("sweep.svg");
    assert!(svg.starts_with("<svg") && svg.contains("Fmax (MHz)") && svg.contains("peak GOPS"));
}

#[test]
fn asic_estimate_of_a_2x2_array() {
    require_tools(Family::Ice40, &[]);
    let dir = out_dir("asic-2x2");
    let d = dir.display().to_string();
    let out = flow(&["asic", "--rows", "2", "--out", &d]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert!(line.starts_with("ESTIMATE"), "{line}");
    let r: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("asic-report.json")).expect("asic-report.json"),
    )
    .expect("JSON");
    assert!(r["kind"]
        .as_str()
        .is_some_and(|k| k.starts_with("estimate")));
    assert!(num(&r, "/gate_transistors") > 1000.0);
    assert!(num(&r, "/flip_flops") > 100.0);
    let depth = num(&r, "/logic_depth");
    assert!(depth > 5.0 && depth < 500.0, "depth {depth}");
    let md = std::fs::read_to_string(dir.join("asic-summary.md")).expect("summary");
    assert!(md.contains("ESTIMATE"));
}

#[test]
fn maxpool_out_of_context_on_icebreaker() {
    require_tools(Family::Ice40, &[]);
    let dir = out_dir("icebreaker-maxpool-1ch");
    let d = dir.display().to_string();
    let out = flow(&[
        "--board",
        "icebreaker",
        "--design",
        "maxpool",
        "--rows",
        "1",
        "--out",
        &d,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = report(&dir);
    assert_eq!(r["status"], "ok", "{r:#}");
    let logic = num(&r, "/placed/logic/used");
    assert!(logic > 10.0 && logic < 5280.0, "logic {logic}");
    // The line buffer is one SB_RAM40_4K.
    assert!(num(&r, "/placed/brams/used") >= 1.0);
    let f = num(&r, "/fmax_mhz/max");
    assert!(f > 1.0 && f < 1000.0);
    assert!(
        r["seeds"][0]["bitstream"].is_null(),
        "no bitstream out of context"
    );
    assert!(r["peak_gops"].is_null());
}

#[test]
fn ecp5_flow_on_ulx3s_2x2() {
    require_tools(Family::Ecp5, &[]);
    let dir = out_dir("ulx3s-2x2");
    let d = dir.display().to_string();
    flow_ok(&["--board", "ulx3s", "--rows", "2", "--out", &d]);
    let r = assert_plausible(&dir, 83640.0);
    // synth_ecp5 maps each 8x8 multiply to a MULT18X18D.
    assert_eq!(num(&r, "/placed/dsps/used"), 4.0);
    assert!(std::fs::read_to_string(dir.join("board_top.lpf"))
        .is_ok_and(|t| t.contains("LOCATE COMP \"clk_in\" SITE \"G2\";")));
}

/// The deepest PE pipeline on ECP5, out of context: the multipliers are
/// MULT18X18D blocks with their own input and output registers (which yosys
/// passes through and nextpnr times as registered), the timing harness leaves
/// only four IOs, and a 2x2 meets 100 MHz.
#[test]
fn ecp5_pipelined_array_out_of_context_2x2() {
    require_tools(Family::Ecp5, &[]);
    let dir = out_dir("ulx3s-ooc-2x2-p4");
    let d = dir.display().to_string();
    flow_ok(&[
        "--board",
        "ulx3s",
        "--design",
        "array-ooc",
        "--rows",
        "2",
        "--pipeline",
        "4",
        "--freq",
        "100",
        "--out",
        &d,
    ]);
    let r = report(&dir);
    assert_eq!(r["status"], "ok", "{r:#}");
    assert_eq!(r["timing_met"], true);
    assert_eq!(num(&r, "/placed/dsps/used"), 4.0);
    assert_eq!(num(&r, "/placed/ios/used"), 4.0, "clk, rst_in, sin, sout");
    assert!(num(&r, "/fmax_mhz/max") >= 100.0);
    let netlist = std::fs::read_to_string(dir.join("array_harness.json")).unwrap_or_default();
    assert!(
        netlist.contains("\"REG_OUTPUT_CLK\": \"CLK0\""),
        "the multiplier blocks keep their output registers"
    );
    let script = std::fs::read_to_string(dir.join("synth.ys")).unwrap_or_default();
    assert!(script.contains("abc -lut 4"), "{script}");
}
