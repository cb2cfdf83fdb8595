//! Bit-exact tests of the generated conv/FC engine under Verilator: layers
//! built by hand in a memory model (`testbench::engine::image`), every output
//! byte and every other byte of the image compared with the golden layer
//! oracle applied to the same memory (`testbench::engine::oracle`), the error
//! rules, the counters against a brute-force walk of the schedule in
//! `docs/engine.md`, and the register/memory protocol checked by the agents
//! every cycle (random latency 1..=32, `req_ready` stalls, response gaps,
//! reads and writes only inside the regions a layer allows).
//!
//! Every configuration is a Verilator build (cached on disk by the harness),
//! so most tests share the 4x4 / 64-bit engine; the other sizes and widths get
//! a few layers each. Big layers belong to `engine_bench`.

use contracts::engine::ProgrammingModel;
use golden::layer::ConvLayer;
use golden::Padding;
use hdl::engine::EngineConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use testbench::engine::cases::{break_middle, must_cover, operands, random_layer, three_layers};
use testbench::engine::image::{random_i8, random_requant, ImageBuilder, Program};
use testbench::engine::oracle::{layer_counts, residency, Descriptor, MemImage, Outcome, Record};
use testbench::engine::{EngineSim, MemConfig, RunResult};

/// Where the test memory starts: not zero, so an engine that drops address
/// bits reads outside every region.
const BASE: u64 = 0x1000_0000;
/// Bytes of test memory.
const MEM_SIZE: usize = 256 * 1024;

fn seed(base: u64) -> u64 {
    std::env::var("TB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(base)
}

fn ecfg(rows: u32, cols: u32, mem_bits: u32, pipeline: u32) -> EngineConfig {
    EngineConfig {
        rows,
        cols,
        mem_bits,
        pipeline,
        ..EngineConfig::default()
    }
}

/// `cfg` with an input buffer of `ibuf_bytes` and a weight buffer of
/// `wbuf_rows`: small enough that the test layers run in every mode (input
/// resident or streamed, weights resident or streamed).
fn buffers(cfg: EngineConfig, ibuf_bytes: u32, wbuf_rows: u32) -> EngineConfig {
    EngineConfig {
        ibuf_bytes,
        wbuf_rows,
        ..cfg
    }
}

/// The engine most tests share: 4x4, 64-bit port, buffers small enough for
/// every mode.
fn main_cfg() -> EngineConfig {
    buffers(ecfg(4, 4, 64, 0), 512, 64)
}

fn sim(cfg: &EngineConfig, mem: MemConfig) -> EngineSim {
    EngineSim::new(cfg, mem).unwrap_or_else(|e| {
        panic!(
            "engine {}x{} mem {} pipeline {}: {e}",
            cfg.rows, cfg.cols, cfg.mem_bits, cfg.pipeline
        )
    })
}

fn hostile(seed: u64) -> MemConfig {
    MemConfig::random(BASE, MEM_SIZE, seed)
}

fn cfg_name(sim: &EngineSim) -> String {
    format!(
        "{}x{} mem{} pipe{}",
        sim.cfg.rows, sim.cfg.cols, sim.cfg.mem_bits, sim.cfg.pipeline
    )
}

/// Cycle budget for a run the oracle says does `want`.
fn budget(want: &Outcome) -> u64 {
    40 * (want.counts.reads + want.counts.wr_bytes + want.counts.array_beats) + 20_000
}

/// Compare the engine's memory, status and counters after a run of `prog`
/// with what the oracle says.
fn check_result(
    sim: &EngineSim,
    prog: &Program,
    want_mem: &MemImage,
    want: &Outcome,
    r: &RunResult,
    what: &str,
) {
    let what = format!("{what} on {}", cfg_name(sim));
    sim.check_memory_and_status(prog, want_mem, want, r, &what);
    let mb = u64::from(sim.cfg.mem_bits / 8);
    assert_eq!(r.wr_bytes, want.counts.wr_bytes, "{what}: wr_bytes counter");
    assert_eq!(
        r.mem_wr_bytes, want.counts.wr_bytes,
        "{what}: bytes written with their strobe set"
    );
    assert_eq!(
        r.array_beats, want.counts.array_beats,
        "{what}: array_beats counter"
    );
    if want.error.map(|e| e.0) == Some("bad_requant") {
        assert!(
            (mb * want.reads_min..=mb * want.counts.reads).contains(&r.rd_bytes),
            "{what}: rd_bytes {} outside {}..={}",
            r.rd_bytes,
            mb * want.reads_min,
            mb * want.counts.reads
        );
    } else {
        assert_eq!(
            r.rd_bytes,
            mb * want.counts.reads,
            "{what}: rd_bytes counter (schedule of docs/engine.md)"
        );
    }
    assert_eq!(
        r.mem_rd_bytes, r.rd_bytes,
        "{what}: rd_bytes counter vs bytes the memory returned"
    );
    assert!(
        r.cycles > 0 && r.cycles.abs_diff(r.sim_cycles) <= 4,
        "{what}: cycles counter {} vs {} cycles from start to irq",
        r.cycles,
        r.sim_cycles
    );
}

/// Run `prog` on `sim` and check everything; returns the result.
fn run_checked(sim: &mut EngineSim, prog: &Program, what: &str) -> RunResult {
    let (want_mem, want) = prog
        .expected(&sim.pm, &sim.machine())
        .unwrap_or_else(|e| panic!("{what}: oracle: {e}"));
    let r = sim
        .run_program(prog, budget(&want))
        .unwrap_or_else(|e| panic!("{what} on {}: {e}", cfg_name(sim)));
    check_result(sim, prog, &want_mem, &want, &r, what);
    r
}

/// A program of one layer at [`BASE`] with random (or edge) operands.
fn one_layer(pm: &ProgrammingModel, rng: &mut StdRng, layer: &ConvLayer, edge: bool) -> Program {
    testbench::engine::cases::one_layer(pm, rng, layer, BASE, edge)
}

/// Memory reads of `layer` alone on `sim`'s engine (the work it costs).
fn reads_of(sim: &EngineSim, layer: &ConvLayer) -> u64 {
    let d = Descriptor::conv(layer, 0, 0, 0, 0);
    layer_counts(&d, &sim.machine()).reads
}

/// A random layer whose run costs at most `max_reads` memory reads on `sim`.
fn random_layer_within(
    sim: &EngineSim,
    rng: &mut StdRng,
    max_hw: usize,
    max_c: usize,
    max_reads: u64,
) -> ConvLayer {
    loop {
        let l = random_layer(rng, max_hw, max_c);
        if reads_of(sim, &l) <= max_reads {
            return l;
        }
    }
}

/// id, config words, and the rw registers reading back what was written.
#[test]
fn registers_identify_the_engine() {
    let cfg = main_cfg();
    let mut s = sim(&cfg, hostile(seed(1)));
    let names = ["id", "config0", "config1", "status", "config2", "config3"];
    let v = s
        .read_regs(&names)
        .unwrap_or_else(|e| panic!("reading registers: {e}"));
    assert_eq!(v[0], s.pm.id, "id register");
    let f = |reg: &str, field: &str, value: u32| {
        s.field(reg, field, value).unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(f("config0", "rows", v[1]), 4);
    assert_eq!(f("config0", "cols", v[1]), 4);
    assert_eq!(f("config0", "mem_bits", v[1]), 64);
    assert_eq!(f("config0", "pipeline", v[1]), 0);
    assert_eq!(f("config1", "desc_bytes", v[2]), s.pm.descriptor.bytes);
    assert_eq!(
        f("config1", "record_bytes", v[2]),
        s.pm.channel_record.bytes
    );
    assert_eq!(
        u64::from(f("config1", "staging_beats", v[2])),
        s.machine().chunk,
        "config1.staging_beats is the chunk"
    );
    assert_eq!(
        u64::from(f("config2", "ibuf_bytes", v[4])),
        s.machine().ibuf_bytes,
        "config2.ibuf_bytes"
    );
    assert_eq!(
        u64::from(f("config3", "wbuf_rows", v[5])),
        s.machine().wbuf_rows,
        "config3.wbuf_rows"
    );
    assert_eq!(v[3], 0, "status after reset: idle, nothing done");
    assert!(!s.irq(), "irq after reset");
    for (reg, value) in [("desc_addr", 0x1234_5678u32), ("desc_count", 0x0000_0007)] {
        s.write_reg(reg, value).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.read_reg(reg).unwrap_or_else(|e| panic!("{e}")),
            value,
            "{reg} reads back"
        );
    }
    // Writes to read-only registers change nothing.
    s.write_reg("id", 0).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.read_reg("id").unwrap_or_else(|e| panic!("{e}")), s.pm.id);
    s.expect_idle(50).unwrap_or_else(|e| panic!("{e}"));
}

