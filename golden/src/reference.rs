//! Plain-Rust integer reference models: slow, simple, the bottom of the golden chain.
//!
//! All tensors are row-major (matrices) or NHWC / HWIO (see [`crate::shape`]).
//! Accumulation wraps in the accumulator type, exactly as the hardware's
//! two's-complement accumulators do. The single-threaded functions are written
//! to be obviously right; the `_par` variants (rayon, cache-friendly loop
//! order) exist so benchmarks compare the GPU against an honest CPU baseline,
//! and are tested equal to the plain ones.

use num_traits::{WrappingAdd, WrappingMul};
use rayon::prelude::*;

use crate::error::{check_len, Result};
use crate::layer::ConvLayer;
use crate::requant::Requant;
use crate::shape::{Conv2dShape, MaxPoolShape, PoolWindow};

/// C[m x n] = A[m x k] * B[k x n], accumulated with wrapping arithmetic in `Acc`.
///
/// Generic so the same loop serves int8 -> int32 (the hardware) and wider
/// accumulators (for checking that a test never relied on wrapping by accident).
pub fn gemm<T, Acc>(a: &[T], b: &[T], m: usize, k: usize, n: usize) -> Vec<Acc>
where
    T: Copy + Into<Acc>,
    Acc: Copy + Default + WrappingAdd + WrappingMul,
{
    assert_eq!(a.len(), m * k, "A must hold m*k = {m}*{k} elements");
    assert_eq!(b.len(), k * n, "B must hold k*n = {k}*{n} elements");
    let mut c = vec![Acc::default(); m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = Acc::default();
            for kk in 0..k {
                let p = a[i * k + kk].into().wrapping_mul(&b[kk * n + j].into());
                acc = acc.wrapping_add(&p);
            }
            c[i * n + j] = acc;
        }
    }
    c
}

/// The hardware's GEMM: int8 operands, int32 wrapping accumulation.
pub fn gemm_i8(a: &[i8], b: &[i8], m: usize, k: usize, n: usize) -> Vec<i32> {
    gemm::<i8, i32>(a, b, m, k, n)
}

/// Multi-threaded [`gemm_i8`] (rayon over rows of C, i-k-j loop order so the
/// inner loop streams rows of B and vectorizes). Same result bit for bit.
///
/// # Panics
/// Like [`gemm_i8`], if `a` or `b` does not hold `m*k` / `k*n` elements.
pub fn gemm_i8_par(a: &[i8], b: &[i8], m: usize, k: usize, n: usize) -> Vec<i32> {
    assert_eq!(a.len(), m * k, "A must hold m*k = {m}*{k} elements");
    assert_eq!(b.len(), k * n, "B must hold k*n = {k}*{n} elements");
    let mut c = vec![0i32; m * n];
    if n == 0 {
        return c;
    }
    c.par_chunks_mut(n).enumerate().for_each(|(i, c_row)| {
        for (kk, &x) in a[i * k..(i + 1) * k].iter().enumerate() {
            let x = i32::from(x);
            for (acc, &y) in c_row.iter_mut().zip(&b[kk * n..(kk + 1) * n]) {
                // i8 * i8 always fits in i32; only the sum can wrap.
                *acc = acc.wrapping_add(x * i32::from(y));
            }
        }
    });
    c
}

pub(crate) fn check_conv_args(
    op: &'static str,
    input: &[i8],
    weights: &[i8],
    bias: Option<&[i32]>,
    s: &Conv2dShape,
) -> Result<()> {
    s.validate()?;
    check_len(op, "input (n*h*w*c_in)", s.input_len(), input.len())?;
    check_len(
        op,
        "weights (kh*kw*c_in*c_out)",
        s.weight_len(),
        weights.len(),
    )?;
    if let Some(b) = bias {
        check_len(op, "bias (c_out)", s.c_out, b.len())?;
    }
    Ok(())
}

