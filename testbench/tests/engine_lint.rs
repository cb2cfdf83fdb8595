//! The generated engine is lint-clean under `verilator --lint-only -Wall`,
//! passes yosys' `proc; check -assert` with no latch, synthesizes for iCE40 and
//! ECP5, and its on-chip memories become block RAM there; generation is
//! deterministic and the ports match the manifest and the contract.
//!
//! Every check runs the real tool (`testbench::tools`, through `toolrun`): a
//! missing tool fails the test with the package to install, never passes.

use std::path::{Path, PathBuf};
use std::process::Command;

use hdl::array::{DspCell, MulStyle};
use hdl::engine::{Control, EngineConfig};
use testbench::tools::{self, verilator_lint, yosys_check};

fn engine(rows: u32, cols: u32, mem_bits: u32, pipeline: u32) -> EngineConfig {
    EngineConfig {
        rows,
        cols,
        mem_bits,
        pipeline,
        ..EngineConfig::default()
    }
}

/// The spread: 1x1, 2x3 with a 32-bit port, the default 8x8, 4x4 with a
/// 128-bit port and a pipelined array; 4x4 with two requant units shared
/// by the columns; 2x2 with a 13-bit address space (an 8 KiB board
/// memory: every address register narrowed); and 2x3 with the output
/// path's second stage and one requant lane; 3x2 with the staging ring in
/// block RAM; the area-first engine (`control = micro`) at 2x2 with a 31-bit
/// space and at 3x2 with a 64-bit port, a 17-bit space, one requant lane and
/// the output path's second stage.
fn spread() -> Vec<EngineConfig> {
    vec![
        engine(1, 1, 64, 0),
        engine(2, 3, 32, 0),
        engine(8, 8, 64, 0),
        engine(4, 4, 128, 2),
        EngineConfig {
            requant_lanes: Some(2),
            ..engine(4, 4, 32, 1)
        },
        EngineConfig {
            addr_bits: 13,
            ..engine(2, 2, 32, 0)
        },
        EngineConfig {
            out_pipe: true,
            requant_lanes: Some(1),
            ..engine(2, 3, 32, 0)
        },
        EngineConfig {
            staging_ram: true,
            ..engine(3, 2, 64, 0)
        },
        EngineConfig {
            control: Control::Micro,
            addr_bits: 31,
            ..engine(2, 2, 32, 0)
        },
        EngineConfig {
            control: Control::Micro,
            addr_bits: 17,
            requant_lanes: Some(1),
            out_pipe: true,
            ..engine(3, 2, 64, 0)
        },
    ]
}

fn label(c: &EngineConfig) -> String {
    format!(
        "engine-{}x{}-m{}-p{}-{:?}-l{}-a{}{}{}{}",
        c.rows,
        c.cols,
        c.mem_bits,
        c.pipeline,
        c.mul,
        c.lanes(),
        c.addr_bits,
        if c.out_pipe { "-op" } else { "" },
        if c.staging_ram { "-sr" } else { "" },
        if c.control == Control::Micro {
            "-micro"
        } else {
            ""
        }
    )
}

fn generate(c: &EngineConfig) -> hdl::Generated {
    hdl::engine::generate(c).unwrap_or_else(|e| panic!("{}: {e}", label(c)))
}

#[test]
fn verilator_lint_clean() {
    for c in spread() {
        let g = generate(&c);
        verilator_lint(&label(&c), &c.name, &g.verilog)
            .unwrap_or_else(|e| panic!("{}: {e}", label(&c)));
    }
}

#[test]
fn yosys_check_no_latch_no_multiple_drivers() {
    for c in spread() {
        let g = generate(&c);
        yosys_check(&label(&c), &c.name, &g.verilog)
            .unwrap_or_else(|e| panic!("{}: {e}", label(&c)));
    }
}

/// With `--dsp-cell ice40` the engine instantiates `SB_MAC16` blocks of its
/// own (two per requantization lane, 16x16 mode) beside the array's (one per
/// pair of PEs): lint-clean with the block's model, latch-free with stubs, and
/// the design declares the primitive once.
#[test]
fn ice40_dsp_variant_is_clean() {
    let c = EngineConfig {
        dsp_cell: DspCell::Ice40,
        requant_lanes: Some(2),
        ..engine(2, 4, 32, 0)
    };
    let label = format!("{}-ice40", label(&c));
    let g = generate(&c);
    // 2x4 array: 4 blocks of two PEs; 2 lanes x 2 blocks.
    assert_eq!(g.verilog.matches("SB_MAC16 #(").count(), 4 + 4, "{label}");
    assert_eq!(g.design.externs.len(), 1, "{label}: {:?}", g.design.externs);
    testbench::models::lint_with_models(&label, &g.design, &g.verilog)
        .unwrap_or_else(|e| panic!("{label}: {e}"));
}