/// Random conv layers (plus the must-cover shapes) on the 4x4 engine with a
/// hostile memory, one start each, back to back on one model.
#[test]
fn random_conv_layers_4x4() {
    let mut rng = StdRng::seed_from_u64(seed(2));
    let mut s = sim(&main_cfg(), hostile(seed(2)));
    let mut layers: Vec<ConvLayer> = must_cover()
        .into_iter()
        .map(|l| random_requant(&mut rng, l))
        .collect();
    for _ in 0..30 {
        layers.push(random_layer_within(&s, &mut rng, 10, 12, 12_000));
    }
    let modes: std::collections::BTreeSet<(bool, bool)> = layers
        .iter()
        .map(|l| residency(&Descriptor::conv(l, 0, 0, 0, 0), &s.machine()))
        .collect();
    assert_eq!(
        modes.len(),
        4,
        "the layers cover only these (input resident, weights resident) modes: {modes:?}"
    );
    for (i, l) in layers.iter().enumerate() {
        let prog = one_layer(&s.pm, &mut rng, l, i % 5 == 4);
        run_checked(
            &mut s,
            &prog,
            &format!("layer {i}: {}", prog.descs[0].summary()),
        );
    }
}

/// FC layers: batch 1 and batch > ROWS, K from 1 to over a thousand, edge
/// operands (-128 * -128 over K = 1030 saturates through mult 1 shift 0).
#[test]
fn fc_layers_4x4() {
    let mut rng = StdRng::seed_from_u64(seed(3));
    let mut s = sim(&main_cfg(), hostile(seed(3)));
    let cases: [(usize, usize, usize, bool); 7] = [
        (1, 1, 1, false),
        (1, 7, 5, false),
        (1, 1100, 6, false),
        (9, 37, 5, false),
        (6, 300, 9, true),
        (4, 1030, 4, true),
        (11, 2, 3, false),
    ];
    for (batch, k, n, edge) in cases {
        let relu = rng.gen();
        let l = random_requant(&mut rng, ConvLayer::fc(batch, k, n).with_relu(relu));
        let prog = one_layer(&s.pm, &mut rng, &l, edge);
        run_checked(
            &mut s,
            &prog,
            &format!("FC batch {batch} K {k} N {n} edge {edge}"),
        );
    }
    // All -128: every product is +16384; plain saturation and a large shift.
    let k = 1030;
    for (mult, shift) in [(1u32, 0u32), (65535, 31)] {
        let l = ConvLayer::fc(2, k, 3).with_requant(vec![-5; 3], vec![mult; 3], vec![shift; 3]);
        let mut b = ImageBuilder::new(&s.pm, BASE, rng.gen());
        let in_addr = b.tensor(&vec![-128; l.input_len()]);
        b.conv(&l, in_addr, &vec![-128; l.weight_len()], None)
            .unwrap_or_else(|e| panic!("{e}"));
        let prog = b.finish().unwrap_or_else(|e| panic!("{e}"));
        run_checked(
            &mut s,
            &prog,
            &format!("FC all -128 mult {mult} shift {shift}"),
        );
    }
}

