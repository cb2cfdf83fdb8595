//! One engine layer as one descriptor: convolution (or fully-connected),
//! per-channel requantization with optional ReLU, and optional fused max
//! pooling, so every layer the conv/FC engine runs has a one-call oracle
//! ([`crate::Golden::layer`], [`crate::reference::layer_reference`]).
//!
//! The semantics, exactly as the engine implements them (batch 1, NHWC input
//! `in[y][x][ci]`, HWIO weights `w[ky][kx][ci][co]`, NHWC output
//! `out[y][x][co]`):
//!
//! ```text
//! H_c = (in_h + pad_t + pad_b - dil_h*(k_h-1) - 1) / stride_h + 1      (>= 1), W_c likewise
//! acc[y][x][co] = sum over ky < k_h, kx < k_w, ci < in_c of
//!     in[y*stride_h - pad_t + ky*dil_h][x*stride_w - pad_l + kx*dil_w][ci] * w[ky][kx][ci][co]
//!     (cells outside the image read as 0; int32 wrapping)
//! r[y][x][co] = clamp(((acc + bias[co]) as i64 * mult[co] + round(shift[co])) >> shift[co], lo, 127)
//!     (acc + bias wraps in int32; lo = 0 with ReLU, -128 without;
//!      round(s) = s > 0 ? 1 << (s-1) : 0; mult in 1..=65535, shift in 0..=31)
//! pool_k == 0: out = r (H_o = H_c, W_o = W_c)
//! pool_k >= 1: out[y][x][c] = max of r over rows y*pool_s - pool_pad + i and
//!     cols x*pool_s - pool_pad + j (i, j < pool_k); cells outside r never win;
//!     H_o = (H_c + 2*pool_pad - pool_k) / pool_s + 1 (>= 1), pool_pad < pool_k, pool_s >= 1
//! ```
//!
//! A fully-connected layer is the 1x1 case on an image of height 1, width =
//! batch, `in_c` = K ([`ConvLayer::fc`]).
//!
//! All rules are checked in one place, [`ConvLayer::validate`], and the
//! derived sizes ([`ConvLayer::h_c`] ... [`ConvLayer::w_o`]) are computed in
//! one place, so the reference and the GPU path agree on what a descriptor
//! means.

use crate::error::{checked_mul, GoldenError, Result};
use crate::requant::Requant;
use crate::shape::{window_out, Conv2dShape, MaxPoolShape, Padding, PoolWindow};

/// Operation name in this module's errors.
pub(crate) const OP: &str = "layer";

/// One conv / FC layer of the engine: shapes, requantization per output
/// channel, activation and fused max pooling. See the [module docs](self)
/// for the exact arithmetic.
///
/// Build with [`ConvLayer::new`] / [`ConvLayer::fc`] and the `with_*`
/// methods, or fill the public fields directly; either way
/// [`ConvLayer::validate`] is the one check (every consumer calls it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConvLayer {
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Input channels.
    pub in_c: usize,
    /// Output channels.
    pub out_c: usize,
    /// Kernel height.
    pub k_h: usize,
    /// Kernel width.
    pub k_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical dilation.
    pub dil_h: usize,
    /// Horizontal dilation.
    pub dil_w: usize,
    /// Zero rows above the image.
    pub pad_t: usize,
    /// Zero rows below the image.
    pub pad_b: usize,
    /// Zero columns left of the image.
    pub pad_l: usize,
    /// Zero columns right of the image.
    pub pad_r: usize,
    /// ReLU: lower clamp 0 instead of -128.
    pub relu: bool,
    /// Max-pool window edge; 0 = no pooling.
    pub pool_k: usize,
    /// Max-pool stride (0 when `pool_k == 0`).
    pub pool_s: usize,
    /// Max-pool padding on every side, cells that never win (0 when `pool_k == 0`).
    pub pool_pad: usize,
    /// int32 bias per output channel (`out_c` values).
    pub bias: Vec<i32>,
    /// Requantization multiplier per output channel, `1..=65535`.
    pub mult: Vec<u32>,
    /// Requantization right shift per output channel, `0..=31`.
    pub shift: Vec<u32>,
}

fn at_least_one(name: &str, v: usize) -> Result<()> {
    if v >= 1 {
        Ok(())
    } else {
        Err(GoldenError::invalid(
            OP,
            format!("{name} >= 1"),
            format!("{name} = {v}"),
        ))
    }
}

