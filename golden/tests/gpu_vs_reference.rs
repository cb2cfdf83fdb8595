//! The wgpu golden model against the Rust reference, for every operation:
//! property tests over random shapes and values (edge values and degenerate
//! shapes weighted in), plus fixed extreme cases.
//!
//! All tests share the process-wide device ([`Golden::global`]). Without a GPU
//! adapter (and without `CI=true` / `GOLDEN_REQUIRE_GPU=1`) they still run, on
//! the reference; on lavapipe or a real GPU they exercise the kernels. Case
//! counts are kept modest because lavapipe runs the kernels on the CPU.

use golden::{
    reference, Conv2dShape, Golden, GoldenError, MaxPoolShape, Padding, PoolWindow, Requant,
};
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

fn requant_params() -> impl Strategy<Value = Requant> {
    let mult = prop_oneof![1u32..=65535, Just(1u32), Just(65535u32)];
    let shift = prop_oneof![0u32..=31, Just(0u32), Just(31u32), 8u32..=20];
    (mult, shift, any::<bool>())
        .prop_map(|(m, s, r)| Requant::new(m, s, r).expect("strategy stays in range"))
}

fn gemm_case() -> impl Strategy<Value = (usize, usize, usize, Vec<i8>, Vec<i8>)> {
    let dims = prop_oneof![
        3 => (1usize..=80, 1usize..=80, 1usize..=80),
        1 => (1usize..=300, 1usize..=6, 1usize..=3), // tall / skinny
        1 => (1usize..=3, 1usize..=6, 1usize..=300), // short / wide
        1 => (1usize..=3, 100usize..=700, 1usize..=3), // long K
        1 => (1usize..=2, 1usize..=2, 1usize..=2),   // tiny
    ];
    dims.prop_flat_map(|(m, k, n)| (Just(m), Just(k), Just(n), values(m * k), values(k * n)))
}

fn padding(max: usize) -> impl Strategy<Value = Padding> {
    (0..=max, 0..=max, 0..=max, 0..=max).prop_map(|(top, bottom, left, right)| Padding {
        top,
        bottom,
        left,
        right,
    })
}

fn conv_shape() -> impl Strategy<Value = Conv2dShape> {
    (
        (1usize..=2, 1usize..=10, 1usize..=10),
        (1usize..=9, prop_oneof![1usize..=8, 60usize..=70]),
        (1usize..=4, 1usize..=4),
        (1usize..=3, 1usize..=3),
        (1usize..=2, 1usize..=2),
        padding(3),
    )
        .prop_map(
            |((n, h, w), (c_in, c_out), (kh, kw), (sy, sx), (dy, dx), pad)| {
                Conv2dShape::new(h, w, c_in, c_out, kh, kw)
                    .with_batch(n)
                    .with_stride(sy, sx)
                    .with_dilation(dy, dx)
                    .with_padding(pad)
            },
        )
        .prop_filter("valid conv shape", |s| s.validate().is_ok())
}

type ConvCase = (Conv2dShape, Vec<i8>, Vec<i8>, Option<Vec<i32>>);

fn conv_case() -> impl Strategy<Value = ConvCase> {
    conv_shape().prop_flat_map(|s| {
        (
            Just(s),
            values(s.input_len()),
            values(s.weight_len()),
            proptest::option::of(vec(acc_value(), s.c_out)),
        )
    })
}

fn pool_window(max_k: usize) -> impl Strategy<Value = PoolWindow> {
    (
        1..=max_k,
        1..=max_k,
        1usize..=3,
        1usize..=3,
        padding(max_k - 1),
    )
        .prop_map(|(kh, kw, sy, sx, pad)| {
            // Keep the rule pad < kernel by folding pads into range.
            let pad = Padding {
                top: pad.top % kh,
                bottom: pad.bottom % kh,
                left: pad.left % kw,
                right: pad.right % kw,
            };
            PoolWindow::new(kh, kw)
                .with_stride(sy, sx)
                .with_padding(pad)
        })
}