/// Input coordinate read by output coordinate `o`, tap `t` along one axis, or
/// `None` when it falls in the zero padding.
fn tap_coord(
    o: usize,
    stride: usize,
    t: usize,
    dil: usize,
    pad: usize,
    size: usize,
) -> Option<usize> {
    (o * stride + t * dil)
        .checked_sub(pad)
        .filter(|&i| i < size)
}

/// 2-D convolution, int8 NHWC input, int8 HWIO weights, int32 output
/// `n x h_out x w_out x c_out`, optional int32 bias per output channel, all
/// sums int32 wrapping. See [`Conv2dShape`] for the exact formula; padded
/// input cells read as zero.
pub fn conv2d(
    input: &[i8],
    weights: &[i8],
    bias: Option<&[i32]>,
    s: &Conv2dShape,
) -> Result<Vec<i32>> {
    check_conv_args("conv2d", input, weights, bias, s)?;
    let (ho, wo) = (s.h_out(), s.w_out());
    let mut out = vec![0i32; s.output_len()];
    for b in 0..s.n {
        for oy in 0..ho {
            for ox in 0..wo {
                for co in 0..s.c_out {
                    let mut acc = bias.map_or(0, |bv| bv[co]);
                    for ky in 0..s.kh {
                        let Some(iy) = tap_coord(oy, s.stride.0, ky, s.dilation.0, s.pad.top, s.h)
                        else {
                            continue;
                        };
                        for kx in 0..s.kw {
                            let Some(ix) =
                                tap_coord(ox, s.stride.1, kx, s.dilation.1, s.pad.left, s.w)
                            else {
                                continue;
                            };
                            for ci in 0..s.c_in {
                                let x = input[((b * s.h + iy) * s.w + ix) * s.c_in + ci];
                                let w = weights[((ky * s.kw + kx) * s.c_in + ci) * s.c_out + co];
                                acc = acc.wrapping_add(i32::from(x) * i32::from(w));
                            }
                        }
                    }
                    out[((b * ho + oy) * wo + ox) * s.c_out + co] = acc;
                }
            }
        }
    }
    Ok(out)
}

/// Multi-threaded [`conv2d`] (rayon over output pixels, output channel
/// innermost). Same result bit for bit.
pub fn conv2d_par(
    input: &[i8],
    weights: &[i8],
    bias: Option<&[i32]>,
    s: &Conv2dShape,
) -> Result<Vec<i32>> {
    check_conv_args("conv2d", input, weights, bias, s)?;
    let (ho, wo) = (s.h_out(), s.w_out());
    let mut out = vec![0i32; s.output_len()];
    out.par_chunks_mut(s.c_out)
        .enumerate()
        .for_each(|(p, acc)| {
            let (ox, oy, b) = (p % wo, (p / wo) % ho, p / (wo * ho));
            match bias {
                Some(bv) => acc.copy_from_slice(bv),
                None => acc.fill(0),
            }
            for ky in 0..s.kh {
                let Some(iy) = tap_coord(oy, s.stride.0, ky, s.dilation.0, s.pad.top, s.h) else {
                    continue;
                };
                for kx in 0..s.kw {
                    let Some(ix) = tap_coord(ox, s.stride.1, kx, s.dilation.1, s.pad.left, s.w)
                    else {
                        continue;
                    };
                    let px = &input[((b * s.h + iy) * s.w + ix) * s.c_in..][..s.c_in];
                    for (ci, &x) in px.iter().enumerate() {
                        let x = i32::from(x);
                        let w_row =
                            &weights[((ky * s.kw + kx) * s.c_in + ci) * s.c_out..][..s.c_out];
                        for (a, &w) in acc.iter_mut().zip(w_row) {
                            *a = a.wrapping_add(x * i32::from(w));
                        }
                    }
                }
            }
        });
    Ok(out)
}

/// Requantizes int32 accumulators to int8 with [`Requant::apply`]. `acc` is
/// channel-last with `channels` channels: element `i` uses `bias[i % channels]`
/// (zero without bias).
pub fn requant(
    acc: &[i32],
    bias: Option<&[i32]>,
    channels: usize,
    rq: &Requant,
) -> Result<Vec<i8>> {
    check_requant_args(acc, bias, channels)?;
    Ok(acc
        .iter()
        .enumerate()
        .map(|(i, &a)| rq.apply(a, bias.map_or(0, |b| b[i % channels])))
        .collect())
}

