//! The cost model's traffic against a brute-force walk of the schedule in
//! docs/engine.md, written here literally (every group, tile, window offset,
//! kernel tap, chunk, row and word), on random descriptors and engines.

use compiler::check::{check_descriptor, Descriptor};
use compiler::model::{default_chunk_bytes, layer_cost, program_cost, ModelParams, C_START};
use compiler::{compile, Network, Shape};
use contracts::engine::ProgrammingModel;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Debug, Default, PartialEq, Eq)]
struct Counted {
    groups: u64,
    tiles: u64,
    chunks: u64,
    a_words: u64,
    a_runs: u64,
    a_walk: u64,
    reads: u64,
    writes: u64,
    wr_bytes: u64,
    array_beats: u64,
    macs: u64,
}

fn words(a: u64, n: u64, mb: u64) -> u64 {
    (a + n - 1) / mb - a / mb + 1
}

/// docs/engine.md "Schedule (one descriptor)", loop by loop.
fn brute_force(pm: &ProgrammingModel, p: &ModelParams, d: &Descriptor, desc_addr: u64) -> Counted {
    let (rows, cols) = (u64::from(p.rows), u64::from(p.cols));
    let mb = u64::from(pm.mem_bits / 8);
    let db = u64::from(pm.descriptor.bytes);
    let rb = u64::from(pm.channel_record.bytes);
    let mut c = Counted::default();
    let i64_ = |v: u64| v as i64;
    // Sizes straight from the formulas.
    let h_c = (d.in_h + d.pad_t + d.pad_b - d.dil_h * (d.k_h - 1) - 1) / d.stride_h + 1;
    let w_c = (d.in_w + d.pad_l + d.pad_r - d.dil_w * (d.k_w - 1) - 1) / d.stride_w + 1;
    let (pk, ps, pp) = if d.pool_k == 0 {
        (1, 1, 0)
    } else {
        (d.pool_k, d.pool_s, d.pool_pad)
    };
    let (h_o, w_o) = if d.pool_k == 0 {
        (h_c, w_c)
    } else {
        ((h_c + 2 * pp - pk) / ps + 1, (w_c + 2 * pp - pk) / ps + 1)
    };
    let (c_in, c_out) = (d.in_c, d.out_c);

    // Buffer modes: the whole input, or a group's k_h*k_w*C_in weight rows, on chip.
    let in_bytes = d.in_h * d.in_w * c_in;
    let input_resident = in_bytes <= p.ibuf_bytes;
    let weights_resident = d.k_h * d.k_w * c_in <= p.wbuf_rows;
    c.reads += words(desc_addr, db, mb);
    c.reads += words(d.ch_addr, rb * c_out, mb);
    if input_resident {
        c.reads += words(d.in_addr, in_bytes, mb);
    }
    let groups = c_out.div_ceil(cols);
    for g in 0..groups {
        let co0 = g * cols;
        let gw = cols.min(c_out - co0);
        c.groups += 1;
        c.reads += words(d.ch_addr + rb * co0, rb * gw, mb);
        if weights_resident {
            for ky in 0..d.k_h {
                for kx in 0..d.k_w {
                    for ci in 0..c_in {
                        let a = d.w_addr + ((ky * d.k_w + kx) * c_in + ci) * c_out + co0;
                        c.reads += words(a, gw, mb);
                    }
                }
            }
        }
        for t in 0..(h_o * w_o).div_ceil(rows) {
            for wi in 0..pk {
                for wj in 0..pk {
                    c.tiles += 1;
                    for ky in 0..d.k_h {
                        for kx in 0..d.k_w {
                            let mut ci0 = 0;
                            while ci0 < c_in {
                                let n = p.chunk_bytes.min(c_in - ci0);
                                c.chunks += 1;
                                for i in 0..rows {
                                    // The row's run of A words, if the row is
                                    // live and its input position inside.
                                    let run = (|| {
                                        let p = t * rows + i;
                                        if p >= h_o * w_o {
                                            return None;
                                        }
                                        let (py, px) = (p / w_o, p % w_o);
                                        let cy = i64_(py * ps) - i64_(pp) + i64_(wi);
                                        let cx = i64_(px * ps) - i64_(pp) + i64_(wj);
                                        if cy < 0 || cx < 0 || cy >= i64_(h_c) || cx >= i64_(w_c) {
                                            return None;
                                        }
                                        let iy = cy * i64_(d.stride_h) - i64_(d.pad_t)
                                            + i64_(ky * d.dil_h);
                                        let ix = cx * i64_(d.stride_w) - i64_(d.pad_l)
                                            + i64_(kx * d.dil_w);
                                        if iy < 0
                                            || ix < 0
                                            || iy >= i64_(d.in_h)
                                            || ix >= i64_(d.in_w)
                                        {
                                            return None;
                                        }
                                        let a = d.in_addr
                                            + (iy as u64 * d.in_w + ix as u64) * c_in
                                            + ci0;
                                        Some(words(a, n, mb))
                                    })();
                                    // The walker spends a cycle per row, a cycle per word of a run.
                                    c.a_walk += run.unwrap_or(1);
                                    if let Some(w) = run {
                                        c.a_words += w;
                                        c.a_runs += 1;
                                        if !input_resident {
                                            c.reads += w;
                                        }
                                    }
                                }
                                for j in 0..n {
                                    if weights_resident {
                                        break;
                                    }
                                    let a = d.w_addr
                                        + ((ky * d.k_w + kx) * c_in + ci0 + j) * c_out
                                        + co0;
                                    c.reads += words(a, gw, mb);
                                }
                                c.array_beats += n;
                                ci0 += p.chunk_bytes;
                            }
                        }
                    }
                }
            }
            for i in 0..rows {
                let p = t * rows + i;
                if p < h_o * w_o {
                    c.writes += words(d.out_addr + p * c_out + co0, gw, mb);
                    c.wr_bytes += gw;
                }
            }
        }
    }
    for _y in 0..h_c {
        for _x in 0..w_c {
            c.macs += c_out * d.k_h * d.k_w * c_in;
        }
    }
    c
}