/// The digits network's shape as one list and one start, activations
/// ping-ponging between two buffers (each layer overwrites the input of the
/// one before), a flatten before the FC layers for free.
#[test]
fn layer_list_ping_pong() {
    let mut rng = StdRng::seed_from_u64(seed(4));
    let mut s = sim(&main_cfg(), hostile(seed(4)));
    let pad1 = Padding::uniform(1);
    let layers = [
        ConvLayer::new(8, 8, 1, 4, 3, 3)
            .with_padding(pad1)
            .with_relu(true)
            .with_pool(2, 2, 0),
        ConvLayer::new(4, 4, 4, 6, 3, 3)
            .with_padding(pad1)
            .with_relu(true)
            .with_pool(2, 2, 0),
        // The 2x2x6 output read as a 1x1x24 vector.
        ConvLayer::fc(1, 24, 10).with_relu(true),
        ConvLayer::fc(1, 10, 3),
    ]
    .map(|l| random_requant(&mut rng, l));
    let size = layers
        .iter()
        .map(|l| l.input_len().max(l.output_len()))
        .max()
        .unwrap_or(0) as u64;
    let mut b = ImageBuilder::new(&s.pm, BASE, rng.gen());
    let first = random_i8(&mut rng, layers[0].input_len());
    let buf_a = b.tensor(&first);
    let _ = b.alloc(size.saturating_sub(first.len() as u64));
    let buf_b = b.alloc(size);
    let (mut src, mut dst) = (buf_a, buf_b);
    for l in &layers {
        let w = random_i8(&mut rng, l.weight_len());
        b.conv(l, src, &w, Some(dst))
            .unwrap_or_else(|e| panic!("{e}"));
        std::mem::swap(&mut src, &mut dst);
    }
    let prog = b.finish().unwrap_or_else(|e| panic!("{e}"));
    let r = run_checked(&mut s, &prog, "digits list, ping-pong");
    let want_out: u64 = layers.iter().map(|l| l.output_len() as u64).sum();
    assert_eq!(r.wr_bytes, want_out, "wr_bytes is every layer's output");
}

/// A memory that takes a request every cycle and answers after a fixed
/// latency (1, then 8): the full-speed path, responses back to back.
#[test]
fn full_rate_memory() {
    let mut rng = StdRng::seed_from_u64(seed(10));
    for latency in [1, 8] {
        let mut s = sim(&main_cfg(), MemConfig::fixed(BASE, MEM_SIZE, latency));
        for i in 0..5 {
            let l = random_layer_within(&s, &mut rng, 10, 12, 12_000);
            let prog = one_layer(&s.pm, &mut rng, &l, false);
            run_checked(
                &mut s,
                &prog,
                &format!("latency {latency} layer {i}: {}", prog.descs[0].summary()),
            );
        }
    }
}

/// Tensors at the very top of the address space: layer 0 writes a tensor
/// that ends exactly at 2^32 and layer 1 reads it back (no address may wrap
/// inside the engine).
#[test]
fn tensors_ending_at_the_top_of_memory() {
    let mut rng = StdRng::seed_from_u64(seed(11));
    let top = 1u64 << 32;
    let mut s = sim(
        &main_cfg(),
        MemConfig::random(top - MEM_SIZE as u64, MEM_SIZE, seed(11)),
    );
    let pm = s.pm.clone();
    // Output of layer 0: 4x4x4 = 64 bytes, a whole number of words.
    let l0 = random_requant(&mut rng, ConvLayer::new(6, 6, 5, 4, 3, 3).with_relu(true));
    let l1 = random_requant(&mut rng, ConvLayer::new(4, 4, 4, 3, 2, 2));
    let mut b = ImageBuilder::new(&pm, 0x1000_0000, rng.gen());
    b.reserve_descs(2);
    let in0 = b.tensor(&random_i8(&mut rng, l0.input_len()));
    let rb = u64::from(pm.channel_record.bytes);
    let w0 = b.alloc(l0.weight_len() as u64);
    let ch0 = b.alloc(rb * l0.out_c as u64);
    let w1 = b.alloc(l1.weight_len() as u64);
    let ch1 = b.alloc(rb * l1.out_c as u64);
    let out1 = b.alloc(l1.output_len() as u64);
    let x = b.alloc(l0.output_len() as u64);
    b.conv_at(&l0, in0, &random_i8(&mut rng, l0.weight_len()), w0, ch0, x)
        .unwrap_or_else(|e| panic!("{e}"));
    b.conv_at(&l1, x, &random_i8(&mut rng, l1.weight_len()), w1, ch1, out1)
        .unwrap_or_else(|e| panic!("{e}"));
    let end = x + l0.output_len() as u64;
    b.truncate(end);
    let prog = b.finish().unwrap_or_else(|e| panic!("{e}"));
    let len = prog.image.bytes.len() as u64;
    assert_eq!(len % u64::from(pm.limits.align), 0);
    let prog = prog
        .relocated(&pm, top - len)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(prog.descs[0].out_addr + l0.output_len() as u64, top);
    run_checked(&mut s, &prog, "output and input ending at 2^32");
}

/// Layers at the limits' corners: kernels up to 11, strides and dilations up
/// to 4, pool windows and strides up to 4, pads at their largest.
#[test]
fn layers_at_the_limits() {
    let mut rng = StdRng::seed_from_u64(seed(12));
    let mut s = sim(&main_cfg(), hostile(seed(12)));
    let lim = s.pm.limits.clone();
    let mut layers = vec![
        // 11x11 kernel, pads at dil*(k-1) on one side each way.
        ConvLayer::new(3, 12, 2, 3, 11, 11).with_padding(Padding {
            top: 10,
            bottom: 0,
            left: 0,
            right: 10,
        }),
        // Stride 4, dilation 4, pool 4/4.
        ConvLayer::new(14, 13, 3, 5, 2, 3)
            .with_stride(4, 1)
            .with_dilation(4, 4)
            .with_padding(Padding {
                top: 4,
                bottom: 4,
                left: 8,
                right: 8,
            })
            .with_pool(4, 4, 3),
    ];
    let mut tries = 0;
    while layers.len() < 12 {
        tries += 1;
        assert!(tries < 100_000, "no wide layer fits the work cap");
        let k_h = rng.gen_range(1..=lim.k_h as usize);
        let k_w = rng.gen_range(1..=lim.k_w as usize);
        let dil_h = rng.gen_range(1..=lim.dil as usize);
        let dil_w = rng.gen_range(1..=lim.dil as usize);
        let pad = |rng: &mut StdRng, k: usize, d: usize| {
            if rng.gen() {
                d * (k - 1)
            } else {
                rng.gen_range(0..=d * (k - 1))
            }
        };
        let padding = Padding {
            top: pad(&mut rng, k_h, dil_h),
            bottom: pad(&mut rng, k_h, dil_h),
            left: pad(&mut rng, k_w, dil_w),
            right: pad(&mut rng, k_w, dil_w),
        };
        let mut l = ConvLayer::new(
            rng.gen_range(1..=16),
            rng.gen_range(1..=16),
            rng.gen_range(1..=6),
            rng.gen_range(1..=6),
            k_h,
            k_w,
        )
        .with_stride(
            rng.gen_range(1..=lim.stride as usize),
            rng.gen_range(1..=lim.stride as usize),
        )
        .with_dilation(dil_h, dil_w)
        .with_padding(padding)
        .with_relu(rng.gen());
        if rng.gen() {
            let k = rng.gen_range(1..=lim.pool_k as usize);
            l = l.with_pool(
                k,
                rng.gen_range(1..=lim.pool_s as usize),
                rng.gen_range(0..k),
            );
        }
        if l.validate().is_ok() && reads_of(&s, &l) <= 15_000 {
            layers.push(l);
        }
    }
    for (i, l) in layers.into_iter().enumerate() {
        let l = random_requant(&mut rng, l);
        let prog = one_layer(&s.pm, &mut rng, &l, false);
        run_checked(
            &mut s,
            &prog,
            &format!("wide layer {i}: {}", prog.descs[0].summary()),
        );
    }
}

