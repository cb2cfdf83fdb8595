//! The analytical model (`compiler::model`, cycles from `compiler::timing`)
//! against the engine RTL: per layer the RTL's counters `rd_bytes`,
//! `wr_bytes`, `array_beats` must equal the model's and `cycles` must be
//! within 2%, for a memory of fixed latency that takes one request per cycle.
//!
//! The engines here have small input and weight buffers, so the random layers
//! fall in all four buffer modes (input resident or streamed x weights
//! resident or streamed). `engine_model_sweep` (ignored: minutes) runs more
//! layers and configurations: `ENGINE_MODEL_CFG=rows,cols,bits,lat,ibuf,wbuf,pipeline,max_inflight[,lanes[,fifo_ram[,out_pipe[,staging_ram]]]]`
//! picks one (`lanes`: requant units, 0 or absent for one per column; `fifo_ram` 1: `gen --fifo-ram`; `out_pipe` 1: `gen --out-pipe`; `staging_ram` 1: `gen --staging-ram`), `ENGINE_MODEL_CASES=n` the layers per configuration,
//! `ENGINE_MODEL_VERBOSE=1` prints every layer, `ENGINE_MODEL_NOSTOP=1` goes
//! on past a cycle error (counters must still match), `ENGINE_MODEL_BIG=1`
//! adds input channel counts into the hundreds. `engine_model_one`
//! compares one layer's port schedules request by request.

