//! Compile random networks, run them with the executor, and compare the final
//! (and every intermediate) output with golden's reference applied layer by
//! layer straight from the network file. Also: what the compiler refuses, and
//! that the image and its map agree.

mod common;

use common::{as_i8, golden_chain, plain_layer, rand_input, rand_network};
use compiler::compile::{GUARD, UNWRITTEN};
use compiler::{compile, run, CompileError, Network, Outcome, RegionKind, Shape};
use contracts::engine::ProgrammingModel;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// Run `net` through compile + exec and check it against the golden chain,
/// the guard bytes and the read-only regions.
fn check_network(net: &Network, input: &[i8], pm: &ProgrammingModel, base: u32) {
    let prog = compile(net, Some(input), pm, base).expect("compiles");
    // The memory is larger than the image when there is room below it: the
    // executor must address it through `mem_base`, touching nothing outside.
    let margin = if base >= 64 { 64 } else { 0 };
    let mut big = vec![0xEE; margin];
    big.extend_from_slice(&prog.image);
    big.extend_from_slice(&[0xEE; 64]);
    let outcome = run(
        &mut big,
        base - margin as u32,
        pm,
        prog.desc_addr,
        prog.desc_count,
    )
    .expect("runs");
    assert_eq!(outcome, Outcome::Done);
    assert!(big[..margin].iter().all(|&b| b == 0xEE));
    assert!(big[big.len() - 64..].iter().all(|&b| b == 0xEE));
    let mem = big[margin..big.len() - 64].to_vec();

    let want = golden_chain(net, input);
    let got = as_i8(prog.slice(&mem, &prog.output).expect("output inside"));
    assert_eq!(
        got,
        want[want.len() - 1],
        "final output of {}",
        net.to_json()
    );
    assert_eq!(prog.output_shape.bytes() as usize, got.len());

    // Only activation bytes may change; guards and read-only regions stay.
    for (i, (&before, &after)) in prog.image.iter().zip(&mem).enumerate() {
        let a = u64::from(base) + i as u64;
        let writable = prog
            .regions
            .iter()
            .any(|r| r.kind == RegionKind::Activation && r.contains(a));
        assert_eq!(prog.byte_writable(a), writable);
        if !writable {
            assert_eq!(before, after, "byte at {a:#x} (not an activation) changed");
        }
        if prog.is_guard(a) {
            assert_eq!(after, GUARD, "guard byte at {a:#x}");
        }
    }
    // The last two layers' outputs are still in their regions.
    let n = net.layers.len();
    for (p, w) in prog.layers.iter().zip(&want).skip(n.saturating_sub(2)) {
        let off = (p.out_addr - base) as usize;
        let bytes = p.out_shape.bytes() as usize;
        assert_eq!(as_i8(&mem[off..off + bytes]), *w, "layer {} output", p.name);
    }
}

#[test]
fn random_networks_match_the_golden_chain() {
    let mut rng = StdRng::seed_from_u64(0x10);
    for case in 0..150 {
        let mem_bits = [32, 64, 128][case % 3];
        let pm = ProgrammingModel::new(mem_bits);
        let net = rand_network(&mut rng);
        let input = rand_input(&mut rng, net.input);
        let base = [0u32, 0x1000, 0x8000_0000][(case / 3) % 3];
        check_network(&net, &input, &pm, base);
    }
}

