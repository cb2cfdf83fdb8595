//! The network file: a list of conv / FC layers with their int8 weights and
//! per-channel requantization, as JSON (serde).
//!
//! There is no layer `kind`: every layer is one engine descriptor, a 2-D
//! convolution with per-channel requant, optional ReLU and optional fused max
//! pooling (the semantics are `golden::layer`'s). A fully-connected layer is
//! the 1x1 case:
//!
//! - a batch of `N` vectors of `K` features is the image `1 x N x K` (height 1,
//!   width N, K channels), and FC `K -> M` is the layer `out_c = M`,
//!   `k_h = k_w = 1`, weights the row-major `K x M` matrix (HWIO with H = W = 1);
//!   with `N > 1` the array's rows stay busy (one row per batch element);
//! - a flatten before an FC layer costs nothing: activations are NHWC, so the
//!   `H x W x C` output of a conv layer already *is* the `1 x 1 x (H*W*C)`
//!   vector in memory. Set `"flatten": true` on the FC layer and it reads its
//!   input as `1 x 1 x (H*W*C)` (only the descriptor's sizes change, no byte
//!   moves). Its weights are then indexed by the flattened feature
//!   `(y*W + x)*C + c`.
//!
//! Only `name`, `out_c`, `k_h`, `k_w`, `weights`, `bias`, `mult` and `shift`
//! are required; strides and dilations default to 1, pads, pooling, ReLU and
//! flatten to off. Unknown keys are refused (a misspelt `stride_w` must not
//! silently become 1).
//!
//! [`Network::validate`] checks that the file describes a computable network
//! (tensor lengths, quantization ranges, geometry) and names the layer and the
//! field of the first problem in one line. Whether the *engine* accepts each
//! layer (its limits, pad rule, alignment) is the compiler's check
//! ([`crate::compile()`]), which names the engine's rule.

use golden::{ConvLayer, Padding};
use serde::{Deserialize, Serialize};

/// Largest requantization multiplier (a 16-bit field).
pub const MULT_MAX: u32 = contracts::engine::MULT_MAX;
/// Largest requantization shift.
pub const SHIFT_MAX: u32 = contracts::engine::SHIFT_MAX;

/// An NHWC tensor shape, batch 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shape {
    pub h: u32,
    pub w: u32,
    pub c: u32,
}

impl Shape {
    /// Bytes of the int8 tensor (`h*w*c`).
    pub fn bytes(&self) -> u64 {
        u64::from(self.h) * u64::from(self.w) * u64::from(self.c)
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.h, self.w, self.c)
    }
}

fn one() -> u32 {
    1
}

/// One layer: conv (or FC as 1x1 conv) + per-channel requant + ReLU + max pool.
/// The input shape is the previous layer's output (the network input for the
/// first layer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub name: String,
    pub out_c: u32,
    pub k_h: u32,
    pub k_w: u32,
    #[serde(default = "one")]
    pub stride_h: u32,
    #[serde(default = "one")]
    pub stride_w: u32,
    #[serde(default = "one")]
    pub dil_h: u32,
    #[serde(default = "one")]
    pub dil_w: u32,
    #[serde(default)]
    pub pad_t: u32,
    #[serde(default)]
    pub pad_b: u32,
    #[serde(default)]
    pub pad_l: u32,
    #[serde(default)]
    pub pad_r: u32,
    #[serde(default)]
    pub relu: bool,
    /// Max-pool window edge, 0 = no pooling.
    #[serde(default)]
    pub pool_k: u32,
    /// Max-pool stride (0 without pooling).
    #[serde(default)]
    pub pool_s: u32,
    /// Max-pool padding on every side (0 without pooling).
    #[serde(default)]
    pub pool_pad: u32,
    /// Read the input `H x W x C` as `1 x 1 x (H*W*C)` (free: NHWC).
    #[serde(default)]
    pub flatten: bool,
    /// HWIO: `w[ky][kx][ci][co]` at `((ky*k_w + kx)*in_c + ci)*out_c + co`.
    pub weights: Vec<i8>,
    /// int32 bias per output channel.
    pub bias: Vec<i32>,
    /// Requant multiplier per output channel, `1..=65535`.
    pub mult: Vec<u32>,
    /// Requant right shift per output channel, `0..=31`.
    pub shift: Vec<u32>,
}