/// A renamed engine with LUT multipliers: every sub-module carries the new
/// prefix, so two engines can sit in one design.
#[test]
fn renamed_lut_variant_is_clean() {
    let c = EngineConfig {
        name: "conv_engine".into(),
        mul: MulStyle::Lut,
        ..engine(2, 2, 32, 1)
    };
    let g = generate(&c);
    let l = format!("{}-renamed", label(&c));
    verilator_lint(&l, "conv_engine", &g.verilog).unwrap_or_else(|e| panic!("{l}: {e}"));
    yosys_check(&l, "conv_engine", &g.verilog).unwrap_or_else(|e| panic!("{l}: {e}"));
    for line in g.verilog.lines().filter(|l| l.starts_with("module ")) {
        assert!(
            line.starts_with("module conv_engine"),
            "module outside the prefix: {line}"
        );
    }
}

/// The ECP5 DSP variant (MULT18X18D primitives) lints clean with the blocks'
/// simulation model and is latch-free against lint-only stubs.
#[test]
fn ecp5_dsp_variant_is_clean() {
    let c = EngineConfig {
        dsp_cell: DspCell::Ecp5,
        ..engine(2, 2, 64, hdl::array::config::MAX_PIPELINE)
    };
    let g = generate(&c);
    let l = format!("{}-ecp5", label(&c));
    assert!(
        g.verilog.contains("MULT18X18D #("),
        "the ECP5 variant instantiates MULT18X18D"
    );
    testbench::models::lint_with_models(&l, &g.design, &g.verilog)
        .unwrap_or_else(|e| panic!("{l}: {e}"));
}

#[test]
fn deterministic_and_self_describing() {
    let c = engine(2, 3, 32, 0);
    let (a, b) = (generate(&c), generate(&c));
    assert_eq!(a.verilog, b.verilog, "two generations differ");
    assert_eq!(a.manifest.to_json(), b.manifest.to_json());
    let head: Vec<&str> = a.verilog.lines().take(2).collect();
    assert!(head[0].contains(hdl::VERSION), "{head:?}");
    for want in ["\"rows\":2", "\"cols\":3", "\"mem_bits\":32"] {
        assert!(head[1].contains(want), "banner lacks {want}: {head:?}");
    }
    assert!(a.verilog.contains("`default_nettype none"));
    assert_ne!(a.verilog, generate(&engine(3, 2, 32, 0)).verilog);
    assert_ne!(a.verilog, generate(&engine(2, 3, 64, 0)).verilog);
    let m = EngineConfig {
        control: Control::Micro,
        addr_bits: 20,
        ..c
    };
    let (a, b) = (generate(&m), generate(&m));
    assert_eq!(
        a.verilog, b.verilog,
        "two generations of the micro engine differ"
    );
    assert!(
        a.verilog
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains("\"control\":\"micro\"")),
        "the banner names the control"
    );
}

/// The ports are exactly the contract's list (docs/engine-contract.md), with
/// widths computed here from the configuration, and the manifest agrees.
#[test]
fn ports_are_the_contract() {
    for c in spread() {
        let g = generate(&c);
        let mb = c.mem_bits;
        let want: Vec<(&str, &str, u32)> = vec![
            ("clk", "input", 1),
            ("rst", "input", 1),
            ("csr_valid", "input", 1),
            ("csr_ready", "output", 1),
            ("csr_write", "input", 1),
            ("csr_addr", "input", contracts::engine::CSR_ADDR_BITS),
            ("csr_wdata", "input", 32),
            ("csr_rvalid", "output", 1),
            ("csr_rdata", "output", 32),
            ("irq", "output", 1),
            ("mem_req_valid", "output", 1),
            ("mem_req_ready", "input", 1),
            ("mem_req_write", "output", 1),
            ("mem_req_addr", "output", 32),
            ("mem_req_wdata", "output", mb),
            ("mem_req_wstrb", "output", mb / 8),
            ("mem_resp_valid", "input", 1),
            ("mem_resp_ready", "output", 1),
            ("mem_resp_rdata", "input", mb),
        ];
        let json: serde_json::Value =
            serde_json::from_str(&g.manifest.to_json()).unwrap_or_else(|e| panic!("{e}"));
        let mut got: Vec<(String, String, u32)> = json["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p["name"].as_str().unwrap_or_default().to_string(),
                    p["dir"].as_str().unwrap_or_default().to_string(),
                    p["width"].as_u64().unwrap_or(0) as u32,
                )
            })
            .collect();
        got.sort();
        let mut want: Vec<(String, String, u32)> = want
            .into_iter()
            .map(|(n, d, w)| (n.to_string(), d.to_string(), w))
            .collect();
        want.sort();
        assert_eq!(got, want, "{}: manifest ports", label(&c));
        for (name, dir, w) in &want {
            let decl = if *w == 1 {
                format!("{dir}  wire {name}")
            } else {
                format!("{dir}  wire [{}:0] {name}", w - 1)
            };
            let decl = decl.replace("output  wire", "output wire");
            assert!(
                g.verilog.contains(&decl),
                "{}: Verilog lacks `{decl}`",
                label(&c)
            );
        }
    }
}