#[test]
fn fc_with_batch_is_a_one_row_image() {
    let mut rng = StdRng::seed_from_u64(0x11);
    let pm = ProgrammingModel::new(64);
    // Batch 13 of K = 300 features -> 20 -> 7.
    let mut l0 = plain_layer(&mut rng, "fc0", 300, 20, 1, 1);
    l0.relu = true;
    let l1 = plain_layer(&mut rng, "fc1", 20, 7, 1, 1);
    let net = Network {
        name: "mlp".into(),
        input: Shape {
            h: 1,
            w: 13,
            c: 300,
        },
        layers: vec![l0, l1],
    };
    let input = rand_input(&mut rng, net.input);
    check_network(&net, &input, &pm, 0x100);
    // Row b of the output is the plain matrix product row b (checked here by
    // hand for the first layer, not through golden).
    let prog = compile(&net, Some(&input), &pm, 0x100).expect("compiles");
    let mut mem = prog.image.clone();
    assert_eq!(
        run(&mut mem, 0x100, &pm, prog.desc_addr, 2),
        Ok(Outcome::Done)
    );
    let p0 = &prog.layers[0];
    let off = (p0.out_addr - 0x100) as usize;
    let l = &net.layers[0];
    for b in 0..13 {
        for n in 0..20 {
            let acc: i32 = (0..300)
                .map(|k| i32::from(input[b * 300 + k]) * i32::from(l.weights[k * 20 + n]))
                .sum();
            let x = i64::from(acc.wrapping_add(l.bias[n]));
            let s = l.shift[n];
            let r = if s > 0 { 1i64 << (s - 1) } else { 0 };
            let y = ((x * i64::from(l.mult[n]) + r) >> s).clamp(0, 127) as i8;
            assert_eq!(mem[off + b * 20 + n] as i8, y, "batch {b} feature {n}");
        }
    }
}

