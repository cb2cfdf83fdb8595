//! Shapes of the convolution and pooling operations, with their validity rules
//! and derived output sizes computed in exactly one place.
//!
//! Tensors are NHWC (batch, row, column, channel; channel fastest) and conv
//! weights are HWIO (kernel row, kernel column, input channel, output channel;
//! output channel fastest). Both the Rust reference and the wgpu kernels take
//! these structs, so a shape that validates means the same thing everywhere.

use crate::error::{checked_mul, GoldenError, Result};

/// Zero padding added around the spatial dimensions of an NHWC tensor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Padding {
    /// Rows added above row 0.
    pub top: usize,
    /// Rows added below the last row.
    pub bottom: usize,
    /// Columns added left of column 0.
    pub left: usize,
    /// Columns added right of the last column.
    pub right: usize,
}

impl Padding {
    /// No padding.
    pub const NONE: Padding = Padding {
        top: 0,
        bottom: 0,
        left: 0,
        right: 0,
    };

    /// The same padding `p` on all four sides.
    pub const fn uniform(p: usize) -> Padding {
        Padding {
            top: p,
            bottom: p,
            left: p,
            right: p,
        }
    }
}

/// Output size of a sliding window along one axis:
/// `(size + pad_a + pad_b - dil*(k-1) - 1) / stride + 1`, or `None` when the
/// (dilated) window does not fit the padded input or an argument is zero.
pub fn window_out(
    size: usize,
    pad_a: usize,
    pad_b: usize,
    k: usize,
    dil: usize,
    stride: usize,
) -> Option<usize> {
    if k == 0 || dil == 0 || stride == 0 {
        return None;
    }
    let padded = size.checked_add(pad_a)?.checked_add(pad_b)?;
    let span = dil.checked_mul(k - 1)?.checked_add(1)?;
    let room = padded.checked_sub(span)?;
    Some(room / stride + 1)
}

fn positive(op: &'static str, name: &str, v: usize) -> Result<()> {
    if v >= 1 {
        Ok(())
    } else {
        Err(GoldenError::invalid(
            op,
            format!("{name} >= 1"),
            format!("{name} = {v}"),
        ))
    }
}

/// Shape of a 2-D convolution: input `n x h x w x c_in` (NHWC, int8),
/// weights `kh x kw x c_in x c_out` (HWIO, int8), output
/// `n x h_out x w_out x c_out` (NHWC, int32).
///
/// ```text
/// h_out = (h + pad.top  + pad.bottom - dilation.0*(kh-1) - 1) / stride.0 + 1
/// w_out = (w + pad.left + pad.right  - dilation.1*(kw-1) - 1) / stride.1 + 1
/// out[b][oy][ox][co] = bias[co] + sum over ky, kx, ci of
///     in[b][oy*sy - pad.top + ky*dy][ox*sx - pad.left + kx*dx][ci] * w[ky][kx][ci][co]
/// ```
/// with input cells outside the image reading as zero, and int32 wrapping sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dShape {
    /// Batch size.
    pub n: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Stride `(sy, sx)`.
    pub stride: (usize, usize),
    /// Zero padding.
    pub pad: Padding,
    /// Dilation `(dy, dx)`.
    pub dilation: (usize, usize),
}

impl Conv2dShape {
    /// Batch 1, stride 1, no padding, dilation 1.
    pub const fn new(h: usize, w: usize, c_in: usize, c_out: usize, kh: usize, kw: usize) -> Self {
        Conv2dShape {
            n: 1,
            h,
            w,
            c_in,
            c_out,
            kh,
            kw,
            stride: (1, 1),
            pad: Padding::NONE,
            dilation: (1, 1),
        }
    }

    /// Same shape with batch size `n`.
    pub const fn with_batch(mut self, n: usize) -> Self {
        self.n = n;
        self
    }

    /// Same shape with stride `(sy, sx)`.
    pub const fn with_stride(mut self, sy: usize, sx: usize) -> Self {
        self.stride = (sy, sx);
        self
    }