/// Layers right at the buffer sizes of the main engine (input 512 bytes,
/// weights 64 rows): exactly full, one byte or one row over.
#[test]
fn layers_at_the_buffer_boundaries() {
    let mut rng = StdRng::seed_from_u64(seed(14));
    let mut s = sim(&main_cfg(), hostile(seed(14)));
    let m = s.machine();
    assert_eq!((m.ibuf_bytes, m.wbuf_rows), (512, 64));
    let cases = [
        // input 512 (fits), K 72 (streamed)
        ConvLayer::new(8, 8, 8, 5, 3, 3).with_padding(Padding::uniform(1)),
        // input 512, K 64: both fit exactly
        ConvLayer::new(8, 8, 8, 6, 2, 4),
        // input 513 (streamed), K 27
        ConvLayer::new(1, 19, 27, 7, 1, 1),
        // input 512, K 64 with C_in 32
        ConvLayer::new(4, 4, 32, 9, 1, 2).with_pool(2, 1, 1),
        // input 520 (streamed), K 65 (streamed)
        ConvLayer::new(8, 5, 13, 5, 1, 5).with_padding(Padding {
            top: 0,
            bottom: 0,
            left: 2,
            right: 2,
        }),
    ];
    let mut modes = std::collections::BTreeSet::new();
    for (i, l) in cases.into_iter().enumerate() {
        let l = random_requant(&mut rng, l);
        modes.insert(residency(&Descriptor::conv(&l, 0, 0, 0, 0), &m));
        let prog = one_layer(&s.pm, &mut rng, &l, false);
        run_checked(
            &mut s,
            &prog,
            &format!("boundary {i}: {}", prog.descs[0].summary()),
        );
    }
    assert_eq!(modes.len(), 4, "modes covered: {modes:?}");
}

/// Dimensions at the limits, each on a cheap layer: C_in 4096, C_out 4096
/// (1024 groups), an image 1024 wide and one 1024 tall (counters and address
/// arithmetic at their widths).
#[test]
fn dimensions_at_the_limits() {
    let mut rng = StdRng::seed_from_u64(seed(15));
    let mut s = sim(&main_cfg(), hostile(seed(15)));
    let lim = s.pm.limits.clone();
    let (w, h) = (lim.in_w as usize, lim.in_h as usize);
    let cases = [
        ConvLayer::fc(1, lim.in_c as usize, 3),
        ConvLayer::fc(1, 2, lim.out_c as usize),
        ConvLayer::new(1, w, 1, 2, 1, 3),
        ConvLayer::new(h, 1, 2, 3, 5, 1).with_stride(4, 1),
        ConvLayer::new(3, w, 1, 2, 3, 3)
            .with_padding(Padding::uniform(1))
            .with_pool(4, 4, 1),
    ];
    for (i, l) in cases.into_iter().enumerate() {
        let l = random_requant(&mut rng, l);
        let prog = one_layer(&s.pm, &mut rng, &l, i == 0);
        run_checked(
            &mut s,
            &prog,
            &format!("limit {i}: {}", prog.descs[0].summary()),
        );
    }
}

/// Tiles of a single chunk (K = k_h*k_w*C_in up to the chunk) back to back:
/// each tile's results must land at its own pixels (FC batch 3*ROWS, K 1,
/// ROWS and the chunk, outputs kept off the saturation bounds).
#[test]
fn one_chunk_tiles_back_to_back() {
    let mut rng = StdRng::seed_from_u64(seed(16));
    for cfg in [main_cfg(), buffers(ecfg(2, 3, 128, 0), 256, 32)] {
        let mut s = sim(&cfg, MemConfig::fixed(BASE, MEM_SIZE, 1));
        let m = s.machine();
        let batch = 3 * cfg.rows as usize;
        for k in [1, m.rows as usize, m.chunk as usize] {
            // |acc| < 16384*K: mult 1, shift 8 + log2(K) keeps outputs in about +-64.
            let shift = 8 + (k as u32).next_power_of_two().trailing_zeros();
            let l = ConvLayer::fc(batch, k, 5).with_requant(vec![0; 5], vec![1; 5], vec![shift; 5]);
            let prog = one_layer(&s.pm, &mut rng, &l, false);
            run_checked(
                &mut s,
                &prog,
                &format!("FC batch {batch} K {k} N 5 (one chunk per tile)"),
            );
        }
    }
}

/// Starts back to back on one model: counters restart at each start, the same
/// program twice gives the same answer and the same counters.
#[test]
fn back_to_back_starts() {
    let mut rng = StdRng::seed_from_u64(seed(5));
    let mut s = sim(&main_cfg(), hostile(seed(5)));
    let la = random_requant(&mut rng, must_cover()[0].clone());
    let lb = random_requant(&mut rng, ConvLayer::fc(5, 40, 6));
    let a = one_layer(&s.pm, &mut rng, &la, false);
    let b = one_layer(&s.pm, &mut rng, &lb, false);
    let ra = run_checked(&mut s, &a, "first start");
    let rb = run_checked(&mut s, &b, "second start");
    let ra2 = run_checked(&mut s, &a, "third start (the first program again)");
    assert_ne!(ra.rd_bytes, rb.rd_bytes, "the two programs differ");
    assert_eq!(
        (ra.rd_bytes, ra.wr_bytes, ra.array_beats),
        (ra2.rd_bytes, ra2.wr_bytes, ra2.array_beats),
        "same program, same counters"
    );
}