#[test]
fn image_map_and_descriptors_agree() {
    let mut rng = StdRng::seed_from_u64(0x12);
    let pm = ProgrammingModel::new(64);
    let align = u64::from(pm.limits.align);
    let net = rand_network(&mut rng);
    let prog = compile(&net, None, &pm, 0x4000).expect("compiles");
    assert_eq!(prog.desc_count as usize, net.layers.len());
    // Regions: aligned, in order, separated by at least `align` guard bytes,
    // inside the image with guards at both ends.
    let end = u64::from(prog.base) + prog.image.len() as u64;
    let mut prev_end = u64::from(prog.base);
    for r in &prog.regions {
        assert_eq!(u64::from(r.addr) % align, 0, "{} aligned", r.name);
        assert!(
            u64::from(r.addr) >= prev_end + align,
            "{} guard before",
            r.name
        );
        prev_end = r.end();
    }
    assert!(prev_end + align <= end, "guard after the last region");
    // Ping-pong: layer i writes act_a for even i, act_b for odd; reads the previous output.
    let act = |name: &str| {
        prog.regions
            .iter()
            .find(|r| r.name == name)
            .expect("region")
            .addr
    };
    for (i, p) in prog.layers.iter().enumerate() {
        let want_out = if i % 2 == 0 {
            act("act_a")
        } else {
            act("act_b")
        };
        assert_eq!(p.out_addr, want_out);
        let want_in = if i == 0 {
            prog.input.addr
        } else {
            prog.layers[i - 1].out_addr
        };
        assert_eq!(p.in_addr, want_in);
        // The descriptor in the image says the same, decoded by field name.
        let f = prog.descriptor_fields(i).expect("descriptor");
        let raw_at = (prog.desc_addr - prog.base) as usize + i * pm.descriptor.bytes as usize;
        let raw = &prog.image[raw_at..raw_at + pm.descriptor.bytes as usize];
        for (name, v) in &f {
            assert_eq!(
                pm.descriptor.get(raw, name),
                Ok(*v),
                "layer {i} field {name}"
            );
        }
        let l = &net.layers[i];
        assert_eq!(f["in_addr"], u64::from(p.in_addr));
        assert_eq!(f["out_addr"], u64::from(p.out_addr));
        assert_eq!(f["w_addr"], u64::from(p.w_addr));
        assert_eq!(f["ch_addr"], u64::from(p.ch_addr));
        assert_eq!(f["out_c"], u64::from(l.out_c));
        assert_eq!(f["relu"], u64::from(l.relu));
        assert_eq!(
            (f["in_h"], f["in_w"], f["in_c"]),
            (
                u64::from(p.in_shape.h),
                u64::from(p.in_shape.w),
                u64::from(p.in_shape.c)
            )
        );
        assert_eq!(f["op"], 0);
        // Weights are the file's bytes; records hold bias/mult/shift by name.
        let w_at = (p.w_addr - prog.base) as usize;
        assert_eq!(as_i8(&prog.image[w_at..w_at + l.weights.len()]), l.weights);
        let rb = pm.channel_record.bytes as usize;
        for co in 0..l.out_c as usize {
            let at = (p.ch_addr - prog.base) as usize + co * rb;
            let rec = &prog.image[at..at + rb];
            assert_eq!(
                pm.channel_record.get(rec, "bias"),
                Ok(u64::from(l.bias[co] as u32))
            );
            assert_eq!(
                pm.channel_record.get(rec, "mult"),
                Ok(u64::from(l.mult[co]))
            );
            assert_eq!(
                pm.channel_record.get(rec, "shift"),
                Ok(u64::from(l.shift[co]))
            );
        }
    }
    assert!(prog.descriptor_fields(net.layers.len()).is_none());
    // The JSON map says the same as the struct.
    let map: serde_json::Value = serde_json::from_str(&prog.map_json()).expect("json");
    assert_eq!(map["desc_addr"], u64::from(prog.desc_addr));
    assert_eq!(map["image_bytes"], prog.image.len());
    assert_eq!(
        map["regions"].as_array().map(Vec::len),
        Some(prog.regions.len())
    );
    assert_eq!(map["regions"][0]["kind"], "descriptors");
    assert_eq!(
        map["layers"][0]["out_addr"],
        u64::from(prog.layers[0].out_addr)
    );
    assert_eq!(map["output_shape"]["c"], u64::from(prog.output_shape.c));
    for i in 0..prog.layers.len() {
        for (name, v) in prog.descriptor_fields(i).expect("descriptor") {
            assert_eq!(map["descriptors"][i][&name], v, "descriptor {i} {name}");
        }
    }
    // Readable words: those overlapping a region; a word of guard bytes only is not.
    let mb = align;
    for r in &prog.regions {
        let first = u64::from(r.addr);
        let last_word = (r.end() - 1) / mb * mb;
        assert!(prog.word_readable(first, mb) && prog.word_readable(last_word, mb));
        assert!(
            !prog.word_readable(first - mb, mb),
            "{}: word before is guard",
            r.name
        );
        assert!(
            !prog.word_readable(last_word + mb, mb),
            "{}: word after is guard",
            r.name
        );
        assert!(prog.is_guard(first - 1) && prog.is_guard(r.end()));
        assert_eq!(prog.byte_writable(first), r.kind == RegionKind::Activation);
    }
    // Activation regions start unwritten; no input given means a zero input.
    for r in prog
        .regions
        .iter()
        .filter(|r| r.kind == RegionKind::Activation)
    {
        assert!(prog
            .slice(&prog.image, r)
            .expect("inside")
            .iter()
            .all(|&b| b == UNWRITTEN));
    }
    assert!(prog
        .slice(&prog.image, &prog.input)
        .expect("inside")
        .iter()
        .all(|&b| b == 0));
}

