//! The engine's layer descriptor ([`ConvLayer`]): the one-call GPU path
//! ([`Golden::layer`]) against the Rust reference
//! ([`reference::layer_reference`]) on random conv and FC layers, the
//! reference against values derived by hand, the reference's trace against
//! the existing per-operation references, and the validation errors.
//!
//! Like `gpu_vs_reference`, these run on the shared device ([`Golden::global`]):
//! lavapipe on a machine without a GPU, the reference where no adapter exists
//! (unless `CI=true` / `GOLDEN_REQUIRE_GPU=1` make that an error).

use golden::reference::{self, layer_reference, layer_reference_trace};
use golden::{ConvLayer, Golden, GoldenError, MaxPoolShape, Padding, Requant};
use proptest::collection::vec;
use proptest::prelude::*;

mod common;
use common::{acc_value, values};

fn golden() -> &'static Golden {
    match Golden::global() {
        Ok(g) => g,
        Err(e) => panic!("golden model unavailable: {e}"),
    }
}

/// Per-channel bias, mult, shift with the edges weighted in: bias near the
/// int32 limits (so `acc + bias` wraps), mult 1 and 65535, shift 0 and 31,
/// and a band of mid shifts where outputs are neither all saturated nor all 0.
fn requant_vecs(c: usize) -> impl Strategy<Value = (Vec<i32>, Vec<u32>, Vec<u32>)> {
    let mult = prop_oneof![2 => 1u32..=65535, 1 => Just(1u32), 1 => Just(65535u32)];
    let shift = prop_oneof![1 => 0u32..=31, 1 => Just(0u32), 1 => Just(31u32), 2 => 8u32..=20];
    (vec(acc_value(), c), vec(mult, c), vec(shift, c))
}

/// Channel counts that are multiples of nothing in particular, plus a band
/// around the matmul's 64-wide output tile.
fn channels() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 1usize..=13, 1 => 60usize..=70]
}

/// Pooling: none, or a window 1..=3 with stride 1..=3 and padding below the window.
fn pool() -> impl Strategy<Value = (usize, usize, usize)> {
    prop_oneof![
        1 => Just((0usize, 0usize, 0usize)),
        2 => (1usize..=3, 1usize..=3, 0usize..=2).prop_map(|(k, s, p)| (k, s, p % k)),
    ]
}

fn conv_layer() -> impl Strategy<Value = ConvLayer> {
    (
        (1usize..=12, 1usize..=12, channels(), channels()),
        (
            1usize..=5,
            1usize..=5,
            1usize..=3,
            1usize..=3,
            1usize..=2,
            1usize..=2,
        ),
        (0usize..=3, 0usize..=3, 0usize..=3, 0usize..=3),
        any::<bool>(),
        pool(),
    )
        .prop_map(
            |((h, w, ci, co), (kh, kw, sh, sw, dh, dw), (pt, pb, pl, pr), relu, (pk, ps, pp))| {
                ConvLayer::new(h, w, ci, co, kh, kw)
                    .with_stride(sh, sw)
                    .with_dilation(dh, dw)
                    .with_padding(Padding {
                        top: pt,
                        bottom: pb,
                        left: pl,
                        right: pr,
                    })
                    .with_relu(relu)
                    .with_pool(pk, ps, pp)
            },
        )
        .prop_filter("valid layer", |l| l.validate().is_ok())
        .prop_flat_map(|l| {
            let c = l.out_c;
            (Just(l), requant_vecs(c))
        })
        .prop_map(|(l, (b, m, s))| l.with_requant(b, m, s))
}

fn fc_layer() -> impl Strategy<Value = ConvLayer> {
    (
        prop_oneof![1 => Just(1usize), 2 => 2usize..=20],
        prop_oneof![3 => 1usize..=70, 1 => 200usize..=300],
        channels(),
        any::<bool>(),
    )
        .prop_flat_map(|(batch, k, n, relu)| {
            (
                Just(ConvLayer::fc(batch, k, n).with_relu(relu)),
                requant_vecs(n),
            )
        })
        .prop_map(|(l, (b, m, s))| l.with_requant(b, m, s))
}