    /// Same shape with padding `pad`.
    pub const fn with_padding(mut self, pad: Padding) -> Self {
        self.pad = pad;
        self
    }

    /// Same shape with dilation `(dy, dx)`.
    pub const fn with_dilation(mut self, dy: usize, dx: usize) -> Self {
        self.dilation = (dy, dx);
        self
    }

    /// Checks every rule; the error names the rule and the offending value.
    ///
    /// Rules: all sizes, strides and dilations `>= 1`; the dilated kernel
    /// `dil*(k-1)+1` fits in the padded input along each axis; every tensor
    /// size fits in `usize`.
    pub fn validate(&self) -> Result<()> {
        const OP: &str = "conv2d";
        positive(OP, "n", self.n)?;
        positive(OP, "h", self.h)?;
        positive(OP, "w", self.w)?;
        positive(OP, "c_in", self.c_in)?;
        positive(OP, "c_out", self.c_out)?;
        positive(OP, "kh", self.kh)?;
        positive(OP, "kw", self.kw)?;
        positive(OP, "stride_y", self.stride.0)?;
        positive(OP, "stride_x", self.stride.1)?;
        positive(OP, "dilation_y", self.dilation.0)?;
        positive(OP, "dilation_x", self.dilation.1)?;
        let (p, (dy, dx)) = (self.pad, self.dilation);
        if window_out(self.h, p.top, p.bottom, self.kh, dy, 1).is_none() {
            return Err(GoldenError::invalid(
                OP,
                "dilation_y*(kh-1)+1 <= h + pad.top + pad.bottom",
                format!(
                    "dilation_y = {dy}, kh = {}, h = {}, pad.top = {}, pad.bottom = {}",
                    self.kh, self.h, p.top, p.bottom
                ),
            ));
        }
        if window_out(self.w, p.left, p.right, self.kw, dx, 1).is_none() {
            return Err(GoldenError::invalid(
                OP,
                "dilation_x*(kw-1)+1 <= w + pad.left + pad.right",
                format!(
                    "dilation_x = {dx}, kw = {}, w = {}, pad.left = {}, pad.right = {}",
                    self.kw, self.w, p.left, p.right
                ),
            ));
        }
        self.checked_lens().map(|_| ())
    }

    /// Output height (0 when the shape is invalid).
    pub fn h_out(&self) -> usize {
        window_out(
            self.h,
            self.pad.top,
            self.pad.bottom,
            self.kh,
            self.dilation.0,
            self.stride.0,
        )
        .unwrap_or(0)
    }

    /// Output width (0 when the shape is invalid).
    pub fn w_out(&self) -> usize {
        window_out(
            self.w,
            self.pad.left,
            self.pad.right,
            self.kw,
            self.dilation.1,
            self.stride.1,
        )
        .unwrap_or(0)
    }

    fn checked_lens(&self) -> Result<(usize, usize, usize)> {
        const OP: &str = "conv2d";
        let pixels = checked_mul(OP, "n*h*w", checked_mul(OP, "n*h", self.n, self.h)?, self.w)?;
        let input = checked_mul(OP, "input length", pixels, self.c_in)?;
        let taps = checked_mul(
            OP,
            "kh*kw*c_in",
            checked_mul(OP, "kh*kw", self.kh, self.kw)?,
            self.c_in,
        )?;
        let weights = checked_mul(OP, "weight length", taps, self.c_out)?;
        let out_px = checked_mul(
            OP,
            "n*h_out*w_out",
            checked_mul(OP, "n*h_out", self.n, self.h_out())?,
            self.w_out(),
        )?;
        let output = checked_mul(OP, "output length", out_px, self.c_out)?;
        Ok((input, weights, output))
    }

    /// Elements in the NHWC input, `n*h*w*c_in`.
    pub fn input_len(&self) -> usize {
        self.n * self.h * self.w * self.c_in
    }

    /// Elements in the HWIO weights, `kh*kw*c_in*c_out`.
    pub fn weight_len(&self) -> usize {
        self.kh * self.kw * self.c_in * self.c_out
    }

