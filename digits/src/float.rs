//! The float networks: their architectures ([`architecture`]), the float
//! weight file the trainer writes (`models/<name>.float.json`,
//! [`FloatModel`]) and a plain-Rust f32 forward pass ([`FloatModel::forward`])
//! that quantization calibrates with and measures the float accuracy by, so
//! the `quantize` binary needs no training library.
//!
//! Layouts are the engine's: activations NHWC, weights HWIO
//! (`w[ky][kx][ci][co]`), a flattened FC layer's input feature `(y*W + x)*C + c`.
//! Every layer is conv (stride 1, zero padding `pad` on every side) + bias,
//! optional ReLU, optional `pool x pool` max pool with stride `pool`.

use serde::{Deserialize, Serialize};

use crate::data::{self, Sample, CLASSES};
use crate::model::{InputRule, ModelError};

/// The float file format version this crate reads and writes.
pub const FLOAT_FORMAT: u32 = 1;

/// One layer's geometry (no weights).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerSpec {
    pub name: &'static str,
    pub out_c: u32,
    /// Square kernel edge.
    pub k: u32,
    /// Zero padding on every side.
    pub pad: u32,
    pub relu: bool,
    /// Max-pool window and stride, 0 = no pooling.
    pub pool: u32,
    /// Read the input `H x W x C` as `1 x 1 x (H*W*C)`.
    pub flatten: bool,
}

/// A network's topology.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Architecture {
    pub name: &'static str,
    pub input: InputRule,
    pub layers: &'static [LayerSpec],
}

const fn conv(name: &'static str, out_c: u32, k: u32, pad: u32) -> LayerSpec {
    LayerSpec {
        name,
        out_c,
        k,
        pad,
        relu: true,
        pool: 2,
        flatten: false,
    }
}

const fn fc(name: &'static str, out_c: u32, relu: bool, flatten: bool) -> LayerSpec {
    LayerSpec {
        name,
        out_c,
        k: 1,
        pad: 0,
        relu,
        pool: 0,
        flatten,
    }
}

/// `digits-cnn`: 8x8x1 -> conv3x3 p1 8 + ReLU + pool2 (4x4x8) -> conv3x3 p1
/// 16 + ReLU + pool2 (2x2x16) -> FC 64 -> 10.
pub const DIGITS_CNN: Architecture = Architecture {
    name: "digits-cnn",
    input: InputRule::Native8,
    layers: &[
        conv("conv1", 8, 3, 1),
        conv("conv2", 16, 3, 1),
        fc("fc", 10, false, true),
    ],
};

/// `lenet5`: 32x32x1 -> conv5x5 6 + ReLU + pool2 (14x14x6) -> conv5x5 16 +
/// ReLU + pool2 (5x5x16) -> FC 400 -> 120 + ReLU -> FC 120 -> 84 + ReLU ->
/// FC 84 -> 10.
pub const LENET5: Architecture = Architecture {
    name: "lenet5",
    input: InputRule::Nearest32,
    layers: &[
        conv("c1", 6, 5, 0),
        conv("c3", 16, 5, 0),
        fc("f5", 120, true, true),
        fc("f6", 84, true, false),
        fc("out", 10, false, false),
    ],
};

impl Architecture {
    /// `(h, w, c)` of every layer's input as the layer reads it (after
    /// `flatten`), and the network output last.
    pub fn shapes(&self) -> Vec<(usize, usize, usize)> {
        let (h, w, c) = self.input.shape();
        let mut s = (h as usize, w as usize, c as usize);
        let mut out = Vec::new();
        for l in self.layers {
            if l.flatten {
                s = (1, 1, s.0 * s.1 * s.2);
            }
            out.push(s);
            let (k, pad) = (l.k as usize, l.pad as usize);
            let (hc, wc) = (s.0 + 2 * pad + 1 - k, s.1 + 2 * pad + 1 - k);
            s = match l.pool as usize {
                0 => (hc, wc, l.out_c as usize),
                p => ((hc - p) / p + 1, (wc - p) / p + 1, l.out_c as usize),
            };
        }
        out.push(s);
        out
    }
}

/// The architecture of a built-in network.
pub fn architecture(name: &str) -> Option<&'static Architecture> {
    [&DIGITS_CNN, &LENET5].into_iter().find(|a| a.name == name)
}

/// How the float file was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// The command line that wrote the file.
    pub command: String,
    pub epochs: u32,
    pub seed: u64,
    /// Correct classes on the training split (plain-Rust forward pass of the
    /// weights as written).
    pub train_correct: u32,
}

/// One float layer (see the [module docs](self) for the semantics).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloatLayer {
    pub name: String,
    pub out_c: u32,
    pub k: u32,
    pub pad: u32,
    pub relu: bool,
    pub pool: u32,
    pub flatten: bool,
    /// HWIO, `k*k*in_c*out_c` values.
    pub weights: Vec<f32>,
    /// `out_c` values.
    pub bias: Vec<f32>,
}