fn pool_case() -> impl Strategy<Value = (MaxPoolShape, Vec<i8>)> {
    (
        (1usize..=2, 1usize..=12, 1usize..=12, 1usize..=9),
        pool_window(4),
    )
        .prop_map(|((n, h, w, c), win)| MaxPoolShape::new(h, w, c, win).with_batch(n))
        .prop_filter("valid pool shape", |s| s.validate().is_ok())
        .prop_flat_map(|s| (Just(s), values(s.input_len())))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn gemm_matches_reference((m, k, n, a, b) in gemm_case()) {
        let got = golden().gemm_i8(&a, &b, m, k, n).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(got, reference::gemm_i8(&a, &b, m, k, n));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn conv2d_matches_reference((s, x, w, bias) in conv_case()) {
        let got = golden().conv2d(&x, &w, bias.as_deref(), &s).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(got, reference::conv2d(&x, &w, bias.as_deref(), &s).unwrap());
    }

    #[test]
    fn maxpool_matches_reference((s, x) in pool_case()) {
        let got = golden().maxpool(&x, &s).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(got, reference::maxpool(&x, &s).unwrap());
    }

    #[test]
    fn requant_matches_reference(
        (channels, acc, bias) in (1usize..=8, 1usize..=40).prop_flat_map(|(c, rows)| {
            (Just(c), vec(acc_value(), c * rows), proptest::option::of(vec(acc_value(), c)))
        }),
        rq in requant_params(),
    ) {
        let got = golden().requant(&acc, bias.as_deref(), channels, &rq).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(got, reference::requant(&acc, bias.as_deref(), channels, &rq).unwrap());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn fc_layer_matches_reference(
        (m, k, n, x, w, bias) in (1usize..=20, 1usize..=70, 1usize..=70).prop_flat_map(|(m, k, n)| {
            (Just(m), Just(k), Just(n), values(m * k), values(k * n), vec(acc_value(), n))
        }),
        rq in requant_params(),
    ) {
        let got = golden().fc_layer(&x, &w, &bias, m, k, n, &rq).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(got, reference::fc_layer(&x, &w, &bias, m, k, n, &rq).unwrap());
    }

    #[test]
    fn conv_layer_matches_reference(
        (s, x, w, bias) in conv_case(),
        win in pool_window(3),
        use_pool in any::<bool>(),
        rq in requant_params(),
    ) {
        let bias = bias.unwrap_or_else(|| vec![0; s.c_out]);
        let pool = MaxPoolShape::new(s.h_out(), s.w_out(), s.c_out, win).validate().is_ok().then_some(win);
        let pool = if use_pool { pool } else { None };
        let got = golden().conv_layer(&x, &w, &bias, &s, &rq, pool).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(got, reference::conv_layer(&x, &w, &bias, &s, &rq, pool).unwrap());
    }
}

#[test]
fn gemm_degenerate_and_edge_shapes() {
    let g = golden();
    let shapes = [
        (1, 1, 1),
        (1, 1, 7),
        (7, 1, 1),
        (1, 5, 1),
        (1, 3, 1000),
        (1000, 3, 1),
        (64, 64, 64),
        (65, 65, 65),
        (63, 127, 129),
        (2, 4, 2),
        (3, 5, 7),
    ];
    for (m, k, n) in shapes {
        for fill in [-128i8, 127, 0, -1] {
            let (a, b) = (vec![fill; m * k], vec![fill; k * n]);
            assert_eq!(
                g.gemm_i8(&a, &b, m, k, n).unwrap(),
                reference::gemm_i8(&a, &b, m, k, n),
                "{m}x{k}x{n} fill {fill}"
            );
        }
        let a: Vec<i8> = (0..m * k).map(|v| (v * 7919 % 251) as u8 as i8).collect();
        let b: Vec<i8> = (0..k * n)
            .map(|v| (v * 104_729 % 253) as u8 as i8)
            .collect();
        assert_eq!(
            g.gemm_i8(&a, &b, m, k, n).unwrap(),
            reference::gemm_i8(&a, &b, m, k, n),
            "{m}x{k}x{n}"
        );
    }
    // K = 0 and empty outputs are answered without a dispatch.
    assert_eq!(g.gemm_i8(&[], &[], 2, 0, 3).unwrap(), vec![0; 6]);
    assert_eq!(g.gemm_i8(&[], &[1, 2], 0, 1, 2).unwrap(), Vec::<i32>::new());
}

#[test]
fn gemm_wraps_int32_on_the_gpu() {
    // 140000 * (-128 * -128) = 2_293_760_000 > i32::MAX: the sum must wrap.
    let k = 140_000;
    let (a, b) = (vec![-128i8; 2 * k], vec![-128i8; k * 3]);
    let got = golden().gemm_i8(&a, &b, 2, k, 3).unwrap();
    let expect = (140_000i64 * 16384) as i32;
    assert!(expect < 0, "the test must overflow");
    assert_eq!(got, vec![expect; 6]);
}

#[test]
fn conv_wraps_int32_on_the_gpu() {
    // 1x1 image with 140001 channels (not a multiple of 4), all -128 * -128.
    let s = Conv2dShape::new(1, 1, 140_001, 2, 1, 1);
    let (x, w) = (vec![-128i8; s.input_len()], vec![-128i8; s.weight_len()]);
    let got = golden().conv2d(&x, &w, Some(&[i32::MAX, 0]), &s).unwrap();
    assert_eq!(
        got,
        reference::conv2d(&x, &w, Some(&[i32::MAX, 0]), &s).unwrap()
    );
}

#[test]
fn dispatches_split_over_a_2d_grid() {
    // A device allowing only 5 workgroups per dimension: every kernel must
    // fold its linear workgroup range over x and y (and mask the excess).
    // This is the same code path that keeps 65536+ workgroup problems legal.
    let g = match Golden::with_max_workgroups_per_dim(5) {
        Ok(g) => g,
        Err(e) => panic!("golden model unavailable: {e}"),
    };
    // GEMM: 10 row tiles x 2 column tiles = 20 tiles -> grid 5 x 4.
    let (m, k, n) = (64 * 9 + 5, 9, 70);
    let a: Vec<i8> = (0..m * k).map(|v| (v * 7919 % 251) as u8 as i8).collect();
    let b: Vec<i8> = (0..k * n)
        .map(|v| (v * 104_729 % 253) as u8 as i8)
        .collect();
    assert_eq!(
        g.gemm_i8(&a, &b, m, k, n).unwrap(),
        reference::gemm_i8(&a, &b, m, k, n)
    );
    // Requant: 8000 values = 2000 words = 8 workgroups of 256 -> grid 5 x 2.
    let acc: Vec<i32> = (0..8000).map(|v| (v - 4000) * 500_009).collect();
    let rq = Requant::new(77, 9, false).unwrap();
    assert_eq!(
        g.requant(&acc, None, 8, &rq).unwrap(),
        reference::requant(&acc, None, 8, &rq).unwrap()
    );
    // Conv layer with pooling, every kernel in one chain: 15 conv tiles,
    // 8 requant and 8 maxpool workgroups.
    let s = Conv2dShape::new(30, 30, 5, 9, 3, 3).with_padding(Padding::uniform(1));
    let x: Vec<i8> = (0..s.input_len())
        .map(|v| (v * 31 % 256) as u8 as i8)
        .collect();
    let w: Vec<i8> = (0..s.weight_len())
        .map(|v| (v * 57 % 256) as u8 as i8)
        .collect();
    let bias = vec![-50; 9];
    let pool = Some(PoolWindow::new(2, 2).with_stride(1, 1));
    let rq = Requant::new(300, 12, true).unwrap();
    assert_eq!(
        g.conv_layer(&x, &w, &bias, &s, &rq, pool).unwrap(),
        reference::conv_layer(&x, &w, &bias, &s, &rq, pool).unwrap()
    );
    // Past 5 x 5 workgroups the dispatch is refused with a clear error, not wrong.
    let big = 64 * 26;
    let e = g.gemm_i8(&vec![1; big], &[1], big, 1, 1).unwrap_err();
    assert!(e.to_string().contains("workgroups <= 5^2"), "{e}");
}

#[test]
fn requant_extremes_match_reference() {
    // Every (acc, bias) pair of extreme values, for extreme multipliers and every shift.
    const EXTREME: [i32; 12] = [
        i32::MIN,
        i32::MIN + 1,
        -(1 << 30) - 1,
        -(1 << 30),
        -65_536,
        -1,
        0,
        1,
        65_535,
        1 << 30,
        i32::MAX - 1,
        i32::MAX,
    ];
    let mut acc = Vec::new();
    let mut bias = Vec::new();
    for &a in &EXTREME {
        for &b in &EXTREME {
            acc.push(a);
            bias.push(b);
        }
    }
    let channels = acc.len(); // one bias per element
    let g = golden();
    for mult in [1u32, 3, 32_767, 32_768, 65_535] {
        for shift in 0..=31 {
            for relu in [false, true] {
                let rq = Requant::new(mult, shift, relu).unwrap();
                let got = g.requant(&acc, Some(&bias), channels, &rq).unwrap();
                let want = reference::requant(&acc, Some(&bias), channels, &rq).unwrap();
                assert_eq!(got, want, "mult {mult} shift {shift} relu {relu}");
            }
        }
    }
}

#[test]
fn maxpool_all_minimum_with_padding() {
    // All -128 with padding: padded cells are skipped, so the answer is -128, not 0.
    let win = PoolWindow::new(3, 3)
        .with_stride(2, 2)
        .with_padding(Padding::uniform(2));
    let s = MaxPoolShape::new(5, 5, 3, win);
    let x = vec![-128i8; s.input_len()];
    let got = golden().maxpool(&x, &s).unwrap();
    assert_eq!(got, vec![-128; s.output_len()]);
    assert_eq!(got, reference::maxpool(&x, &s).unwrap());
}

#[test]
fn realistic_layers_match_reference() {
    let g = golden();
    // 16x16x8 -> 16, 3x3 pad 1, ReLU, 2x2 pool.
    let s = Conv2dShape::new(16, 16, 8, 16, 3, 3).with_padding(Padding::uniform(1));
    let x: Vec<i8> = (0..s.input_len())
        .map(|v| (v * 31 % 256) as u8 as i8)
        .collect();
    let w: Vec<i8> = (0..s.weight_len())
        .map(|v| (v * 57 % 256) as u8 as i8)
        .collect();
    let bias: Vec<i32> = (0..16).map(|c| c * 100 - 800).collect();
    let rq = Requant::new(1234, 16, true).unwrap();
    let pool = Some(PoolWindow::new(2, 2));
    let got = g.conv_layer(&x, &w, &bias, &s, &rq, pool).unwrap();
    assert_eq!(
        got,
        reference::conv_layer(&x, &w, &bias, &s, &rq, pool).unwrap()
    );
    assert_eq!(got.len(), 8 * 8 * 16);
    assert!(
        got.iter().any(|&v| v > 0) && got.iter().all(|&v| v >= 0),
        "ReLU output should be mixed"
    );
}

#[test]
fn checked_gemm_agrees() {
    let (m, k, n) = (33, 17, 9);
    let a: Vec<i8> = (0..m * k).map(|v| (v * 13 % 256) as u8 as i8).collect();
    let b: Vec<i8> = (0..k * n).map(|v| (v * 29 % 256) as u8 as i8).collect();
    assert_eq!(
        golden::checked_gemm_i8(&a, &b, m, k, n).unwrap(),
        reference::gemm_i8(&a, &b, m, k, n)
    );
}

#[test]
fn bad_arguments_are_errors_not_panics() {
    let g = golden();
    let e = g.gemm_i8(&[1, 2, 3], &[1], 2, 2, 1).unwrap_err();
    assert!(
        matches!(
            e,
            GoldenError::LengthMismatch {
                what: "A (m*k)",
                expected: 4,
                got: 3,
                ..
            }
        ),
        "{e}"
    );
    let bad = Conv2dShape::new(4, 4, 1, 1, 3, 3).with_dilation(0, 1);
    let e = g.conv2d(&[0; 16], &[0; 9], None, &bad).unwrap_err();
    assert!(e.to_string().contains("dilation_y >= 1"), "{e}");
    let e = g
        .requant(&[1, 2, 3], None, 2, &Requant::saturate(false))
        .unwrap_err();
    assert!(e.to_string().contains("acc.len() % channels == 0"), "{e}");
    let e = g
        .conv_layer(
            &[0; 4],
            &[0; 4],
            &[0],
            &Conv2dShape::new(2, 2, 1, 1, 2, 2),
            &Requant::saturate(false),
            Some(PoolWindow::new(2, 2)),
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("kh <= h + pad.top + pad.bottom"),
        "{e}"
    );
}

#[test]
fn oversized_problems_fail_cleanly_or_compute() {
    // 1 x 1 x 40M: the 160 MB output is over lavapipe's 128 MiB storage binding
    // limit; a big GPU may accept it, and then it must be right.
    let n = 40_000_000;
    let b = vec![1i8; n];
    match golden().gemm_i8(&[2], &b, 1, 1, n) {
        Err(GoldenError::TooLarge { limit_name, .. }) => assert!(limit_name.starts_with("max_")),
        Err(e) => panic!("unexpected error: {e}"),
        Ok(c) => assert!(c.iter().all(|&v| v == 2)),
    }
}