/// One on-chip memory as yosys infers it (after `flatten; proc; memory -nomap`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Memory {
    name: String,
    words: u64,
    width: u64,
}

/// A yosys JSON parameter (a binary string, or a number) as an integer.
fn param(v: &serde_json::Value) -> u64 {
    match v {
        serde_json::Value::String(s) => u64::from_str_radix(s, 2).unwrap_or(0),
        other => other.as_u64().unwrap_or(0),
    }
}

fn scratch(name: &str) -> PathBuf {
    let root = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = root.join("tool-logs").join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

fn yosys(dir: &Path, script: &str, log: &str) -> String {
    let mut cmd = Command::new("yosys");
    cmd.current_dir(dir).arg("-p").arg(script);
    tools::run_logged(cmd, "yosys", "yosys", &dir.join(log)).unwrap_or_else(|e| panic!("{e}"))
}

/// The memories of the flattened design, as yosys infers them before mapping.
fn memories(dir: &Path, top: &str) -> Vec<Memory> {
    yosys(
        dir,
        &format!(
            "read_verilog engine.v; hierarchy -check -top {top}; proc; flatten; opt_clean; \
             memory -nomap; opt_clean; write_json memories.json"
        ),
        "memories.log",
    );
    let text = std::fs::read_to_string(dir.join("memories.json")).unwrap_or_else(|e| panic!("{e}"));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let cells = json["modules"][top]["cells"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut mems: Vec<Memory> = cells
        .values()
        .filter(|c| c["type"] == "$mem_v2")
        .map(|c| Memory {
            name: c["parameters"]["MEMID"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            words: param(&c["parameters"]["SIZE"]),
            width: param(&c["parameters"]["WIDTH"]),
        })
        .collect();
    mems.sort_by(|a, b| a.name.cmp(&b.name));
    mems
}

/// The last `stat` report in a yosys log.
fn last_stat(log: &str) -> &str {
    log.rfind("Printing statistics").map_or(log, |i| &log[i..])
}

/// Cells of `kind` in the last (top-level) summary of a `stat` report.
fn cells(report: &str, kind: &str) -> u64 {
    report
        .lines()
        .rev()
        .find_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some(kind)).then(|| it.next().and_then(|n| n.parse().ok()))?
        })
        .unwrap_or(0)
}

/// Flip-flops in a `stat` report (iCE40 `SB_DFF*`, ECP5 `TRELLIS_FF`).
fn flops(report: &str) -> u64 {
    let mut seen = std::collections::BTreeMap::new();
    for l in report.lines() {
        let mut it = l.split_whitespace();
        if let (Some(name), Some(n)) = (it.next(), it.next().and_then(|n| n.parse::<u64>().ok())) {
            if name.starts_with("SB_DFF") || name == "TRELLIS_FF" {
                // The last summary wins (the top-level one).
                seen.insert(name.to_string(), n);
            }
        }
    }
    seen.values().sum()
}

/// Write `c`'s Verilog to a fresh log folder named after it.
fn staged(c: &EngineConfig, what: &str) -> PathBuf {
    let dir = scratch(&format!("{}-{what}", label(c)));
    std::fs::write(dir.join("engine.v"), generate(c).verilog).unwrap_or_else(|e| panic!("{e}"));
    dir
}