/// A random descriptor the engine accepts, at random aligned addresses.
fn rand_descriptor(rng: &mut StdRng, pm: &ProgrammingModel) -> Descriptor {
    let align = u64::from(pm.limits.align);
    loop {
        let mut d = Descriptor {
            in_h: rng.gen_range(1..=9),
            in_w: rng.gen_range(1..=11),
            in_c: *[1, 2, 3, 5, 7, 8, 13, 16, 17, 33]
                .get(rng.gen_range(0..10))
                .unwrap_or(&1),
            out_c: rng.gen_range(1..=19),
            k_h: rng.gen_range(1..=4),
            k_w: rng.gen_range(1..=4),
            stride_h: rng.gen_range(1..=3),
            stride_w: rng.gen_range(1..=3),
            dil_h: rng.gen_range(1..=2),
            dil_w: rng.gen_range(1..=2),
            relu: rng.gen_range(0..=1),
            in_addr: align * rng.gen_range(0..1000),
            w_addr: align * rng.gen_range(0..1000),
            ch_addr: align * rng.gen_range(0..1000),
            out_addr: align * rng.gen_range(0..1000),
            ..Descriptor::default()
        };
        d.pad_t = rng.gen_range(0..=d.dil_h * (d.k_h - 1));
        d.pad_b = rng.gen_range(0..=d.dil_h * (d.k_h - 1));
        d.pad_l = rng.gen_range(0..=d.dil_w * (d.k_w - 1));
        d.pad_r = rng.gen_range(0..=d.dil_w * (d.k_w - 1));
        if rng.gen_bool(0.4) {
            d.pool_k = rng.gen_range(1..=3);
            d.pool_s = rng.gen_range(1..=3);
            d.pool_pad = rng.gen_range(0..d.pool_k);
        }
        if check_descriptor(pm, &d).is_ok() {
            return d;
        }
    }
}