pub(crate) fn check_requant_args(acc: &[i32], bias: Option<&[i32]>, channels: usize) -> Result<()> {
    const OP: &str = "requant";
    if channels == 0 {
        return Err(crate::GoldenError::invalid(
            OP,
            "channels >= 1",
            "channels = 0",
        ));
    }
    if acc.len() % channels != 0 {
        return Err(crate::GoldenError::invalid(
            OP,
            "acc.len() % channels == 0",
            format!("acc.len() = {}, channels = {channels}", acc.len()),
        ));
    }
    if let Some(b) = bias {
        check_len(OP, "bias (channels)", channels, b.len())?;
    }
    Ok(())
}

/// Max pooling over an int8 NHWC tensor. Padded cells are skipped (they never
/// win); [`MaxPoolShape::validate`] guarantees every window has a real cell.
pub fn maxpool(input: &[i8], s: &MaxPoolShape) -> Result<Vec<i8>> {
    s.validate()?;
    check_len("maxpool", "input (n*h*w*c)", s.input_len(), input.len())?;
    let win = &s.window;
    let (ho, wo) = (s.h_out(), s.w_out());
    let mut out = Vec::with_capacity(s.output_len());
    for b in 0..s.n {
        for oy in 0..ho {
            for ox in 0..wo {
                for ch in 0..s.c {
                    // Every window holds a real cell, so starting at the int8
                    // minimum equals the max over the real cells alone.
                    let mut m = i8::MIN;
                    for ky in 0..win.kh {
                        let Some(iy) = tap_coord(oy, win.stride.0, ky, 1, win.pad.top, s.h) else {
                            continue;
                        };
                        for kx in 0..win.kw {
                            let Some(ix) = tap_coord(ox, win.stride.1, kx, 1, win.pad.left, s.w)
                            else {
                                continue;
                            };
                            m = m.max(input[((b * s.h + iy) * s.w + ix) * s.c + ch]);
                        }
                    }
                    out.push(m);
                }
            }
        }
    }
    Ok(out)
}

/// Fully-connected layer: `requant(x[m x k] * w[k x n] + bias[n])`, int8 out.
pub fn fc_layer(
    x: &[i8],
    w: &[i8],
    bias: &[i32],
    m: usize,
    k: usize,
    n: usize,
    rq: &Requant,
) -> Result<Vec<i8>> {
    check_fc_args(x, w, bias, m, k, n)?;
    requant(&gemm_i8(x, w, m, k, n), Some(bias), n, rq)
}

pub(crate) fn check_fc_args(
    x: &[i8],
    w: &[i8],
    bias: &[i32],
    m: usize,
    k: usize,
    n: usize,
) -> Result<()> {
    const OP: &str = "fc_layer";
    if m == 0 || n == 0 {
        return Err(crate::GoldenError::invalid(
            OP,
            "m >= 1 and n >= 1",
            format!("m = {m}, n = {n}"),
        ));
    }
    check_len(
        OP,
        "x (m*k)",
        crate::error::checked_mul(OP, "m*k", m, k)?,
        x.len(),
    )?;
    check_len(
        OP,
        "w (k*n)",
        crate::error::checked_mul(OP, "k*n", k, n)?,
        w.len(),
    )?;
    check_len(OP, "bias (n)", n, bias.len())
}

/// Convolution layer: `requant(conv2d(input, weights) + bias)`, then an
/// optional max pooling of the int8 result. Returns int8 NHWC.
pub fn conv_layer(
    input: &[i8],
    weights: &[i8],
    bias: &[i32],
    s: &Conv2dShape,
    rq: &Requant,
    pool: Option<PoolWindow>,
) -> Result<Vec<i8>> {
    let pool_shape = check_conv_layer_args(input, weights, bias, s, pool)?;
    let y = requant(&conv2d(input, weights, None, s)?, Some(bias), s.c_out, rq)?;
    match pool_shape {
        Some(ps) => maxpool(&y, &ps),
        None => Ok(y),
    }
}

