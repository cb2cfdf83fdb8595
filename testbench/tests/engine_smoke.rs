//! Smoke test of the engine RTL: one small layer, compared with golden.

use contracts::engine::ProgrammingModel;
use golden::layer::ConvLayer;
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

fn random_layer(rng: &mut StdRng) -> ConvLayer {
    loop {
        let k_h = rng.gen_range(1..=4);
        let k_w = rng.gen_range(1..=4);
        let dil_h = rng.gen_range(1..=2);
        let dil_w = rng.gen_range(1..=2);
        let mut l = ConvLayer::new(
            rng.gen_range(1..=9),
            rng.gen_range(1..=9),
            rng.gen_range(1..=20),
            rng.gen_range(1..=9),
            k_h,
            k_w,
        )
        .with_stride(rng.gen_range(1..=3), rng.gen_range(1..=3))
        .with_dilation(dil_h, dil_w)
        .with_padding(golden::shape::Padding {
            top: rng.gen_range(0..=dil_h * (k_h - 1)),
            bottom: rng.gen_range(0..=dil_h * (k_h - 1)),
            left: rng.gen_range(0..=dil_w * (k_w - 1)),
            right: rng.gen_range(0..=dil_w * (k_w - 1)),
        })
        .with_relu(rng.gen());
        if rng.gen_bool(0.4) {
            let pk = rng.gen_range(1..=3);
            l = l.with_pool(pk, rng.gen_range(1..=3), rng.gen_range(0..pk));
        }
        if l.validate().is_ok() {
            return l;
        }
    }
}

#[test]
fn random_layers_match_golden() {
    let only: Option<usize> = std::env::var("SMOKE_ONLY")
        .ok()
        .and_then(|v| v.parse().ok());
    for (i, (rows, cols, mem_bits, ibuf, wbuf)) in [
        (2, 3, 64, 4096, 512),
        (1, 1, 32, 64, 4),
        (4, 4, 128, 4096, 8),
        (3, 2, 32, 128, 512),
        (2, 3, 64, 64, 4),
        (8, 3, 32, 4096, 512),
        (8, 2, 32, 64, 4),
        (16, 2, 64, 8192, 8),
    ]
    .into_iter()
    .enumerate()
    {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        let cfg = EngineConfig {
            rows,
            cols,
            mem_bits,
            ibuf_bytes: ibuf,
            wbuf_rows: wbuf,
            ..EngineConfig::default()
        };
        let (mut m, pm) = build(&cfg);
        let mut rng = StdRng::seed_from_u64(i as u64);
        for _ in 0..6 {
            let layer = random_layer(&mut rng);
            run_layer(
                &mut m,
                &pm,
                layer,
                &mut rng,
                &format!("{rows}x{cols}/{mem_bits} ib{ibuf} wb{wbuf}"),
            );
        }
    }
}

fn run_layer(
    m: &mut Model,
    pm: &ProgrammingModel,
    mut layer: ConvLayer,
    rng: &mut StdRng,
    what: &str,
) -> (u64, u64, u64) {
    run_layer_mem(m, pm, layer, rng, what, None)
}

