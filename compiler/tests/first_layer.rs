//! The first-layer transform is exact: for random networks and random
//! first-layer geometry (strides, dilations, pads, pooling, flatten), the
//! transformed network on the packed input gives golden's outputs of the
//! original network layer by layer, and compile + the functional executor
//! give the same final output. The packer is checked against a direct
//! reading of the im2col definition.

mod common;

use common::{as_i8, golden_chain, rand_input, rand_network};
use compiler::first_layer::transform;
use compiler::{compile_with, run, CompileOptions, FirstLayer, Outcome};
use contracts::engine::ProgrammingModel;
use rand::rngs::StdRng;
use rand::SeedableRng;

#[test]
fn transformed_networks_match_the_original_layer_by_layer() {
    let mut rng = StdRng::seed_from_u64(0x1f);
    let mut executed = 0;
    for case in 0..120 {
        let net = rand_network(&mut rng);
        let input = rand_input(&mut rng, net.input);
        let want = golden_chain(&net, &input);
        for mode in FirstLayer::ALL {
            let (tnet, packer) = transform(&net, mode).expect("transforms");
            let packed = packer.pack_input(&input).expect("packs");
            assert_eq!(packed.len() as u64, tnet.input.bytes());
            let got = golden_chain(&tnet, &packed);
            assert_eq!(got, want, "case {case} mode {mode}: {}", net.to_json());
            if mode != FirstLayer::Direct {
                let l = &tnet.layers[0];
                assert_eq!(l.weights, net.layers[0].weights, "weights unchanged");
                assert_eq!(l.k_w, 1);
                assert!(!l.flatten);
            }

            let pm = ProgrammingModel::new([32, 64, 128][case % 3]);
            let base = 0x1000;
            let opts = CompileOptions { first_layer: mode };
            let Ok(prog) = compile_with(&net, Some(&input), &pm, base, &opts) else {
                // A transformed layer past an engine limit is refused; the
                // random nets are small, so this must be rare.
                continue;
            };
            assert_eq!(prog.first_layer, mode);
            assert_eq!(prog.pack_input(&input).expect("packs"), packed);
            assert_eq!(u64::from(prog.input.bytes), packed.len() as u64);
            let mut mem = prog.image.clone();
            let outcome = run(&mut mem, base, &pm, prog.desc_addr, prog.desc_count).expect("runs");
            assert_eq!(outcome, Outcome::Done);
            let out = as_i8(prog.slice(&mem, &prog.output).expect("inside"));
            assert_eq!(out, want[want.len() - 1], "case {case} mode {mode} exec");
            executed += 1;
        }
    }
    assert!(executed >= 300, "only {executed} of 360 programs compiled");
}

/// The packer against the definition, read index by index.
#[test]
fn packer_follows_the_definition() {
    let mut rng = StdRng::seed_from_u64(0x2f);
    for _ in 0..60 {
        let net = rand_network(&mut rng);
        if net.layers[0].flatten {
            continue;
        }
        let l = &net.layers[0];
        let s = net.input;
        let input = rand_input(&mut rng, s);
        let get = |y: i64, x: i64, c: u32| -> i8 {
            if y < 0 || x < 0 || y >= i64::from(s.h) || x >= i64::from(s.w) {
                0
            } else {
                input[((y as usize * s.w as usize) + x as usize) * s.c as usize + c as usize]
            }
        };
        let i = i64::from;
        let (_, p) = transform(&net, FirstLayer::Im2col).expect("transforms");
        let x2 = p.pack_input(&input).expect("packs");
        let c2 = p.packed.c;
        assert_eq!(c2, l.k_h * l.k_w * s.c);
        for y in 0..p.packed.h {
            for x in 0..p.packed.w {
                for ky in 0..l.k_h {
                    for kx in 0..l.k_w {
                        for ci in 0..s.c {
                            let at =
                                ((y * p.packed.w + x) * c2 + (ky * l.k_w + kx) * s.c + ci) as usize;
                            let sy = i(y * l.stride_h) - i(l.pad_t) + i(ky * l.dil_h);
                            let sx = i(x * l.stride_w) - i(l.pad_l) + i(kx * l.dil_w);
                            assert_eq!(x2[at], get(sy, sx, ci));
                        }
                    }
                }
            }
        }
        let (_, p) = transform(&net, FirstLayer::Im2colRows).expect("transforms");
        let x2 = p.pack_input(&input).expect("packs");
        let c2 = p.packed.c;
        assert_eq!((p.packed.h, c2), (s.h, l.k_w * s.c));
        for y in 0..p.packed.h {
            for x in 0..p.packed.w {
                for kx in 0..l.k_w {
                    for ci in 0..s.c {
                        let at = ((y * p.packed.w + x) * c2 + kx * s.c + ci) as usize;
                        let sx = i(x * l.stride_w) - i(l.pad_l) + i(kx * l.dil_w);
                        assert_eq!(x2[at], get(i(y), sx, ci));
                    }
                }
            }
        }
        assert!(
            p.pack_input(&input[1..]).is_err(),
            "a short input is refused"
        );
    }
}