/// Run `prog` expecting error `name` at descriptor `index`; the oracle must
/// agree first (so the test breaks the rule it means to).
fn expect_error(s: &mut EngineSim, prog: &Program, name: &str, index: u32, what: &str) {
    let (want_mem, want) = prog
        .expected(&s.pm, &s.machine())
        .unwrap_or_else(|e| panic!("{what}: oracle: {e}"));
    assert_eq!(
        want.error,
        Some((name, index)),
        "test setup: {what} does not break the rule it means to"
    );
    let r = s
        .run_program(prog, budget(&want))
        .unwrap_or_else(|e| panic!("{what} on {}: {e}", cfg_name(s)));
    check_result(s, prog, &want_mem, &want, &r, what);
    // Clear drops irq and the error; the engine stays idle.
    s.write_field("ctrl", "clear", 1)
        .unwrap_or_else(|e| panic!("{e}"));
    let st = s.read_reg("status").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(st, 0, "{what}: status after clear");
    assert!(!s.irq(), "{what}: irq after clear");
    s.expect_idle(20)
        .unwrap_or_else(|e| panic!("{what}: after clear: {e}"));
}

/// Descriptor 1 of the list `b` builds, edited by `edit`, must be refused
/// with `name` (index 1).
fn expect_broken(
    s: &mut EngineSim,
    mut b: ImageBuilder,
    edit: &dyn Fn(&mut Descriptor),
    name: &str,
    what: &str,
) {
    let d = b.desc_mut(1).unwrap_or_else(|| panic!("descriptor 1"));
    edit(d);
    let summary = d.summary();
    let prog = b.finish().unwrap_or_else(|e| panic!("{e}"));
    expect_error(s, &prog, name, 1, &format!("{what}: {summary}"));
}

/// `good` started with `desc_addr`/`desc_count` instead must be refused
/// with `name` at the start (index 0, no descriptor read).
fn expect_start_error(s: &mut EngineSim, good: &Program, addr: u64, count: u64, name: &str) {
    let mut p = good.clone();
    p.desc_addr = addr;
    p.desc_count = count;
    expect_error(
        s,
        &p,
        name,
        0,
        &format!("start with desc_addr {addr:#x} desc_count {count}"),
    );
}

/// Every error code, each with its descriptor index, no byte of the failing
/// layer written, the outputs of earlier layers in place, and the start-level
/// errors (index 0, no memory access at all).
#[test]
fn every_error_code_with_its_index() {
    let mut rng = StdRng::seed_from_u64(seed(6));
    let mut s = sim(&main_cfg(), hostile(seed(6)));
    let pm = s.pm.clone();
    let lim = pm.limits.clone();
    let align = u64::from(lim.align);
    let top = 1u64 << 32;
    let middle = random_requant(
        &mut rng,
        ConvLayer::new(5, 4, 3, 6, 3, 2)
            .with_padding(Padding {
                top: 1,
                bottom: 2,
                left: 1,
                right: 0,
            })
            .with_pool(2, 1, 1),
    );
    type Edit = Box<dyn Fn(&mut Descriptor)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("bad_op", Box::new(|d| d.op = 1)),
        ("bad_op", Box::new(|d| d.op = 0xFFFF_FFFF)),
        ("zero_size", Box::new(|d| d.in_c = 0)),
        ("zero_size", Box::new(|d| d.out_c = 0)),
        ("zero_size", Box::new(|d| d.stride_w = 0)),
        ("zero_size", Box::new(|d| d.dil_h = 0)),
        ("zero_size", Box::new(|d| d.k_w = 0)),
        ("too_large", {
            let v = u64::from(lim.in_h) + 1;
            Box::new(move |d| d.in_h = v)
        }),
        ("too_large", {
            let v = u64::from(lim.in_c) + 1;
            Box::new(move |d| d.in_c = v)
        }),
        ("too_large", {
            let v = u64::from(lim.k_w) + 1;
            Box::new(move |d| d.k_w = v)
        }),
        ("too_large", {
            let v = u64::from(lim.stride) + 1;
            Box::new(move |d| d.stride_h = v)
        }),
        (
            "too_large",
            Box::new(|d| d.pad_b = d.dil_h * (d.k_h - 1) + 1),
        ),
        (
            "too_large",
            Box::new(|d| d.pad_l = d.dil_w * (d.k_w - 1) + 1),
        ),
        ("too_large", Box::new(|d| d.relu = 2)),
        ("too_large", {
            let v = u64::from(lim.pool_k) + 1;
            Box::new(move |d| d.pool_k = v)
        }),
        ("too_large", {
            let v = u64::from(lim.pool_s) + 1;
            Box::new(move |d| d.pool_s = v)
        }),
        (
            "bad_geometry",
            Box::new(|d| {
                d.in_h = 1;
                d.pad_t = 0;
                d.pad_b = 0
            }),
        ),
        ("bad_geometry", Box::new(|d| d.pool_pad = d.pool_k)),
        ("bad_geometry", Box::new(|d| d.pool_s = 0)),
        (
            "bad_geometry",
            Box::new(|d| {
                d.pool_k = 0;
                d.pool_s = 0;
                d.pool_pad = 1
            }),
        ),
        // W_c = 2 < pool_k.
        (
            "bad_geometry",
            Box::new(|d| {
                d.in_w = 2;
                d.pool_k = 4;
                d.pool_pad = 0
            }),
        ),
        ("misaligned", Box::new(|d| d.in_addr += 1)),
        ("misaligned", Box::new(move |d| d.w_addr += align / 2)),
        ("misaligned", Box::new(|d| d.ch_addr += 3)),
        ("misaligned", Box::new(|d| d.out_addr += 1)),
        ("address_wrap", Box::new(move |d| d.in_addr = top - align)),
        (
            "address_wrap",
            Box::new(move |d| d.w_addr = top - 2 * align),
        ),
        ("address_wrap", Box::new(move |d| d.ch_addr = top - align)),
        ("address_wrap", Box::new(move |d| d.out_addr = top - align)),
    ];
    for (i, (name, edit)) in cases.iter().enumerate() {
        let b = three_layers(&pm, BASE, &mut rng, &middle);
        expect_broken(&mut s, b, edit, name, &format!("case {i} {name}"));
    }
    // bad_requant: the first record's mult is 0; the last record's shift is 32;
    // a mult of 0 in the first descriptor (index 0).
    for (desc, co, rec) in [
        (
            1usize,
            0usize,
            Record {
                bias: 0,
                mult: 0,
                shift: 3,
            },
        ),
        (
            1,
            middle.out_c - 1,
            Record {
                bias: 7,
                mult: 9,
                shift: 32,
            },
        ),
        (
            0,
            2,
            Record {
                bias: 7,
                mult: 0,
                shift: 255,
            },
        ),
    ] {
        let mut b = three_layers(&pm, BASE, &mut rng, &middle);
        let ch = b.desc_mut(desc).map(|d| d.ch_addr).unwrap_or_default();
        b.put_records(ch + u64::from(pm.channel_record.bytes) * co as u64, &[rec])
            .unwrap_or_else(|e| panic!("{e}"));
        let prog = b.finish().unwrap_or_else(|e| panic!("{e}"));
        expect_error(
            &mut s,
            &prog,
            "bad_requant",
            desc as u32,
            &format!("bad_requant in descriptor {desc} channel {co}: {rec:?}"),
        );
    }
    // A field error in the first descriptor: index 0, nothing written.
    let mut b = three_layers(&pm, BASE, &mut rng, &middle);
    if let Some(d) = b.desc_mut(0) {
        d.k_h = 0;
    }
    let prog = b.finish().unwrap_or_else(|e| panic!("{e}"));
    expect_error(&mut s, &prog, "zero_size", 0, "zero_size in descriptor 0");
    // Start-level errors: no descriptor is read.
    let good = three_layers(&pm, BASE, &mut rng, &middle)
        .finish()
        .unwrap_or_else(|e| panic!("{e}"));
    for (name, addr, count) in [
        ("too_large", good.desc_addr, u64::from(lim.desc_count) + 1),
        ("misaligned", good.desc_addr + 1, 3),
        ("address_wrap", top - 64, 2),
    ] {
        expect_start_error(&mut s, &good, addr, count, name);
    }
    // After all that, the list runs cleanly.
    run_checked(&mut s, &good, "clean list after the errors");
}