impl ConvLayer {
    /// A `k_h x k_w` convolution of an `in_h x in_w x in_c` image to `out_c`
    /// channels: stride 1, dilation 1, no padding, no ReLU, no pooling, bias
    /// 0, `mult` 1 and `shift` 0 on every channel (plain saturation).
    pub fn new(
        in_h: usize,
        in_w: usize,
        in_c: usize,
        out_c: usize,
        k_h: usize,
        k_w: usize,
    ) -> ConvLayer {
        ConvLayer {
            in_h,
            in_w,
            in_c,
            out_c,
            k_h,
            k_w,
            stride_h: 1,
            stride_w: 1,
            dil_h: 1,
            dil_w: 1,
            pad_t: 0,
            pad_b: 0,
            pad_l: 0,
            pad_r: 0,
            relu: false,
            pool_k: 0,
            pool_s: 0,
            pool_pad: 0,
            bias: vec![0; out_c],
            mult: vec![1; out_c],
            shift: vec![0; out_c],
        }
    }

    /// A fully-connected layer `x[batch x k] * w[k x n]`: the 1x1 convolution
    /// of a `1 x batch x k` image to `n` channels. Weights are then the
    /// row-major `k x n` matrix and the output the row-major `batch x n` one.
    pub fn fc(batch: usize, k: usize, n: usize) -> ConvLayer {
        ConvLayer::new(1, batch, k, n, 1, 1)
    }

    /// Same layer with stride `(stride_h, stride_w)`.
    pub fn with_stride(mut self, stride_h: usize, stride_w: usize) -> Self {
        (self.stride_h, self.stride_w) = (stride_h, stride_w);
        self
    }

    /// Same layer with dilation `(dil_h, dil_w)`.
    pub fn with_dilation(mut self, dil_h: usize, dil_w: usize) -> Self {
        (self.dil_h, self.dil_w) = (dil_h, dil_w);
        self
    }

    /// Same layer with zero padding (top, bottom, left, right).
    pub fn with_padding(mut self, pad: Padding) -> Self {
        (self.pad_t, self.pad_b, self.pad_l, self.pad_r) =
            (pad.top, pad.bottom, pad.left, pad.right);
        self
    }

    /// Same layer with ReLU on or off.
    pub fn with_relu(mut self, relu: bool) -> Self {
        self.relu = relu;
        self
    }

    /// Same layer with a fused `pool_k x pool_k` max pool, stride `pool_s`,
    /// padding `pool_pad` on every side.
    pub fn with_pool(mut self, pool_k: usize, pool_s: usize, pool_pad: usize) -> Self {
        (self.pool_k, self.pool_s, self.pool_pad) = (pool_k, pool_s, pool_pad);
        self
    }

    /// Same layer with per-channel bias, multiplier and shift.
    pub fn with_requant(mut self, bias: Vec<i32>, mult: Vec<u32>, shift: Vec<u32>) -> Self {
        (self.bias, self.mult, self.shift) = (bias, mult, shift);
        self
    }