    /// Elements in the NHWC output, `n*h_out*w_out*c_out`.
    pub fn output_len(&self) -> usize {
        self.output_pixels() * self.c_out
    }

    /// Output pixels `n*h_out*w_out`: the GEMM `M` of the implicit im2col view.
    pub fn output_pixels(&self) -> usize {
        self.n * self.h_out() * self.w_out()
    }

    /// Taps per output `kh*kw*c_in`: the GEMM `K` of the implicit im2col view.
    pub fn taps(&self) -> usize {
        self.kh * self.kw * self.c_in
    }
}

/// A max-pooling window: size, stride and padding.
///
/// Padded cells never win: they are skipped, not read as zero or -128. The
/// rule `pad < kernel` on every side guarantees each window holds at least
/// one real cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PoolWindow {
    /// Window height.
    pub kh: usize,
    /// Window width.
    pub kw: usize,
    /// Stride `(sy, sx)`.
    pub stride: (usize, usize),
    /// Padding (skipped cells).
    pub pad: Padding,
}

impl PoolWindow {
    /// A `kh x kw` window with stride `(kh, kw)` and no padding, the usual pooling layer.
    pub const fn new(kh: usize, kw: usize) -> Self {
        PoolWindow {
            kh,
            kw,
            stride: (kh, kw),
            pad: Padding::NONE,
        }
    }

    /// Same window with stride `(sy, sx)`.
    pub const fn with_stride(mut self, sy: usize, sx: usize) -> Self {
        self.stride = (sy, sx);
        self
    }

    /// Same window with padding `pad`.
    pub const fn with_padding(mut self, pad: Padding) -> Self {
        self.pad = pad;
        self
    }
}

/// Shape of a max pooling over an `n x h x w x c` int8 NHWC tensor.
///
/// ```text
/// h_out = (h + pad.top + pad.bottom - kh) / sy + 1
/// w_out = (w + pad.left + pad.right - kw) / sx + 1
/// out[b][oy][ox][ch] = max over in-image cells of the window at
///     (oy*sy - pad.top, ox*sx - pad.left)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MaxPoolShape {
    /// Batch size.
    pub n: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Channels.
    pub c: usize,
    /// The pooling window.
    pub window: PoolWindow,
}

impl MaxPoolShape {
    /// Batch 1 pooling of an `h x w x c` tensor.
    pub const fn new(h: usize, w: usize, c: usize, window: PoolWindow) -> Self {
        MaxPoolShape {
            n: 1,
            h,
            w,
            c,
            window,
        }
    }

    /// Same shape with batch size `n`.
    pub const fn with_batch(mut self, n: usize) -> Self {
        self.n = n;
        self
    }

    /// Checks every rule; the error names the rule and the offending value.
    ///
    /// Rules: all sizes and strides `>= 1`; `pad.top, pad.bottom < kh` and
    /// `pad.left, pad.right < kw` (no all-padding window); `kh <= h + pad.top +
    /// pad.bottom` and likewise for `kw`; every tensor size fits in `usize`.
    pub fn validate(&self) -> Result<()> {
        const OP: &str = "maxpool";
        let win = &self.window;
        positive(OP, "n", self.n)?;
        positive(OP, "h", self.h)?;
        positive(OP, "w", self.w)?;
        positive(OP, "c", self.c)?;
        positive(OP, "kh", win.kh)?;
        positive(OP, "kw", win.kw)?;
        positive(OP, "stride_y", win.stride.0)?;
        positive(OP, "stride_x", win.stride.1)?;
        for (name, p, k, kname) in [
            ("pad.top", win.pad.top, win.kh, "kh"),
            ("pad.bottom", win.pad.bottom, win.kh, "kh"),
            ("pad.left", win.pad.left, win.kw, "kw"),
            ("pad.right", win.pad.right, win.kw, "kw"),
        ] {
            if p >= k {
                return Err(GoldenError::invalid(
                    OP,
                    format!("{name} < {kname}"),
                    format!("{name} = {p}, {kname} = {k}"),
                ));
            }
        }
        if window_out(self.h, win.pad.top, win.pad.bottom, win.kh, 1, 1).is_none() {
            return Err(GoldenError::invalid(
                OP,
                "kh <= h + pad.top + pad.bottom",
                format!(
                    "kh = {}, h = {}, pad.top = {}, pad.bottom = {}",
                    win.kh, self.h, win.pad.top, win.pad.bottom
                ),
            ));
        }
        if window_out(self.w, win.pad.left, win.pad.right, win.kw, 1, 1).is_none() {
            return Err(GoldenError::invalid(
                OP,
                "kw <= w + pad.left + pad.right",
                format!(
                    "kw = {}, w = {}, pad.left = {}, pad.right = {}",
                    win.kw, self.w, win.pad.left, win.pad.right
                ),
            ));
        }
        let px = checked_mul(OP, "n*h*w", checked_mul(OP, "n*h", self.n, self.h)?, self.w)?;
        checked_mul(OP, "input length", px, self.c)?;
        Ok(())
    }