/// The float weight file `models/<name>.float.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloatModel {
    /// [`FLOAT_FORMAT`].
    pub format: u32,
    pub name: String,
    pub input: InputRule,
    pub training: Training,
    pub layers: Vec<FloatLayer>,
}

/// Input shape of every layer and the network output, `(h, w, c)`.
type Hwc = (usize, usize, usize);

impl FloatLayer {
    /// The input shape this layer reads, given the previous output.
    fn input_shape(&self, prev: Hwc) -> Hwc {
        if self.flatten {
            (1, 1, prev.0 * prev.1 * prev.2)
        } else {
            prev
        }
    }
}

impl FloatModel {
    /// Read and validate a float file.
    pub fn load(path: &std::path::Path) -> Result<FloatModel, ModelError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: shown.clone(),
            source,
        })?;
        FloatModel::parse(&text, &shown)
    }

    /// Parse and validate float file text; `path` only names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<FloatModel, ModelError> {
        let m: FloatModel = serde_json::from_str(text).map_err(|e| ModelError::Invalid {
            path: path.to_string(),
            field: crate::json::error_field(text, &e, "/layers", "layers"),
            detail: e.to_string(),
        })?;
        m.validate(path)?;
        Ok(m)
    }

    /// The file text (deterministic, see [`crate::json`]).
    pub fn to_json(&self) -> String {
        crate::json::to_string(self).unwrap_or_default()
    }

    /// Every layer's output shape; the first problem names the field
    /// (`layers[i].weights`, ...).
    pub fn shapes(&self, path: &str) -> Result<Vec<Hwc>, ModelError> {
        let bad = |field: String, detail: String| ModelError::Invalid {
            path: path.to_string(),
            field,
            detail,
        };
        if self.layers.is_empty() {
            return Err(bad("layers".into(), "no layer".into()));
        }
        let (h, w, c) = self.input.shape();
        let mut shape = (h as usize, w as usize, c as usize);
        let mut out = Vec::with_capacity(self.layers.len());
        for (i, l) in self.layers.iter().enumerate() {
            let f = |name: &str| format!("layers[{i}].{name}");
            let (ih, iw, ic) = l.input_shape(shape);
            if l.out_c == 0 || l.k == 0 {
                return Err(bad(
                    f(if l.out_c == 0 { "out_c" } else { "k" }),
                    "must be >= 1".into(),
                ));
            }
            let (k, pad, oc) = (l.k as usize, l.pad as usize, l.out_c as usize);
            if ih + 2 * pad < k || iw + 2 * pad < k {
                return Err(bad(
                    f("k"),
                    format!("kernel {k} does not fit the {ih}x{iw} input with pad {pad}"),
                ));
            }
            let (hc, wc) = (ih + 2 * pad - k + 1, iw + 2 * pad - k + 1);
            let (ho, wo) = match l.pool as usize {
                0 => (hc, wc),
                p if p <= hc && p <= wc => ((hc - p) / p + 1, (wc - p) / p + 1),
                p => {
                    return Err(bad(
                        f("pool"),
                        format!("window {p} does not fit the {hc}x{wc} conv output"),
                    ))
                }
            };
            let want = k * k * ic * oc;
            if l.weights.len() != want {
                return Err(bad(
                    f("weights"),
                    format!(
                        "{} values, want k*k*in_c*out_c = {k}*{k}*{ic}*{oc} = {want}",
                        l.weights.len()
                    ),
                ));
            }
            if l.bias.len() != oc {
                return Err(bad(
                    f("bias"),
                    format!("{} values, want out_c = {oc}", l.bias.len()),
                ));
            }
            for (name, t) in [("weights", &l.weights), ("bias", &l.bias)] {
                if let Some(j) = t.iter().position(|v| !v.is_finite()) {
                    return Err(bad(f(name), format!("value {j} is not finite")));
                }
            }
            shape = (ho, wo, oc);
            out.push(shape);
        }
        Ok(out)
    }

    /// Check the file: format, input rule, shapes, 10 outputs, finite values.
    pub fn validate(&self, path: &str) -> Result<(), ModelError> {
        let bad = |field: &str, detail: String| ModelError::Invalid {
            path: path.to_string(),
            field: field.to_string(),
            detail,
        };
        if self.format != FLOAT_FORMAT {
            return Err(bad(
                "format",
                format!("version {} is not {FLOAT_FORMAT}", self.format),
            ));
        }
        let shapes = self.shapes(path)?;
        let last = shapes.last().copied().unwrap_or_default();
        if last.0 * last.1 * last.2 != CLASSES {
            return Err(bad(
                "layers",
                format!(
                    "the last layer gives {}x{}x{} values, want {CLASSES} class scores",
                    last.0, last.1, last.2
                ),
            ));
        }
        Ok(())
    }

    /// The float input of a sample: grey level / 16 (upscaled for `Nearest32`).
    pub fn input(rule: InputRule, sample: &Sample) -> Vec<f32> {
        let scale = |p: u8| f32::from(p) / f32::from(data::MAX_LEVEL);
        match rule {
            InputRule::Native8 => sample.pixels.iter().map(|&p| scale(p)).collect(),
            InputRule::Nearest32 => data::upscale32(&sample.pixels)
                .into_iter()
                .map(scale)
                .collect(),
        }
    }

    /// Every layer's output (NHWC), for an input of the right length; needs
    /// a validated model.
    pub fn forward(&self, input: &[f32]) -> Vec<Vec<f32>> {
        let (h, w, c) = self.input.shape();
        let mut shape = (h as usize, w as usize, c as usize);
        let mut x = input.to_vec();
        let mut outs = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            let (y, s) = layer_forward(l, &x, l.input_shape(shape));
            x = y;
            shape = s;
            outs.push(x.clone());
        }
        outs
    }

    /// Class of a sample: the largest float output, lowest index on a tie.
    pub fn classify(&self, sample: &Sample) -> u8 {
        let outs = self.forward(&FloatModel::input(self.input, sample));
        argmax_f32(outs.last().map(Vec::as_slice).unwrap_or(&[]))
    }

    /// Correct classes over `samples`.
    pub fn correct(&self, samples: &[Sample]) -> u32 {
        samples
            .iter()
            .filter(|s| self.classify(s) == s.label)
            .count() as u32
    }
}