/// Random broken descriptors (one to three fields pushed to boundary values,
/// or a broken record): the engine reports the first rule the oracle says is
/// broken, at the right index, having written nothing.
#[test]
fn random_broken_descriptors_report_the_first_rule() {
    let mut rng = StdRng::seed_from_u64(seed(7));
    let mut s = sim(&main_cfg(), hostile(seed(7)));
    let pm = s.pm.clone();
    let mut seen = std::collections::BTreeSet::new();
    let mut runs = 0;
    while runs < 40 {
        let middle = random_layer_within(&s, &mut rng, 6, 6, 3_000);
        let mut b = three_layers(&pm, BASE, &mut rng, &middle);
        let Some(summary) = break_middle(&mut rng, &pm, &mut b, 3) else {
            continue;
        };
        let mut prog = b.finish().unwrap_or_else(|e| panic!("{e}"));
        let Ok((_, want)) = prog.expected(&pm, &s.machine()) else {
            continue;
        };
        // Only descriptors the rules refuse: a valid mutant may point past its tensors.
        let Some((name, index)) = want.error else {
            continue;
        };
        assert_eq!(index, 1);
        if name == "bad_requant" {
            // The fields passed: the engine may read the records wherever the
            // (possibly moved or grown) descriptor says they are.
            let d = &prog.descs[1];
            let align = u64::from(pm.limits.align);
            let end = (d.ch_addr + d.record_bytes(&pm)).next_multiple_of(align);
            prog.read_only.push((d.ch_addr, end - d.ch_addr));
        }
        seen.insert(name);
        runs += 1;
        expect_error(&mut s, &prog, name, 1, &format!("mutant {runs}: {summary}"));
    }
    assert!(seen.len() >= 5, "the mutants hit only {seen:?}");
}

/// Reset in the middle of a layer (while reading, then while writing back):
/// the engine goes idle, issues no request, and the next start runs cleanly.
#[test]
fn reset_mid_layer_then_clean_run() {
    let mut rng = StdRng::seed_from_u64(seed(8));
    let mut s = sim(&main_cfg(), hostile(seed(8)));
    let l = random_requant(
        &mut rng,
        ConvLayer::new(6, 7, 9, 6, 3, 3)
            .with_padding(Padding::uniform(1))
            .with_relu(true),
    );
    let prog = one_layer(&s.pm, &mut rng, &l, false);
    let (want_mem, want) = prog
        .expected(&s.pm, &s.machine())
        .unwrap_or_else(|e| panic!("{e}"));
    for when in ["reading", "writing back"] {
        s.load_program(&prog).unwrap_or_else(|e| panic!("{e}"));
        s.start(prog.desc_addr, prog.desc_count)
            .unwrap_or_else(|e| panic!("{e}"));
        if when == "reading" {
            s.step(150).unwrap_or_else(|e| panic!("{e}"));
        } else {
            let mut n = 0;
            while !s.mem_log().iter().any(|a| a.write) {
                s.step(1).unwrap_or_else(|e| panic!("{when}: {e}"));
                n += 1;
                assert!(n < budget(&want), "{when}: no write within the budget");
            }
        }
        assert!(!s.irq(), "{when}: the layer finished before the reset");
        s.reset_for(2).unwrap_or_else(|e| panic!("{e}"));
        s.expect_idle(100)
            .unwrap_or_else(|e| panic!("{when}: after reset: {e}"));
        let st = s.read_reg("status").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(st, 0, "{when}: status after reset");
        assert!(!s.irq(), "{when}: irq after reset");
        // Run again without reloading: whatever was half written gets overwritten.
        s.start(prog.desc_addr, prog.desc_count)
            .unwrap_or_else(|e| panic!("{e}"));
        let r = s
            .run_until_irq(budget(&want))
            .unwrap_or_else(|e| panic!("{when}: rerun: {e}"));
        check_result(
            &s,
            &prog,
            &want_mem,
            &want,
            &r,
            &format!("rerun after reset while {when}"),
        );
    }
}

/// `ctrl.start` written while busy changes nothing: one run, exact counters,
/// no second run after irq.
#[test]
fn start_while_busy_is_ignored() {
    let mut rng = StdRng::seed_from_u64(seed(9));
    let mut s = sim(&main_cfg(), hostile(seed(9)));
    let l = random_requant(
        &mut rng,
        ConvLayer::new(5, 6, 10, 5, 3, 1).with_pool(2, 2, 1),
    );
    let prog = one_layer(&s.pm, &mut rng, &l, false);
    let (want_mem, want) = prog
        .expected(&s.pm, &s.machine())
        .unwrap_or_else(|e| panic!("{e}"));
    s.load_program(&prog).unwrap_or_else(|e| panic!("{e}"));
    s.start(prog.desc_addr, prog.desc_count)
        .unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..3 {
        s.step(60).unwrap_or_else(|e| panic!("{e}"));
        assert!(!s.irq(), "layer finished too early for the test");
        let st = s.read_reg("status").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.field("status", "busy", st).ok(),
            Some(1),
            "busy while running"
        );
        s.write_field("ctrl", "start", 1)
            .unwrap_or_else(|e| panic!("{e}"));
        // The running list was copied at start: new list registers wait for the next start.
        s.write_reg("desc_count", 7)
            .unwrap_or_else(|e| panic!("{e}"));
        s.write_reg("desc_addr", 0x40)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let r = s
        .run_until_irq(budget(&want))
        .unwrap_or_else(|e| panic!("{e}"));
    // sim_cycles counts from the first start: a restart would shorten the cycles counter.
    check_result(&s, &prog, &want_mem, &want, &r, "start while busy");
    s.expect_idle(100)
        .unwrap_or_else(|e| panic!("after irq: {e}"));
    assert!(s.irq(), "irq stays high until clear");
}

