//! `gen --top engine-board`: the engine's board top with its board flags, the
//! engine's and the array's flags passed to the engine inside, the clocking in
//! the manifest, and exit 2 with one line for a bad value or a foreign flag.

mod common;

use common::{assert_usage_error, gen, scratch};

#[test]
fn generates_the_engine_board_with_its_flags() {
    let dir = scratch("engine_board");
    let (v, m) = (dir.join("eb.v"), dir.join("eb.json"));
    let out = gen(&[
        "--top",
        "engine-board",
        "--family",
        "ecp5",
        "--clock-in-hz",
        "25000000",
        "--engine-hz",
        "50000000",
        "--rows",
        "2",
        "--cols",
        "3",
        "--mem-bytes",
        "16384",
        "--out",
        v.to_str().expect("utf-8"),
        "--manifest",
        m.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verilog = std::fs::read_to_string(&v).expect("verilog");
    assert!(verilog.contains("EHXPLLL #("), "the engine clock's PLL");
    assert!(verilog.contains("module board_top ("));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&m).expect("manifest")).expect("json");
    let d = &manifest["derived"];
    assert_eq!(d["engine_clock"]["achieved_hz"], 50_000_000);
    assert_eq!(d["bridge_clock"]["achieved_hz"], 25_000_000);
    assert_eq!(d["mem_words"], 4096);
    assert_eq!(manifest["config"]["engine"]["rows"], 2);
    assert_eq!(manifest["config"]["engine"]["cols"], 3);
    // The engine's programming model rides along, as for `--top engine`.
    assert_eq!(manifest["mem_bits"], 32);
}

#[test]
fn an_ice40_clock_pin_that_is_not_the_pll_pad() {
    let out = gen(&[
        "--top",
        "engine-board",
        "--engine-hz",
        "24000000",
        "--pll-input",
        "fabric",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = String::from_utf8_lossy(&out.stdout);
    assert!(v.contains("SB_PLL40_CORE #(") && !v.contains("SB_PLL40_2_PAD"));
}

#[test]
fn bad_values_and_foreign_flags_are_usage_errors() {
    assert_usage_error(
        &["--top", "engine-board", "--family", "xilinx"],
        "family must be ice40 or ecp5, got `xilinx`",
    );
    assert_usage_error(
        &["--top", "engine-board", "--mem-bytes", "3000"],
        "mem_bytes must be a power of two",
    );
    assert_usage_error(
        &["--top", "engine-board", "--pll-input", "pin"],
        "pll_input must be pad or fabric, got `pin`",
    );
    assert_usage_error(
        &["--top", "array", "--engine-hz", "50000000"],
        "--engine-hz applies to --top engine-board, not --top array",
    );
}