use compiler::{compile, model, run, Layer, Network, Outcome, Shape};
use contracts::engine::ProgrammingModel;
use hdl::engine::{generate, EngineConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use testbench::agents::{Agent, Bench, CsrMaster, CsrPorts, MemPorts, MemSlave, MemSlaveConfig};
use testbench::verilator::{BuildSpec, Dir, Model, PortDesc};

fn build(cfg: &EngineConfig) -> (Model, ProgrammingModel) {
    let g = generate(cfg).expect("generates");
    let top = g.design.top_module().expect("top");
    let ports = top
        .ports()
        .map(|(_, p)| PortDesc {
            name: p.name.clone(),
            width: p.ty.width,
            dir: if p.kind == hdl::ir::SignalKind::Input {
                Dir::Input
            } else {
                Dir::Output
            },
        })
        .collect();
    let pm = ProgrammingModel::from_manifest_json(&g.manifest.to_json()).expect("pm");
    let m =
        Model::build(&BuildSpec::new(g.verilog, g.design.top.clone(), ports)).expect("verilates");
    (m, pm)
}

/// The RTL's counters after one start: (cycles, array_beats, rd_bytes,
/// wr_bytes), and the port schedule: the cycle and kind (write?) of every
/// request the memory took.
fn run_rtl(
    m: &mut Model,
    pm: &ProgrammingModel,
    prog: &compiler::Program,
    lat: u32,
) -> ([u64; 4], Vec<(u64, bool)>) {
    let ports = MemPorts::new(m, "mem_").expect("mem ports");
    let mcfg = MemSlaveConfig {
        latency: lat..=lat,
        req_ready_p: 1.0,
        resp_gap_p: 0.0,
        max_outstanding: 64,
    };
    let base = prog.base;
    let size = prog.image.len().div_ceil(64) * 64;
    let mut mem = MemSlave::new("mem", ports, u64::from(base), size, mcfg, 1).expect("mem");
    mem.load(u64::from(base), &prog.image);
    let csr_ports = CsrPorts::new(m, "csr_").expect("csr ports");
    let mut csr = CsrMaster::new("csr", csr_ports, 1.0, 3);
    let mut bench = Bench::new(m.port("clk").expect("clk"));
    let rst = m.port("rst").expect("rst");
    m.set(rst, 1);
    bench.steps(m, &mut [], 3).expect("reset");
    m.set(rst, 0);
    let reg = |n: &str| u64::from(pm.reg_offset(n).expect("reg"));
    csr.write(reg("desc_addr"), u64::from(prog.desc_addr));
    csr.write(reg("desc_count"), u64::from(prog.desc_count));
    csr.write(reg("ctrl"), 1);
    let irq = m.port("irq").expect("irq");
    let mut cycles = 0u64;
    loop {
        bench
            .step(m, &mut [&mut csr as &mut dyn Agent, &mut mem])
            .expect("step");
        cycles += 1;
        assert!(cycles < 50_000_000, "the engine does not finish");
        if m.get(irq) != 0 {
            break;
        }
    }
    for r in [
        "status",
        "cycles_lo",
        "array_beats_lo",
        "rd_bytes_lo",
        "wr_bytes_lo",
    ] {
        csr.read(reg(r));
    }
    bench
        .steps(m, &mut [&mut csr as &mut dyn Agent, &mut mem], 20)
        .expect("reads");
    let reads = csr.take_reads();
    let done = pm.reg_value("status", "done", 1).expect("status.done");
    assert_ne!(
        reads[0].1 & u64::from(done),
        0,
        "status {:#x}: not done",
        reads[0].1
    );
    // The outputs must be right for the counters to mean anything.
    let mut want = prog.image.clone();
    assert_eq!(
        run(&mut want, base, pm, prog.desc_addr, prog.desc_count),
        Ok(Outcome::Done)
    );
    assert!(
        mem.bytes(u64::from(base), prog.image.len()) == want.as_slice(),
        "RTL memory differs from the executor"
    );
    let log = mem.log().iter().map(|a| (a.cycle, a.write)).collect();
    ([reads[1].1, reads[2].1, reads[3].1, reads[4].1], log)
}

fn rand_layer(rng: &mut StdRng, inp: Shape) -> Option<Layer> {
    let k_h = rng.gen_range(1..=3u32);
    let k_w = rng.gen_range(1..=3u32);
    let out_c = rng.gen_range(1..=20u32);
    let (s_h, s_w) = (rng.gen_range(1..=2u32), rng.gen_range(1..=2u32));
    let pool = rng.gen_bool(0.3);
    let pk = rng.gen_range(1..=3u32);
    let n = (k_h * k_w * inp.c * out_c) as usize;
    let l = Layer {
        name: "l".into(),
        out_c,
        k_h,
        k_w,
        stride_h: s_h,
        stride_w: s_w,
        dil_h: 1,
        dil_w: rng.gen_range(1..=2),
        pad_t: rng.gen_range(0..k_h),
        pad_b: rng.gen_range(0..k_h),
        pad_l: rng.gen_range(0..k_w),
        pad_r: rng.gen_range(0..k_w),
        relu: rng.gen(),
        pool_k: if pool { pk } else { 0 },
        pool_s: if pool { rng.gen_range(1..=2) } else { 0 },
        pool_pad: if pool { rng.gen_range(0..pk) } else { 0 },
        flatten: false,
        weights: (0..n).map(|_| rng.gen()).collect(),
        bias: (0..out_c).map(|_| rng.gen_range(-500..500)).collect(),
        mult: (0..out_c).map(|_| rng.gen_range(1..3000)).collect(),
        shift: (0..out_c).map(|_| rng.gen_range(8..14)).collect(),
    };
    let net = Network {
        name: "n".into(),
        input: inp,
        layers: vec![l.clone()],
    };
    net.validate().ok().map(|_| l)
}

/// The engine of a test configuration `[rows, cols, mem_bits, latency,
/// ibuf_bytes, wbuf_rows, pipeline, max_inflight, requant_lanes (0: one per
/// column), fifo_ram (0 or 1), out_pipe (0 or 1), staging_ram (0 or 1: the
/// same cycles as the registers, so the model has no parameter for it)]` (the latency is the
/// memory's, not the engine's).
fn engine_config(c: [u32; 12]) -> EngineConfig {
    let [rows, cols, mem_bits, _lat, ib, wb, pipeline, max_inflight, lanes, fifo_ram, out_pipe, staging_ram] =
        c;
    EngineConfig {
        rows,
        cols,
        mem_bits,
        ibuf_bytes: ib,
        wbuf_rows: wb,
        pipeline,
        max_inflight,
        requant_lanes: (lanes != 0).then_some(lanes),
        fifo_ram: fifo_ram != 0,
        out_pipe: out_pipe != 0,
        staging_ram: staging_ram != 0,
        ..EngineConfig::default()
    }
}

/// Worst relative cycle error over the configuration's cases (panics on a
/// counter mismatch or an error past `tol`).
fn check_config(c: [u32; 12], cases: usize, seed: u64, tol: f64) -> f64 {
    let [rows, cols, mem_bits, lat, ib, wb, pipeline, max_inflight, lanes, fifo_ram, out_pipe, _] =
        c;
    let (fifo_ram, out_pipe) = (fifo_ram != 0, out_pipe != 0);
    let cfg = engine_config(c);
    let (mut m, pm) = build(&cfg);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut worst: f64 = 0.0;
    let mut case = 0;
    let mut modes = [0usize; 4];
    let big = std::env::var("ENGINE_MODEL_BIG").is_ok();
    while case < cases {
        let inp = Shape {
            h: rng.gen_range(1..=12),
            w: rng.gen_range(1..=12),
            // ENGINE_MODEL_BIG: channel counts into the hundreds too (K up
            // to ~1800: many chunks per tile, runs across many words).
            c: if big && rng.gen_bool(0.3) {
                [64u32, 100, 129, 200][rng.gen_range(0..4)]
            } else {
                [1u32, 3, 4, 8, 13, 16, 32, 40][rng.gen_range(0..8)]
            },
        };
        let Some(l) = rand_layer(&mut rng, inp) else {
            continue;
        };
        case += 1;
        let net = Network {
            name: "n".into(),
            input: inp,
            layers: vec![l],
        };
        let input: Vec<i8> = (0..net.input.bytes()).map(|_| rng.gen()).collect();
        let prog = compile(&net, Some(&input), &pm, 0x1000).expect("compiles");
        let params = model::ModelParams {
            rows,
            cols,
            mem_bits,
            latency: lat,
            ibuf_bytes: u64::from(ib),
            wbuf_rows: u64::from(wb),
            chunk_bytes: model::default_chunk_bytes(rows, mem_bits),
            pipeline,
            max_inflight,
            requant_lanes: lanes,
            fifo_ram,
            out_pipe,
        };
        let cost =
            model::program_cost(&pm, &params, prog.desc_addr, &prog.descriptors).expect("cost");
        let ([cyc, beats, rd, wr], _) = run_rtl(&mut m, &pm, &prog, lat);
        let t = &cost.total;
        let l0 = &cost.layers[0];
        let mode = (l0.input_resident * 2 + l0.weights_resident) as usize;
        modes[mode] += 1;
        let d = prog.descriptor_fields(0);
        assert_eq!(
            (beats, rd, wr),
            (t.array_beats, t.rd_bytes, t.wr_bytes),
            "{rows}x{cols}/{mem_bits} lat {lat} ib {ib} wb {wb} case {case}: counters (beats, rd, wr); {d:?}"
        );
        let err = (t.cycles as f64 - cyc as f64) / cyc as f64;
        if std::env::var("ENGINE_MODEL_VERBOSE").is_ok() {
            eprintln!(
                "{rows}x{cols}/{mem_bits} lat {lat} mode {mode} case {case}: rtl {cyc} model {} err {:+.3}%",
                t.cycles,
                100.0 * err
            );
            if t.cycles != cyc {
                let f = d.clone().expect("fields");
                let keys = [
                    "in_h", "in_w", "in_c", "out_c", "k_h", "k_w", "stride_h", "stride_w", "dil_w",
                    "pad_t", "pad_b", "pad_l", "pad_r", "pool_k", "pool_s", "pool_pad",
                ];
                let v: Vec<String> = keys.iter().map(|k| format!("{k}={}", f[*k])).collect();
                eprintln!("   {}", v.join(" "));
            }
        }
        assert!(
            err.abs() <= tol || std::env::var("ENGINE_MODEL_NOSTOP").is_ok(),
            "{rows}x{cols}/{mem_bits} lat {lat} ib {ib} wb {wb} case {case} mode {mode}: rtl {cyc} cycles, model {} ({:+.2}%); {d:?}",
            t.cycles,
            100.0 * err
        );
        worst = worst.max(err.abs());
    }
    eprintln!(
        "{rows}x{cols}/{mem_bits} lat {lat} ib {ib} wb {wb} pipeline {pipeline} max_inflight {max_inflight} lanes {lanes} fifo_ram {fifo_ram}: {cases} layers (modes ss/sw/is/iw {modes:?}), worst cycle error {:.3}%",
        100.0 * worst
    );
    worst
}

/// Debug aid: one layer (`ENGINE_MODEL_CFG` as for the sweep,
/// `ENGINE_MODEL_LAYER` below; a default of each without them,
/// `ENGINE_MODEL_LAYER=in_h,in_w,in_c,out_c,k_h,k_w,s_h,s_w,dil_w,pad_t,pad_b,pad_l,pad_r,pool_k,pool_s,pool_pad`):
/// the model's port schedule (every request's cycle and kind) must be the
/// RTL's, shifted by the start; both go to `engine_model_{rtl,model}.txt` in
/// the temp directory ("cycle write?" lines), so a mismatch shows where.
#[test]
#[ignore = "debug"]
fn engine_model_one() {
    let c: Vec<u32> = std::env::var("ENGINE_MODEL_CFG")
        .unwrap_or_else(|_| "4,4,64,8,256,32,0,64".into())
        .split(',')
        .map(|x| x.parse().expect("n"))
        .collect();
    let f: Vec<u32> = std::env::var("ENGINE_MODEL_LAYER")
        .unwrap_or_else(|_| "10,7,3,20,3,3,1,1,1,1,1,1,1,2,2,0".into())
        .split(',')
        .map(|x| x.parse().expect("n"))
        .collect();
    let (rows, cols, mem_bits, lat, ib, wb, pipeline, max_inflight) =
        (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
    let lanes = c.get(8).copied().unwrap_or(0);
    let fifo_ram = c.get(9).is_some_and(|&v| v != 0);
    let mut all = [0u32; 12];
    for (d, &v) in all.iter_mut().zip(&c) {
        *d = v;
    }
    let cfg = engine_config(all);
    let (mut m, pm) = build(&cfg);
    let mut rng = StdRng::seed_from_u64(5);
    let inp = Shape {
        h: f[0],
        w: f[1],
        c: f[2],
    };
    let n = (f[4] * f[5] * f[2] * f[3]) as usize;
    let l = Layer {
        name: "l".into(),
        out_c: f[3],
        k_h: f[4],
        k_w: f[5],
        stride_h: f[6],
        stride_w: f[7],
        dil_h: 1,
        dil_w: f[8],
        pad_t: f[9],
        pad_b: f[10],
        pad_l: f[11],
        pad_r: f[12],
        relu: true,
        pool_k: f[13],
        pool_s: f[14],
        pool_pad: f[15],
        flatten: false,
        weights: (0..n).map(|_| rng.gen()).collect(),
        bias: vec![0; f[3] as usize],
        mult: vec![100; f[3] as usize],
        shift: vec![8; f[3] as usize],
    };
    let net = Network {
        name: "n".into(),
        input: inp,
        layers: vec![l],
    };
    let input: Vec<i8> = (0..net.input.bytes()).map(|_| rng.gen()).collect();
    let prog = compile(&net, Some(&input), &pm, 0x1000).expect("compiles");
    let ([cyc, ..], rtl_log) = run_rtl(&mut m, &pm, &prog, lat);
    let d = prog.descriptors[0];
    let tp = compiler::timing::TimingParams {
        rows: rows.into(),
        cols: cols.into(),
        mb: (mem_bits / 8).into(),
        cb: model::default_chunk_bytes(rows, mem_bits),
        latency: lat.into(),
        ibuf_bytes: ib.into(),
        wbuf_rows: wb.into(),
        desc_bytes: pm.descriptor.bytes.into(),
        record_bytes: pm.channel_record.bytes.into(),
        pipeline: pipeline.into(),
        max_inflight: max_inflight.into(),
        requant_lanes: lanes.into(),
        fifo_ram,
        out_pipe: c.get(10).is_some_and(|&v| v != 0),
    };
    let (mc, tr) = compiler::timing::descriptor_port_trace(&tp, &d, 1 << 32).expect("model");
    let text = |v: &[(u64, bool)]| -> String {
        v.iter()
            .map(|(c, w)| format!("{c} {}\n", u8::from(*w)))
            .collect()
    };
    let dir = std::env::temp_dir();
    std::fs::write(dir.join("engine_model_rtl.txt"), text(&rtl_log)).expect("write");
    std::fs::write(dir.join("engine_model_model.txt"), text(&tr)).expect("write");
    eprintln!("rtl {cyc} cycles, model {}", mc + model::C_START);
    assert_eq!(rtl_log.len(), tr.len(), "requests");
    let shift = rtl_log[0].0 - tr[0].0;
    let first_diff = rtl_log
        .iter()
        .zip(&tr)
        .position(|(r, m)| (r.0 - shift, r.1) != *m);
    assert_eq!(first_diff, None, "port schedules differ");
    assert_eq!(cyc, mc + model::C_START);
}

fn conv(
    rng: &mut StdRng,
    c_in: u32,
    out_c: u32,
    k: u32,
    pad: u32,
    pool: bool,
    flatten: bool,
) -> Layer {
    let n = (k * k * c_in * out_c) as usize;
    Layer {
        name: format!("conv{out_c}"),
        out_c,
        k_h: k,
        k_w: k,
        stride_h: 1,
        stride_w: 1,
        dil_h: 1,
        dil_w: 1,
        pad_t: pad,
        pad_b: pad,
        pad_l: pad,
        pad_r: pad,
        relu: !flatten,
        pool_k: if pool { 2 } else { 0 },
        pool_s: if pool { 2 } else { 0 },
        pool_pad: 0,
        flatten,
        weights: (0..n).map(|_| rng.gen()).collect(),
        bias: (0..out_c).map(|_| rng.gen_range(-500..500)).collect(),
        mult: (0..out_c).map(|_| rng.gen_range(1..3000)).collect(),
        shift: (0..out_c).map(|_| rng.gen_range(8..14)).collect(),
    }
}

/// A whole network in one start (the digits CNN: conv 1->8 pool, conv 8->16
/// pool, FC 64->10): the program's cycles are its descriptors' plus `C_START`.
/// `lanes`: requant units (0: one per column).
fn check_network(rows: u32, cols: u32, mem_bits: u32, lat: u32, ib: u32, wb: u32, lanes: u32) {
    let cfg = EngineConfig {
        rows,
        cols,
        mem_bits,
        ibuf_bytes: ib,
        wbuf_rows: wb,
        requant_lanes: (lanes != 0).then_some(lanes),
        ..EngineConfig::default()
    };
    let (mut m, pm) = build(&cfg);
    let mut rng = StdRng::seed_from_u64(9);
    let net = Network {
        name: "digits".into(),
        input: Shape { h: 8, w: 8, c: 1 },
        layers: vec![
            conv(&mut rng, 1, 8, 3, 1, true, false),
            conv(&mut rng, 8, 16, 3, 1, true, false),
            conv(&mut rng, 64, 10, 1, 0, false, true),
        ],
    };
    let input: Vec<i8> = (0..net.input.bytes()).map(|_| rng.gen()).collect();
    let prog = compile(&net, Some(&input), &pm, 0x1000).expect("compiles");
    let params = testbench::engine::model_params(&cfg, lat);
    let cost = model::program_cost(&pm, &params, prog.desc_addr, &prog.descriptors).expect("cost");
    assert_eq!(cost.layers.len(), 3);
    let t = &cost.total;
    let ([cyc, beats, rd, wr], _) = run_rtl(&mut m, &pm, &prog, lat);
    assert_eq!(
        (beats, rd, wr),
        (t.array_beats, t.rd_bytes, t.wr_bytes),
        "digits counters"
    );
    let err = (t.cycles as f64 - cyc as f64) / cyc as f64;
    assert!(
        err.abs() <= 0.02,
        "digits network: rtl {cyc} cycles, model {}",
        t.cycles
    );
    eprintln!(
        "digits network at {rows}x{cols}/{mem_bits} lat {lat} lanes {}: rtl {cyc} model {} cycles",
        cfg.lanes(),
        t.cycles
    );
}

#[test]
fn model_matches_rtl_small() {
    // The same engine as the first random set (one model build): the
    // network's inputs are resident, its second and third layers' weights
    // stream.
    check_network(4, 4, 64, 8, 256, 32, 0);
    check_config([4, 4, 64, 8, 256, 32, 0, 64, 0, 0, 0, 0], 12, 1, 0.02);
    check_config([2, 3, 32, 3, 128, 16, 2, 8, 0, 0, 0, 0], 12, 2, 0.02);
    // Shared requantization (one unit for 4 columns): the model stays
    // cycle-exact.
    check_network(4, 4, 64, 8, 256, 32, 1);
    check_config([4, 4, 64, 8, 256, 32, 0, 64, 1, 0, 0, 0], 12, 3, 0.0);
    // Every deep FIFO in block RAM (`--fifo-ram`): the model follows each
    // FIFO's storage, cycle for cycle.
    check_config([2, 2, 32, 4, 256, 32, 0, 4, 0, 1, 0, 0], 12, 4, 0.0);
    // The output path's second stage (`--out-pipe`), with two column groups:
    // exact too.
    check_config([2, 4, 32, 3, 256, 32, 0, 8, 2, 0, 1, 0], 12, 5, 0.0);
    // The staging ring in block RAM (`--staging-ram`): the registers' cycles.
    check_config([3, 2, 32, 3, 128, 16, 0, 8, 0, 0, 0, 1], 12, 6, 0.0);
}

#[test]
#[ignore = "twenty-seven engine builds (minutes on a cold model cache)"]
fn engine_model_sweep() {
    let cases: usize = std::env::var("ENGINE_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let cfgs: Vec<[u32; 12]> = match std::env::var("ENGINE_MODEL_CFG") {
        Ok(v) => {
            let f: Vec<u32> = v.split(',').map(|x| x.parse().expect("number")).collect();
            let lanes = f.get(8).copied().unwrap_or(0);
            let ram = f.get(9).copied().unwrap_or(0);
            let pipe = f.get(10).copied().unwrap_or(0);
            let sram = f.get(11).copied().unwrap_or(0);
            vec![[
                f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], lanes, ram, pipe, sram,
            ]]
        }
        // The last fields: requant lanes (0: one per column; else 1, cols/2
        // or another divisor of the columns), fifo_ram (1: `--fifo-ram`).
        Err(_) => vec![
            [1, 1, 32, 1, 64, 8, 0, 64, 0, 0, 0, 0],
            [2, 3, 64, 5, 256, 32, 0, 64, 0, 0, 0, 0],
            [4, 4, 128, 32, 512, 32, 0, 64, 0, 0, 0, 0],
            [8, 8, 32, 8, 512, 64, 0, 64, 0, 0, 0, 0],
            [8, 8, 64, 8, 512, 64, 0, 64, 0, 0, 0, 0],
            [16, 16, 64, 8, 1024, 64, 0, 64, 0, 0, 0, 0],
            [4, 4, 64, 17, 512, 32, 4, 16, 0, 0, 0, 0],
            [8, 8, 128, 32, 1024, 64, 1, 8, 0, 0, 0, 0],
            [3, 5, 32, 2, 256, 16, 3, 4, 0, 0, 0, 0],
            [2, 2, 32, 4, 1024, 256, 0, 4, 1, 0, 0, 0],
            [2, 3, 64, 5, 256, 32, 2, 8, 1, 0, 0, 0],
            [4, 4, 32, 8, 512, 32, 0, 4, 2, 0, 0, 0],
            [8, 8, 64, 8, 512, 64, 0, 64, 1, 0, 0, 0],
            [8, 8, 32, 3, 512, 64, 4, 16, 4, 0, 0, 0],
            [3, 6, 32, 2, 256, 16, 3, 4, 3, 0, 0, 0],
            // `--fifo-ram`: every deep FIFO in block RAM (the write-job FIFO
            // too from 4 rows), short and long latencies.
            [2, 2, 32, 1, 64, 8, 0, 4, 1, 1, 0, 0],
            [4, 4, 64, 8, 512, 32, 2, 8, 0, 1, 0, 0],
            [1, 1, 32, 3, 64, 8, 0, 16, 0, 1, 0, 0],
            [4, 3, 32, 12, 256, 16, 0, 4, 0, 1, 0, 0],
            // `--out-pipe`: the output path's second stage, one group or
            // several, a one-row array (a row every cycle) and a write-job
            // FIFO in block RAM (8 rows).
            [1, 1, 32, 1, 64, 8, 0, 16, 0, 0, 1, 0],
            [2, 2, 32, 4, 1024, 256, 0, 4, 1, 1, 1, 0],
            [4, 4, 64, 8, 512, 32, 2, 8, 2, 0, 1, 0],
            [8, 8, 64, 8, 512, 64, 0, 64, 0, 0, 1, 0],
            // `--staging-ram`: the staging ring in block RAM, the registers'
            // cycles exactly (the model has no parameter for it): the board
            // top's engine, a one-row array, streamed weights and inputs.
            [2, 2, 32, 4, 1024, 256, 0, 4, 1, 0, 1, 1],
            [1, 1, 32, 3, 64, 8, 0, 16, 0, 0, 0, 1],
            [4, 3, 32, 12, 256, 16, 0, 4, 0, 1, 0, 1],
            [8, 8, 64, 8, 512, 64, 2, 64, 0, 0, 0, 1],
        ],
    };
    for (i, c) in cfgs.iter().enumerate() {
        // Shared requant lanes and block-RAM FIFOs are new: hold them to the
        // exact cycle.
        let tol = if c[8] == 0 && c[9] == 0 && c[10] == 0 && c[11] == 0 {
            0.02
        } else {
            0.0
        };
        check_config(*c, cases, 100 + i as u64, tol);
    }
}

/// The model's `SETUP` length is the RTL's: the setup program's cycles under
/// the contract's limits.
#[test]
fn setup_cycles_agree() {
    let pm = ProgrammingModel::new(64);
    assert_eq!(
        u64::from(hdl::engine::setup::cycles(&pm.limits)),
        compiler::timing::SETUP_CYCLES
    );
}
