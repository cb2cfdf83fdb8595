//! The area-first engine's cycle model (`compiler::micro`) against the RTL:
//! for a memory of fixed latency, the `cycles` counter of every start equals
//! the model's figure exactly (layers, lists of three, refused descriptors),
//! over array shapes, word widths, latencies and the output path's options.

use hdl::array::DspCell;
use hdl::engine::EngineConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use testbench::engine::cases::{boundary_value, one_layer, random_layer, three_layers};
use testbench::engine::image::Program;
use testbench::engine::oracle::FIELDS;
use testbench::engine::{EngineSim, MemConfig};
use testbench::micro_model::micro_config;

const BASE: u64 = 0x0001_0000;
const MEM_SIZE: usize = 256 * 1024;

fn model_cycles(cfg: &EngineConfig, latency: u32, prog: &Program) -> compiler::micro::MicroRun {
    let code = useq::program::program(&cfg.micro()).unwrap_or_else(|e| panic!("{e}"));
    let p = compiler::micro::MicroParams {
        program: cfg.micro(),
        pipeline: u64::from(cfg.pipeline),
        requant_lanes: u64::from(cfg.requant_lanes.unwrap_or(0)),
        fifo_ram: cfg.fifo_ram,
        out_pipe: cfg.out_pipe,
        latency: u64::from(latency),
    };
    compiler::micro::run(
        &p,
        &code,
        &prog.image.bytes,
        prog.image.base as u32,
        prog.desc_addr as u32,
        prog.desc_count as u32,
        100_000_000,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn sweep(cfg: EngineConfig, latency: u32, seed: u64, layers: usize) {
    let mut s = EngineSim::new(&cfg, MemConfig::fixed(BASE, MEM_SIZE, latency))
        .unwrap_or_else(|e| panic!("{e}"));
    let pm = s.pm.clone();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut progs = Vec::new();
    for _ in 0..layers {
        let l = random_layer(&mut rng, 7, 7);
        progs.push(one_layer(&pm, &mut rng, &l, BASE, false));
    }
    let middle = random_layer(&mut rng, 5, 5);
    progs.push(
        three_layers(&pm, BASE, &mut rng, &middle)
            .finish()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let mut b = three_layers(&pm, BASE, &mut rng, &middle);
    if let Some(d) = b.desc_mut(1) {
        let name = FIELDS[rng.gen_range(0..FIELDS.len())];
        let v = boundary_value(&mut rng, &pm, d, name);
        d.set(name, v).unwrap_or_else(|e| panic!("{e}"));
    }
    progs.push(b.finish().unwrap_or_else(|e| panic!("{e}")));
    for (i, prog) in progs.iter().enumerate() {
        let want = model_cycles(&cfg, latency, prog);
        let r = s
            .run_program(prog, 4 * want.cycles + 10_000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r.cycles,
            want.cycles,
            "{}x{} mem{} L{latency} program {i} ({} descriptors, {}): RTL cycles vs the model ({} instructions)",
            cfg.rows,
            cfg.cols,
            cfg.mem_bits,
            prog.desc_count,
            prog.descs[0].summary(),
            want.instructions
        );
    }
}

#[test]
fn model_matches_rtl_board_shape() {
    let cfg = EngineConfig {
        dsp_cell: DspCell::Ice40,
        requant_lanes: Some(1),
        out_pipe: true,
        ..micro_config(2, 2, 32)
    };
    for latency in [1, 2, 7] {
        sweep(cfg.clone(), latency, 40 + u64::from(latency), 4);
    }
}

#[test]
fn model_matches_rtl_other_shapes() {
    sweep(micro_config(3, 2, 64), 3, 51, 4);
    sweep(
        EngineConfig {
            fifo_ram: true,
            ..micro_config(4, 4, 32)
        },
        2,
        52,
        3,
    );
    sweep(
        EngineConfig {
            pipeline: 2,
            ..micro_config(1, 3, 128)
        },
        1,
        53,
        3,
    );
}
