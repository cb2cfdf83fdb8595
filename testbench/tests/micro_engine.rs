//! The area-first engine (`gen --control micro`) under Verilator, through
//! its ports only, with the engine's test agents (random latency 1..=32,
//! `req_ready` stalls, response gaps, reads and writes only inside the
//! regions a test allows): every byte of memory and the outcome against the
//! contract's oracle, and the counters against the microprogram run in the
//! interpreter with the functional datapath model (`testbench::micro_model`).

use golden::layer::ConvLayer;
use hdl::array::DspCell;
use hdl::engine::EngineConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use testbench::engine::cases::{boundary_value, must_cover, one_layer, random_layer, three_layers};
use testbench::engine::image::{random_requant, Program};
use testbench::engine::oracle::FIELDS;
use testbench::engine::{EngineSim, MemConfig};
use testbench::micro_model::{micro_config, oracle_machine, Counts, Memory, Model};

const BASE: u64 = 0x0001_0000;
const MEM_SIZE: usize = 256 * 1024;

fn seed(base: u64) -> u64 {
    std::env::var("TB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(base)
}

/// The microprogram on the functional model: what the counters must say.
fn model_counts(cfg: &EngineConfig, prog: &Program) -> Counts {
    let code = useq::program::program(&cfg.micro()).unwrap_or_else(|e| panic!("{e}"));
    let mut m = Model::new(cfg.micro(), Memory::of(prog));
    m.start(
        &code,
        prog.desc_addr as u32,
        prog.desc_count as u32,
        100_000_000,
    )
    .unwrap_or_else(|e| panic!("model: {e}"));
    m.counts.clone()
}

fn run_checked(s: &mut EngineSim, prog: &Program, what: &str) {
    let pm = s.pm.clone();
    let cfg = s.cfg.clone();
    let (want_mem, want) = prog
        .expected(&pm, &oracle_machine(&cfg.micro()))
        .unwrap_or_else(|e| panic!("{what}: oracle: {e}"));
    let c = model_counts(&cfg, prog);
    let budget = 2 * c.instructions + 80 * c.reads + 20 * c.array_beats + 100_000;
    let r = s
        .run_program(prog, budget)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    s.check_memory_and_status(prog, &want_mem, &want, &r, what);
    let mb = u64::from(cfg.mem_bits / 8);
    assert_eq!(r.wr_bytes, want.counts.wr_bytes, "{what}: wr_bytes");
    assert_eq!(
        r.mem_wr_bytes, r.wr_bytes,
        "{what}: bytes written with their strobe"
    );
    assert_eq!(
        r.array_beats, c.array_beats,
        "{what}: array_beats vs the model"
    );
    assert_eq!(r.rd_bytes, mb * c.reads, "{what}: rd_bytes vs the model");
    assert_eq!(
        r.mem_rd_bytes, r.rd_bytes,
        "{what}: rd_bytes vs the memory's"
    );
    assert!(
        r.cycles > 0 && r.cycles.abs_diff(r.sim_cycles) <= 4,
        "{what}: cycles {} vs {} from start to irq",
        r.cycles,
        r.sim_cycles
    );
}

fn sim(cfg: &EngineConfig, seed: u64) -> EngineSim {
    EngineSim::new(cfg, MemConfig::random(BASE, MEM_SIZE, seed)).unwrap_or_else(|e| panic!("{e}"))
}

fn layers(cfg: EngineConfig, seed_base: u64, random: usize, cover: bool) {
    let mut rng = StdRng::seed_from_u64(seed(seed_base));
    let mut s = sim(&cfg, seed(seed_base));
    let pm = s.pm.clone();
    let mut ls: Vec<ConvLayer> = if cover {
        must_cover()
            .into_iter()
            .map(|l| random_requant(&mut rng, l))
            .collect()
    } else {
        Vec::new()
    };
    for _ in 0..random {
        ls.push(random_layer(&mut rng, 7, 7));
    }
    for (i, l) in ls.iter().enumerate() {
        let prog = one_layer(&pm, &mut rng, l, BASE, i % 4 == 3);
        run_checked(
            &mut s,
            &prog,
            &format!(
                "{}x{} layer {i}: {}",
                cfg.rows,
                cfg.cols,
                prog.descs[0].summary()
            ),
        );
    }
}

/// The board's shape: 2x2, 32-bit port, SB_MAC16 products, one requant lane,
/// the output path's second stage.
#[test]
fn layers_2x2_mem32_board_options() {
    let cfg = EngineConfig {
        dsp_cell: DspCell::Ice40,
        requant_lanes: Some(1),
        out_pipe: true,
        ..micro_config(2, 2, 32)
    };
    layers(cfg, 31, 10, true);
}

/// The largest micro engine: 8x8 (its program unrolls per row; 157 of the
/// 256 registers).
#[test]
fn layers_8x8_mem32() {
    layers(micro_config(8, 8, 32), 35, 4, false);
}

#[test]
fn layers_3x2_mem64_and_1x1_mem128() {
    layers(micro_config(3, 2, 64), 32, 8, false);
    layers(micro_config(1, 1, 128), 33, 6, false);
}

/// Broken descriptors between good ones, start-level errors, a reset in the
/// middle of a layer, and the registers.
#[test]
fn errors_reset_and_registers() {
    let cfg = micro_config(2, 2, 32);
    let mut rng = StdRng::seed_from_u64(seed(34));
    let mut s = sim(&cfg, seed(34));
    let pm = s.pm.clone();
    let v = s
        .read_regs(&["id", "config0", "config2", "config3"])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v[0], pm.id);
    assert_eq!(
        s.field("config0", "rows", v[1])
            .unwrap_or_else(|e| panic!("{e}")),
        2
    );
    assert_eq!((v[2], v[3]), (0, 0), "no input or weight buffer");
    let mut seen = std::collections::BTreeSet::new();
    let mut runs = 0;
    while runs < 16 {
        let middle = random_layer(&mut rng, 5, 5);
        let mut b = three_layers(&pm, BASE, &mut rng, &middle);
        let Some(d) = b.desc_mut(1) else { continue };
        for _ in 0..rng.gen_range(1..=2) {
            let name = FIELDS[rng.gen_range(0..FIELDS.len())];
            let v = boundary_value(&mut rng, &pm, d, name);
            d.set(name, v).unwrap_or_else(|e| panic!("{e}"));
        }
        let summary = b.desc_mut(1).map(|d| d.summary()).unwrap_or_default();
        let prog = b.finish().unwrap_or_else(|e| panic!("{e}"));
        let Ok((_, want)) = prog.expected(&pm, &oracle_machine(&cfg.micro())) else {
            continue;
        };
        let Some((name, _)) = want.error else {
            continue;
        };
        seen.insert(name);
        runs += 1;
        run_checked(&mut s, &prog, &format!("mutant {runs}: {summary}"));
    }
    assert!(seen.len() >= 4, "the mutants hit only {seen:?}");
    let l = random_layer(&mut rng, 6, 6);
    let good = one_layer(&pm, &mut rng, &l, BASE, false);
    for (addr, count) in [
        (good.desc_addr + 4, 1),
        (good.desc_addr, 70_000),
        (good.desc_addr, 0),
    ] {
        let mut p = good.clone();
        p.desc_addr = addr;
        p.desc_count = count;
        run_checked(&mut s, &p, &format!("start at {addr:#x} x {count}"));
    }
    s.load_program(&good).unwrap_or_else(|e| panic!("{e}"));
    s.start(good.desc_addr, good.desc_count)
        .unwrap_or_else(|e| panic!("{e}"));
    s.step(3_000).unwrap_or_else(|e| panic!("{e}"));
    s.reset_for(3).unwrap_or_else(|e| panic!("{e}"));
    s.expect_idle(200).unwrap_or_else(|e| panic!("{e}"));
    run_checked(&mut s, &good, "after a reset mid-layer");
}
