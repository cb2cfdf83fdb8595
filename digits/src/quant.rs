//! Post-training int8 quantization of a [`FloatModel`] into the engine's
//! [`Network`] (and the committed [`ModelFile`] around it).
//!
//! The math, per layer `l` with input scale `s_in` (the previous layer's
//! output scale; `1/127` for the network input, [`crate::data::level_to_i8`]):
//!
//! ```text
//! weights, per output channel c:  s_w[c] = max_i |w[i][c]| / 127
//!                                 wq[i][c] = round(w[i][c] / s_w[c])          (in -127..=127)
//! bias:                           bq[c] = round(b[c] / (s_in * s_w[c]))        (int32)
//! output scale:                   s_out = A / 127, A = the calibrated range (below)
//! requant:                        M[c] = s_in * s_w[c] / s_out
//!                                 (mult, shift): the largest shift <= 31 with
//!                                 mult = round(M * 2^shift) <= 65535 (mult >= 1)
//! ```
//!
//! so the engine's `((acc + bq) * mult + round) >> shift` approximates
//! `(x . w + b) / s_out`. Rounding is half away from zero (`f64::round`),
//! in f64, so the result is the same on every machine.
//!
//! Calibration rule: `A` is the largest float output of the layer (after ReLU
//! and pooling, the values the next layer reads) over every image of the
//! TRAINING split, the largest magnitude for the last layer (no ReLU). The test
//! split is never looked at until the accuracies are measured.

use compiler::{Layer, Network, Shape};

use crate::data::{Dataset, Sample};
use crate::float::FloatModel;
use crate::model::{Accuracy, ModelError, ModelFile, FORMAT};

/// Scale of the int8 network input: grey level / 16 in `[0, 1]` as `0..=127`.
pub const INPUT_SCALE: f64 = 1.0 / 127.0;

/// The engine's multiplier and shift for the real factor `m`: the largest
/// shift in `0..=31` whose `round(m * 2^shift)` fits in 16 bits (the most
/// precise), `mult` at least 1.
pub fn fixed_point(m: f64) -> (u32, u32) {
    for shift in (0..=compiler::net::SHIFT_MAX).rev() {
        let q = (m * f64::from(1u32 << shift)).round();
        if q <= f64::from(compiler::net::MULT_MAX) {
            return ((q as u32).max(1), shift);
        }
    }
    (compiler::net::MULT_MAX, 0)
}

/// The calibrated range `A` of every layer's output over `samples`.
pub fn calibrate(float: &FloatModel, samples: &[Sample]) -> Vec<f64> {
    let mut range = vec![0f64; float.layers.len()];
    for s in samples {
        let outs = float.forward(&FloatModel::input(float.input, s));
        for (r, out) in range.iter_mut().zip(&outs) {
            for &v in out {
                *r = r.max(f64::from(v.abs()));
            }
        }
    }
    range
}

/// The int8 network of a validated float model, calibrated on `calib`.
pub fn quantize(float: &FloatModel, calib: &[Sample]) -> Network {
    let range = calibrate(float, calib);
    let (h, w, c) = float.input.shape();
    let mut s_in = INPUT_SCALE;
    let mut layers = Vec::with_capacity(float.layers.len());
    for (l, &a) in float.layers.iter().zip(&range) {
        // A layer that never fires keeps scale 1 (its outputs are all 0).
        let s_out = if a > 0.0 { a / 127.0 } else { 1.0 };
        let oc = l.out_c as usize;
        let mut weights = vec![0i8; l.weights.len()];
        let (mut bias, mut mult, mut shift) = (Vec::new(), Vec::new(), Vec::new());
        for co in 0..oc {
            let wmax = l
                .weights
                .iter()
                .skip(co)
                .step_by(oc)
                .fold(0f64, |m, &v| m.max(f64::from(v.abs())));
            let s_w = if wmax > 0.0 { wmax / 127.0 } else { 1.0 };
            for i in (co..l.weights.len()).step_by(oc) {
                weights[i] = (f64::from(l.weights[i]) / s_w).round().clamp(-127.0, 127.0) as i8;
            }
            let b = (f64::from(l.bias[co]) / (s_in * s_w)).round();
            bias.push(b.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32);
            let (m, s) = fixed_point(s_in * s_w / s_out);
            mult.push(m);
            shift.push(s);
        }
        layers.push(Layer {
            name: l.name.clone(),
            out_c: l.out_c,
            k_h: l.k,
            k_w: l.k,
            stride_h: 1,
            stride_w: 1,
            dil_h: 1,
            dil_w: 1,
            pad_t: l.pad,
            pad_b: l.pad,
            pad_l: l.pad,
            pad_r: l.pad,
            relu: l.relu,
            pool_k: l.pool,
            pool_s: l.pool,
            pool_pad: 0,
            flatten: l.flatten,
            weights,
            bias,
            mult,
            shift,
        });
        s_in = s_out;
    }
    Network {
        name: float.name.clone(),
        input: Shape { h, w, c },
        layers,
    }
}

/// The canonical `quantize` command line for a model (recorded in the file).
pub fn quantize_command(name: &str) -> String {
    format!("cargo run --release -p digits --bin quantize -- --model {name}")
}

/// The whole model file: quantize on the training split, measure float and
/// int8 accuracy on the test split, record the commands.
pub fn model_file(float: &FloatModel, data: &Dataset) -> Result<ModelFile, ModelError> {
    let network = quantize(float, &data.train);
    let mut file = ModelFile {
        format: FORMAT,
        input: float.input,
        accuracy: Accuracy {
            test_images: data.test.len() as u32,
            float_correct: float.correct(&data.test),
            int8_correct: 0,
        },
        commands: vec![
            float.training.command.clone(),
            quantize_command(&float.name),
        ],
        network,
    };
    file.accuracy.int8_correct = file.correct(&data.test)?;
    file.validate("quantized model")?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_is_most_precise_in_range() {
        // 0.75 = 49152 / 2^16; at shift 17 it would be 98304 > 65535.
        assert_eq!(fixed_point(0.75), (49152, 16));
        // 1.0: 32768 << 0 ... the largest shift with <= 65535 is 15.
        assert_eq!(fixed_point(1.0), (32768, 15));
        // Tiny factors: shift 31, mult rounds up to at least 1.
        assert_eq!(fixed_point(1e-12), (1, 31));
        assert_eq!(fixed_point(3.0 / f64::from(1u32 << 31)), (3, 31));
        // Huge factors saturate.
        assert_eq!(fixed_point(1e6), (65535, 0));
        for m in [0.001234, 0.05, 0.3, 2.5, 100.0] {
            let (q, s) = fixed_point(m);
            assert!((1..=65535).contains(&q) && s <= 31);
            let back = f64::from(q) / f64::from(1u32 << s);
            assert!((back - m).abs() / m < 1e-4, "{m}: {q} >> {s}");
            // One more bit of shift would overflow 16 bits.
            if s < 31 {
                assert!((m * f64::from(1u32 << (s + 1))).round() > 65535.0);
            }
        }
    }
}
