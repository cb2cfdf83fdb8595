//! The `gen` binary as a user meets it: Verilog on stdout, one clear line and
//! exit 2 on bad input with nothing on stdout, atomic `--out`, a manifest.

mod common;

use common::{assert_usage_error, gen, scratch};

#[test]
fn prints_the_array_to_stdout() {
    let out = gen(&["--rows", "4"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = String::from_utf8_lossy(&out.stdout);
    assert!(v.contains("module systolic_array ("));
    assert!(
        v.contains("\"rows\":4") && v.contains("\"cols\":4"),
        "cols default to rows"
    );
    assert!(v.contains("[31:0] in_a"), "4 rows -> 32-bit in_a");
    assert!(out.stderr.is_empty(), "no diagnostics on success");
}

#[test]
fn bad_values_exit_2_with_one_line() {
    let cases: &[(&[&str], &str)] = &[
        (&["--rows", "0"], "rows must be in 1..=256, got 0"),
        (&["--rows", "257"], "rows must be in 1..=256, got 257"),
        (
            &["--rows", "abc"],
            "rows must be an integer in 1..=256, got `abc`",
        ),
        (&["--rows", "-3"], "rows must be in 1..=256, got -3"),
        (
            &["--rows", "4", "--cols", "300"],
            "cols must be in 1..=256, got 300",
        ),
        (&["--name", "module"], "name must be a Verilog identifier"),
        (&["--name", "9lives"], "name must be a Verilog identifier"),
        (&["--top", "fft"], "top must be one of"),
        (&["--pipeline", "5"], "pipeline must be in 0..=4, got 5"),
        (
            &["--dsp-cell", "xilinx"],
            "dsp_cell must be one of infer, ecp5, ice40, got `xilinx`",
        ),
        (
            &["--pipeline", "2", "--dsp-cell", "ecp5"],
            "dsp_cell ecp5 needs pipeline >= 3",
        ),
        (&["--bogus"], "unexpected argument '--bogus'"),
    ];
    for (args, want) in cases {
        assert_usage_error(args, want);
    }
}

#[test]
fn out_and_manifest_are_written_atomically() {
    let dir = scratch("out");
    let v = dir.join("array.v");
    let j = dir.join("array.json");
    let out = gen(&[
        "--rows",
        "3",
        "--cols",
        "5",
        "--out",
        v.to_str().unwrap_or_default(),
        "--manifest",
        j.to_str().unwrap_or_default(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "with --out, stdout stays empty");
    let text = std::fs::read_to_string(&v).unwrap_or_default();
    assert!(text.contains("module systolic_array"));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&j).unwrap_or_default()).unwrap_or_default();
    assert_eq!(m["config"]["rows"], 3);
    assert_eq!(m["derived"]["out_c_bits"], 5 * 32);
    assert_eq!(m["version"], env!("CARGO_PKG_VERSION"));
    // Only the two outputs, no temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert_eq!(names.len(), 2, "{names:?}");

    // A bad value leaves an existing file untouched and creates none.
    let before = std::fs::read(&v).unwrap_or_default();
    let out = gen(&["--rows", "0", "--out", v.to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&v).unwrap_or_default(), before);
    let fresh = dir.join("never.v");
    let out = gen(&["--rows", "999", "--out", fresh.to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!fresh.exists(), "no partial output file on error");
    // An unwritable destination is an I/O error (exit 1), not a partial file.
    let out = gen(&[
        "--rows",
        "2",
        "--out",
        dir.join("no/such/dir/a.v").to_str().unwrap_or_default(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write"));
}

#[test]
fn same_config_same_bytes() {
    let a = gen(&["--rows", "5", "--cols", "2", "--name", "mm"]);
    let b = gen(&["--rows", "5", "--cols", "2", "--name", "mm"]);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    assert!(String::from_utf8_lossy(&a.stdout).contains("module mm_pe ("));
}

#[test]
fn out_and_manifest_must_be_different_files() {
    let dir = scratch("same-file");
    let v = dir.join("x.v");
    let p = v.to_str().unwrap_or_default();
    // The same spelling: refused, nothing written.
    assert_usage_error(
        &["--rows", "4", "--out", p, "--manifest", p],
        &format!("--out and --manifest must be different files, got `{p}` and `{p}`"),
    );
    assert!(!v.exists(), "nothing written");
    // Two spellings of one file, before and after it exists.
    let other = dir.join(".").join("x.v");
    let o = other.to_str().unwrap_or_default();
    assert_usage_error(
        &["--rows", "4", "--out", p, "--manifest", o],
        "--out and --manifest must be different files",
    );
    assert!(!v.exists(), "nothing written");
    std::fs::write(&v, "keep").unwrap_or_else(|e| panic!("{e}"));
    let link = dir.join("link.v");
    std::os::unix::fs::symlink(&v, &link).unwrap_or_else(|e| panic!("{e}"));
    assert_usage_error(
        &[
            "--rows",
            "4",
            "--out",
            link.to_str().unwrap_or_default(),
            "--manifest",
            o,
        ],
        "--out and --manifest must be different files",
    );
    assert_eq!(std::fs::read_to_string(&v).unwrap_or_default(), "keep");
    // Different files are fine.
    let j = dir.join("x.json");
    let out = gen(&[
        "--rows",
        "2",
        "--out",
        p,
        "--manifest",
        j.to_str().unwrap_or_default(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_to_string(&v).is_ok_and(|t| t.contains("module systolic_array")));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&j).unwrap_or_default()).unwrap_or_default();
    assert_eq!(m["config"]["rows"], 2);
}
