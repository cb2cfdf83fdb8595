//! The engine elaborates, passes the IR check and prints, for the corners of its
//! configuration space; the manifest carries the programming model.

use hdl::engine::{generate, EngineConfig};

fn cfg(rows: u32, cols: u32, mem_bits: u32) -> EngineConfig {
    EngineConfig {
        rows,
        cols,
        mem_bits,
        ..EngineConfig::default()
    }
}

#[test]
fn engine_generates_for_corner_configs() {
    for (r, c, mbits) in [(1, 1, 32), (2, 3, 64), (4, 4, 128), (8, 8, 64)] {
        let g = generate(&cfg(r, c, mbits)).unwrap_or_else(|e| panic!("{r}x{c}/{mbits}: {e}"));
        assert!(g.verilog.contains("module engine"));
        let pm = contracts::engine::ProgrammingModel::from_manifest_json(&g.manifest.to_json())
            .expect("manifest has the programming model");
        assert_eq!(pm, contracts::engine::ProgrammingModel::new(mbits));
    }
}

#[test]
fn engine_verilog_is_deterministic() {
    let a = generate(&cfg(2, 3, 64)).expect("generates");
    let b = generate(&cfg(2, 3, 64)).expect("generates");
    assert_eq!(a.verilog, b.verilog);
}

/// `ENGINE_DUMP=dir cargo test -p hdl --test engine_gen dump -- --ignored`
/// writes a few configurations' Verilog for a look with other tools.
#[test]
#[ignore]
fn dump() {
    let dir = std::env::var("ENGINE_DUMP").unwrap_or_else(|_| "/tmp".into());
    for (r, c, mbits) in [(1, 1, 32), (2, 3, 64), (4, 4, 128), (8, 8, 64)] {
        let g = generate(&cfg(r, c, mbits)).expect("generates");
        std::fs::write(format!("{dir}/engine_{r}x{c}_{mbits}.v"), g.verilog).expect("writes");
    }
}