type Case = (ConvLayer, Vec<i8>, Vec<i8>);

fn with_operands(layer: impl Strategy<Value = ConvLayer>) -> impl Strategy<Value = Case> {
    layer.prop_flat_map(|l| {
        let (i, w) = (l.input_len(), l.weight_len());
        (Just(l), values(i), values(w))
    })
}

fn check_gpu((l, x, w): &Case) -> Result<(), TestCaseError> {
    let got = golden()
        .layer(l, x, w)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{l:?}")))?;
    let want = layer_reference(l, x, w).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(got.len(), l.output_len());
    prop_assert_eq!(got, want, "{:?}", l);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn conv_layer_gpu_matches_reference(case in with_operands(conv_layer())) {
        check_gpu(&case)?;
    }

    #[test]
    fn fc_layer_gpu_matches_reference(case in with_operands(fc_layer())) {
        check_gpu(&case)?;
    }

    /// The layer oracle is written from the formula on its own; check its
    /// stages against the older per-operation references too (CPU only).
    #[test]
    fn trace_matches_per_operation_references((l, x, w) in with_operands(conv_layer())) {
        let t = layer_reference_trace(&l, &x, &w).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let s = l.conv_shape();
        prop_assert_eq!(&t.acc, &reference::conv2d(&x, &w, None, &s).unwrap());
        let r: Vec<i8> = t.acc.iter().enumerate().map(|(i, &a)| {
            let co = i % l.out_c;
            Requant::new(l.mult[co], l.shift[co], l.relu).unwrap().apply(a, l.bias[co])
        }).collect();
        prop_assert_eq!(&t.requant, &r);
        let pooled = match l.pool_shape() {
            Some(ps) => reference::maxpool(&r, &ps).unwrap(),
            None => r,
        };
        prop_assert_eq!(&t.out, &pooled);
        // FC layers are GEMMs.
        let f = ConvLayer::fc(3, l.in_c, l.out_c);
        let xf: Vec<i8> = x.iter().cycle().take(f.input_len()).copied().collect();
        let tf = layer_reference_trace(&f, &xf, &w[..f.weight_len()]).unwrap();
        prop_assert_eq!(tf.acc, reference::gemm_i8(&xf, &w[..f.weight_len()], 3, l.in_c, l.out_c));
    }
}