/// Block RAM shapes (words, bits per word) a memory can be cut into.
const ICE40_MODES: [(u64, u64); 4] = [(256, 16), (512, 8), (1024, 4), (2048, 2)];
const ECP5_MODES: [(u64, u64); 6] = [
    (512, 36),
    (1024, 18),
    (2048, 9),
    (4096, 4),
    (8192, 2),
    (16384, 1),
];

/// Fewest blocks of one of `modes` that hold `m`.
fn blocks(m: &Memory, modes: &[(u64, u64)]) -> u64 {
    modes
        .iter()
        .map(|&(words, bits)| m.words.div_ceil(words) * m.width.div_ceil(bits))
        .min()
        .unwrap_or(0)
}

/// The memories yosys infers are the engine's buffers and two of its FIFOs,
/// and nothing else: the input buffer (`ibuf_bytes` bytes in byte lanes), the
/// weight buffer (two banks of `wbuf_rows` rows of COLS bytes, in byte lanes),
/// the read-tag FIFO, `max_inflight` deep, from 32 entries on, and the write-job
/// FIFO, a tile's ROWS output pixels, from 8 rows on (below those sizes the
/// FIFOs are registers, by design: a few entries do not pay for a block RAM).
#[test]
fn inferred_memories_are_the_buffers_and_two_fifos() {
    for c in [
        engine(8, 8, 64, 0),
        EngineConfig {
            max_inflight: 32,
            ibuf_bytes: 4096,
            ..engine(4, 4, 128, 2)
        },
        EngineConfig {
            max_inflight: 16,
            wbuf_rows: 64,
            ..engine(2, 3, 32, 0)
        },
    ] {
        let l = label(&c);
        let dir = staged(&c, "memories");
        let mems = memories(&dir, &c.name);
        let of = |part: &str| -> Vec<&Memory> {
            mems.iter()
                .filter(|m| m.name.contains(&format!("u_{part}.")))
                .collect()
        };
        let bits = |ms: &[&Memory]| ms.iter().map(|m| m.words * m.width).sum::<u64>();
        let (ibuf, wbuf) = (of("ibuf"), of("wbuf"));
        let (tag, wjob) = (of("tag_fifo"), of("wjob_fifo"));
        assert_eq!(
            ibuf.len() + wbuf.len() + tag.len() + wjob.len(),
            mems.len(),
            "{l}: a memory that is none of the buffers: {mems:?}"
        );
        assert_eq!(bits(&ibuf), 8 * u64::from(c.ibuf_bytes), "{l}: {ibuf:?}");
        assert!(
            ibuf.iter().all(|m| m.width == 8),
            "{l}: byte lanes {ibuf:?}"
        );
        assert_eq!(wbuf.len() as u32, c.cols, "{l}: one lane per column");
        for m in &wbuf {
            assert_eq!((m.words, m.width), (2 * u64::from(c.wbuf_rows), 8), "{l}");
        }
        if c.max_inflight >= 32 {
            assert_eq!(tag.len(), 1, "{l}: {mems:?}");
            assert_eq!(tag[0].words, u64::from(c.max_inflight), "{l}: tag depth");
        } else {
            assert!(
                tag.is_empty(),
                "{l}: a {}-entry tag FIFO in RAM",
                c.max_inflight
            );
        }
        if c.rows >= 8 {
            assert_eq!(wjob.len(), 1, "{l}: {mems:?}");
            assert!(wjob[0].words >= u64::from(c.rows), "{l}: a tile's pixels");
        } else {
            assert!(
                wjob.is_empty(),
                "{l}: a {}-row write-job FIFO in RAM",
                c.rows
            );
        }
    }
}

