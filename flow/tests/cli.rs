//! The `flow` binary's contract without the tools: usage errors exit 2 with one
//! line naming the rule and the value; `--plan-only` prints the plan, writes
//! nothing and runs nothing.

use std::process::{Command, Output};

fn flow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flow"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run flow: {e}"))
}

fn usage_error(args: &[&str]) -> String {
    let out = flow(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        err.lines().count(),
        1,
        "{args:?}: one line expected, got\n{err}"
    );
    assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    err.trim_end().to_string()
}

#[test]
fn unknown_board_lists_the_known_ones() {
    let e = usage_error(&["--board", "arty", "--rows", "2", "--plan-only"]);
    assert_eq!(
        e,
        format!(
            "flow: error: --board must be one of: {}, got `arty`",
            boards::names().join(", ")
        )
    );
}

#[test]
fn bad_values_name_the_rule() {
    assert_eq!(
        usage_error(&["--board", "icebreaker", "--rows", "0", "--plan-only"]),
        "flow: error: --rows must be in 1..=256, got 0"
    );
    assert_eq!(
        usage_error(&["--board", "icebreaker", "--rows", "two", "--plan-only"]),
        "flow: error: --rows must be an integer in 1..=256, got `two`"
    );
    assert_eq!(
        usage_error(&[
            "--board",
            "icebreaker",
            "--rows",
            "2",
            "--freq",
            "12e6",
            "--plan-only"
        ]),
        "flow: error: --freq must be a frequency in MHz in 1..=1000, got 12e6"
    );
    assert_eq!(
        usage_error(&[
            "--board",
            "icebreaker",
            "--rows",
            "2",
            "--seeds",
            "1,1",
            "--plan-only"
        ]),
        "flow: error: --seeds must not repeat a value, got 1 twice in `1,1`"
    );
    assert_eq!(
        usage_error(&[
            "--board",
            "icebreaker",
            "--rows",
            "2",
            "--design",
            "fft",
            "--plan-only"
        ]),
        "flow: error: --design must be one of: array, maxpool, array-ooc, engine, got `fft`"
    );
    let e = usage_error(&["--rows", "2", "--plan-only"]);
    assert!(
        e.starts_with("flow: error: --board is required, one of: icebreaker"),
        "{e}"
    );
    let e = usage_error(&["--board", "icebreaker", "--colour", "red"]);
    assert!(e.contains("--colour"), "{e}");
    let e = usage_error(&["sweep", "--board", "ulx3s", "--rows", "2,x"]);
    assert_eq!(
        e,
        "flow: error: --rows must be an integer in 1..=256, got `x`"
    );
    let e = usage_error(&[
        "sweep",
        "--board",
        "icebreaker",
        "--rows",
        "4",
        "--dsp-cell",
        "dsp",
    ]);
    assert_eq!(
        e,
        "flow: error: --dsp-cell must be one of infer, ecp5, ice40, got `dsp`"
    );
}

#[test]
fn plan_only_prints_the_plan_and_writes_nothing() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("plan-only-untouched");
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.display().to_string();
    let out = flow(&[
        "--board",
        "ulx3s-25f",
        "--rows",
        "2",
        "--freq",
        "40",
        "--seeds",
        "3,4",
        "--plan-only",
        "--out",
        &d,
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("flow plan: array 2x2 on ulx3s-25f (LFE5U-25F-6BG381C"),
        "{text}"
    );
    assert!(
        text.contains("--25k --package CABGA381 --speed 6"),
        "{text}"
    );
    assert!(text.contains("--freq 40 --seed 3"), "{text}");
    assert!(
        text.contains("--seed 4 --report report-seed4.json"),
        "{text}"
    );
    assert!(!text.contains("--timing-allow-fail"), "{text}");
    assert!(text.contains("board_top.lpf"), "{text}");
    assert!(!dir.exists(), "--plan-only must not create {d}");
}

#[test]
fn help_exits_zero() {
    let out = flow(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--board",
        "--rows",
        "--freq",
        "--seeds",
        "--plan-only",
        "--allow-timing-fail",
        "sweep",
        "asic",
    ] {
        assert!(text.contains(flag), "help lacks {flag}");
    }
}