/// The compiler refuses, in one line naming the layer and the engine's rule,
/// what the engine would refuse.
#[test]
fn refuses_layers_the_engine_refuses() {
    let mut rng = StdRng::seed_from_u64(0x13);
    let pm = ProgrammingModel::new(64);
    let input = Shape { h: 8, w: 8, c: 3 };
    let ok = plain_layer(&mut rng, "first", 3, 4, 3, 3);
    let net_with = |l: compiler::Layer| Network {
        name: "n".into(),
        input,
        layers: vec![ok.clone(), l],
    };
    let refused = |net: &Network, rule: &str, what: &str| {
        let e = compile(net, None, &pm, 0).expect_err("refused");
        let msg = e.to_string();
        match &e {
            CompileError::Refused {
                index,
                name,
                violation,
            } => {
                assert_eq!(
                    (*index, name.as_str(), violation.rule),
                    (1, "second", rule),
                    "{msg}"
                );
            }
            other => panic!("expected a refusal, got {other}"),
        }
        assert!(msg.starts_with("layer 1 `second`: "), "{msg}");
        assert!(msg.contains(rule) && msg.contains(what), "{msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
    };
    // Kernel past limits.k_h (golden would compute it; the engine refuses it).
    let big = plain_layer(&mut rng, "second", 4, 2, 12, 1);
    refused(
        &Network {
            input: Shape { h: 20, w: 8, c: 3 },
            ..net_with(big)
        },
        "too_large",
        "k_h = 12 > limits.k_h = 11",
    );
    // A pad past dil*(k-1).
    let mut pad = plain_layer(&mut rng, "second", 4, 2, 3, 3);
    pad.pad_l = 3;
    refused(&net_with(pad), "too_large", "pad_l = 3 > dil_w*(k_w-1) = 2");
    // Stride past the limit.
    let mut st = plain_layer(&mut rng, "second", 4, 2, 1, 1);
    st.stride_w = 5;
    refused(
        &net_with(st),
        "too_large",
        "stride_w = 5 > limits.stride = 4",
    );
    // A flatten to more channels than limits.in_c: 6x6x4 = 144 fits, so use a wide image.
    let mut wide = Network {
        name: "n".into(),
        input: Shape { h: 40, w: 40, c: 3 },
        layers: vec![plain_layer(&mut rng, "first", 3, 4, 1, 1)],
    };
    let mut fc = plain_layer(&mut rng, "second", 40 * 40 * 4, 1, 1, 1);
    fc.flatten = true;
    wide.layers.push(fc);
    refused(&wide, "too_large", "in_c = 6400 > limits.in_c = 4096");

    // Layout errors: misaligned base, wrong input length, image past 2^32.
    let net = net_with(plain_layer(&mut rng, "second", 4, 2, 1, 1));
    let e = compile(&net, None, &pm, 4).expect_err("misaligned base");
    assert!(
        e.to_string()
            .contains("base = 0x4 is not a multiple of limits.align = 8"),
        "{e}"
    );
    let e = compile(&net, Some(&[0i8; 5]), &pm, 0).expect_err("short input");
    assert!(e.to_string().contains("input holds 5 bytes"), "{e}");
    let e = compile(&net, None, &pm, 0xFFFF_FF00).expect_err("past 2^32");
    assert!(e.to_string().contains("does not fit below 2^32"), "{e}");
    // A malformed network is refused by validate's message.
    let mut bad = net.clone();
    bad.layers[1].mult[0] = 0;
    let e = compile(&bad, None, &pm, 0).expect_err("bad mult");
    assert!(matches!(e, CompileError::Network(_)), "{e}");
    assert!(e.to_string().contains("layer 1 `second`: `mult`"), "{e}");
}

/// The same network compiled from a manifest's programming model (read back
/// from JSON) gives the same image.
#[test]
fn reads_the_programming_model_from_a_manifest() {
    let mut rng = StdRng::seed_from_u64(0x14);
    let pm = ProgrammingModel::new(128);
    let text = serde_json::to_string(&pm).expect("serializes");
    let from_manifest = ProgrammingModel::from_manifest_json(&text).expect("parses");
    let net = rand_network(&mut rng);
    let a = compile(&net, None, &pm, 0).expect("compiles");
    let b = compile(&net, None, &from_manifest, 0).expect("compiles");
    assert_eq!(a, b);
    // A manifest that moves a field moves the bytes: the compiler looks it up.
    let mut moved = pm.clone();
    for f in &mut moved.descriptor.fields {
        if f.name == "relu" {
            f.offset = 48;
        }
    }
    let c = compile(&net, None, &moved, 0).expect("compiles");
    for i in 0..net.layers.len() {
        let at = (c.desc_addr - c.base) as usize + i * 64;
        let want = u8::from(net.layers[i].relu);
        assert_eq!(c.image[at + 48], want);
        assert_eq!(c.image[at + 40], 0);
    }
    // The network file round-trips through JSON.
    let back = Network::from_json(&net.to_json()).expect("parses");
    assert_eq!(back, net);
}
