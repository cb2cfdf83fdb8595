//! Each part of `hdl::parts` under Verilator, bit-exact against a plain Rust
//! model of its cycle behaviour under random valid/ready stalls (seeded, `$TB_SEED`
//! overrides), full and empty edges included; plus Verilator `-Wall` lint, the
//! yosys latch check, and block RAM inference (`synth_ice40`) where the part
//! promises it.
//!
//! The drivers here are deliberately small: set the inputs with the clock low,
//! read what the part shows (combinational outputs settle lazily), decide what
//! moves at the coming edge, step the model, tick, compare.

use std::collections::VecDeque;
use std::process::Command;

use hdl::ir::{Design, Module};
use hdl::parts::counter::{self, CounterConfig};
use hdl::parts::delay::{self, DelayConfig};
use hdl::parts::fifo::{self, FifoConfig, Storage};
use hdl::parts::ram::{self, RamConfig};
use hdl::parts::rom::{self, RomConfig};
use hdl::parts::skid::{self, SkidConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use testbench::dut::Dut;
use testbench::tools::{run_logged, verilator_lint, yosys_check};

fn rng(base: u64) -> StdRng {
    let seed = std::env::var("TB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(base);
    StdRng::seed_from_u64(seed)
}

fn verilog(m: &Module) -> String {
    let mut d = Design::new(m.name.clone());
    d.include(m.clone()).unwrap_or_else(|e| panic!("{e}"));
    hdl::verilog::print(&d).unwrap_or_else(|e| panic!("{}: {e}", m.name))
}

fn mask(width: u32) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1 << width) - 1
    }
}

/// A part under Verilator, ports by name.
fn dut(part: &Module) -> Dut {
    let mut d = Design::new(part.name.clone());
    d.include(part.clone()).unwrap_or_else(|e| panic!("{e}"));
    Dut::new(&d).unwrap_or_else(|e| panic!("{e}"))
}

/// Lint, latch check, and the same text twice.
fn tool_checks(part: &Module, label: &str) {
    let v = verilog(part);
    assert_eq!(v, verilog(part), "{label}: printing is not deterministic");
    verilator_lint(label, &part.name, &v).unwrap_or_else(|e| panic!("{label}: {e}"));
    yosys_check(label, &part.name, &v).unwrap_or_else(|e| panic!("{label}: {e}"));
}

/// `synth_ice40` on the part; the number of `SB_RAM40_4K` cells.
fn ice40_brams(part: &Module, label: &str) -> u64 {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("tool-logs")
        .join(label);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join(format!("{}.v", part.name));
    std::fs::write(&file, verilog(part)).unwrap_or_else(|e| panic!("{e}"));
    let stat = dir.join("stat.txt");
    let mut cmd = Command::new("yosys");
    cmd.arg("-q").arg("-p").arg(format!(
        "read_verilog {}; synth_ice40 -top {}; tee -o {} stat",
        file.display(),
        part.name,
        stat.display()
    ));
    run_logged(cmd, "yosys", "yosys", &dir.join("synth_ice40.log"))
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let text = std::fs::read_to_string(&stat).unwrap_or_else(|e| panic!("{e}"));
    text.lines()
        .filter(|l| l.contains("SB_RAM40_4K"))
        .filter_map(|l| l.split_whitespace().find_map(|w| w.parse::<u64>().ok()))
        .sum()
}

// ---------------------------------------------------------------- skid buffer

/// The skid buffer's cycle behaviour: an output slot and a skid slot.
#[derive(Default)]
struct SkidModel {
    out: Option<u64>,
    skid: Option<u64>,
}

impl SkidModel {
    fn in_ready(&self) -> bool {
        self.skid.is_none()
    }
    fn edge(&mut self, in_valid: bool, data: u64, out_ready: bool) {
        let fire = in_valid && self.in_ready();
        if self.out.is_none() || out_ready {
            self.out = self.skid.take().or(fire.then_some(data));
        } else if fire {
            self.skid = Some(data);
        }
    }
}