pub(crate) fn check_conv_layer_args(
    input: &[i8],
    weights: &[i8],
    bias: &[i32],
    s: &Conv2dShape,
    pool: Option<PoolWindow>,
) -> Result<Option<MaxPoolShape>> {
    check_conv_args("conv_layer", input, weights, Some(bias), s)?;
    pool.map(|win| {
        let ps = MaxPoolShape::new(s.h_out(), s.w_out(), s.c_out, win).with_batch(s.n);
        ps.validate().map(|()| ps)
    })
    .transpose()
}

/// Every stage of one [`ConvLayer`], for debugging a mismatch: the int32
/// accumulator (before bias), the requantized int8 tensor before pooling,
/// and the layer output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerTrace {
    /// `acc[y][x][co]`, `H_c x W_c x out_c`, int32 wrapping, no bias.
    pub acc: Vec<i32>,
    /// `r[y][x][co]`, `H_c x W_c x out_c`, after per-channel requant (+ ReLU).
    pub requant: Vec<i8>,
    /// `out[y][x][co]`, `H_o x W_o x out_c`: `requant` max-pooled, or `requant` itself.
    pub out: Vec<i8>,
}

pub(crate) fn check_layer_args(layer: &ConvLayer, input: &[i8], weights: &[i8]) -> Result<()> {
    layer.validate()?;
    check_len(
        crate::layer::OP,
        "input (in_h*in_w*in_c)",
        layer.input_len(),
        input.len(),
    )?;
    check_len(
        crate::layer::OP,
        "weights (k_h*k_w*in_c*out_c)",
        layer.weight_len(),
        weights.len(),
    )
}

/// The layer's output: [`layer_reference_trace`]`.out`.
pub fn layer_reference(layer: &ConvLayer, input: &[i8], weights: &[i8]) -> Result<Vec<i8>> {
    layer_reference_trace(layer, input, weights).map(|t| t.out)
}

