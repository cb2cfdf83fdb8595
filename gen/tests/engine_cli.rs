//! `gen --top engine` as a user meets it: Verilog on stdout with the engine's
//! defaults, a manifest that carries the programming model (read back with
//! `contracts::engine`), the array's flags passed through, determinism, and one
//! clear line with exit 2 and no output for every bad value or foreign flag.

mod common;

use common::{assert_usage_error, gen, scratch};
use contracts::engine::ProgrammingModel;

const ENGINE: &[&str] = &["--top", "engine"];

fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    ENGINE.iter().chain(extra).copied().collect()
}

/// Run `gen` and return its stdout, failing with its stderr.
fn ok(args: &[&str]) -> String {
    let out = gen(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "{args:?}: no diagnostics on success");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The declaration of port `name` `width` bits wide, as the printer writes it.
fn has_port(v: &str, dir: &str, name: &str, width: u32) -> bool {
    let range = if width == 1 {
        String::new()
    } else {
        format!("[{}:0] ", width - 1)
    };
    v.lines().any(|l| {
        let l = l.split("//").next().unwrap_or_default().trim();
        l.starts_with(dir)
            && l.contains(&format!("wire {range}{name}"))
            && l.trim_end_matches(',').ends_with(name)
    })
}

#[test]
fn prints_the_engine_with_defaults() {
    let v = ok(ENGINE);
    assert!(v.contains("module engine ("), "default name");
    let config = v.lines().nth(1).unwrap_or_default();
    for want in [
        "\"rows\":8",
        "\"cols\":8",
        "\"mem_bits\":64",
        "\"max_inflight\":64",
    ] {
        assert!(config.contains(want), "default {want}: {config}");
    }
    // The port list, 64-bit memory port.
    for (dir, name, width) in [
        ("input", "clk", 1),
        ("input", "rst", 1),
        ("input", "csr_valid", 1),
        ("output", "csr_ready", 1),
        ("input", "csr_write", 1),
        ("input", "csr_addr", contracts::engine::CSR_ADDR_BITS),
        ("input", "csr_wdata", 32),
        ("output", "csr_rvalid", 1),
        ("output", "csr_rdata", 32),
        ("output", "irq", 1),
        ("output", "mem_req_valid", 1),
        ("input", "mem_req_ready", 1),
        ("output", "mem_req_write", 1),
        ("output", "mem_req_addr", 32),
        ("output", "mem_req_wdata", 64),
        ("output", "mem_req_wstrb", 8),
        ("input", "mem_resp_valid", 1),
        ("output", "mem_resp_ready", 1),
        ("input", "mem_resp_rdata", 64),
    ] {
        assert!(
            has_port(&v, dir, name, width),
            "{dir} {name} [{width}] missing"
        );
    }
}

#[test]
fn array_and_engine_flags_pass_through() {
    let v = ok(&with(&[
        "--rows",
        "4",
        "--cols",
        "2",
        "--mem-bits",
        "128",
        "--max-inflight",
        "16",
        "--ibuf-bytes",
        "2048",
        "--wbuf-rows",
        "128",
        "--requant-lanes",
        "1",
        "--pipeline",
        "3",
        "--dsp-cell",
        "ecp5",
        "--name",
        "conv0",
    ]));
    assert!(v.contains("module conv0 ("));
    let config = v.lines().nth(1).unwrap_or_default();
    for want in [
        "\"rows\":4",
        "\"cols\":2",
        "\"mem_bits\":128",
        "\"max_inflight\":16",
        "\"ibuf_bytes\":2048",
        "\"wbuf_rows\":128",
        "\"requant_lanes\":1",
        "\"pipeline\":3",
        "\"dsp_cell\":\"ecp5\"",
        "\"name\":\"conv0\"",
    ] {
        assert!(config.contains(want), "{want}: {config}");
    }
    assert!(has_port(&v, "output", "mem_req_wdata", 128));
    assert!(has_port(&v, "output", "mem_req_wstrb", 16));
    assert!(has_port(&v, "input", "mem_resp_rdata", 128));
    // --rows sets the columns too, as for the array.
    let v = ok(&with(&["--rows", "3", "--mul", "auto", "--dsps", "2"]));
    let config = v.lines().nth(1).unwrap_or_default();
    assert!(
        config.contains("\"rows\":3") && config.contains("\"cols\":3"),
        "{config}"
    );
    // Without --requant-lanes: one unit per column, and the configuration
    // (the banner) does not name it.
    assert!(!config.contains("requant_lanes"), "{config}");
    assert!(config.contains("\"dsp_limit\":2"), "{config}");
    // --dsp-cell ice40 reaches the engine's array (two PEs per SB_MAC16: 4
    // blocks) and its requantization (two blocks per unit, one unit per column: 8).
    let v = ok(&with(&[
        "--rows",
        "2",
        "--cols",
        "4",
        "--dsp-cell",
        "ice40",
    ]));
    let config = v.lines().nth(1).unwrap_or_default();
    assert!(config.contains("\"dsp_cell\":\"ice40\""), "{config}");
    assert_eq!(v.matches("SB_MAC16 #(").count(), 4 + 2 * 4);
}

/// The "done when" command line: Verilog on stdout, the programming
/// model in the manifest, equal to the one `contracts::engine` builds.
#[test]
fn manifest_carries_the_programming_model() {
    for mem_bits in [32u32, 64, 128] {
        let dir = scratch(&format!("engine-manifest-{mem_bits}"));
        let j = dir.join("engine.json");
        let js = j.to_string_lossy().into_owned();
        let bits = mem_bits.to_string();
        let v = ok(&with(&[
            "--rows",
            "8",
            "--cols",
            "8",
            "--mem-bits",
            &bits,
            "--manifest",
            &js,
        ]));
        assert!(v.contains("module engine ("));
        let text = std::fs::read_to_string(&j).unwrap_or_else(|e| panic!("{js}: {e}"));
        let pm = ProgrammingModel::from_manifest_json(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pm, ProgrammingModel::new(mem_bits), "mem_bits {mem_bits}");
        // Independently of contracts: the top-level keys and values.
        let m: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m["block"], "engine");
        assert_eq!(m["mem_bits"], mem_bits);
        assert_eq!(m["limits"]["align"], mem_bits / 8);
        assert_eq!(m["limits"]["addr_bits"], 32);
        assert_eq!(m["descriptor"]["bytes"], 64);
        assert_eq!(m["channel_record"]["bytes"], 8);
        for key in ["registers", "errors"] {
            assert!(!m[key].is_null(), "manifest lacks `{key}`");
        }
        assert_eq!(m["config"]["rows"], 8);
        assert_eq!(m["config"]["mem_bits"], mem_bits);
        // Every manifest port is declared in the Verilog with its width.
        let ports = m["ports"].as_array().cloned().unwrap_or_default();
        assert!(ports.len() >= 19, "{} ports", ports.len());
        for p in &ports {
            let name = p["name"].as_str().unwrap_or_default();
            let w = p["width"].as_u64().unwrap_or(0) as u32;
            let dir = p["dir"].as_str().unwrap_or_default();
            assert!(
                has_port(&v, dir, name, w),
                "manifest port {dir} {name} [{w}] not in the Verilog"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// `--addr-bits`: the manifest's limit, the configuration record, and every
/// address register that wide (the port stays 32 bits).
#[test]
fn addr_bits_narrows_the_manifest_and_the_registers() {
    let dir = scratch("engine-addr-bits");
    let j = dir.join("engine.json");
    let js = j.to_string_lossy().into_owned();
    let v = ok(&with(&[
        "--rows",
        "2",
        "--addr-bits",
        "17",
        "--manifest",
        &js,
    ]));
    let text = std::fs::read_to_string(&j).unwrap_or_else(|e| panic!("{js}: {e}"));
    let pm = ProgrammingModel::from_manifest_json(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pm, ProgrammingModel::in_space(64, 17));
    let m: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m["limits"]["addr_bits"], 17);
    assert_eq!(m["config"]["addr_bits"], 17);
    assert!(
        has_port(&v, "output", "mem_req_addr", 32),
        "the port is 32 bits"
    );
    for reg in [
        "oaddr_reg",
        "b_addr_reg",
        "d_addr_reg",
        "w_rel_reg",
        "mreq_addr_reg",
    ] {
        assert!(
            v.lines()
                .any(|l| l.starts_with("reg  [16:0] ") && l.contains(&format!(" {reg};"))),
            "{reg} is not 17 bits"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn same_config_same_bytes() {
    let args = with(&["--rows", "2", "--cols", "3", "--mem-bits", "32"]);
    let (a, b) = (ok(&args), ok(&args));
    assert_eq!(a, b, "two generations differ");
    assert!(a.lines().next().unwrap_or_default().contains(hdl_version()));
    assert_ne!(
        a,
        ok(&with(&["--rows", "3", "--cols", "2", "--mem-bits", "32"]))
    );
    // The manifest too.
    let dir = scratch("engine-determinism");
    let js: Vec<String> = (0..2)
        .map(|i| {
            dir.join(format!("m{i}.json"))
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for j in &js {
        let mut a = args.clone();
        a.extend(["--manifest", j.as_str()]);
        ok(&a);
    }
    let read = |j: &String| std::fs::read(j).unwrap_or_else(|e| panic!("{j}: {e}"));
    assert_eq!(read(&js[0]), read(&js[1]), "two manifests differ");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The generator version, as `gen --version` prints it.
fn hdl_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[test]
fn bad_values_exit_2_with_one_line() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            with(&["--mem-bits", "48"]),
            "mem_bits must be one of 32, 64, 128, got 48",
        ),
        (
            with(&["--mem-bits", "256"]),
            "mem_bits must be one of 32, 64, 128, got 256",
        ),
        (
            with(&["--mem-bits", "-32"]),
            "mem_bits must be one of 32, 64, 128, got -32",
        ),
        (
            with(&["--mem-bits", "x"]),
            "mem_bits must be one of 32, 64, 128, got `x`",
        ),
        (
            with(&["--addr-bits", "11"]),
            "addr_bits must be in 12..=32, got 11",
        ),
        (
            with(&["--addr-bits", "64"]),
            "addr_bits must be in 12..=32, got 64",
        ),
        (
            with(&["--max-inflight", "3"]),
            "max_inflight must be a power of two in 4..=256, got 3",
        ),
        (
            with(&["--max-inflight", "512"]),
            "max_inflight must be a power of two in 4..=256, got 512",
        ),
        (
            with(&["--wbuf-rows", "65537"]),
            "wbuf_rows must be a power of two in 2..=65536 (two banks of it are built), got 65537",
        ),
        (
            with(&["--wbuf-rows", "100"]),
            "wbuf_rows must be a power of two in 2..=65536 (two banks of it are built), got 100",
        ),
        (
            with(&["--rows", "6", "--requant-lanes", "4"]),
            "requant_lanes must divide cols (6): one of 1, 2, 3, 6, got 4",
        ),
        (
            with(&["--requant-lanes", "0"]),
            "requant_lanes must divide cols (8): one of 1, 2, 4, 8, got 0",
        ),
        (
            with(&["--ibuf-bytes", "12"]),
            "ibuf_bytes must be a multiple of 8 (the chunk)",
        ),
        (
            // 16 rows make the chunk 16 bytes.
            with(&["--rows", "16", "--ibuf-bytes", "24"]),
            "ibuf_bytes must be a multiple of 16 (the chunk)",
        ),
        (
            vec!["--rows", "4", "--wbuf-rows", "64"],
            "--wbuf-rows applies to --top engine, not --top array",
        ),
        (with(&["--rows", "0"]), "rows must be in 1..=64, got 0"),
        (with(&["--rows", "65"]), "rows must be in 1..=64, got 65"),
        (
            with(&["--rows", "4", "--cols", "300"]),
            "cols must be in 1..=64, got 300",
        ),
        (
            with(&["--pipeline", "5"]),
            "pipeline must be in 0..=4, got 5",
        ),
        (
            with(&["--pipeline", "2", "--dsp-cell", "ecp5"]),
            "dsp_cell ecp5 needs pipeline >= 3",
        ),
        (
            with(&["--mul", "lut", "--dsps", "2"]),
            "--dsps applies to --mul auto only",
        ),
        (
            with(&["--name", "module"]),
            "name must be a Verilog identifier",
        ),
        (
            with(&["--channels", "8"]),
            "--channels applies to --top maxpool, not --top engine",
        ),
        (
            with(&["--window", "2"]),
            "--window applies to --top maxpool, not --top engine",
        ),
        (
            vec!["--rows", "4", "--mem-bits", "64"],
            "--mem-bits applies to --top engine, not --top array",
        ),
        (
            vec!["--top", "array", "--max-inflight", "8"],
            "--max-inflight applies to --top engine, not --top array",
        ),
        (
            vec![
                "--top",
                "maxpool",
                "--channels",
                "8",
                "--width",
                "8",
                "--mem-bits",
                "32",
            ],
            "--mem-bits applies to --top engine, not --top maxpool",
        ),
        (
            vec!["--top", "engines"],
            "top must be one of: array, maxpool, engine, engine-board, got `engines`",
        ),
    ];
    for (args, want) in &cases {
        assert_usage_error(args, want);
    }
}

/// A refused command writes neither file: existing outputs stay as they were.
#[test]
fn bad_values_leave_outputs_untouched() {
    let dir = scratch("engine-untouched");
    let v = dir.join("engine.v");
    let j = dir.join("engine.json");
    let (vs, js) = (
        v.to_string_lossy().into_owned(),
        j.to_string_lossy().into_owned(),
    );
    ok(&with(&["--out", &vs, "--manifest", &js]));
    let before = (std::fs::read(&v).ok(), std::fs::read(&j).ok());
    assert!(before.0.is_some() && before.1.is_some());
    assert_usage_error(
        &with(&["--mem-bits", "96", "--out", &vs, "--manifest", &js]),
        "mem_bits must be one of 32, 64, 128, got 96",
    );
    assert_eq!((std::fs::read(&v).ok(), std::fs::read(&j).ok()), before);
    let fresh = dir.join("fresh.v");
    let fs = fresh.to_string_lossy().into_owned();
    assert_usage_error(
        &with(&["--channels", "2", "--out", &fs]),
        "--channels applies to --top maxpool",
    );
    assert!(!fresh.exists(), "no partial output");
    let _ = std::fs::remove_dir_all(&dir);
}