fn skid_part() -> Module {
    skid::build(&SkidConfig {
        name: "skid_w13".into(),
        width: 13,
        ready_copy: true,
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn skid_matches_model_under_random_stalls() {
    let part = skid_part();
    let mut dut = dut(&part);
    let mut r = rng(1);
    dut.reset();
    let mut model = SkidModel::default();
    let (mut sent, mut got) = (Vec::new(), Vec::new());
    // Phases: heavy stalls on each side in turn, then none (full throughput).
    for (cycle, (p_valid, p_ready)) in [(0.9, 0.2), (0.2, 0.9), (0.5, 0.5), (1.0, 1.0)]
        .into_iter()
        .flat_map(|p| std::iter::repeat_n(p, 3000))
        .enumerate()
    {
        let in_valid = r.gen_bool(p_valid);
        let data = r.gen::<u64>() & mask(13);
        let out_ready = r.gen_bool(p_ready);
        dut.set("in_valid", in_valid as u64);
        dut.set("in_data", data);
        dut.set("out_ready", out_ready as u64);
        let ready = dut.get("in_ready") == 1;
        assert_eq!(
            ready,
            model.in_ready(),
            "cycle {cycle}: in_ready; {}",
            dut.note()
        );
        assert_eq!(
            dut.get("in_ready_copy"),
            ready as u64,
            "cycle {cycle}: ready copy"
        );
        assert_eq!(
            dut.get("out_valid") == 1,
            model.out.is_some(),
            "cycle {cycle}: out_valid; {}",
            dut.note()
        );
        if let Some(v) = model.out {
            assert_eq!(
                dut.get("out_data"),
                v,
                "cycle {cycle}: out_data; {}",
                dut.note()
            );
            if out_ready {
                got.push(v);
            }
        }
        if in_valid && ready {
            sent.push(data);
        }
        model.edge(in_valid, data, out_ready);
        dut.tick();
    }
    assert_eq!(
        got[..],
        sent[..got.len()],
        "beats lost, duplicated or reordered"
    );
    assert!(got.len() > 5000, "too few beats moved: {}", got.len());
    // Full throughput: in the last phase (no stalls) one beat moves per cycle.
    dut.set("in_valid", 1);
    dut.set("out_ready", 1);
    let mut moved = 0;
    for _ in 0..100 {
        moved += (dut.get("out_valid") == 1) as u32;
        dut.tick();
    }
    assert_eq!(
        moved, 100,
        "a skid buffer without stalls moves one beat per clock"
    );
}

#[test]
fn skid_lint_and_latch_free() {
    tool_checks(&skid_part(), "parts-skid");
}

// ---------------------------------------------------------------------- FIFO

/// The FIFO's cycle behaviour: the stored words, and (block RAM only) the
/// prefetched output register.
struct FifoModel {
    depth: usize,
    bram: bool,
    mem: VecDeque<u64>,
    out: Option<u64>,
}

impl FifoModel {
    fn count(&self) -> usize {
        self.mem.len() + self.out.is_some() as usize
    }
    fn head(&self) -> Option<u64> {
        if self.bram {
            self.out
        } else {
            self.mem.front().copied()
        }
    }
    fn edge(&mut self, in_valid: bool, data: u64, out_ready: bool) {
        let fire = in_valid && self.count() < self.depth;
        if self.bram {
            if self.out.is_none() || out_ready {
                self.out = self.mem.pop_front();
            }
        } else if out_ready && !self.mem.is_empty() {
            self.mem.pop_front();
        }
        if fire {
            self.mem.push_back(data);
        }
    }
}

fn fifo_part(storage: Storage, depth: u32) -> Module {
    fifo::build(&FifoConfig {
        name: format!("fifo_{storage:?}_{depth}").to_lowercase(),
        width: 11,
        depth,
        storage,
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

fn fifo_run(storage: Storage, depth: u32, seed: u64) {
    let part = fifo_part(storage, depth);
    let mut dut = dut(&part);
    let mut r = rng(seed);
    dut.reset();
    let mut model = FifoModel {
        depth: depth as usize,
        bram: storage == Storage::BlockRam,
        mem: VecDeque::new(),
        out: None,
    };
    let (mut saw_full, mut saw_empty) = (0, 0);
    // Phases: fill up (consumer slow), drain (producer slow), balanced, no stalls.
    for (cycle, (p_valid, p_ready)) in [
        (0.9, 0.1),
        (0.1, 0.9),
        (0.6, 0.6),
        (1.0, 1.0),
        (0.95, 0.05),
        (0.05, 0.95),
    ]
    .into_iter()
    .flat_map(|p| std::iter::repeat_n(p, 1500))
    .enumerate()
    {
        let in_valid = r.gen_bool(p_valid);
        let data = r.gen::<u64>() & mask(11);
        let out_ready = r.gen_bool(p_ready);
        dut.set("in_valid", in_valid as u64);
        dut.set("in_data", data);
        dut.set("out_ready", out_ready as u64);
        let n = model.count();
        let at = || {
            format!(
                "{storage:?} depth {depth}, cycle {cycle}, {n} words; {}",
                dut.note()
            )
        };
        assert_eq!(dut.get("count"), n as u64, "count at {}", at());
        assert_eq!(
            dut.get("full") == 1,
            n == depth as usize,
            "full at {}",
            at()
        );
        assert_eq!(dut.get("empty") == 1, n == 0, "empty at {}", at());
        assert_eq!(
            dut.get("in_ready") == 1,
            n < depth as usize,
            "in_ready at {}",
            at()
        );
        let head = model.head();
        assert_eq!(
            dut.get("out_valid") == 1,
            head.is_some(),
            "out_valid at {}",
            at()
        );
        if let Some(v) = head {
            assert_eq!(dut.get("out_data"), v, "out_data at {}", at());
        }
        saw_full += (n == depth as usize) as u32;
        saw_empty += (n == 0) as u32;
        model.edge(in_valid, data, out_ready);
        dut.tick();
    }
    assert!(
        saw_full > 10 && saw_empty > 10,
        "edges not reached: full {saw_full}, empty {saw_empty}"
    );
    // Full throughput through a FIFO holding words.
    dut.set("in_valid", 1);
    dut.set("out_ready", 0);
    for _ in 0..depth {
        dut.tick();
    }
    dut.set("out_ready", 1);
    let mut moved = 0;
    for _ in 0..50 {
        moved += (dut.get("out_valid") == 1 && dut.get("in_ready") == 1) as u32;
        dut.tick();
    }
    assert!(
        moved >= 49,
        "{storage:?}: {moved} of 50 cycles moved a word in and out"
    );
}

#[test]
fn register_fifo_matches_model() {
    fifo_run(Storage::Registers, 4, 2);
    fifo_run(Storage::Registers, 5, 3);
}

#[test]
fn bram_fifo_matches_model() {
    fifo_run(Storage::BlockRam, 8, 4);
    fifo_run(Storage::BlockRam, 6, 5);
}

#[test]
fn fifo_lint_latch_free_and_block_ram() {
    for (s, d) in [(Storage::Registers, 5), (Storage::BlockRam, 6)] {
        tool_checks(&fifo_part(s, d), &format!("parts-fifo-{s:?}-{d}"));
    }
    let big = fifo::build(&FifoConfig {
        name: "fifo_bram_256x16".into(),
        width: 16,
        depth: 256,
        storage: Storage::BlockRam,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let n = ice40_brams(&big, "parts-fifo-bram-ice40");
    assert_eq!(n, 1, "a 256 x 16 block-RAM FIFO is one SB_RAM40_4K");
    let regs = fifo_part(Storage::Registers, 5);
    assert_eq!(
        ice40_brams(&regs, "parts-fifo-regs-ice40"),
        0,
        "register FIFO uses no block RAM"
    );
}

// ------------------------------------------------------------------- counter

fn counter_part() -> Module {
    counter::build(&CounterConfig {
        name: "nest_3x1x5".into(),
        counts: vec![3, 1, 5],
        addr_bits: Some(12),
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn counter_nest_matches_nested_loops() {
    let counts = [3u64, 1, 5];
    let part = counter_part();
    let mut dut = dut(&part);
    let mut r = rng(6);
    for run in 0..4 {
        let base = r.gen::<u64>() & mask(12);
        let strides: Vec<u64> = (0..3).map(|_| r.gen::<u64>() & mask(12)).collect();
        dut.set("base", base);
        for (i, s) in strides.iter().enumerate() {
            dut.set(&format!("stride_{i}"), *s);
        }
        dut.set("en", 0);
        dut.reset();
        let mut idx = [0u64; 3];
        let mut wraps = 0;
        for cycle in 0..600 {
            let en = r.gen_bool(0.7);
            dut.set("en", en as u64);
            // carry_i: level i and every level inside it are at their last value.
            let mut all_last = en;
            let mut carry = [false; 3];
            for i in (0..3).rev() {
                all_last &= idx[i] == counts[i] - 1;
                carry[i] = all_last;
            }
            let addr = (base + (0..3).map(|i| idx[i] * strides[i]).sum::<u64>()) & mask(12);
            for i in 0..3 {
                let at = format!("run {run} cycle {cycle} level {i}; {}", dut.note());
                assert_eq!(dut.get(&format!("count_{i}")), idx[i], "count {at}");
                assert_eq!(dut.get(&format!("carry_{i}")) == 1, carry[i], "carry {at}");
                assert_eq!(
                    dut.get(&format!("last_{i}")) == 1,
                    idx[i] == counts[i] - 1,
                    "last {at}"
                );
            }
            assert_eq!(
                dut.get("addr"),
                addr,
                "addr, run {run} cycle {cycle}; {}",
                dut.note()
            );
            if en {
                // The loop nest, innermost first.
                for i in (0..3).rev() {
                    idx[i] += 1;
                    if idx[i] < counts[i] {
                        break;
                    }
                    idx[i] = 0;
                }
                wraps += carry[0] as u32;
            }
            dut.tick();
        }
        assert!(
            wraps >= 10,
            "run {run}: the nest wrapped only {wraps} times"
        );
    }
}

#[test]
fn counter_lint_and_latch_free() {
    tool_checks(&counter_part(), "parts-counter");
    let plain = counter::build(&CounterConfig {
        name: "count_7".into(),
        counts: vec![7],
        addr_bits: None,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    tool_checks(&plain, "parts-counter-plain");
}

// -------------------------------------------------------------- delay line

fn delay_part(enable: bool, reset: bool) -> Module {
    delay::build(&DelayConfig {
        name: format!("delay_e{}_r{}", enable as u8, reset as u8),
        width: 9,
        stages: 4,
        enable,
        reset,
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn delay_line_matches_model() {
    for (enable, reset) in [(true, true), (false, false)] {
        let part = delay_part(enable, reset);
        let mut dut = dut(&part);
        let mut r = rng(7);
        // Stages whose content is known: after a reset all, else none yet.
        let mut line: VecDeque<Option<u64>> = VecDeque::from(vec![None; 4]);
        if reset {
            dut.reset();
            line = VecDeque::from(vec![Some(0); 4]);
        }
        let mut compared = 0;
        for cycle in 0..2000 {
            let en = !enable || r.gen_bool(0.6);
            let data = r.gen::<u64>() & mask(9);
            if enable {
                dut.set("en", en as u64);
            }
            dut.set("in_data", data);
            if let Some(Some(v)) = line.back() {
                assert_eq!(
                    dut.get("out_data"),
                    *v,
                    "e{enable} r{reset} cycle {cycle}; {}",
                    dut.note()
                );
                compared += 1;
            }
            if en {
                line.pop_back();
                line.push_front(Some(data));
            }
            dut.tick();
        }
        assert!(compared > 1900, "only {compared} cycles compared");
    }
}

#[test]
fn delay_lint_and_latch_free() {
    tool_checks(&delay_part(true, true), "parts-delay-er");
    tool_checks(&delay_part(false, false), "parts-delay");
}

// ---------------------------------------------------------------------- RAM

fn ram_part(depth: u32) -> Module {
    ram::build(&RamConfig {
        name: format!("ram_{depth}x32"),
        width: 32,
        depth,
        forwarded: false,
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn ram_matches_byte_model() {
    let part = ram_part(16);
    let mut dut = dut(&part);
    let mut r = rng(8);
    let mut bytes = [0u8; 16 * 4];
    let mut known = [false; 16 * 4];
    let mut rd: Option<Option<u64>> = None; // None: no read yet; Some(None): word not fully known
    for cycle in 0..4000 {
        let (we, wa, wd, ws) = (
            r.gen_bool(0.5),
            r.gen_range(0..16u64),
            r.gen::<u32>(),
            r.gen_range(0..16u64),
        );
        let (re, ra) = (r.gen_bool(0.6), r.gen_range(0..16u64));
        for (n, v) in [
            ("wr_en", we as u64),
            ("wr_addr", wa),
            ("wr_data", u64::from(wd)),
            ("wr_strb", ws),
            ("rd_en", re as u64),
            ("rd_addr", ra),
        ] {
            dut.set(n, v);
        }
        if let Some(Some(v)) = rd {
            assert_eq!(dut.get("rd_data"), v, "cycle {cycle}; {}", dut.note());
        }
        // Read before write: a read of the word being written returns the old word.
        if re {
            let i = ra as usize * 4;
            rd = Some(known[i..i + 4].iter().all(|&k| k).then(|| {
                u64::from(u32::from_le_bytes([
                    bytes[i],
                    bytes[i + 1],
                    bytes[i + 2],
                    bytes[i + 3],
                ]))
            }));
        }
        if we {
            for b in 0..4 {
                if ws >> b & 1 == 1 {
                    bytes[wa as usize * 4 + b] = (wd >> (8 * b)) as u8;
                    known[wa as usize * 4 + b] = true;
                }
            }
        }
        dut.tick();
    }
    assert!(known.iter().all(|&k| k), "every byte written at least once");
}

#[test]
fn ram_lint_latch_free_and_block_ram() {
    tool_checks(&ram_part(16), "parts-ram");
    // Each byte lane of 512 words is exactly one 512 x 8 block RAM.
    let n = ice40_brams(&ram_part(512), "parts-ram-ice40");
    assert_eq!(n, 4, "a 512 x 32 RAM with byte enables is four SB_RAM40_4K");
}

// ---------------------------------------------------------------------- ROM

fn rom_part(name: &str, width: u32, contents: Vec<u128>) -> Module {
    rom::build(&RomConfig {
        name: name.into(),
        width,
        contents,
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Every word read back under random read enables, a non-power-of-two depth
/// and a width past 32 bits: the register takes `rom[addr]` at an enabled
/// edge and holds otherwise.
#[test]
fn rom_reads_its_contents() {
    let mut r = rng(9);
    let words: Vec<u128> = (0..300).map(|_| u128::from(r.gen::<u64>() >> 27)).collect();
    let part = rom_part("rom_300x37", 37, words.clone());
    let mut dut = dut(&part);
    let mut want: Option<u64> = None;
    let mut seen = vec![false; words.len()];
    for cycle in 0..6000 {
        let (re, ra) = (r.gen_bool(0.7), r.gen_range(0..words.len()));
        dut.set("rd_en", re as u64);
        dut.set("rd_addr", ra as u64);
        if let Some(v) = want {
            assert_eq!(dut.get("rd_data"), v, "cycle {cycle}; {}", dut.note());
        }
        if re {
            want = Some(words[ra] as u64);
            seen[ra] = true;
        }
        dut.tick();
    }
    assert!(seen.iter().all(|&s| s), "every word read at least once");
}

#[test]
fn rom_lint_latch_free_and_block_ram() {
    let mut r = rng(10);
    let words: Vec<u128> = (0..256).map(|_| u128::from(r.gen::<u16>())).collect();
    let part = rom_part("rom_256x16", 16, words);
    tool_checks(&part, "parts-rom");
    let n = ice40_brams(&part, "parts-rom-ice40");
    assert_eq!(n, 1, "a 256 x 16 ROM is one SB_RAM40_4K with its contents");
    let e = rom::build(&RomConfig {
        name: "r".into(),
        width: 16,
        contents: vec![1, 1 << 16],
    });
    assert!(
        matches!(e, Err(ref e) if e.to_string().contains("every word must fit 16 bits (word 1)")),
        "{:?}",
        e.err()
    );
}

// ------------------------------------------------------------ configuration

#[test]
fn bad_configs_name_the_rule() {
    let e = fifo::build(&FifoConfig {
        name: "f".into(),
        width: 8,
        depth: 1,
        storage: Storage::Registers,
    });
    assert!(
        matches!(e, Err(ref e) if e.to_string().contains("depth must be in 2..=64, got 1")),
        "{:?}",
        e.err()
    );
    let e = ram::build(&RamConfig {
        name: "r".into(),
        width: 12,
        depth: 16,
        forwarded: false,
    });
    assert!(
        matches!(e, Err(ref e) if e.to_string().contains("multiple of 8")),
        "{:?}",
        e.err()
    );
    let e = counter::build(&CounterConfig {
        name: "c".into(),
        counts: vec![4, 0],
        addr_bits: None,
    });
    assert!(
        matches!(e, Err(ref e) if e.to_string().contains("counts[1]")),
        "{:?}",
        e.err()
    );
    let e = skid::build(&SkidConfig {
        name: "module".into(),
        width: 8,
        ready_copy: false,
    });
    assert!(e.is_err(), "a keyword is no module name");
}

#[test]
fn include_refuses_a_clashing_module() {
    let mut d = Design::new("top");
    let a = skid::build(&SkidConfig {
        name: "s".into(),
        width: 8,
        ready_copy: false,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let b = skid::build(&SkidConfig {
        name: "s".into(),
        width: 9,
        ready_copy: false,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    d.include(a.clone()).unwrap_or_else(|e| panic!("{e}"));
    d.include(a)
        .unwrap_or_else(|e| panic!("identical re-inclusion: {e}"));
    assert_eq!(d.modules.len(), 1);
    match d.include(b) {
        Err(e) => assert!(
            e.to_string()
                .contains("module `s` is already in design `top` with different content"),
            "{e}"
        ),
        Ok(()) => panic!("a clashing module was accepted"),
    }
}
