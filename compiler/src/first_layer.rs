//! The first layer im2col'ed by the host: a compiler transform, no hardware
//! change.
//!
//! The engine's im2col walker feeds the array one chunk per kernel tap
//! `(ky, kx)` holding that tap's `C_in` channels, so a first layer with
//! `C_in = 1` (a grey image) uses one byte of every chunk. The first layer's
//! input comes from the host, so the host can lay it out already expanded:
//!
//! - [`FirstLayer::Im2col`]: the input `in[H][W][C]` becomes
//!   `in2[H_c][W_c][k_h*k_w*C]` with
//!   `in2[y][x][(ky*k_w + kx)*C + ci] = in[y*s_h - pad_t + ky*dil_h][x*s_w - pad_l + kx*dil_w][ci]`
//!   (0 outside the image), and the layer a 1x1 conv (stride 1, dilation 1,
//!   no padding) with `in_c = k_h*k_w*C`;
//! - [`FirstLayer::Im2colRows`]: only the horizontal taps are expanded,
//!   `in2[y][x][kx*C + ci] = in[y][x*s_w - pad_l + kx*dil_w][ci]` for every
//!   input row `y`, and the layer `k_h x 1` with `in_c = k_w*C`, keeping its
//!   vertical stride, dilation and pads (a `k_w`-fold input instead of
//!   `k_h*k_w`-fold).
//!
//! The HWIO weights `w[ky][kx][ci][co]` at `((ky*k_w + kx)*C + ci)*out_c + co`
//! are already in the transformed layer's order in both cases, so the weight
//! bytes, bias, requantization, ReLU and pooling are unchanged; the int32
//! accumulation is a wrapping sum over the same products, so the output is
//! bit-identical.
//!
//! A first layer that reads its input flattened is transformed on the
//! flattened shape (then `flatten` is off: the packed input already has the
//! shape the layer reads). The transform does not check the engine's limits;
//! [`crate::compile_with`] does, and a transformed layer the engine refuses is
//! an error naming the mode and the engine's rule (no silent fallback: the
//! caller picks the mode).

use serde::Serialize;

use crate::net::{NetError, Network, Shape};

/// How the first layer's input is laid out by the host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FirstLayer {
    /// The network as written: the raw input, the engine's own im2col.
    #[default]
    Direct,
    /// Horizontal taps expanded by the host: a `k_h x 1` layer.
    Im2colRows,
    /// Every tap expanded by the host: a 1x1 layer.
    Im2col,
}

impl FirstLayer {
    /// Every mode, in the command-line spelling order.
    pub const ALL: [FirstLayer; 3] = [
        FirstLayer::Direct,
        FirstLayer::Im2colRows,
        FirstLayer::Im2col,
    ];

    /// The command-line spelling: `direct`, `im2col-rows`, `im2col`.
    pub fn name(self) -> &'static str {
        match self {
            FirstLayer::Direct => "direct",
            FirstLayer::Im2colRows => "im2col-rows",
            FirstLayer::Im2col => "im2col",
        }
    }
}

impl std::fmt::Display for FirstLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for FirstLayer {
    type Err = String;
    fn from_str(s: &str) -> Result<FirstLayer, String> {
        FirstLayer::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                format!("first layer mode `{s}` is not one of direct, im2col-rows, im2col")
            })
    }
}

/// Lays a raw network input out the way the transformed first layer reads
/// it. Plain data, so a [`crate::Program`] carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InputPacker {
    pub mode: FirstLayer,
    /// The raw input, as the original first layer reads it (flattened if it
    /// flattens).
    pub raw: Shape,
    /// The packed input (the transformed network's input).
    pub packed: Shape,
    /// The original first layer's window: `(k, stride, dil, pad_before)`
    /// vertically and horizontally.
    pub v: (u32, u32, u32, u32),
    pub h: (u32, u32, u32, u32),
}

