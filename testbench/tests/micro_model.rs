//! The area-first engine's microprogram (`useq::program`) run in the
//! interpreter with the functional model of its datapath (`useq::model`),
//! against the contract's oracle (`testbench::engine::oracle`): every byte of
//! memory after the run, the outcome (done, or the first broken rule and its
//! descriptor), and reads and writes only inside the regions each test
//! allows. This checks the program before any RTL runs it.

use rand::rngs::StdRng;
use rand::SeedableRng;
use testbench::engine::cases::{break_middle, must_cover, one_layer, random_layer, three_layers};
use testbench::engine::image::{random_requant, Program};
use testbench::micro_model::{oracle_machine, Memory, Model};
use useq::program::{program, UConfig};
use useq::sim::Halt;

const BASE: u64 = 0x0001_0000;

fn ucfg(rows: u32, cols: u32, mem_bits: u32) -> UConfig {
    UConfig {
        rows,
        cols,
        mem_bits,
        addr_bits: 24,
    }
}

/// Run `prog` on the model; compare memory and outcome with the oracle.
fn check(cfg: &UConfig, prog: &Program, what: &str) -> testbench::micro_model::Counts {
    let pm = cfg.programming_model();
    let (want_mem, want) = prog
        .expected(&pm, &oracle_machine(cfg))
        .unwrap_or_else(|e| panic!("{what}: oracle: {e}"));
    let code = useq::program::program(cfg).unwrap_or_else(|e| panic!("{e}"));
    let mut readable = prog.read_only.clone();
    readable.extend(prog.writable.iter().copied());
    let mem = Memory {
        base: prog.image.base as u32,
        bytes: prog.image.bytes.clone(),
        readable,
        writable: prog.writable.clone(),
    };
    let mut m = Model::new(*cfg, mem);
    let halt = m
        .start(
            &code,
            prog.desc_addr as u32,
            prog.desc_count as u32,
            50_000_000,
        )
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let want_halt = match want.error {
        None => Halt::Done,
        Some((name, index)) => Halt::Error {
            code: pm.error_code(name).unwrap_or_else(|e| panic!("{e}")),
            index,
        },
    };
    assert_eq!(halt, want_halt, "{what}: outcome");
    if let Some(i) = (0..want_mem.bytes.len()).find(|&i| m.mem.bytes[i] != want_mem.bytes[i]) {
        panic!(
            "{what}: byte at {:#x} is {:#04x}, the oracle says {:#04x}",
            want_mem.base + i as u64,
            m.mem.bytes[i],
            want_mem.bytes[i]
        );
    }
    m.counts.clone()
}

/// The must-cover shapes and random layers on four array shapes and word
/// widths, edge operands on every fifth.
#[test]
fn random_layers_match_the_oracle() {
    let mut rng = StdRng::seed_from_u64(11);
    for cfg in [
        ucfg(2, 2, 32),
        ucfg(3, 2, 64),
        ucfg(1, 1, 32),
        ucfg(4, 3, 128),
        ucfg(8, 8, 32),
        ucfg(8, 5, 128),
    ] {
        let pm = cfg.programming_model();
        let mut layers: Vec<_> = must_cover()
            .into_iter()
            .map(|l| random_requant(&mut rng, l))
            .collect();
        for _ in 0..25 {
            layers.push(random_layer(&mut rng, 9, 10));
        }
        for (i, l) in layers.iter().enumerate() {
            let prog = one_layer(&pm, &mut rng, l, BASE, i % 5 == 4);
            check(
                &cfg,
                &prog,
                &format!("{cfg:?} layer {i}: {}", prog.descs[0].summary()),
            );
        }
    }
}

/// Broken descriptors between two good ones: the first broken rule, at
/// index 1, after the first layer's output is written.
#[test]
fn broken_descriptors_report_the_first_rule() {
    let cfg = ucfg(2, 2, 32);
    let pm = cfg.programming_model();
    let mut rng = StdRng::seed_from_u64(12);
    let mut seen = std::collections::BTreeSet::new();
    let mut runs = 0;
    while runs < 300 {
        let middle = random_layer(&mut rng, 6, 6);
        let mut b = three_layers(&pm, BASE, &mut rng, &middle);
        let Some(summary) = break_middle(&mut rng, &pm, &mut b, 3) else {
            continue;
        };
        let mut prog = b.finish().unwrap_or_else(|e| panic!("{e}"));
        let Ok((_, want)) = prog.expected(&pm, &oracle_machine(&cfg)) else {
            continue;
        };
        let Some((name, _)) = want.error else {
            continue;
        };
        if name == "bad_requant" {
            let d = &prog.descs[1];
            let align = u64::from(pm.limits.align);
            let end = (d.ch_addr + d.record_bytes(&pm)).next_multiple_of(align);
            prog.read_only.push((d.ch_addr, end - d.ch_addr));
        }
        seen.insert(name);
        runs += 1;
        check(&cfg, &prog, &format!("mutant {runs}: {summary}"));
    }
    assert!(seen.len() >= 6, "the mutants hit only {seen:?}");
}

/// The start-level rules: an empty list, too many descriptors, a misaligned
/// list, a list past the address space.
#[test]
fn start_rules() {
    let cfg = ucfg(2, 2, 32);
    let pm = cfg.programming_model();
    let mut rng = StdRng::seed_from_u64(13);
    let l = random_layer(&mut rng, 5, 5);
    let good = one_layer(&pm, &mut rng, &l, BASE, false);
    let end = 1u64 << pm.limits.addr_bits;
    for (addr, count) in [
        (good.desc_addr, 0),
        (good.desc_addr, u64::from(pm.limits.desc_count) + 1),
        (good.desc_addr + 2, 1),
        (end - 64, 2),
        (end - 64, 1),
    ] {
        let mut p = good.clone();
        p.desc_addr = addr;
        p.desc_count = count;
        if addr == end - 64 && count == 1 {
            // In the space but outside the image: the oracle cannot run it.
            continue;
        }
        check(&cfg, &p, &format!("start at {addr:#x} x {count}"));
    }
    let _ = program(&cfg).unwrap_or_else(|e| panic!("{e}"));
}