#[test]
fn traffic_equals_the_literal_schedule() {
    let mut rng = StdRng::seed_from_u64(0x30);
    for case in 0..400 {
        let mem_bits = [32, 64, 128][case % 3];
        let pm = ProgrammingModel::new(mem_bits);
        let mb = u64::from(mem_bits / 8);
        let (rows, cols) = [(1, 1), (2, 3), (4, 4), (8, 8), (3, 5), (16, 16)][rng.gen_range(0..6)];
        let p = ModelParams {
            rows,
            cols,
            mem_bits,
            latency: rng.gen_range(1..=32),
            ibuf_bytes: [0, 2 * mb, 64, 1000, 128 * 1024][rng.gen_range(0..5)],
            wbuf_rows: [0, 2, 20, 64, 2048][rng.gen_range(0..5)],
            // The generator's rule, or another width (a chunk is not always a word).
            chunk_bytes: if rng.gen_bool(0.5) {
                default_chunk_bytes(rows, mem_bits)
            } else {
                [1, 3, 4, 8, 16, 32][rng.gen_range(0..6)]
            },
            pipeline: rng.gen_range(0..=4),
            max_inflight: [4, 16, 64][rng.gen_range(0..3)],
            // One unit per column (0), or a divisor of the columns.
            requant_lanes: {
                let lanes: Vec<u32> = (0..=cols).filter(|&l| l == 0 || cols % l == 0).collect();
                lanes[rng.gen_range(0..lanes.len())]
            },
            fifo_ram: rng.gen_bool(0.3),
            out_pipe: rng.gen_bool(0.3),
        };
        let d = rand_descriptor(&mut rng, &pm);
        let desc_addr = mb * rng.gen_range(0..100);
        let want = brute_force(&pm, &p, &d, desc_addr);
        let got = layer_cost(&pm, &p, desc_addr, &d).expect("valid descriptor");
        let got_counted = Counted {
            groups: got.groups,
            tiles: got.tiles,
            chunks: got.chunks,
            a_words: got.a_words,
            a_runs: got.a_runs,
            a_walk: got.a_walk,
            reads: got.reads,
            writes: got.writes,
            wr_bytes: got.wr_bytes,
            array_beats: got.array_beats,
            macs: got.macs,
        };
        assert_eq!(
            got_counted, want,
            "case {case}: {d:?} at {rows}x{cols}, {mem_bits} bits"
        );
        assert_eq!(got.rd_bytes, got.reads * mb);
        // Every read and write takes the port for a cycle (the RTL check is
        // testbench/tests/engine_model.rs).
        assert!(got.cycles >= want.reads + want.writes, "case {case}");
    }
}

/// Fewer, larger layers: K in the thousands, FC at batch 1 and batch > ROWS,
/// channel counts that are not multiples of the array or the word.
#[test]
fn traffic_equals_the_literal_schedule_on_large_layers() {
    let fc = |batch: u64, k: u64, n: u64| Descriptor {
        in_h: 1,
        in_w: batch,
        in_c: k,
        out_c: n,
        k_h: 1,
        k_w: 1,
        stride_h: 1,
        stride_w: 1,
        dil_h: 1,
        dil_w: 1,
        in_addr: 0x1000,
        w_addr: 0x10_0000,
        ch_addr: 0x20_0000,
        out_addr: 0x30_0000,
        ..Descriptor::default()
    };
    let conv = Descriptor {
        in_h: 13,
        in_w: 11,
        in_c: 37,
        out_c: 21,
        k_h: 3,
        k_w: 2,
        stride_h: 2,
        stride_w: 1,
        pad_t: 1,
        pad_b: 2,
        pad_r: 1,
        pool_k: 2,
        pool_s: 2,
        ..fc(1, 1, 1)
    };
    for (d, rows, cols) in [
        (fc(1, 3000, 10), 8, 8),
        (fc(70, 515, 19), 8, 8),
        (fc(9, 4096, 3), 4, 4),
        (conv, 8, 8),
        (conv, 3, 5),
    ] {
        for mem_bits in [32, 64, 128] {
            let pm = ProgrammingModel::new(mem_bits);
            for (ibuf_bytes, wbuf_rows) in [(0, 0), (128 * 1024, 2048), (4096, 4096)] {
                let p = ModelParams {
                    ibuf_bytes,
                    wbuf_rows,
                    ..ModelParams::streaming(rows, cols, mem_bits, 8)
                };
                let want = brute_force(&pm, &p, &d, 0x40);
                let got = layer_cost(&pm, &p, 0x40, &d).expect("valid");
                assert_eq!(
                    (got.reads, got.writes, got.array_beats, got.macs),
                    (want.reads, want.writes, want.array_beats, want.macs),
                    "{d:?} {rows}x{cols} {mem_bits} ibuf {ibuf_bytes} wbuf {wbuf_rows}"
                );
            }
        }
    }
}