/// A layer whose every output was worked out by hand (comments below), not
/// taken from the implementation: dilation, stride, asymmetric padding, two
/// output channels with their own bias / mult / shift, ReLU and pooling.
#[test]
fn hand_computed_layer() {
    // Input 3 x 4 x 1, in(r, c) = 4r + c + 1:
    //    1  2  3  4
    //    5  6  7  8
    //    9 10 11 12
    let x: Vec<i8> = (1..=12).collect();
    // Kernel 2 x 2, stride (1, 2), dilation (1, 2), pads t1 b0 l0 r1.
    // H_c = (3 + 1 + 0 - 1*1 - 1) / 1 + 1 = 3; W_c = (4 + 0 + 1 - 2*1 - 1) / 2 + 1 = 2.
    // Output (y, x) reads rows y-1, y and columns 2x, 2x+2 (column 4 and row -1 are zero).
    // Channel 0: w = [[1, 0], [0, 1]]  -> in(y-1, 2x) + in(y, 2x+2)
    // Channel 1: w = [[0, -1], [-1, 0]] -> -in(y-1, 2x+2) - in(y, 2x)
    // HWIO flat: (ky0,kx0) [1, 0], (ky0,kx1) [0, -1], (ky1,kx0) [0, -1], (ky1,kx1) [1, 0].
    let w = [1i8, 0, 0, -1, 0, -1, 1, 0];
    // acc, (y, x): [ch0, ch1]
    //   (0,0): 0 + in(0,2) = 3,    -0 - in(0,0) = -1
    //   (0,1): 0 + 0      = 0,     -0 - in(0,2) = -3
    //   (1,0): 1 + in(1,2) = 8,    -3 - 5 = -8
    //   (1,1): 3 + 0 = 3,          -0 - 7 = -7
    //   (2,0): 5 + 11 = 16,        -7 - 9 = -16
    //   (2,1): 7 + 0 = 7,          -0 - 11 = -11
    let acc = vec![3, -1, 0, -3, 8, -8, 3, -7, 16, -16, 7, -11];
    // Channel 0: bias 1, mult 3, shift 1 -> ((a + 1) * 3 + 1) >> 1:
    //   3 -> 13 >> 1 = 6, 0 -> 4 >> 1 = 2, 8 -> 28 >> 1 = 14, 3 -> 6, 16 -> 52 >> 1 = 26, 7 -> 25 >> 1 = 12.
    // Channel 1: bias -2, mult 5, shift 2 -> ((a - 2) * 5 + 2) >> 2 (floor):
    //   -1 -> -13 >> 2 = -4, -3 -> -23 >> 2 = -6, -8 -> -48 >> 2 = -12,
    //   -7 -> -43 >> 2 = -11, -16 -> -88 >> 2 = -22, -11 -> -63 >> 2 = -16.
    let r = vec![6, -4, 2, -6, 14, -12, 6, -11, 26, -22, 12, -16];
    let layer = ConvLayer::new(3, 4, 1, 2, 2, 2)
        .with_stride(1, 2)
        .with_dilation(1, 2)
        .with_padding(Padding {
            top: 1,
            bottom: 0,
            left: 0,
            right: 1,
        })
        .with_requant(vec![1, -2], vec![3, 5], vec![1, 2]);
    assert_eq!((layer.h_c(), layer.w_c()), (3, 2));
    let t = layer_reference_trace(&layer, &x, &w).unwrap();
    assert_eq!(t.acc, acc);
    assert_eq!(t.requant, r);
    assert_eq!(t.out, r);
    assert_eq!(golden().layer(&layer, &x, &w).unwrap(), r);

    // ReLU clamps channel 1 (all negative) to 0.
    let relu = layer.clone().with_relu(true);
    let r_relu = vec![6, 0, 2, 0, 14, 0, 6, 0, 26, 0, 12, 0];
    assert_eq!(layer_reference(&relu, &x, &w).unwrap(), r_relu);
    assert_eq!(golden().layer(&relu, &x, &w).unwrap(), r_relu);

    // Pool k2 s2 pad1 over the 3 x 2 r: H_o = (3 + 2 - 2) / 2 + 1 = 2, W_o = (2 + 2 - 2) / 2 + 1 = 2.
    // Window (y, x) covers rows 2y-1, 2y and columns 2x-1, 2x; outside cells never win,
    // so an all-negative window stays negative:
    //   (0,0): r(0,0)           -> [6, -4]
    //   (0,1): r(0,1)           -> [2, -6]
    //   (1,0): r(1,0), r(2,0)   -> [max(14, 26), max(-12, -22)] = [26, -12]
    //   (1,1): r(1,1), r(2,1)   -> [max(6, 12), max(-11, -16)] = [12, -11]
    let pooled = layer.clone().with_pool(2, 2, 1);
    assert_eq!((pooled.h_o(), pooled.w_o()), (2, 2));
    let want = vec![6, -4, 2, -6, 26, -12, 12, -11];
    assert_eq!(layer_reference(&pooled, &x, &w).unwrap(), want);
    assert_eq!(golden().layer(&pooled, &x, &w).unwrap(), want);
}