    /// Output height (0 when the shape is invalid).
    pub fn h_out(&self) -> usize {
        let win = &self.window;
        window_out(self.h, win.pad.top, win.pad.bottom, win.kh, 1, win.stride.0).unwrap_or(0)
    }

    /// Output width (0 when the shape is invalid).
    pub fn w_out(&self) -> usize {
        let win = &self.window;
        window_out(self.w, win.pad.left, win.pad.right, win.kw, 1, win.stride.1).unwrap_or(0)
    }

    /// Elements in the NHWC input, `n*h*w*c`.
    pub fn input_len(&self) -> usize {
        self.n * self.h * self.w * self.c
    }

    /// Elements in the NHWC output, `n*h_out*w_out*c`.
    pub fn output_len(&self) -> usize {
        self.n * self.h_out() * self.w_out() * self.c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_sizes_follow_the_formula() {
        // 5x5, k3, pad 1, stride 2: (5+2-3)/2+1 = 3.
        let s = Conv2dShape::new(5, 5, 1, 1, 3, 3)
            .with_padding(Padding::uniform(1))
            .with_stride(2, 2);
        assert_eq!((s.h_out(), s.w_out()), (3, 3));
        // Dilation 2, k3 spans 5: (7-5)/1+1 = 3.
        let s = Conv2dShape::new(7, 9, 1, 1, 3, 3).with_dilation(2, 3);
        assert_eq!((s.h_out(), s.w_out()), (3, 3));
        // Asymmetric padding.
        let s = Conv2dShape::new(4, 4, 1, 1, 2, 2).with_padding(Padding {
            top: 1,
            bottom: 0,
            left: 0,
            right: 3,
        });
        assert_eq!((s.h_out(), s.w_out()), (4, 6));
        let p = MaxPoolShape::new(7, 6, 1, PoolWindow::new(2, 2));
        assert_eq!((p.h_out(), p.w_out()), (3, 3));
    }

    #[test]
    fn validate_names_rule_and_value() {
        let e = Conv2dShape::new(5, 5, 1, 1, 3, 3)
            .with_stride(0, 1)
            .validate()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "conv2d: violates `stride_y >= 1`: stride_y = 0"
        );
        let e = Conv2dShape::new(2, 5, 1, 1, 3, 3).validate().unwrap_err();
        assert!(
            e.to_string()
                .contains("dilation_y*(kh-1)+1 <= h + pad.top + pad.bottom"),
            "{e}"
        );
        assert!(e.to_string().contains("h = 2"), "{e}");
        let e = MaxPoolShape::new(
            4,
            4,
            1,
            PoolWindow::new(2, 2).with_padding(Padding::uniform(2)),
        )
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("pad.top < kh"), "{e}");
        let e = Conv2dShape::new(usize::MAX / 2, 4, 3, 1, 1, 1)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("overflows"), "{e}");
        assert!(Conv2dShape::new(1, 1, 1, 1, 1, 1).validate().is_ok());
    }
}
