//! `gen --top maxpool` as a user meets it: Verilog on stdout, defaults, one
//! clear line and exit 2 for every bad value or combination with nothing on
//! stdout, `--out` and `--manifest`.

mod common;

use common::{assert_usage_error, gen, scratch};

const MP: &[&str] = &["--top", "maxpool", "--channels", "8", "--width", "28"];

fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    MP.iter().chain(extra).copied().collect()
}

#[test]
fn prints_the_unit_with_defaults() {
    let out = gen(MP);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "no diagnostics on success");
    let v = String::from_utf8_lossy(&out.stdout);
    assert!(v.contains("module maxpool ("));
    assert!(
        v.contains("input  wire [63:0] in_data"),
        "8 channels -> 64 bits"
    );
    // Defaults: window 2, stride = window, pad 0.
    assert!(
        v.contains("\"pad\":0,\"stride\":2,\"width\":28,\"window\":2"),
        "{}",
        v.lines().nth(1).unwrap_or_default()
    );
    let out = gen(&with(&["--window", "3", "--name", "pool3"]));
    let v = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(v.contains("module pool3 (") && v.contains("module pool3_vpool ("));
    assert!(v.contains("\"stride\":3"), "stride defaults to the window");
}

#[test]
fn bad_values_exit_2_with_one_line() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            with(&["--stride", "3"]),
            "stride must be in 1..=window (2), got 3",
        ),
        (
            with(&["--stride", "0"]),
            "stride must be in 1..=window (2), got 0",
        ),
        (
            with(&["--stride", "-1"]),
            "stride must be in 1..=window (2), got -1",
        ),
        (
            with(&["--window", "3", "--pad", "2"]),
            "pad must be in 0..=window/2 (1), got 2",
        ),
        (with(&["--window", "9"]), "window must be in 1..=8, got 9"),
        (with(&["--window", "0"]), "window must be in 1..=8, got 0"),
        (
            with(&["--pad", "x"]),
            "pad must be an integer in 0..=window/2 (1), got `x`",
        ),
        (
            vec!["--top", "maxpool", "--channels", "0", "--width", "4"],
            "channels must be in 1..=256, got 0",
        ),
        (
            vec!["--top", "maxpool", "--channels", "257", "--width", "4"],
            "channels must be in 1..=256, got 257",
        ),
        (
            vec!["--top", "maxpool", "--channels", "1", "--width", "4097"],
            "width must be in 1..=4096, got 4097",
        ),
        (
            vec!["--top", "maxpool", "--channels", "1", "--width", "abc"],
            "width must be an integer in 1..=4096, got `abc`",
        ),
        (
            vec![
                "--top",
                "maxpool",
                "--channels",
                "1",
                "--width",
                "2",
                "--window",
                "3",
            ],
            "width + 2*pad must be >= window (3), got 2 + 2*0 = 2",
        ),
        (
            vec!["--top", "maxpool", "--channels", "1"],
            "--top maxpool needs --width (image width, 1..=4096)",
        ),
        (
            vec!["--top", "maxpool", "--width", "5"],
            "--top maxpool needs --channels (channels per pixel, 1..=256)",
        ),
        (
            with(&["--rows", "4"]),
            "--rows applies to --top array, not --top maxpool",
        ),
        (
            with(&["--pipeline", "1"]),
            "--pipeline applies to --top array, not --top maxpool",
        ),
        (
            vec!["--top", "array", "--channels", "3"],
            "--channels applies to --top maxpool, not --top array",
        ),
        (
            with(&["--name", "module"]),
            "name must be a Verilog identifier",
        ),
        (
            vec!["--top", "pool"],
            "top must be one of: array, maxpool, engine, engine-board, got `pool`",
        ),
    ];
    for (args, want) in &cases {
        assert_usage_error(args, want);
    }
}

#[test]
fn out_and_manifest() {
    let dir = scratch("out");
    let v = dir.join("pool.v");
    let j = dir.join("pool.json");
    let (vs, js) = (v.to_string_lossy(), j.to_string_lossy());
    let mut args = with(&["--window", "3", "--stride", "2", "--pad", "1"]);
    args.extend(["--out", vs.as_ref(), "--manifest", js.as_ref()]);
    let out = gen(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "with --out, stdout stays empty");
    let text = std::fs::read_to_string(&v).unwrap_or_default();
    assert!(text.contains("module maxpool ("));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&j).unwrap_or_default()).unwrap_or_default();
    assert_eq!(m["block"], "maxpool");
    assert_eq!(m["config"]["window"], 3);
    assert_eq!(m["config"]["pad"], 1);
    assert_eq!(m["derived"]["out_width"], 14, "(28 + 2 - 3) / 2 + 1");
    assert_eq!(m["derived"]["data_bits"], 64);
    assert_eq!(m["derived"]["line_buffer"], "block_ram");
    let ports: Vec<&str> = m["ports"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        ports,
        [
            "clk",
            "rst",
            "in_valid",
            "in_ready",
            "in_data",
            "in_last",
            "out_valid",
            "out_ready",
            "out_data",
            "out_last"
        ]
    );
    // A bad value leaves the existing files untouched.
    let before = std::fs::read_to_string(&v).unwrap_or_default();
    let mut bad = with(&["--stride", "5"]);
    bad.extend(["--out", vs.as_ref()]);
    assert_eq!(gen(&bad).status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&v).unwrap_or_default(), before);
    let _ = std::fs::remove_dir_all(&dir);
}