/// A few random layers and one FC with batch > ROWS on another configuration.
fn a_few_layers(cfg: EngineConfig, seed_base: u64, n: usize, max_reads: u64) {
    let mut rng = StdRng::seed_from_u64(seed(seed_base));
    let mut s = sim(&cfg, hostile(seed(seed_base)));
    let rows = cfg.rows as usize;
    let mut layers = vec![random_requant(
        &mut rng,
        ConvLayer::fc(
            2 * rows + 1,
            3 * cfg.mem_bits as usize / 8 + 5,
            cfg.cols as usize + 1,
        ),
    )];
    for _ in 0..n {
        layers.push(random_layer_within(
            &s,
            &mut rng,
            9,
            2 * cfg.cols as usize + 3,
            max_reads,
        ));
    }
    for (i, l) in layers.iter().enumerate() {
        let prog = one_layer(&s.pm, &mut rng, l, i == 1);
        run_checked(
            &mut s,
            &prog,
            &format!("layer {i}: {}", prog.descs[0].summary()),
        );
    }
}

/// 1x1 with the smallest read-tag FIFO (4 reads in flight, against latencies
/// up to 32): the engine must hold reads back, never lose a response.
#[test]
fn size_1x1_mem32_inflight4() {
    let cfg = EngineConfig {
        max_inflight: 4,
        ..buffers(ecfg(1, 1, 32, 0), 128, 16)
    };
    a_few_layers(cfg, 20, 6, 8_000);
}

#[test]
fn size_2x3_mem128() {
    a_few_layers(buffers(ecfg(2, 3, 128, 0), 256, 32), 21, 6, 8_000);
}

#[test]
fn size_8x8_mem64() {
    a_few_layers(ecfg(8, 8, 64, 0), 22, 6, 10_000);
}

#[test]
fn pipelined_3x2_mem32() {
    a_few_layers(buffers(ecfg(3, 2, 32, 2), 64, 8), 23, 6, 8_000);
}

/// The ECP5 DSP cell (pipeline 3, the MULT18X18D model) on a 4x4 array with a
/// 128-bit port.
#[test]
fn ecp5_dsp_4x4_mem128() {
    let cfg = EngineConfig {
        dsp_cell: hdl::array::DspCell::Ecp5,
        ..buffers(ecfg(4, 4, 128, 3), 1024, 128)
    };
    a_few_layers(cfg, 25, 4, 8_000);
}

/// The iCE40 DSP cell (`SB_MAC16` model): two PEs per block in the array and
/// each requantization product on two blocks in 16x16 mode (signed high half,
/// unsigned low half of `acc + bias`), two lanes for four columns. The random
/// channel records include the edge values (bias `i32::MIN`/`i32::MAX`, mult
/// 65535, shift 0 and 31).
#[test]
fn ice40_dsp_2x4_mem32_two_requant_lanes() {
    let cfg = EngineConfig {
        dsp_cell: hdl::array::DspCell::Ice40,
        requant_lanes: Some(2),
        ..buffers(ecfg(2, 4, 32, 0), 256, 32)
    };
    a_few_layers(cfg, 26, 6, 8_000);
}

