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

/// `requant_lanes = cols` is the default engine (one unit per column): the
/// same Verilog but for the banner's configuration line. Fewer lanes build
/// fewer requant units (`rq_out{l}` per lane) and a column-group counter.
#[test]
fn requant_lanes_build_one_unit_per_lane() {
    let units = |v: &str| {
        (0..64)
            .filter(|l| v.contains(&format!("wire [7:0] rq_out{l};")))
            .count()
    };
    for (r, c, mbits) in [(2, 3, 64), (4, 4, 32)] {
        let base = generate(&cfg(r, c, mbits)).expect("generates").verilog;
        let full = generate(&EngineConfig {
            requant_lanes: Some(c),
            ..cfg(r, c, mbits)
        })
        .expect("generates")
        .verilog;
        let body = |v: &str| -> Vec<String> {
            v.lines()
                .filter(|l| !l.contains("Configuration: "))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(body(&base), body(&full), "{r}x{c}: lanes = cols");
        assert!(!base.contains("ogrp_reg"), "{r}x{c}");
        assert_eq!(units(&base), c as usize, "{r}x{c}: one unit per column");
        for lanes in (1..c).filter(|l| c % l == 0) {
            let v = generate(&EngineConfig {
                requant_lanes: Some(lanes),
                ..cfg(r, c, mbits)
            })
            .expect("generates")
            .verilog;
            assert!(v.contains("ogrp_reg"), "{r}x{c} lanes {lanes}");
            assert_eq!(units(&v), lanes as usize, "{r}x{c} lanes {lanes}");
        }
    }
}