/// One [`ConvLayer`] computed literally from its formula (see
/// [`crate::layer`]), with signed coordinates and no shared helpers beyond
/// the validated sizes, so it stays an independent oracle for the GPU path
/// and the engine.
pub fn layer_reference_trace(
    layer: &ConvLayer,
    input: &[i8],
    weights: &[i8],
) -> Result<LayerTrace> {
    check_layer_args(layer, input, weights)?;
    let l = layer;
    let (h_c, w_c, c_o) = (l.h_c(), l.w_c(), l.out_c);
    // Sizes are validated to fit in usize; coordinates fit comfortably in i64.
    let at = |y: i64, x: i64, ci: usize| -> i32 {
        if y < 0 || x < 0 || y >= l.in_h as i64 || x >= l.in_w as i64 {
            0
        } else {
            i32::from(input[(y as usize * l.in_w + x as usize) * l.in_c + ci])
        }
    };

    let mut acc = vec![0i32; h_c * w_c * c_o];
    for y in 0..h_c {
        for x in 0..w_c {
            for co in 0..c_o {
                let mut sum = 0i32;
                for ky in 0..l.k_h {
                    for kx in 0..l.k_w {
                        let iy = (y * l.stride_h) as i64 - l.pad_t as i64 + (ky * l.dil_h) as i64;
                        let ix = (x * l.stride_w) as i64 - l.pad_l as i64 + (kx * l.dil_w) as i64;
                        for ci in 0..l.in_c {
                            let w = weights[((ky * l.k_w + kx) * l.in_c + ci) * c_o + co];
                            sum = sum.wrapping_add(at(iy, ix, ci) * i32::from(w));
                        }
                    }
                }
                acc[(y * w_c + x) * c_o + co] = sum;
            }
        }
    }

    let lo: i64 = if l.relu { 0 } else { -128 };
    let requant: Vec<i8> = acc
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            let co = i % c_o;
            let (mult, shift) = (i64::from(l.mult[co]), l.shift[co]);
            let round = if shift > 0 { 1i64 << (shift - 1) } else { 0 };
            let v = (i64::from(a.wrapping_add(l.bias[co])) * mult + round) >> shift;
            v.clamp(lo, 127) as i8
        })
        .collect();

    let out = if l.pool_k == 0 {
        requant.clone()
    } else {
        let (h_o, w_o) = (l.h_o(), l.w_o());
        let mut out = Vec::with_capacity(h_o * w_o * c_o);
        for y in 0..h_o {
            for x in 0..w_o {
                for c in 0..c_o {
                    // Cells outside r never win: take the max over real cells only.
                    let mut best: Option<i8> = None;
                    for i in 0..l.pool_k {
                        for j in 0..l.pool_k {
                            let ry = (y * l.pool_s + i) as i64 - l.pool_pad as i64;
                            let rx = (x * l.pool_s + j) as i64 - l.pool_pad as i64;
                            if ry < 0 || rx < 0 || ry >= h_c as i64 || rx >= w_c as i64 {
                                continue;
                            }
                            let v = requant[(ry as usize * w_c + rx as usize) * c_o + c];
                            best = Some(best.map_or(v, |b| b.max(v)));
                        }
                    }
                    let Some(best) = best else {
                        // validate() guarantees a real cell in every window.
                        return Err(crate::GoldenError::invalid(
                            crate::layer::OP,
                            "every pooling window holds a cell of r",
                            format!("window ({y}, {x}) is empty"),
                        ));
                    };
                    out.push(best);
                }
            }
        }
        out
    };
    Ok(LayerTrace { acc, requant, out })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::Padding;

    #[test]
    fn gemm_small_by_hand() {
        // [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50]
        let c = gemm_i8(&[1, 2, 3, 4], &[5, 6, 7, 8], 2, 2, 2);
        assert_eq!(c, vec![19, 22, 43, 50]);
    }

    #[test]
    fn gemm_wraps_like_int32() {
        // 2^14 * 2^14 summed 2^4... use -128*-128 = 16384, K = 131072 would overflow:
        // check against i64 accumulation truncated to 32 bits instead of a literal.
        let k = 140_000;
        let a = vec![-128i8; k];
        let b = vec![-128i8; k];
        let c32 = gemm_i8(&a, &b, 1, k, 1)[0];
        let c64 = gemm::<i8, i64>(&a, &b, 1, k, 1)[0];
        assert_eq!(c32, c64 as i32);
        assert_ne!(c32 as i64, c64, "this K must overflow int32");
    }

    #[test]
    fn conv_3x3_by_hand() {
        // Input 3x3x1 (values 1..9), one 2x2 kernel [[1, 0], [0, -1]] (HWIO, c_in=c_out=1),
        // bias 10, stride 1, no padding -> 2x2 output, each = bias + x[y][x] - x[y+1][x+1]:
        //   1 2 3
        //   4 5 6     out[0][0] = 10 + 1 - 5 = 6,  out[0][1] = 10 + 2 - 6 = 6
        //   7 8 9     out[1][0] = 10 + 4 - 8 = 6,  out[1][1] = 10 + 5 - 9 = 6
        let x: Vec<i8> = (1..=9).collect();
        let w = [1i8, 0, 0, -1];
        let s = Conv2dShape::new(3, 3, 1, 1, 2, 2);
        assert_eq!(conv2d(&x, &w, Some(&[10]), &s).unwrap(), vec![6, 6, 6, 6]);

        // Same input, 3x3 all-ones kernel, padding 1, stride 2 -> 2x2 output of
        // window sums: top-left window covers rows -1..1, cols -1..1 = 1+2+4+5 = 12;
        // top-right (cols 1..3) = 2+3+5+6 = 16; bottom-left (rows 1..3) = 4+5+7+8 = 24;
        // bottom-right = 5+6+8+9 = 28.
        let s = Conv2dShape::new(3, 3, 1, 1, 3, 3)
            .with_padding(Padding::uniform(1))
            .with_stride(2, 2);
        assert_eq!(conv2d(&x, &[1; 9], None, &s).unwrap(), vec![12, 16, 24, 28]);

        // Dilation 2 on the 3x3 input with a 2x2 kernel of ones: single output,
        // taps at (0,0), (0,2), (2,0), (2,2) = 1 + 3 + 7 + 9 = 20.
        let s = Conv2dShape::new(3, 3, 1, 1, 2, 2).with_dilation(2, 2);
        assert_eq!(conv2d(&x, &[1; 4], None, &s).unwrap(), vec![20]);
    }

    #[test]
    fn conv_channels_by_hand() {
        // 1x1 image, 2 input channels [3, -4], 1x1 kernel to 2 output channels.
        // HWIO: w[ci][co] = [[1, 2], [5, -1]] -> out[co] = 3*w[0][co] - 4*w[1][co]
        //   co 0: 3*1 - 4*5 = -17,  co 1: 3*2 - 4*(-1) = 10; plus bias [100, -100].
        let s = Conv2dShape::new(1, 1, 2, 2, 1, 1);
        let y = conv2d(&[3, -4], &[1, 2, 5, -1], Some(&[100, -100]), &s).unwrap();
        assert_eq!(y, vec![83, -90]);
        // A 1x1 conv over an m-pixel image is a GEMM.
        let a: Vec<i8> = (0..12).map(|v| (v * 37 % 256 - 128) as i8).collect();
        let b: Vec<i8> = (0..15).map(|v| (v * 91 % 256 - 128) as i8).collect();
        let s = Conv2dShape::new(4, 1, 3, 5, 1, 1);
        assert_eq!(conv2d(&a, &b, None, &s).unwrap(), gemm_i8(&a, &b, 4, 3, 5));
    }

    #[test]
    fn maxpool_by_hand() {
        // 3x3 input, 2x2 window, stride 1, pad right/bottom 1 -> 3x3 output; padded
        // cells are skipped, so an all-negative corner stays negative (not 0).
        //   -5 -2 -9        max of windows:  -2 -2 -3
        //   -7 -8 -3                         -6 -3 -3
        //   -6 -9 -4                         -6 -4 -4
        let x = [-5i8, -2, -9, -7, -8, -3, -6, -9, -4];
        let win = PoolWindow::new(2, 2)
            .with_stride(1, 1)
            .with_padding(Padding {
                top: 0,
                bottom: 1,
                left: 0,
                right: 1,
            });
        let y = maxpool(&x, &MaxPoolShape::new(3, 3, 1, win)).unwrap();
        assert_eq!(y, vec![-2, -2, -3, -6, -3, -3, -6, -4, -4]);
        // Two channels pool independently.
        let y = maxpool(
            &[1, -1, 4, -4, 2, -2, 3, -3],
            &MaxPoolShape::new(2, 2, 2, PoolWindow::new(2, 2)),
        )
        .unwrap();
        assert_eq!(y, vec![4, -1]);
    }

    #[test]
    fn layers_by_hand() {
        // fc: x = [1 2], w = [[3], [4]] -> 11, + bias 5 = 16, * 3 = 48, + 2, >> 2 = 12.
        let rq = Requant::new(3, 2, true).unwrap();
        assert_eq!(
            fc_layer(&[1, 2], &[3, 4], &[5], 1, 2, 1, &rq).unwrap(),
            vec![12]
        );
        // conv layer (ReLU, then an optional 2x2 pool) with conv_3x3_by_hand's kernel
        // on an input whose last value is 10 instead of 9.
        let x = [1i8, 2, 3, 4, 5, 6, 7, 8, 10];
        let s = Conv2dShape::new(3, 3, 1, 1, 2, 2);
        // raw acc (no bias): [1-5, 2-6, 4-8, 5-10] = [-4, -4, -4, -5]; + bias 6 = [2, 2, 2, 1].
        let y = conv_layer(&x, &[1, 0, 0, -1], &[6], &s, &Requant::saturate(true), None).unwrap();
        assert_eq!(y, vec![2, 2, 2, 1]);
        let pooled = conv_layer(
            &x,
            &[1, 0, 0, -1],
            &[6],
            &s,
            &Requant::saturate(true),
            Some(PoolWindow::new(2, 2)),
        )
        .unwrap();
        assert_eq!(pooled, vec![2]);
    }

    #[test]
    fn argument_errors_are_reported() {
        let s = Conv2dShape::new(3, 3, 1, 1, 2, 2);
        let e = conv2d(&[0; 8], &[0; 4], None, &s).unwrap_err();
        assert_eq!(
            e.to_string(),
            "conv2d: input (n*h*w*c_in) must hold 9 elements, got 8"
        );
        assert!(conv2d(&[0; 9], &[0; 4], Some(&[1, 2]), &s).is_err());
        assert!(requant(&[1, 2, 3], None, 2, &Requant::saturate(false)).is_err());
        assert!(fc_layer(&[1], &[1], &[], 1, 1, 1, &Requant::saturate(false)).is_err());
    }

    #[test]
    fn parallel_versions_match() {
        let a: Vec<i8> = (0..37 * 29).map(|v| (v * 7919 % 256) as u8 as i8).collect();
        let b: Vec<i8> = (0..29 * 41)
            .map(|v| (v * 104729 % 256) as u8 as i8)
            .collect();
        assert_eq!(gemm_i8_par(&a, &b, 37, 29, 41), gemm_i8(&a, &b, 37, 29, 41));
        let s = Conv2dShape::new(9, 7, 5, 6, 3, 2)
            .with_batch(2)
            .with_stride(2, 1)
            .with_dilation(1, 2)
            .with_padding(Padding {
                top: 2,
                bottom: 0,
                left: 1,
                right: 3,
            });
        let x: Vec<i8> = (0..s.input_len())
            .map(|v| (v * 31 % 256) as u8 as i8)
            .collect();
        let w: Vec<i8> = (0..s.weight_len())
            .map(|v| (v * 57 % 256) as u8 as i8)
            .collect();
        let bias: Vec<i32> = (0..6).map(|v| v * 1000 - 2500).collect();
        assert_eq!(
            conv2d_par(&x, &w, Some(&bias), &s).unwrap(),
            conv2d(&x, &w, Some(&bias), &s).unwrap()
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn parallel_versions_match_random(
            (m, k, n, seed) in (1usize..=40, 0usize..=40, 1usize..=40, proptest::prelude::any::<u64>()),
            (h, w, c_in, c_out, kh, kw, sy, sx, dy, dx, p) in
                (1usize..=9, 1usize..=9, 1usize..=6, 1usize..=6, 1usize..=3, 1usize..=3,
                 1usize..=3, 1usize..=3, 1usize..=2, 1usize..=2, 0usize..=2),
        ) {
            let gen = |len: usize, salt: u64| -> Vec<i8> {
                (0..len as u64).map(|i| ((i ^ seed).wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(salt) >> 56) as u8 as i8).collect()
            };
            let (a, b) = (gen(m * k, 1), gen(k * n, 2));
            proptest::prop_assert_eq!(gemm_i8_par(&a, &b, m, k, n), gemm_i8(&a, &b, m, k, n));
            let s = Conv2dShape::new(h, w, c_in, c_out, kh, kw)
                .with_stride(sy, sx)
                .with_dilation(dy, dx)
                .with_padding(Padding::uniform(p));
            if s.validate().is_ok() {
                let (x, wt) = (gen(s.input_len(), 3), gen(s.weight_len(), 4));
                let bias: Vec<i32> = gen(c_out, 5).iter().map(|&v| i32::from(v) << 20).collect();
                proptest::prop_assert_eq!(
                    conv2d_par(&x, &wt, Some(&bias), &s).unwrap(),
                    conv2d(&x, &wt, Some(&bias), &s).unwrap()
                );
            }
        }
    }
}