/// With `fifo_ram` (`gen --fifo-ram`) every FIFO of depth 4 or more is a
/// memory too (request, tag, tile-info, and the write-job FIFO from 4 rows),
/// a word per FIFO entry at the FIFO's width; the depth-2 write FIFO (and the
/// 2-row write-job FIFO) stay registers.
#[test]
fn fifo_ram_puts_every_deep_fifo_in_memory() {
    for c in [
        EngineConfig {
            max_inflight: 4,
            ibuf_bytes: 1024,
            wbuf_rows: 256,
            fifo_ram: true,
            ..engine(2, 2, 32, 0)
        },
        EngineConfig {
            max_inflight: 8,
            wbuf_rows: 64,
            fifo_ram: true,
            ..engine(4, 3, 64, 0)
        },
    ] {
        let l = format!("{}-fifo-ram", label(&c));
        let dir = staged(&c, "fifo-ram");
        let mems = memories(&dir, &c.name);
        let of = |part: &str| -> Vec<&Memory> {
            mems.iter()
                .filter(|m| m.name.contains(&format!("u_{part}.")))
                .collect()
        };
        let want = [
            ("rq_fifo", 4, hdl::engine::top::rq_bits(&c)),
            (
                "tag_fifo",
                c.max_inflight,
                hdl::engine::top::tag_layout(&c).bits(),
            ),
            ("info_fifo", 4, hdl::engine::top::info_bits(&c)),
        ];
        for (part, words, width) in want {
            let got: Vec<(u64, u64)> = of(part).iter().map(|m| (m.words, m.width)).collect();
            assert_eq!(
                got,
                [(u64::from(words), u64::from(width))],
                "{l}: {part} in {mems:?}"
            );
        }
        assert_eq!(
            of("wjob_fifo").len(),
            usize::from(c.rows >= 4),
            "{l}: the write-job FIFO in memory from 4 rows: {mems:?}"
        );
        assert!(
            of("wr_fifo").is_empty(),
            "{l}: the 2-deep write FIFO: {mems:?}"
        );
    }
}

/// Ceiling on the iCE40 LUT4 count of the small engine below (2x2, 32-bit
/// port, LUT multipliers in the array): `docs/engine.md` "Area" has the
/// figure it guards (about 10% headroom), so a change that brings back a full
/// multiplier in the control path fails here.
const ICE40_SMALL_LUT4_CEILING: u64 = 15_500;

/// A small engine (small buffers) synthesizes for iCE40 and ECP5, and every
/// memory becomes block RAM (SB_RAM40_4K, DP16KD), each in as few blocks as
/// the block shapes allow. No memory is left as LUT RAM, flip-flops or an
/// unmapped `$mem`. Its iCE40 LUT4 count stays under
/// [`ICE40_SMALL_LUT4_CEILING`].
#[test]
fn small_engine_synthesizes_with_block_ram() {
    let c = EngineConfig {
        ibuf_bytes: 512,
        wbuf_rows: 256,
        ..engine(2, 2, 32, 0)
    };
    let dir = staged(&c, "synth");
    let mems = memories(&dir, &c.name);
    assert!(mems.len() >= 3, "buffers and tag FIFO: {mems:?}");
    let need = |modes: &[(u64, u64)]| mems.iter().map(|m| blocks(m, modes)).sum::<u64>();
    let runs = [
        ("synth_ice40", "SB_RAM40_4K", need(&ICE40_MODES), None),
        (
            "synth_ecp5",
            "DP16KD",
            need(&ECP5_MODES),
            Some("TRELLIS_DPR16X4"),
        ),
    ];
    // The two syntheses are independent: run them side by side.
    let logs: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = runs
            .iter()
            .map(|(synth, ..)| {
                let dir = &dir;
                let top = &c.name;
                s.spawn(move || {
                    yosys(
                        dir,
                        &format!("read_verilog engine.v; {synth} -top {top}; stat"),
                        &format!("{synth}.log"),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| panic!("a synthesis panicked")))
            .collect()
    });
    for ((synth, ram, want, lutram), log) in runs.iter().zip(&logs) {
        let report = last_stat(log);
        let log_path = dir.join(format!("{synth}.log"));
        assert_eq!(
            cells(report, ram),
            *want,
            "{synth}: {ram} cells for {mems:?}; log {}",
            log_path.display()
        );
        if let Some(l) = lutram {
            assert_eq!(cells(report, l), 0, "{synth}: a memory in LUT RAM");
        }
        assert!(
            !report.contains("$mem"),
            "{synth}: an unmapped memory; log {}",
            log_path.display()
        );
        if *synth == "synth_ice40" {
            let luts = cells(report, "SB_LUT4");
            assert!(
                luts > 0 && luts <= ICE40_SMALL_LUT4_CEILING,
                "{synth}: {luts} SB_LUT4, ceiling {ICE40_SMALL_LUT4_CEILING}; log {}",
                log_path.display()
            );
        }
        eprintln!(
            "{synth}: {} {ram}, {} flip-flops, {} SB_LUT4 / {} LUT4; log {}",
            cells(report, ram),
            flops(report),
            cells(report, "SB_LUT4"),
            cells(report, "LUT4"),
            log_path.display()
        );
    }
}