fn run_layer_mem(
    m: &mut Model,
    pm: &ProgrammingModel,
    mut layer: ConvLayer,
    rng: &mut StdRng,
    what: &str,
    fixed_latency: Option<u32>,
) -> (u64, u64, u64) {
    let m = m;
    let oc = layer.out_c;
    layer.bias = (0..oc).map(|_| rng.gen_range(-500..500)).collect();
    layer.mult = (0..oc).map(|_| rng.gen_range(1..3000)).collect();
    layer.shift = (0..oc).map(|_| rng.gen_range(8..14)).collect();
    let input: Vec<i8> = (0..layer.in_h * layer.in_w * layer.in_c)
        .map(|_| rng.gen())
        .collect();
    let weights: Vec<i8> = (0..layer.k_h * layer.k_w * layer.in_c * layer.out_c)
        .map(|_| rng.gen())
        .collect();
    let want = golden::reference::layer_reference(&layer, &input, &weights).expect("golden");

    let base = 0x1000u64;
    let al = |x: u64| (x + 64) & !15;
    let desc_at = base;
    let in_at = al(desc_at + 64);
    let w_at = al(in_at + input.len() as u64);
    let ch_at = al(w_at + weights.len() as u64);
    let out_at = al(ch_at + 8 * oc as u64);
    let size = (al(out_at + want.len() as u64) - base) as usize;
    let mut desc = vec![0u8; 64];
    let d = &pm.descriptor;
    for (name, v) in [
        ("op", 0u64),
        ("in_addr", in_at),
        ("in_h", layer.in_h as u64),
        ("in_w", layer.in_w as u64),
        ("in_c", layer.in_c as u64),
        ("w_addr", w_at),
        ("ch_addr", ch_at),
        ("out_addr", out_at),
        ("out_c", layer.out_c as u64),
        ("k_h", layer.k_h as u64),
        ("k_w", layer.k_w as u64),
        ("stride_h", layer.stride_h as u64),
        ("stride_w", layer.stride_w as u64),
        ("dil_h", layer.dil_h as u64),
        ("dil_w", layer.dil_w as u64),
        ("pad_t", layer.pad_t as u64),
        ("pad_b", layer.pad_b as u64),
        ("pad_l", layer.pad_l as u64),
        ("pad_r", layer.pad_r as u64),
        ("relu", layer.relu as u64),
        ("pool_k", layer.pool_k as u64),
        ("pool_s", layer.pool_s as u64),
        ("pool_pad", layer.pool_pad as u64),
    ] {
        d.put(&mut desc, name, v).expect("fits");
    }
    let mut recs = vec![0u8; 8 * oc];
    for c in 0..oc {
        let r = &pm.channel_record;
        r.put(&mut recs[8 * c..], "bias", u64::from(layer.bias[c] as u32))
            .expect("b");
        r.put(&mut recs[8 * c..], "mult", u64::from(layer.mult[c]))
            .expect("m");
        r.put(&mut recs[8 * c..], "shift", u64::from(layer.shift[c]))
            .expect("s");
    }
    let ports = MemPorts::new(m, "mem_").expect("mem ports");
    let mcfg = match fixed_latency {
        Some(l) => MemSlaveConfig {
            latency: l..=l,
            req_ready_p: 1.0,
            resp_gap_p: 0.0,
            max_outstanding: 256,
        },
        None => MemSlaveConfig {
            latency: 1..=6,
            req_ready_p: 0.8,
            resp_gap_p: 0.1,
            max_outstanding: 64,
        },
    };
    let mut mem = MemSlave::new("mem", ports, base, size, mcfg, rng.gen()).expect("mem");
    mem.load(desc_at, &desc);
    mem.load(in_at, &input.iter().map(|&v| v as u8).collect::<Vec<_>>());
    mem.load(w_at, &weights.iter().map(|&v| v as u8).collect::<Vec<_>>());
    mem.load(ch_at, &recs);
    let csr_ports = CsrPorts::new(m, "csr_").expect("csr ports");
    let mut csr = CsrMaster::new("csr", csr_ports, 1.0, 3);
    let mut bench = Bench::new(m.port("clk").expect("clk"));
    let rst = m.port("rst").expect("rst");
    m.set(rst, 1);
    bench.steps(m, &mut [], 3).expect("reset");
    m.set(rst, 0);
    let reg = |n: &str| u64::from(pm.reg_offset(n).expect("reg"));
    csr.write(reg("desc_addr"), desc_at);
    csr.write(reg("desc_count"), 1);
    csr.write(reg("ctrl"), 1);
    let irq = m.port("irq").expect("irq");
    let mut cycles = 0;
    loop {
        bench
            .step(m, &mut [&mut csr as &mut dyn Agent, &mut mem])
            .expect("step");
        cycles += 1;
        if m.get(irq) != 0 || cycles > 50_000_000 {
            break;
        }
    }
    csr.read(reg("status"));
    csr.read(reg("cycles_lo"));
    csr.read(reg("rd_bytes_lo"));
    csr.read(reg("wr_bytes_lo"));
    bench
        .steps(m, &mut [&mut csr as &mut dyn Agent, &mut mem], 10)
        .expect("reads");
    let reads = csr.take_reads();
    if fixed_latency.is_none() {
        eprintln!("{what} {layer:?}: cycles {cycles} reads {reads:x?}");
    }
    let got: Vec<i8> = mem
        .bytes(out_at, want.len())
        .iter()
        .map(|&b| b as i8)
        .collect();
    assert_eq!(
        reads[0].1 & 7,
        2,
        "{what}: status {:x} for {layer:?}",
        reads[0].1
    );
    assert_eq!(got, want, "{what}: {layer:?}");
    (reads[1].1, reads[2].1, reads[3].1)
}