/// A network: an input shape and the layers applied in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub name: String,
    pub input: Shape,
    pub layers: Vec<Layer>,
}

/// What is wrong with a network file: the layer (index and name, if the
/// problem is in one), the field, and what breaks; displayed as one line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}`{field}`: {detail}", where_(.layer))]
pub struct NetError {
    /// `(index, name)` of the layer, `None` for the network itself.
    pub layer: Option<(usize, String)>,
    /// The offending field (`weights`, `mult`, `pool_pad`, ...).
    pub field: String,
    /// The rule and the values that break it.
    pub detail: String,
}

fn where_(layer: &Option<(usize, String)>) -> String {
    match layer {
        Some((i, name)) => format!("layer {i} `{name}`: "),
        None => "network: ".to_string(),
    }
}

/// The sizes a layer works on, derived once by [`Network::shapes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerShapes {
    /// The input as the layer reads it (after `flatten`).
    pub input: Shape,
    /// Convolution output height and width, before pooling.
    pub h_c: u32,
    pub w_c: u32,
    /// The layer's output.
    pub output: Shape,
}

/// `(size + pad_a + pad_b - (dil*(k-1)+1)) / stride + 1`, or `None` when the
/// window does not fit once.
fn window_out(size: u64, pad_a: u64, pad_b: u64, k: u64, dil: u64, stride: u64) -> Option<u64> {
    let span = dil * (k - 1) + 1;
    (size + pad_a + pad_b)
        .checked_sub(span)
        .map(|room| room / stride + 1)
}

impl Network {
    /// Parse a network file; a syntax or type error is one line naming where.
    pub fn from_json(text: &str) -> Result<Network, NetError> {
        serde_json::from_str(text).map_err(|e| NetError {
            layer: None,
            field: "json".into(),
            detail: e.to_string(),
        })
    }

    /// The network as pretty JSON.
    pub fn to_json(&self) -> String {
        // A struct of plain numbers, strings and vectors always serializes.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Check the network; the first problem is returned, naming the layer and
    /// the field. See [`Network::shapes`] for the rules.
    pub fn validate(&self) -> Result<(), NetError> {
        self.shapes().map(|_| ())
    }

    /// The shapes of every layer, checking on the way:
    ///
    /// - at least one layer; input `h, w, c >= 1`;
    /// - `out_c, k_h, k_w, stride_*, dil_* >= 1`;
    /// - the kernel window fits the padded input once (`H_c, W_c >= 1`);
    /// - pooling: with `pool_k == 0`, `pool_s == pool_pad == 0`; with
    ///   `pool_k >= 1`, `pool_s >= 1`, `pool_pad < pool_k` and the window fits
    ///   the padded conv output (`H_o, W_o >= 1`);
    /// - `weights` holds `k_h*k_w*in_c*out_c` values, `bias`, `mult`, `shift`
    ///   `out_c` each; `mult` in `1..=65535`, `shift <= 31`;
    /// - every size fits in 32 bits (the engine's address space).
    pub fn shapes(&self) -> Result<Vec<LayerShapes>, NetError> {
        let net_err = |field: &str, detail: String| NetError {
            layer: None,
            field: field.into(),
            detail,
        };
        if self.layers.is_empty() {
            return Err(net_err("layers", "the network has no layer".into()));
        }
        for (f, v) in [
            ("input.h", self.input.h),
            ("input.w", self.input.w),
            ("input.c", self.input.c),
        ] {
            if v == 0 {
                return Err(net_err(f, format!("must be >= 1, is {v}")));
            }
        }
        if self.input.bytes() > u64::from(u32::MAX) {
            return Err(net_err(
                "input",
                format!("{} is {} bytes, over 2^32", self.input, self.input.bytes()),
            ));
        }
        let mut shape = self.input;
        let mut out = Vec::with_capacity(self.layers.len());
        for (i, l) in self.layers.iter().enumerate() {
            let s = l.shapes(shape).map_err(|(field, detail)| NetError {
                layer: Some((i, l.name.clone())),
                field,
                detail,
            })?;
            shape = s.output;
            out.push(s);
        }
        Ok(out)
    }

    /// The layers as golden [`ConvLayer`]s (the one-call oracle's type), after
    /// [`Network::validate`].
    pub fn conv_layers(&self) -> Result<Vec<ConvLayer>, NetError> {
        let shapes = self.shapes()?;
        self.layers
            .iter()
            .zip(&shapes)
            .enumerate()
            .map(|(i, (l, s))| {
                let c = l.conv_layer(s.input);
                // Backstop: golden's own rules must agree with ours.
                c.validate().map_err(|e| NetError {
                    layer: Some((i, l.name.clone())),
                    field: "layer".into(),
                    detail: e.to_string(),
                })?;
                Ok(c)
            })
            .collect()
    }
}

impl Layer {
    /// The input shape this layer reads, given the previous output.
    pub fn input_shape(&self, prev: Shape) -> Shape {
        if self.flatten {
            Shape {
                h: 1,
                w: 1,
                c: u32::try_from(prev.bytes()).unwrap_or(u32::MAX),
            }
        } else {
            prev
        }
    }