/// Compulsory bytes and the program sum, against a compiled program's map.
#[test]
fn program_cost_sums_layers_and_compulsory_bytes_match_the_regions() {
    let mut rng = StdRng::seed_from_u64(0x31);
    let pm = ProgrammingModel::new(64);
    let p = ModelParams::streaming(8, 8, 64, 8);
    let layer = |rng: &mut StdRng, name: &str, in_c: u32, out_c: u32, k: u32| compiler::Layer {
        name: name.into(),
        out_c,
        k_h: k,
        k_w: k,
        stride_h: 1,
        stride_w: 1,
        dil_h: 1,
        dil_w: 1,
        pad_t: k / 2,
        pad_b: k / 2,
        pad_l: k / 2,
        pad_r: k / 2,
        relu: true,
        pool_k: 0,
        pool_s: 0,
        pool_pad: 0,
        flatten: false,
        weights: (0..k * k * in_c * out_c).map(|_| rng.gen()).collect(),
        bias: vec![0; out_c as usize],
        mult: vec![1; out_c as usize],
        shift: vec![0; out_c as usize],
    };
    let net = Network {
        name: "two".into(),
        input: Shape { h: 10, w: 10, c: 8 },
        layers: vec![
            layer(&mut rng, "a", 8, 16, 3),
            layer(&mut rng, "b", 16, 8, 1),
        ],
    };
    let prog = compile(&net, None, &pm, 0).expect("compiles");
    let cost = program_cost(&pm, &p, prog.desc_addr, &prog.descriptors).expect("valid");
    assert_eq!(cost.layers.len(), 2);
    let sum = |f: fn(&compiler::LayerCost) -> u64| cost.layers.iter().map(f).sum::<u64>();
    assert_eq!(cost.total.reads, sum(|c| c.reads));
    assert_eq!(cost.total.cycles, sum(|c| c.cycles) + C_START);
    let region = |name: &str| {
        prog.regions
            .iter()
            .find(|r| r.name == name)
            .expect("region")
            .bytes
    };
    for (i, (l, c)) in prog.layers.iter().zip(&cost.layers).enumerate() {
        let name = &net.layers[i].name;
        let want = l.in_shape.bytes()
            + u64::from(region(&format!("{name}.weights")))
            + u64::from(region(&format!("{name}.records")))
            + l.out_shape.bytes()
            + u64::from(pm.descriptor.bytes);
        assert_eq!(c.compulsory_bytes, want, "layer {i}");
        assert_eq!(c.wr_bytes, l.out_shape.bytes());
        // Useful MACs: 10x10 outputs (same padding) x out_c x k*k*in_c.
        let k = u64::from(net.layers[i].k_h);
        assert_eq!(
            c.macs,
            100 * u64::from(l.out_shape.c) * k * k * u64::from(l.in_shape.c)
        );
        assert!(c.utilization(&p) > 0.0 && c.utilization(&p) <= 1.0);
        assert!(
            c.traffic_ratio() >= 1.0 - 1e-9,
            "traffic never below compulsory here"
        );
    }
    // A descriptor the engine refuses has no cost.
    let mut bad = prog.descriptors[0];
    bad.op = 1;
    assert!(layer_cost(&pm, &p, 0, &bad).unwrap_err().contains("bad_op"));
}