impl InputPacker {
    /// The packed input for `raw` (NHWC bytes of the network's input); an
    /// error if `raw` has the wrong length.
    pub fn pack_input(&self, raw: &[i8]) -> Result<Vec<i8>, String> {
        if raw.len() as u64 != self.raw.bytes() {
            return Err(format!(
                "the input holds {} bytes, the network input {} needs {}",
                raw.len(),
                self.raw,
                self.raw.bytes()
            ));
        }
        let c = self.raw.c as usize;
        let (hh, ww) = (i64::from(self.raw.h), i64::from(self.raw.w));
        let at = |y: i64, x: i64| -> Option<usize> {
            ((0..hh).contains(&y) && (0..ww).contains(&x)).then(|| ((y * ww + x) as usize) * c)
        };
        let (kh, sh, dh, pt) = self.v;
        let (kw, sw, dw, pl) = self.h;
        let i = i64::from;
        let mut out = Vec::with_capacity(self.packed.bytes() as usize);
        match self.mode {
            FirstLayer::Direct => out.extend_from_slice(raw),
            FirstLayer::Im2col => {
                for y in 0..i(self.packed.h) {
                    for x in 0..i(self.packed.w) {
                        for ky in 0..i(kh) {
                            for kx in 0..i(kw) {
                                let sy = y * i(sh) - i(pt) + ky * i(dh);
                                let sx = x * i(sw) - i(pl) + kx * i(dw);
                                match at(sy, sx) {
                                    Some(a) => out.extend_from_slice(&raw[a..a + c]),
                                    None => out.extend(std::iter::repeat_n(0, c)),
                                }
                            }
                        }
                    }
                }
            }
            FirstLayer::Im2colRows => {
                for y in 0..i(self.packed.h) {
                    for x in 0..i(self.packed.w) {
                        for kx in 0..i(kw) {
                            let sx = x * i(sw) - i(pl) + kx * i(dw);
                            match at(y, sx) {
                                Some(a) => out.extend_from_slice(&raw[a..a + c]),
                                None => out.extend(std::iter::repeat_n(0, c)),
                            }
                        }
                    }
                }
            }
        }
        debug_assert_eq!(out.len() as u64, self.packed.bytes());
        Ok(out)
    }
}

/// `net` with its first layer transformed for `mode`, and the packer for its
/// input. `net` must be valid (checked here); the result is valid too.
pub fn transform(net: &Network, mode: FirstLayer) -> Result<(Network, InputPacker), NetError> {
    let shapes = net.shapes()?;
    let s0 = shapes[0];
    let l0 = &net.layers[0];
    let raw = if mode == FirstLayer::Direct {
        net.input
    } else {
        s0.input
    };
    let taps = match mode {
        FirstLayer::Direct => 1,
        FirstLayer::Im2colRows => u64::from(l0.k_w),
        FirstLayer::Im2col => u64::from(l0.k_h) * u64::from(l0.k_w),
    };
    let c2 = taps * u64::from(raw.c);
    let rows = if mode == FirstLayer::Im2col {
        s0.h_c
    } else {
        raw.h
    };
    let bytes = c2 * u64::from(rows) * u64::from(s0.w_c);
    if c2 > u64::from(u32::MAX) || bytes > u64::from(u32::MAX) {
        return Err(NetError {
            layer: Some((0, l0.name.clone())),
            field: "input".into(),
            detail: format!(
                "the {mode} input ({rows}x{}x{c2}) is over 2^32 bytes",
                s0.w_c
            ),
        });
    }
    let v = (l0.k_h, l0.stride_h, l0.dil_h, l0.pad_t);
    let h = (l0.k_w, l0.stride_w, l0.dil_w, l0.pad_l);
    let mut out = net.clone();
    let l = &mut out.layers[0];
    let packed = match mode {
        FirstLayer::Direct => net.input,
        FirstLayer::Im2col => {
            (l.k_h, l.k_w) = (1, 1);
            (l.stride_h, l.stride_w, l.dil_h, l.dil_w) = (1, 1, 1, 1);
            (l.pad_t, l.pad_b, l.pad_l, l.pad_r) = (0, 0, 0, 0);
            l.flatten = false;
            Shape {
                h: s0.h_c,
                w: s0.w_c,
                c: c2 as u32,
            }
        }
        FirstLayer::Im2colRows => {
            l.k_w = 1;
            (l.stride_w, l.dil_w, l.pad_l, l.pad_r) = (1, 1, 0, 0);
            l.flatten = false;
            Shape {
                h: raw.h,
                w: s0.w_c,
                c: c2 as u32,
            }
        }
    };
    out.input = packed;
    out.validate()?;
    let packer = InputPacker {
        mode,
        raw,
        packed,
        v,
        h,
    };
    Ok((out, packer))
}

/// The packer of [`FirstLayer::Direct`] for an input of shape `input`.
pub fn identity_packer(input: Shape) -> InputPacker {
    InputPacker {
        mode: FirstLayer::Direct,
        raw: input,
        packed: input,
        v: (1, 1, 1, 0),
        h: (1, 1, 1, 0),
    }
}