/// An engine with a 16-bit address space (`addr_bits`: every address
/// register inside it 16 bits, the manifest's `limits.addr_bits`): random
/// layers with padding in memory that ends at 2^16 (the walker's negative
/// offsets wrap modulo 2^16), bit-exact; then a tensor or the list running
/// past 2^16, or based past it altogether (valid in a 32-bit space), is
/// `address_wrap`, with no read past the descriptor: the memory is only the
/// top 32 KiB, so a dropped address bit reads outside it.
#[test]
fn address_space_of_16_bits() {
    let cfg = EngineConfig {
        addr_bits: 16,
        ..buffers(ecfg(2, 2, 32, 0), 64, 16)
    };
    let top = 1u64 << 16;
    let size = 32 * 1024;
    let low = top - size as u64;
    let mut rng = StdRng::seed_from_u64(seed(27));
    let mut s = sim(&cfg, MemConfig::random(low, size, seed(27)));
    let pm = s.pm.clone();
    assert_eq!((pm.limits.addr_bits, pm.limits.addr_end()), (16, top));
    let align = u64::from(pm.limits.align);
    let mut layers = must_cover();
    layers.truncate(2);
    for _ in 0..3 {
        layers.push(random_layer_within(&s, &mut rng, 7, 5, 3_000));
    }
    for (i, l) in layers.iter().enumerate() {
        let (input, weights) = operands(&mut rng, l, i == 2);
        let mut b = ImageBuilder::new(&pm, low, rng.gen());
        let at = b.tensor(&input);
        b.conv(l, at, &weights, None)
            .unwrap_or_else(|e| panic!("{e}"));
        let prog = b.finish().unwrap_or_else(|e| panic!("{e}"));
        let len = prog.image.bytes.len() as u64;
        let prog = prog
            .relocated(&pm, (top - len) / align * align)
            .unwrap_or_else(|e| panic!("{e}"));
        run_checked(
            &mut s,
            &prog,
            &format!("layer {i} ending near 2^16: {}", prog.descs[0].summary()),
        );
    }
    let middle = random_requant(&mut rng, ConvLayer::new(4, 3, 3, 5, 3, 1));
    type Edit = Box<dyn Fn(&mut Descriptor)>;
    let cases: Vec<Edit> = vec![
        Box::new(move |d| d.in_addr = top - align),
        Box::new(move |d| d.w_addr = top - align),
        Box::new(move |d| d.ch_addr = top - align),
        Box::new(move |d| d.out_addr = top - align),
        Box::new(move |d| d.in_addr = top),
        Box::new(move |d| d.out_addr = 1 << 20),
        Box::new(move |d| d.w_addr = (1 << 32) - 4 * align),
        // An input of 2^18 bytes: past the space whatever its base.
        Box::new(|d| {
            d.in_h = 64;
            d.in_w = 64;
            d.in_c = 64
        }),
    ];
    let three = |rng: &mut StdRng| {
        let mut b = ImageBuilder::new(&pm, low, rng.gen());
        for l in [
            random_requant(rng, ConvLayer::fc(2, 9, 3)),
            middle.clone(),
            random_requant(rng, ConvLayer::fc(3, 5, 2)),
        ] {
            let at = b.tensor(&random_i8(rng, l.input_len()));
            b.conv(&l, at, &random_i8(rng, l.weight_len()), None)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        b
    };
    for (i, edit) in cases.iter().enumerate() {
        let b = three(&mut rng);
        expect_broken(&mut s, b, edit, "address_wrap", &format!("case {i}"));
    }
    let good = three(&mut rng).finish().unwrap_or_else(|e| panic!("{e}"));
    for (addr, count) in [(top - 64, 2), (top, 1), (1 << 24, 3)] {
        expect_start_error(&mut s, &good, addr, count, "address_wrap");
    }
    run_checked(&mut s, &good, "clean list after the errors");
}

/// The output path's second stage (`out_pipe`): the requantization's
/// product registered, the rounding, shift, clamp, running max and write job
/// a cycle later; with two column groups per row (one lane for two columns)
/// and on a one-row array, where a row leaves every cycle.
#[test]
fn out_pipe_3x2_one_lane_and_1x1() {
    let cfg = EngineConfig {
        out_pipe: true,
        requant_lanes: Some(1),
        ..buffers(ecfg(3, 2, 32, 0), 96, 16)
    };
    a_few_layers(cfg, 28, 6, 8_000);
    let cfg = EngineConfig {
        out_pipe: true,
        max_inflight: 4,
        ..buffers(ecfg(1, 1, 32, 0), 128, 16)
    };
    a_few_layers(cfg, 29, 4, 8_000);
}

/// The staging ring in block RAM (`staging_ram`): RAM reads a beat ahead
/// with the same-cycle write forwarded, unwritten rows (padding) and columns
/// (past the group) zero. Small buffers put the random layers in every mode
/// (A and B from memory, from the input and weight buffers), under the
/// hostile memory's stalls; 3 rows and 2 columns (odd C_out: a narrow last
/// group), and a 64-bit port with 4 columns, block-RAM FIFOs and the
/// output path's second stage.
#[test]
fn staging_ram_3x2_and_2x4() {
    let cfg = EngineConfig {
        staging_ram: true,
        ..buffers(ecfg(3, 2, 32, 0), 96, 16)
    };
    // Layers where the array waits for the walker (one input channel: a
    // beat per chunk against 3 rows to walk), so a half's last bytes land
    // in the cycle before its first beat and must be forwarded: A from the
    // input buffer with the weights on chip, then with the weights streamed
    // (K = 25 > 16 rows: a chunk's one B row lands after its A rows).
    let mut rng = StdRng::seed_from_u64(seed(32));
    let mut s = sim(&cfg, hostile(seed(32)));
    for (i, l) in [
        ConvLayer::new(5, 6, 1, 3, 3, 3).with_padding(Padding::uniform(1)),
        ConvLayer::new(4, 5, 2, 5, 1, 1),
        ConvLayer::new(7, 9, 1, 3, 5, 5).with_padding(Padding::uniform(2)),
    ]
    .into_iter()
    .enumerate()
    {
        let l = random_requant(&mut rng, l);
        let prog = one_layer(&s.pm, &mut rng, &l, false);
        run_checked(
            &mut s,
            &prog,
            &format!("staging RAM layer {i}: {}", prog.descs[0].summary()),
        );
    }
    a_few_layers(cfg, 30, 6, 8_000);
    let cfg = EngineConfig {
        staging_ram: true,
        fifo_ram: true,
        out_pipe: true,
        ..buffers(ecfg(2, 4, 64, 0), 128, 16)
    };
    a_few_layers(cfg, 31, 6, 8_000);
}

/// One run at 16x16: a conv with pooling and C_out past one group.
#[test]
fn size_16x16_one_run() {
    let mut rng = StdRng::seed_from_u64(seed(24));
    let mut s = sim(&ecfg(16, 16, 64, 0), hostile(seed(24)));
    let l = random_requant(
        &mut rng,
        ConvLayer::new(7, 9, 12, 19, 3, 3)
            .with_padding(Padding::uniform(1))
            .with_relu(true)
            .with_pool(2, 2, 0),
    );
    let prog = one_layer(&s.pm, &mut rng, &l, false);
    run_checked(
        &mut s,
        &prog,
        &format!("16x16: {}", prog.descs[0].summary()),
    );
}

/// The checks themselves can fail: one wrong output byte, one touched guard
/// byte and a wrong counter each make `check_result` panic.
#[test]
fn checks_catch_a_wrong_byte_and_a_wrong_counter() {
    let mut rng = StdRng::seed_from_u64(seed(13));
    let mut s = sim(&main_cfg(), hostile(seed(13)));
    let l = random_requant(&mut rng, ConvLayer::new(4, 5, 3, 6, 3, 3));
    let prog = one_layer(&s.pm, &mut rng, &l, false);
    let (want_mem, want) = prog
        .expected(&s.pm, &s.machine())
        .unwrap_or_else(|e| panic!("{e}"));
    let r = run_checked(&mut s, &prog, "baseline");
    let d = prog.descs[0].clone();
    let fails = |s: &EngineSim, r: &RunResult| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check_result(s, &prog, &want_mem, &want, r, "self-test")
        }))
        .is_err()
    };
    for addr in [d.out_addr + 1, d.out_addr - 1, d.in_addr] {
        let old = s.memory_at(addr, 1).unwrap_or_else(|e| panic!("{e}"))[0];
        s.load(addr, &[old ^ 0x10])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(fails(&s, &r), "a changed byte at {addr:#x} went unnoticed");
        s.load(addr, &[old]).unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(!fails(&s, &r), "restored memory passes");
    let mut bad = r.clone();
    bad.rd_bytes += 8;
    assert!(fails(&s, &bad), "a wrong rd_bytes went unnoticed");
    let mut bad = r.clone();
    bad.array_beats -= 1;
    assert!(fails(&s, &bad), "a wrong array_beats went unnoticed");
}