/// FC by hand: x = [[1, 2], [3, -4]] (batch 2, K 2), w = [[5, -1], [6, 2]] (K x N = 2 x 2).
#[test]
fn hand_computed_fc() {
    // acc = [[1*5 + 2*6, 1*-1 + 2*2], [3*5 - 4*6, 3*-1 - 4*2]] = [[17, 3], [-9, -11]].
    // Channel 0: bias 0, mult 1, shift 0 -> unchanged; channel 1: bias 100, mult 2, shift 3:
    //   (3 + 100) * 2 + 4 = 210 >> 3 = 26;  (-11 + 100) * 2 + 4 = 182 >> 3 = 22.
    let l = ConvLayer::fc(2, 2, 2).with_requant(vec![0, 100], vec![1, 2], vec![0, 3]);
    let (x, w) = ([1i8, 2, 3, -4], [5i8, -1, 6, 2]);
    let t = layer_reference_trace(&l, &x, &w).unwrap();
    assert_eq!(t.acc, vec![17, 3, -9, -11]);
    assert_eq!(t.out, vec![17, 26, -9, 22]);
    assert_eq!(golden().layer(&l, &x, &w).unwrap(), vec![17, 26, -9, 22]);
}

/// Edge operands: all -128 over enough taps that the int32 sum wraps, bias at
/// the int32 limits (so `acc + bias` wraps again), mult 65535 and shifts 0
/// and 31. Expected values follow from the formula in i64, truncated.
#[test]
fn wrapping_and_extreme_requant() {
    // 1 x 2 image, 2 x 1 kernel with pad_t 1: output (0, x) reads rows -1 (zero) and 0,
    // so every acc is in_c * (-128 * -128) = 70001 * 16384 (no padding cancels in).
    let in_c = 70_001;
    let out_c = 5;
    let bias = vec![i32::MAX, i32::MIN, 0, -1, i32::MAX - 7];
    let mult = vec![65_535, 65_535, 1, 65_535, 3];
    let shift = vec![31, 0, 31, 31, 0];
    let l = ConvLayer::new(1, 2, in_c, out_c, 2, 1)
        .with_padding(Padding {
            top: 1,
            bottom: 0,
            left: 0,
            right: 0,
        })
        .with_requant(bias.clone(), mult.clone(), shift.clone());
    let (x, w) = (vec![-128i8; l.input_len()], vec![-128i8; l.weight_len()]);
    let acc = (70_001i64 * 16_384) as i32; // 1_146_896_384: fits, but acc + bias wraps below
    let expect: Vec<i8> = (0..2 * out_c)
        .map(|i| {
            let c = i % out_c;
            let v = i64::from(acc.wrapping_add(bias[c]));
            let round = if shift[c] > 0 {
                1i64 << (shift[c] - 1)
            } else {
                0
            };
            ((v * i64::from(mult[c]) + round) >> shift[c]).clamp(-128, 127) as i8
        })
        .collect();
    // Make sure the case really exercises both the wrap and a non-saturated output.
    assert!(acc.checked_add(i32::MAX).is_none());
    assert!(expect.iter().any(|&v| v != 127 && v != -128), "{expect:?}");
    assert_eq!(layer_reference(&l, &x, &w).unwrap(), expect);
    assert_eq!(golden().layer(&l, &x, &w).unwrap(), expect);

    // 140001 taps: the accumulator itself wraps (140001 * 16384 > i32::MAX), in an FC layer.
    let k = 140_001;
    let f = ConvLayer::fc(1, k, 2).with_requant(vec![0, 5], vec![1, 65_535], vec![0, 31]);
    let (x, w) = (vec![-128i8; k], vec![-128i8; 2 * k]);
    let t = layer_reference_trace(&f, &x, &w).unwrap();
    let wrapped = (140_001i64 * 16_384) as i32;
    assert!(wrapped < 0, "the sum must wrap");
    assert_eq!(t.acc, vec![wrapped, wrapped]);
    assert_eq!(golden().layer(&f, &x, &w).unwrap(), t.out);
    // Channel 0: -2_001_190_912 saturates; channel 1: (wrapped + 5) * 65535 >> 31, rounded.
    let c1 = ((i64::from(wrapped + 5) * 65_535 + (1 << 30)) >> 31).clamp(-128, 127) as i8;
    assert_eq!(t.out, vec![-128, c1]);
}

