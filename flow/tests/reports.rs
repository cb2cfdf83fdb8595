//! Report parsing on reports captured from the installed tools (flow/tests/data):
//! nextpnr-ice40 0.4 (Debian), nextpnr-ecp5 0.11 and yosys 0.70 (YoWASP),
//! yosys 0.23 (Debian). The designs were the bare 2x2 array.

use boards::Family;
use flow::report::{self, Usage};

fn data(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn nextpnr_ice40_report_that_meets_timing() {
    let r = report::parse_nextpnr_report(&data("nextpnr-ice40-0.4-hx8k-pass.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.clocks.len(), 1);
    let c = r.main_clock().expect("a clock");
    assert_eq!(c.name, "clk$SB_IO_IN_$glb_clk");
    assert!((c.achieved_mhz - 66.107).abs() < 0.01, "{c:?}");
    assert_eq!(c.constraint_mhz, 50.0);
    assert!(r.timing_met());
    assert_eq!(
        r.usage("ICESTORM_LC"),
        Some(Usage {
            used: 2056,
            available: 7680
        })
    );
    let p = report::summarize_placed(Family::Ice40, &r);
    assert_eq!(
        (p.logic.used, p.ios.used, p.brams.used, p.dsps.used),
        (2056, 104, 0, 0)
    );
}

#[test]
fn nextpnr_ice40_report_that_misses_timing() {
    let r = report::parse_nextpnr_report(&data("nextpnr-ice40-0.4-hx8k-timing-fail.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let c = r.worst_clock().expect("a clock");
    assert_eq!(c.constraint_mhz, 200.0);
    assert!(c.achieved_mhz < 200.0);
    assert!(!r.timing_met());
}

#[test]
fn nextpnr_ecp5_report() {
    let r = report::parse_nextpnr_report(&data("nextpnr-ecp5-0.11-85k-pass.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.timing_met());
    let p = report::summarize_placed(Family::Ecp5, &r);
    assert_eq!(
        p.logic,
        Usage {
            used: 350,
            available: 83640
        }
    );
    assert_eq!(
        p.ffs,
        Some(Usage {
            used: 447,
            available: 83640
        })
    );
    assert_eq!((p.dsps.used, p.dsps.available), (4, 156));
    assert_eq!((p.brams.used, p.brams.available), (0, 208));
    assert_eq!(p.ios.used, 104);
    // The board table agrees with nextpnr on the 85F's size.
    let ulx = boards::get("ulx3s").expect("ulx3s");
    assert_eq!(ulx.resources.luts, p.logic.available);
    assert_eq!(ulx.resources.dsps, p.dsps.available);
    assert_eq!(ulx.resources.brams, p.brams.available);
}

#[test]
fn yosys_stat_ice40_with_and_without_dsp() {
    let s = report::parse_yosys_stat(&data("yosys-0.23-ice40-dsp-stat.json"), "systolic_array")
        .unwrap_or_else(|e| panic!("{e}"));
    let y = report::summarize_synth(Family::Ice40, &s);
    assert_eq!(
        (y.luts, y.ffs, y.dsps, y.carries, y.cells),
        (215, 415, 4, 0, 634)
    );
    let s = report::parse_yosys_stat(&data("yosys-0.23-ice40-stat.json"), "systolic_array")
        .unwrap_or_else(|e| panic!("{e}"));
    let y = report::summarize_synth(Family::Ice40, &s);
    assert_eq!((y.luts, y.carries, y.dsps), (1673, 108, 0));
}

#[test]
fn yosys_stat_ecp5_drops_scopeinfo() {
    let s = report::parse_yosys_stat(&data("yosys-0.70-ecp5-stat.json"), "systolic_array")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!s.by_type.contains_key("$scopeinfo"));
    let y = report::summarize_synth(Family::Ecp5, &s);
    assert_eq!(
        (y.luts, y.ffs, y.carries, y.dsps),
        (204 + 2 * 64, 447, 64, 4)
    );
}

#[test]
fn nextpnr_logs_say_when_a_design_does_not_fit() {
    let lines = data("nextpnr-ice40-0.4-error-lines.txt");
    let too_big: String = lines
        .lines()
        .filter(|l| l.starts_with("pnrb.log:"))
        .map(|l| format!("{}\n", l.trim_start_matches("pnrb.log:")))
        .collect();
    assert_eq!(
        report::no_fit_in_log(&too_big).as_deref(),
        Some("ICESTORM_LC 8346 used of 7680")
    );
    let io: String = lines
        .lines()
        .filter(|l| l.starts_with("pnrup.log:"))
        .map(|l| format!("{}\n", l.trim_start_matches("pnrup.log:")))
        .collect();
    let why = report::no_fit_in_log(&io).expect("IO overflow is a no-fit");
    assert!(why.contains("Unable to find a placement location"), "{why}");
    let timing: String = lines
        .lines()
        .filter(|l| l.starts_with("pnrfail.log:"))
        .map(|l| format!("{}\n", l.trim_start_matches("pnrfail.log:")))
        .collect();
    assert_eq!(report::no_fit_in_log(&timing), None);
    assert!(report::last_error_line(&timing).contains("FAIL at 200.00 MHz"));
}

#[test]
fn malformed_reports_are_errors_not_panics() {
    assert!(report::parse_nextpnr_report("{").is_err());
    assert!(report::parse_nextpnr_report("{\"fmax\": {}}").is_err());
    assert!(report::parse_yosys_stat("[]", "t").is_err());
}