    /// Checks every rule; the error names the rule and the offending value.
    ///
    /// Rules: `in_h, in_w, in_c, out_c, k_h, k_w, stride_h, stride_w, dil_h,
    /// dil_w >= 1`; `dil_h*(k_h-1)+1 <= in_h + pad_t + pad_b` (so `H_c >= 1`)
    /// and likewise for the width; `bias`, `mult`, `shift` hold `out_c`
    /// values; `1 <= mult[co] <= 65535`, `shift[co] <= 31`; without pooling
    /// (`pool_k == 0`) `pool_s == 0` and `pool_pad == 0`; with pooling
    /// `pool_s >= 1`, `pool_pad < pool_k`, `pool_k <= H_c + 2*pool_pad` and
    /// `pool_k <= W_c + 2*pool_pad` (so `H_o, W_o >= 1`); every tensor size
    /// fits in `usize`.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("in_h", self.in_h),
            ("in_w", self.in_w),
            ("in_c", self.in_c),
            ("out_c", self.out_c),
            ("k_h", self.k_h),
            ("k_w", self.k_w),
            ("stride_h", self.stride_h),
            ("stride_w", self.stride_w),
            ("dil_h", self.dil_h),
            ("dil_w", self.dil_w),
        ] {
            at_least_one(name, v)?;
        }
        if window_out(self.in_h, self.pad_t, self.pad_b, self.k_h, self.dil_h, 1).is_none() {
            return Err(GoldenError::invalid(
                OP,
                "dil_h*(k_h-1)+1 <= in_h + pad_t + pad_b",
                format!(
                    "dil_h = {}, k_h = {}, in_h = {}, pad_t = {}, pad_b = {}",
                    self.dil_h, self.k_h, self.in_h, self.pad_t, self.pad_b
                ),
            ));
        }
        if window_out(self.in_w, self.pad_l, self.pad_r, self.k_w, self.dil_w, 1).is_none() {
            return Err(GoldenError::invalid(
                OP,
                "dil_w*(k_w-1)+1 <= in_w + pad_l + pad_r",
                format!(
                    "dil_w = {}, k_w = {}, in_w = {}, pad_l = {}, pad_r = {}",
                    self.dil_w, self.k_w, self.in_w, self.pad_l, self.pad_r
                ),
            ));
        }
        for (name, len) in [
            ("bias", self.bias.len()),
            ("mult", self.mult.len()),
            ("shift", self.shift.len()),
        ] {
            if len != self.out_c {
                return Err(GoldenError::invalid(
                    OP,
                    format!("{name}.len() == out_c"),
                    format!("{name}.len() = {len}, out_c = {}", self.out_c),
                ));
            }
        }
        for (co, &m) in self.mult.iter().enumerate() {
            if !(1..=Requant::MULT_MAX).contains(&m) {
                return Err(GoldenError::invalid(
                    OP,
                    "1 <= mult[co] <= 65535",
                    format!("mult[{co}] = {m}"),
                ));
            }
        }
        for (co, &s) in self.shift.iter().enumerate() {
            if s > Requant::SHIFT_MAX {
                return Err(GoldenError::invalid(
                    OP,
                    "shift[co] <= 31",
                    format!("shift[{co}] = {s}"),
                ));
            }
        }
        self.validate_pool()?;
        self.checked_lens().map(|_| ())
    }

    fn validate_pool(&self) -> Result<()> {
        let (k, s, p) = (self.pool_k, self.pool_s, self.pool_pad);
        if k == 0 {
            // A stride or padding without a window is a descriptor mistake, not a no-op.
            if s != 0 || p != 0 {
                return Err(GoldenError::invalid(
                    OP,
                    "pool_s == 0 and pool_pad == 0 when pool_k == 0",
                    format!("pool_k = 0, pool_s = {s}, pool_pad = {p}"),
                ));
            }
            return Ok(());
        }
        at_least_one("pool_s", s)?;
        if p >= k {
            return Err(GoldenError::invalid(
                OP,
                "pool_pad < pool_k",
                format!("pool_pad = {p}, pool_k = {k}"),
            ));
        }
        for (name, size) in [("H_c", self.h_c()), ("W_c", self.w_c())] {
            if window_out(size, p, p, k, 1, s).is_none() {
                return Err(GoldenError::invalid(
                    OP,
                    format!("pool_k <= {name} + 2*pool_pad"),
                    format!("pool_k = {k}, {name} = {size}, pool_pad = {p}"),
                ));
            }
        }
        Ok(())
    }

    /// Input, weight and output lengths, or an error when one overflows `usize`.
    fn checked_lens(&self) -> Result<(usize, usize, usize)> {
        let px = checked_mul(OP, "in_h*in_w", self.in_h, self.in_w)?;
        let input = checked_mul(OP, "input length", px, self.in_c)?;
        let taps = checked_mul(OP, "k_h*k_w", self.k_h, self.k_w)?;
        let taps = checked_mul(OP, "k_h*k_w*in_c", taps, self.in_c)?;
        let weights = checked_mul(OP, "weight length", taps, self.out_c)?;
        let conv_px = checked_mul(OP, "H_c*W_c", self.h_c(), self.w_c())?;
        checked_mul(OP, "acc length", conv_px, self.out_c)?;
        let out_px = checked_mul(OP, "H_o*W_o", self.h_o(), self.w_o())?;
        let output = checked_mul(OP, "output length", out_px, self.out_c)?;
        Ok((input, weights, output))
    }

    /// Convolution output height `H_c` (0 when the layer is invalid).
    pub fn h_c(&self) -> usize {
        window_out(
            self.in_h,
            self.pad_t,
            self.pad_b,
            self.k_h,
            self.dil_h,
            self.stride_h,
        )
        .unwrap_or(0)
    }

    /// Convolution output width `W_c` (0 when the layer is invalid).
    pub fn w_c(&self) -> usize {
        window_out(
            self.in_w,
            self.pad_l,
            self.pad_r,
            self.k_w,
            self.dil_w,
            self.stride_w,
        )
        .unwrap_or(0)
    }

    /// Layer output height `H_o`: `H_c` without pooling (0 when invalid).
    pub fn h_o(&self) -> usize {
        self.pooled(self.h_c())
    }

    /// Layer output width `W_o`: `W_c` without pooling (0 when invalid).
    pub fn w_o(&self) -> usize {
        self.pooled(self.w_c())
    }

    fn pooled(&self, conv: usize) -> usize {
        if self.pool_k == 0 {
            return conv;
        }
        window_out(
            conv,
            self.pool_pad,
            self.pool_pad,
            self.pool_k,
            1,
            self.pool_s,
        )
        .unwrap_or(0)
    }

    /// Elements of the input `in_h*in_w*in_c`.
    pub fn input_len(&self) -> usize {
        self.in_h * self.in_w * self.in_c
    }

    /// Elements of the HWIO weights `k_h*k_w*in_c*out_c`.
    pub fn weight_len(&self) -> usize {
        self.k_h * self.k_w * self.in_c * self.out_c
    }

    /// Elements of the accumulator and of the pre-pool `r`: `H_c*W_c*out_c`.
    pub fn conv_len(&self) -> usize {
        self.h_c() * self.w_c() * self.out_c
    }

    /// Elements of the output `H_o*W_o*out_c`.
    pub fn output_len(&self) -> usize {
        self.h_o() * self.w_o() * self.out_c
    }

    /// The convolution as a [`Conv2dShape`] (batch 1), for the existing conv kernels.
    pub fn conv_shape(&self) -> Conv2dShape {
        Conv2dShape::new(
            self.in_h, self.in_w, self.in_c, self.out_c, self.k_h, self.k_w,
        )
        .with_stride(self.stride_h, self.stride_w)
        .with_dilation(self.dil_h, self.dil_w)
        .with_padding(Padding {
            top: self.pad_t,
            bottom: self.pad_b,
            left: self.pad_l,
            right: self.pad_r,
        })
    }

    /// The fused pooling as a [`MaxPoolShape`] over the `H_c x W_c x out_c`
    /// requantized tensor, or `None` when `pool_k == 0`.
    pub fn pool_shape(&self) -> Option<MaxPoolShape> {
        (self.pool_k > 0).then(|| {
            let win = PoolWindow::new(self.pool_k, self.pool_k)
                .with_stride(self.pool_s, self.pool_s)
                .with_padding(Padding::uniform(self.pool_pad));
            MaxPoolShape::new(self.h_c(), self.w_c(), self.out_c, win)
        })
    }

    /// The requantization of output channel `co` (needs a valid layer).
    pub fn requant(&self, co: usize) -> Result<Requant> {
        let (Some(&m), Some(&s)) = (self.mult.get(co), self.shift.get(co)) else {
            return Err(GoldenError::invalid(
                OP,
                "co < out_c",
                format!("co = {co}, out_c = {}", self.out_c),
            ));
        };
        Requant::new(m, s, self.relu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(l: &ConvLayer) -> String {
        match l.validate() {
            Err(GoldenError::Invalid { rule, value, .. }) => format!("{rule}: {value}"),
            other => panic!("expected an Invalid error, got {other:?}"),
        }
    }

    #[test]
    fn derived_sizes_follow_the_formula() {
        // 7x9, k 3x2, stride (2,3), dil (2,1), pads t1 b0 l2 r1:
        // H_c = (7+1+0-2*2-1)/2+1 = 3/2+1 = 2; W_c = (9+2+1-1*1-1)/3+1 = 10/3+1 = 4.
        let l = ConvLayer::new(7, 9, 3, 5, 3, 2)
            .with_stride(2, 3)
            .with_dilation(2, 1)
            .with_padding(Padding {
                top: 1,
                bottom: 0,
                left: 2,
                right: 1,
            });
        assert!(l.validate().is_ok());
        assert_eq!((l.h_c(), l.w_c(), l.h_o(), l.w_o()), (2, 4, 2, 4));
        // Pool k2 s1 pad1: H_o = (2+2-2)/1+1 = 3, W_o = (4+2-2)/1+1 = 5.
        let p = l.clone().with_pool(2, 1, 1);
        assert!(p.validate().is_ok());
        assert_eq!((p.h_o(), p.w_o()), (3, 5));
        assert_eq!(p.output_len(), 3 * 5 * 5);
        assert_eq!(p.conv_len(), 2 * 4 * 5);
        // FC: 1 x batch image.
        let f = ConvLayer::fc(4, 10, 3);
        assert_eq!((f.h_o(), f.w_o(), f.output_len()), (1, 4, 12));
    }

    #[test]
    fn every_rule_is_named_with_its_value() {
        let base = ConvLayer::new(5, 5, 2, 3, 3, 3);
        assert!(base.validate().is_ok());
        let cases: Vec<(ConvLayer, &str)> = vec![
            (ConvLayer::new(5, 5, 0, 3, 3, 3), "in_c >= 1: in_c = 0"),
            (
                ConvLayer::new(5, 5, 2, 0, 3, 3),
                "out_c >= 1: out_c = 0",
            ),
            (base.clone().with_stride(1, 0), "stride_w >= 1: stride_w = 0"),
            (base.clone().with_dilation(0, 1), "dil_h >= 1: dil_h = 0"),
            (
                base.clone().with_dilation(3, 1),
                "dil_h*(k_h-1)+1 <= in_h + pad_t + pad_b: dil_h = 3, k_h = 3, in_h = 5, pad_t = 0, pad_b = 0",
            ),
            (
                ConvLayer::new(5, 2, 2, 3, 3, 3),
                "dil_w*(k_w-1)+1 <= in_w + pad_l + pad_r: dil_w = 1, k_w = 3, in_w = 2, pad_l = 0, pad_r = 0",
            ),
            (
                base.clone().with_requant(vec![0; 2], vec![1; 3], vec![0; 3]),
                "bias.len() == out_c: bias.len() = 2, out_c = 3",
            ),
            (
                base.clone().with_requant(vec![0; 3], vec![1; 4], vec![0; 3]),
                "mult.len() == out_c: mult.len() = 4, out_c = 3",
            ),
            (
                base.clone().with_requant(vec![0; 3], vec![1, 0, 1], vec![0; 3]),
                "1 <= mult[co] <= 65535: mult[1] = 0",
            ),
            (
                base.clone().with_requant(vec![0; 3], vec![1, 1, 65536], vec![0; 3]),
                "1 <= mult[co] <= 65535: mult[2] = 65536",
            ),
            (
                base.clone().with_requant(vec![0; 3], vec![1; 3], vec![32, 0, 0]),
                "shift[co] <= 31: shift[0] = 32",
            ),
            (
                base.clone().with_pool(0, 1, 0),
                "pool_s == 0 and pool_pad == 0 when pool_k == 0: pool_k = 0, pool_s = 1, pool_pad = 0",
            ),
            (base.clone().with_pool(2, 0, 0), "pool_s >= 1: pool_s = 0"),
            (
                base.clone().with_pool(2, 2, 2),
                "pool_pad < pool_k: pool_pad = 2, pool_k = 2",
            ),
            // H_c = 3: a 4-window without padding does not fit.
            (
                base.clone().with_pool(4, 1, 0),
                "pool_k <= H_c + 2*pool_pad: pool_k = 4, H_c = 3, pool_pad = 0",
            ),
            (
                ConvLayer::new(6, 3, 2, 3, 3, 1).with_pool(4, 1, 0),
                "pool_k <= W_c + 2*pool_pad: pool_k = 4, W_c = 3, pool_pad = 0",
            ),
        ];
        for (layer, want) in cases {
            assert_eq!(rule(&layer), want);
        }
        let e = ConvLayer::new(usize::MAX / 2, 4, 3, 1, 1, 1)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("overflows"), "{e}");
        assert!(e.to_string().starts_with("layer: "), "{e}");
        // The same 4-window fits once padded: (3 + 2 - 4) / 1 + 1 = 2.
        assert!(base.with_pool(4, 1, 1).validate().is_ok());
    }
}