/// Every edge of the pooled output and all channel counts across the 64 tile
/// in one deterministic layer, GPU against reference (lavapipe-sized).
#[test]
fn realistic_layer_with_everything() {
    let l = ConvLayer::new(13, 11, 7, 67, 3, 5)
        .with_stride(2, 1)
        .with_dilation(1, 2)
        .with_padding(Padding {
            top: 2,
            bottom: 1,
            left: 0,
            right: 3,
        })
        .with_relu(true)
        .with_pool(3, 2, 1)
        .with_requant(
            (0..67).map(|c| c * 997 - 30_000).collect(),
            (0..67).map(|c| 1 + c * 977).collect(),
            (0..67).map(|c| 10 + (c % 9)).collect(),
        );
    l.validate().unwrap();
    let x: Vec<i8> = (0..l.input_len())
        .map(|v| (v * 31 % 256) as u8 as i8)
        .collect();
    let w: Vec<i8> = (0..l.weight_len())
        .map(|v| (v * 57 % 253) as u8 as i8)
        .collect();
    let want = layer_reference(&l, &x, &w).unwrap();
    assert_eq!(want.len(), l.h_o() * l.w_o() * 67);
    assert!(
        want.iter().any(|&v| v > 0) && want.iter().any(|&v| v < 127),
        "outputs should not be all clamped"
    );
    assert_eq!(golden().layer(&l, &x, &w).unwrap(), want);
    // The fused pool is the max-pool unit's rule applied to the layer's r.
    let ps = l.pool_shape().unwrap();
    assert_eq!(ps, MaxPoolShape::new(l.h_c(), l.w_c(), 67, ps.window));
}

#[test]
fn bad_layers_are_errors_naming_the_rule() {
    let g = golden();
    let l = ConvLayer::new(4, 4, 3, 2, 3, 3);
    let e = g.layer(&l, &[0; 47], &[0; 54]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "layer: input (in_h*in_w*in_c) must hold 48 elements, got 47"
    );
    let e = g.layer(&l, &[0; 48], &[0; 53]).unwrap_err();
    assert!(
        matches!(
            e,
            GoldenError::LengthMismatch {
                what: "weights (k_h*k_w*in_c*out_c)",
                expected: 54,
                got: 53,
                ..
            }
        ),
        "{e}"
    );
    let bad = l
        .clone()
        .with_requant(vec![0; 2], vec![1, 70_000], vec![0; 2]);
    let e = g.layer(&bad, &[0; 48], &[0; 54]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "layer: violates `1 <= mult[co] <= 65535`: mult[1] = 70000"
    );
    let e = layer_reference(&l.clone().with_pool(2, 1, 2), &[0; 48], &[0; 54]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "layer: violates `pool_pad < pool_k`: pool_pad = 2, pool_k = 2"
    );
    let e = g
        .layer(&l.clone().with_stride(0, 1), &[0; 48], &[0; 54])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "layer: violates `stride_h >= 1`: stride_h = 0"
    );
}

#[test]
fn checked_layer_agrees_and_dispatches_split() {
    let l = ConvLayer::new(14, 14, 5, 70, 3, 3)
        .with_padding(Padding::uniform(1))
        .with_relu(true)
        .with_pool(2, 2, 0)
        .with_requant(
            (0..70).map(|c| c * 50 - 1700).collect(),
            (0..70).map(|c| 100 + c * 900).collect(),
            vec![14; 70],
        );
    let x: Vec<i8> = (0..l.input_len())
        .map(|v| (v * 13 % 256) as u8 as i8)
        .collect();
    let w: Vec<i8> = (0..l.weight_len())
        .map(|v| (v * 29 % 255) as u8 as i8)
        .collect();
    let want = layer_reference(&l, &x, &w).unwrap();
    assert_eq!(golden::checked_layer(&l, &x, &w).unwrap(), want);
    // At most 5 workgroups per dimension: the conv's 4 x 2 = 8 tiles, the
    // requant's 13720 values (3430 words, 14 workgroups) and the pool's 3430
    // values (4 workgroups) fold over a 2-D grid.
    let g = match Golden::with_max_workgroups_per_dim(5) {
        Ok(g) => g,
        Err(e) => panic!("golden model unavailable: {e}"),
    };
    assert_eq!(g.layer(&l, &x, &w).unwrap(), want);
}