/// `cargo test --release -p testbench --test engine_smoke perf -- --ignored --nocapture`
#[test]
#[ignore]
fn perf() {
    let sizes: Vec<u32> = std::env::var("PERF_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![8]);
    let pad1 = golden::shape::Padding {
        top: 1,
        bottom: 1,
        left: 1,
        right: 1,
    };
    let layers = vec![
        (
            "conv3x3 14x14x32->32",
            ConvLayer::new(14, 14, 32, 32, 3, 3).with_padding(pad1),
        ),
        ("conv1x1 14x14x64->64", ConvLayer::new(14, 14, 64, 64, 1, 1)),
        (
            "conv3x3 s2 28x28x16->32",
            ConvLayer::new(28, 28, 16, 32, 3, 3)
                .with_padding(pad1)
                .with_stride(2, 2),
        ),
        ("fc 512->256 b64", ConvLayer::fc(64, 512, 256)),
        ("fc 512->256 b1", ConvLayer::fc(1, 512, 256)),
        (
            "digits conv1",
            ConvLayer::new(8, 8, 1, 8, 3, 3)
                .with_padding(pad1)
                .with_relu(true)
                .with_pool(2, 2, 0),
        ),
        (
            "digits conv2",
            ConvLayer::new(4, 4, 8, 16, 3, 3)
                .with_padding(pad1)
                .with_relu(true)
                .with_pool(2, 2, 0),
        ),
        (
            "lenet conv2",
            ConvLayer::new(14, 14, 6, 16, 5, 5)
                .with_relu(true)
                .with_pool(2, 2, 0),
        ),
    ];
    for n in sizes {
        let cfg = EngineConfig {
            rows: n,
            cols: n,
            ..EngineConfig::default()
        };
        let (mut m, pm) = build(&cfg);
        let mut rng = StdRng::seed_from_u64(5);
        for (name, l) in &layers {
            let macs = (l.h_c() * l.w_c() * l.out_c * l.k_h * l.k_w * l.in_c) as f64;
            let comp = (l.in_h * l.in_w * l.in_c
                + l.k_h * l.k_w * l.in_c * l.out_c
                + 8 * l.out_c
                + l.h_o() * l.w_o() * l.out_c
                + 64) as f64;
            let t = std::time::Instant::now();
            let (cyc, rd, wr) = run_layer_mem(&mut m, &pm, l.clone(), &mut rng, name, Some(8));
            let secs = t.elapsed().as_secs_f64();
            println!(
                "{n}x{n} {name:28} cycles {cyc:9} util {:.3} bytes/compulsory {:.2} ({:.0} kcyc/s)",
                macs / (f64::from(n * n) * cyc as f64),
                (rd + wr) as f64 / comp,
                cyc as f64 / secs / 1e3
            );
        }
    }
}

/// Tiles of one chunk each (1x1 kernel, few input channels) with both operands
/// on chip: the next tile starts in the cycle its predecessor's last row issues.
#[test]
fn single_chunk_tiles_match_golden() {
    for (rows, cols, mem_bits) in [(2, 3, 64), (4, 2, 32)] {
        let cfg = EngineConfig {
            rows,
            cols,
            mem_bits,
            ..EngineConfig::default()
        };
        let (mut m, pm) = build(&cfg);
        let mut rng = StdRng::seed_from_u64(11);
        for in_c in [1, 3, 4] {
            let layer = ConvLayer::new(11, 7, in_c, 8, 1, 1)
                .with_stride(2, 2)
                .with_relu(true);
            run_layer(
                &mut m,
                &pm,
                layer,
                &mut rng,
                &format!("{rows}x{cols}/{mem_bits}"),
            );
        }
    }
}