/// Index of the largest value, the lowest index on a tie.
pub fn argmax_f32(v: &[f32]) -> u8 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as u8
}

/// One layer: conv + bias, ReLU, max pool. Fixed summation order (ky, kx,
/// ci), so the result is the same on every machine.
fn layer_forward(l: &FloatLayer, x: &[f32], (ih, iw, ic): Hwc) -> (Vec<f32>, Hwc) {
    let (k, pad, oc) = (l.k as usize, l.pad as usize, l.out_c as usize);
    let (hc, wc) = (ih + 2 * pad + 1 - k, iw + 2 * pad + 1 - k);
    let mut acc = vec![0f32; hc * wc * oc];
    for y in 0..hc {
        for xo in 0..wc {
            let o = &mut acc[(y * wc + xo) * oc..][..oc];
            o.copy_from_slice(&l.bias);
            for ky in 0..k {
                let Some(iy) = (y + ky).checked_sub(pad).filter(|&v| v < ih) else {
                    continue;
                };
                for kx in 0..k {
                    let Some(ix) = (xo + kx).checked_sub(pad).filter(|&v| v < iw) else {
                        continue;
                    };
                    for ci in 0..ic {
                        let v = x[(iy * iw + ix) * ic + ci];
                        let wrow = &l.weights[((ky * k + kx) * ic + ci) * oc..][..oc];
                        for (a, &wv) in o.iter_mut().zip(wrow) {
                            *a += v * wv;
                        }
                    }
                }
            }
        }
    }
    if l.relu {
        for a in &mut acc {
            *a = a.max(0.0);
        }
    }
    let p = l.pool as usize;
    if p == 0 {
        return (acc, (hc, wc, oc));
    }
    let (ho, wo) = ((hc - p) / p + 1, (wc - p) / p + 1);
    let mut out = vec![f32::NEG_INFINITY; ho * wo * oc];
    for y in 0..ho {
        for xo in 0..wo {
            for i in 0..p {
                for j in 0..p {
                    let src = ((y * p + i) * wc + xo * p + j) * oc;
                    for c in 0..oc {
                        let d = &mut out[(y * wo + xo) * oc + c];
                        *d = d.max(acc[src + c]);
                    }
                }
            }
        }
    }
    (out, (ho, wo, oc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(
        out_c: u32,
        k: u32,
        pad: u32,
        pool: u32,
        weights: Vec<f32>,
        bias: Vec<f32>,
    ) -> FloatLayer {
        FloatLayer {
            name: "l".into(),
            out_c,
            k,
            pad,
            relu: true,
            pool,
            flatten: false,
            weights,
            bias,
        }
    }

    #[test]
    fn conv_pad_relu_pool_by_hand() {
        // 3x3x1 input 1..9, 3x3 kernel of ones with pad 1: each output is the
        // sum of the 3x3 neighbourhood; bias -20, ReLU, then 2x2 pool of the
        // top-left corner.
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let l = layer(1, 3, 1, 0, vec![1.0; 9], vec![-20.0]);
        let (y, s) = layer_forward(&l, &x, (3, 3, 1));
        assert_eq!(s, (3, 3, 1));
        // Neighbourhood sums: 12 21 16 / 27 45 33 / 24 39 28.
        assert_eq!(y, vec![0.0, 1.0, 0.0, 7.0, 25.0, 13.0, 4.0, 19.0, 8.0]);
        let l = layer(1, 3, 1, 2, vec![1.0; 9], vec![-20.0]);
        let (y, s) = layer_forward(&l, &x, (3, 3, 1));
        assert_eq!((y, s), (vec![25.0], (1, 1, 1)));
    }

    #[test]
    fn architectures_have_ten_outputs() {
        for a in [&DIGITS_CNN, &LENET5] {
            assert_eq!(architecture(a.name), Some(a));
            let last = a.layers.last().expect("layers");
            assert_eq!(last.out_c as usize, CLASSES);
        }
    }
}