    /// Shapes and checks of one layer; the error is `(field, detail)`.
    fn shapes(&self, prev: Shape) -> Result<LayerShapes, (String, String)> {
        let err = |field: &str, detail: String| Err((field.to_string(), detail));
        if self.flatten && prev.bytes() > u64::from(u32::MAX) {
            return err(
                "flatten",
                format!("{prev} has {} features, over 2^32", prev.bytes()),
            );
        }
        let input = self.input_shape(prev);
        for (f, v) in [
            ("out_c", self.out_c),
            ("k_h", self.k_h),
            ("k_w", self.k_w),
            ("stride_h", self.stride_h),
            ("stride_w", self.stride_w),
            ("dil_h", self.dil_h),
            ("dil_w", self.dil_w),
        ] {
            if v == 0 {
                return err(f, format!("must be >= 1, is {v}"));
            }
        }
        let u = u64::from;
        let Some(h_c) = window_out(
            u(input.h),
            u(self.pad_t),
            u(self.pad_b),
            u(self.k_h),
            u(self.dil_h),
            u(self.stride_h),
        ) else {
            return err(
                "k_h",
                format!(
                    "the kernel does not fit the input once: dil_h*(k_h-1)+1 = {} > in_h + pad_t + pad_b = {}",
                    u(self.dil_h) * (u(self.k_h) - 1) + 1,
                    u(input.h) + u(self.pad_t) + u(self.pad_b)
                ),
            );
        };
        let Some(w_c) = window_out(
            u(input.w),
            u(self.pad_l),
            u(self.pad_r),
            u(self.k_w),
            u(self.dil_w),
            u(self.stride_w),
        ) else {
            return err(
                "k_w",
                format!(
                    "the kernel does not fit the input once: dil_w*(k_w-1)+1 = {} > in_w + pad_l + pad_r = {}",
                    u(self.dil_w) * (u(self.k_w) - 1) + 1,
                    u(input.w) + u(self.pad_l) + u(self.pad_r)
                ),
            );
        };
        let (k, s, p) = (u(self.pool_k), u(self.pool_s), u(self.pool_pad));
        let (h_o, w_o) = if k == 0 {
            if s != 0 {
                return err(
                    "pool_s",
                    format!("must be 0 without pooling (pool_k = 0), is {s}"),
                );
            }
            if p != 0 {
                return err(
                    "pool_pad",
                    format!("must be 0 without pooling (pool_k = 0), is {p}"),
                );
            }
            (h_c, w_c)
        } else {
            if s == 0 {
                return err("pool_s", format!("must be >= 1 with pool_k = {k}, is 0"));
            }
            if p >= k {
                return err("pool_pad", format!("must be < pool_k = {k}, is {p}"));
            }
            let Some(h_o) = window_out(h_c, p, p, k, 1, s) else {
                return err(
                    "pool_k",
                    format!("pool_k = {k} > H_c + 2*pool_pad = {}", h_c + 2 * p),
                );
            };
            let Some(w_o) = window_out(w_c, p, p, k, 1, s) else {
                return err(
                    "pool_k",
                    format!("pool_k = {k} > W_c + 2*pool_pad = {}", w_c + 2 * p),
                );
            };
            (h_o, w_o)
        };
        let out_c = u(self.out_c);
        let want_w = u(self.k_h)
            .checked_mul(u(self.k_w))
            .and_then(|t| t.checked_mul(u(input.c)))
            .and_then(|t| t.checked_mul(out_c))
            .filter(|&n| n <= u(u32::MAX));
        let Some(want_w) = want_w else {
            return err(
                "weights",
                format!(
                    "k_h*k_w*in_c*out_c = {}*{}*{}*{} is over 2^32",
                    self.k_h, self.k_w, input.c, self.out_c
                ),
            );
        };
        if self.weights.len() as u64 != want_w {
            return err(
                "weights",
                format!(
                    "holds {} values, k_h*k_w*in_c*out_c = {}*{}*{}*{} = {want_w}",
                    self.weights.len(),
                    self.k_h,
                    self.k_w,
                    input.c,
                    self.out_c
                ),
            );
        }
        for (f, len) in [
            ("bias", self.bias.len()),
            ("mult", self.mult.len()),
            ("shift", self.shift.len()),
        ] {
            if len as u64 != out_c {
                return err(f, format!("holds {len} values, out_c = {out_c}"));
            }
        }
        if let Some((co, m)) = self
            .mult
            .iter()
            .enumerate()
            .find(|(_, &m)| !(1..=MULT_MAX).contains(&m))
        {
            return err(
                "mult",
                format!("mult[{co}] = {m} is outside 1..={MULT_MAX}"),
            );
        }
        if let Some((co, s)) = self.shift.iter().enumerate().find(|(_, &s)| s > SHIFT_MAX) {
            return err("shift", format!("shift[{co}] = {s} is over {SHIFT_MAX}"));
        }
        let output = Shape {
            h: h_o as u32,
            w: w_o as u32,
            c: self.out_c,
        };
        if output.bytes() > u(u32::MAX) || h_c * w_c > u(u32::MAX) {
            return err("out_c", format!("the output {output} is over 2^32 bytes"));
        }
        Ok(LayerShapes {
            input,
            h_c: h_c as u32,
            w_c: w_c as u32,
            output,
        })
    }

    /// This layer as a golden [`ConvLayer`] reading `input` (already flattened
    /// if `flatten`; see [`Layer::input_shape`]).
    pub fn conv_layer(&self, input: Shape) -> ConvLayer {
        let z = |v: u32| v as usize;
        ConvLayer::new(
            z(input.h),
            z(input.w),
            z(input.c),
            z(self.out_c),
            z(self.k_h),
            z(self.k_w),
        )
        .with_stride(z(self.stride_h), z(self.stride_w))
        .with_dilation(z(self.dil_h), z(self.dil_w))
        .with_padding(Padding {
            top: z(self.pad_t),
            bottom: z(self.pad_b),
            left: z(self.pad_l),
            right: z(self.pad_r),
        })
        .with_relu(self.relu)
        .with_pool(z(self.pool_k), z(self.pool_s), z(self.pool_pad))
        .with_requant(self.bias.clone(), self.mult.clone(), self.shift.clone())
    }
}
