//! Offline float training of the digits networks with candle (CPU only).
//!
//! The network is built from `digits::float`'s [`Architecture`], the same
//! description the quantizer and the engine's network use, in the engine's
//! layouts: activations NHWC, conv weights HWIO, and a flattened FC layer
//! reads feature `(y*W + x)*C + c`. Exporting is then a plain copy.
//!
//! Deterministic by construction: the weights are initialised and the
//! training order shuffled with one seeded [`StdRng`]; candle's CPU kernels
//! are run on one thread (`RAYON_NUM_THREADS=1` is set by the binary before
//! candle starts) so every reduction has one order.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use digits::float::{Architecture, FloatLayer, FloatModel, Training, FLOAT_FORMAT};
use digits::Sample;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// Training settings.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub epochs: u32,
    pub seed: u64,
    pub batch: usize,
    pub lr: f64,
}

/// One layer's parameters: weights HWIO `(k, k, in_c, out_c)`, bias `(out_c)`.
struct Params {
    w: Var,
    b: Var,
}

/// The canonical command line recorded in the float file.
pub fn train_command(name: &str, s: &Settings) -> String {
    format!(
        "cargo run --release -p train -- --model {name} --epochs {} --seed {} --lr {} --batch {}",
        s.epochs, s.seed, s.lr, s.batch
    )
}

/// Keep 5 significant digits: the file stays small and every reader sees
/// exactly the values the accuracy was measured with.
fn round_sig(v: f32) -> f32 {
    format!("{v:.4e}").parse().unwrap_or(v)
}

fn init(arch: &Architecture, rng: &mut StdRng, dev: &Device) -> Result<Vec<Params>> {
    let shapes = arch.shapes();
    let mut out = Vec::new();
    for (l, &(_, _, ic)) in arch.layers.iter().zip(&shapes) {
        let (k, oc) = (l.k as usize, l.out_c as usize);
        let fan_in = k * k * ic;
        // He uniform: Var = 2 / fan_in for ReLU networks.
        let bound = (6.0 / fan_in as f64).sqrt() as f32;
        let w: Vec<f32> = (0..fan_in * oc)
            .map(|_| rng.gen_range(-bound..bound))
            .collect();
        out.push(Params {
            w: Var::from_vec(w, (k, k, ic, oc), dev)?,
            b: Var::from_vec(vec![0f32; oc], oc, dev)?,
        });
    }
    Ok(out)
}

/// Logits `(n, 10)` of an NHWC batch `(n, h, w, 1)`.
///
/// Everything stays NHWC, the engine's layout: a conv layer is im2col (one
/// shifted slice of the padded input per kernel tap, concatenated along the
/// channels in `(ky, kx, ci)` order, the HWIO row order) times the
/// `(k*k*in_c) x out_c` weight matrix, and flattening is a reshape. Only
/// slicing, concatenation, matmul, ReLU and reductions take part in the
/// backward pass. candle 0.9.1's `max_pool2d` is not used: its backward
/// multiplies the gradient by (maxima in the window) / p^2 instead of
/// dividing by the number of maxima, a 4x smaller gradient under every 2x2
/// pool (found by the finite-difference test below).
fn forward(arch: &Architecture, params: &[Params], x: &Tensor) -> Result<Tensor> {
    let mut x = x.clone();
    for (l, p) in arch.layers.iter().zip(params) {
        let (k, ic, oc) = p.w.as_tensor().dims4().map(|(k, _, i, o)| (k, i, o))?;
        let w = p.w.as_tensor().reshape((k * k * ic, oc))?;
        if l.flatten {
            x = x.flatten_from(1)?;
        }
        x = if x.rank() == 4 {
            let (n, h, wd, _) = x.dims4()?;
            let pad = l.pad as usize;
            let xp = x.pad_with_zeros(1, pad, pad)?.pad_with_zeros(2, pad, pad)?;
            let (hc, wc) = (h + 2 * pad + 1 - k, wd + 2 * pad + 1 - k);
            let mut taps = Vec::with_capacity(k * k);
            for ky in 0..k {
                for kx in 0..k {
                    taps.push(xp.narrow(1, ky, hc)?.narrow(2, kx, wc)?);
                }
            }
            let cols = Tensor::cat(&taps, 3)?.reshape((n * hc * wc, k * k * ic))?;
            cols.matmul(&w)?
                .broadcast_add(p.b.as_tensor())?
                .reshape((n, hc, wc, oc))?
        } else {
            x.matmul(&w)?.broadcast_add(p.b.as_tensor())?
        };
        if l.relu {
            x = x.relu()?;
        }
        if l.pool > 0 {
            x = max_pool(&x, l.pool as usize)?;
        }
    }
    Ok(x)
}

/// `p x p` max pooling with stride `p` of an NHWC tensor. The gradient of a
/// window goes to its maxima, split evenly between tied ones: blank image
/// regions give exactly equal conv outputs (the bias), and sending the whole
/// gradient to each of them (what a max reduction's backward does) would
/// count a bias's gradient up to p^2 times.
fn max_pool(x: &Tensor, p: usize) -> Result<Tensor> {
    let (n, h, w, c) = x.dims4()?;
    let (ho, wo) = (h / p, w / p);
    let x = x.narrow(1, 0, ho * p)?.narrow(2, 0, wo * p)?.contiguous()?;
    let win = x.reshape((n, ho, p, wo, p, c))?;
    let max = win.detach().max_keepdim(4)?.max_keepdim(2)?;
    let mask = win.detach().broadcast_eq(&max)?.to_dtype(DType::F32)?;
    let share = mask.broadcast_div(&mask.sum_keepdim((2, 4))?)?;
    Ok((win * share)?.sum((2, 4))?)
}

/// A batch of samples as the NHWC float input (grey level / 16) and labels.
fn batch(arch: &Architecture, samples: &[&Sample], dev: &Device) -> Result<(Tensor, Tensor)> {
    let (h, w, _) = arch.input.shape();
    let mut px = Vec::with_capacity(samples.len() * (h * w) as usize);
    for s in samples {
        px.extend(FloatModel::input(arch.input, s));
    }
    let x = Tensor::from_vec(px, (samples.len(), h as usize, w as usize, 1), dev)?;
    let labels: Vec<u32> = samples.iter().map(|s| u32::from(s.label)).collect();
    let y = Tensor::from_vec(labels, samples.len(), dev)?;
    Ok((x, y))
}

/// Correct classes of `samples` under the candle model.
fn correct(
    arch: &Architecture,
    params: &[Params],
    samples: &[Sample],
    dev: &Device,
) -> Result<u32> {
    let refs: Vec<&Sample> = samples.iter().collect();
    let (x, y) = batch(arch, &refs, dev)?;
    let pred = forward(arch, params, &x)?.argmax(D::Minus1)?;
    let hits = pred
        .eq(&y)?
        .to_dtype(DType::U32)?
        .sum_all()?
        .to_scalar::<u32>()?;
    Ok(hits)
}

/// Train `arch` on `train`; returns the float model (weights rounded to 5
/// significant digits) and prints one line per epoch.
pub fn train(arch: &Architecture, train: &[Sample], s: &Settings) -> Result<FloatModel> {
    if s.batch == 0 || s.epochs == 0 {
        bail!("--epochs and the batch size must be >= 1");
    }
    let dev = Device::Cpu;
    let mut rng = StdRng::seed_from_u64(s.seed);
    let params = init(arch, &mut rng, &dev)?;
    let vars: Vec<Var> = params
        .iter()
        .flat_map(|p| [p.w.clone(), p.b.clone()])
        .collect();
    let mut opt = AdamW::new(
        vars,
        ParamsAdamW {
            lr: s.lr,
            weight_decay: 1e-4,
            ..ParamsAdamW::default()
        },
    )?;
    let start = Instant::now();
    let mut order: Vec<&Sample> = train.iter().collect();
    for epoch in 1..=s.epochs {
        order.shuffle(&mut rng);
        let mut loss_sum = 0f64;
        for chunk in order.chunks(s.batch) {
            let (x, y) = batch(arch, chunk, &dev)?;
            let logits = forward(arch, &params, &x)?;
            let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
            opt.backward_step(&loss)?;
            loss_sum += f64::from(loss.to_scalar::<f32>()?) * chunk.len() as f64;
        }
        let hits = correct(arch, &params, train, &dev)?;
        println!(
            "epoch {epoch:3}/{}: loss {:.4}, train {hits}/{} ({:.1} s)",
            s.epochs,
            loss_sum / train.len() as f64,
            train.len(),
            start.elapsed().as_secs_f64()
        );
    }
    let mut layers = Vec::new();
    for (l, p) in arch.layers.iter().zip(&params) {
        let w = p.w.as_tensor().flatten_all()?.to_vec1::<f32>()?;
        let b = p.b.as_tensor().to_vec1::<f32>()?;
        layers.push(FloatLayer {
            name: l.name.to_string(),
            out_c: l.out_c,
            k: l.k,
            pad: l.pad,
            relu: l.relu,
            pool: l.pool,
            flatten: l.flatten,
            weights: w.into_iter().map(round_sig).collect(),
            bias: b.into_iter().map(round_sig).collect(),
        });
    }
    let mut model = FloatModel {
        format: FLOAT_FORMAT,
        name: arch.name.to_string(),
        input: arch.input,
        training: Training {
            command: train_command(arch.name, s),
            epochs: s.epochs,
            seed: s.seed,
            train_correct: 0,
        },
        layers,
    };
    model.training.train_correct = model.correct(train);
    model
        .validate("trained model")
        .context("the trained model does not validate")?;
    Ok(model)
}

/// Logits of the candle model and of `digits`' plain-Rust forward pass agree
/// on every sample's class: the layouts (HWIO, NHWC flattening) are the same.
/// Returns the number of samples whose classes differ.
pub fn cross_check(model: &FloatModel, samples: &[Sample]) -> Result<u32> {
    let arch = digits::float::architecture(&model.name).context("unknown architecture")?;
    let dev = Device::Cpu;
    let mut params = Vec::new();
    for l in &model.layers {
        let oc = l.out_c as usize;
        let ic = l.weights.len() / (l.k as usize * l.k as usize * oc);
        let k = l.k as usize;
        params.push(Params {
            w: Var::from_vec(l.weights.clone(), (k, k, ic, oc), &dev)?,
            b: Var::from_vec(l.bias.clone(), oc, &dev)?,
        });
    }
    let refs: Vec<&Sample> = samples.iter().collect();
    let (x, _) = batch(arch, &refs, &dev)?;
    let pred = forward(arch, &params, &x)?
        .argmax(D::Minus1)?
        .to_vec1::<u32>()?;
    let differ = samples
        .iter()
        .zip(pred)
        .filter(|(s, p)| u32::from(model.classify(s)) != *p)
        .count();
    Ok(differ as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// candle's gradients through our layouts (HWIO permute, NHWC flatten,
    /// pooling) match central finite differences on a few parameters of
    /// every layer.
    #[test]
    fn gradients_match_finite_differences() -> Result<()> {
        for arch in [&digits::float::DIGITS_CNN, &digits::float::LENET5] {
            check_gradients(arch)?;
        }
        Ok(())
    }

    fn check_gradients(arch: &Architecture) -> Result<()> {
        let data = digits::Dataset::load()?;
        let dev = Device::Cpu;
        let mut rng = StdRng::seed_from_u64(7);
        let params = init(arch, &mut rng, &dev)?;
        for p in &params {
            let n = p.b.as_tensor().dims1()?;
            let b: Vec<f32> = (0..n).map(|_| rng.gen_range(0.05..0.2)).collect();
            p.b.set(&Tensor::from_vec(b, n, &dev)?)?;
        }
        let refs: Vec<&Sample> = data.train[..8].iter().collect();
        let (x, y) = batch(arch, &refs, &dev)?;
        // Jitter the pixels so no two conv outputs tie exactly: a central
        // difference across a tie or a kink measures neither side's slope.
        let jitter: Vec<f32> = (0..x.elem_count())
            .map(|_| rng.gen_range(0.0..0.01))
            .collect();
        let noise = Tensor::from_vec(jitter, x.shape(), &dev)?;
        let x = (x + noise)?;
        let loss = |params: &[Params]| -> Result<f64> {
            // The loss in f64: an f32 log-softmax is too coarse for a difference.
            let logits = forward(arch, params, &x)?.to_dtype(DType::F64)?;
            let l = candle_nn::loss::cross_entropy(&logits, &y)?;
            Ok(l.to_scalar::<f64>()?)
        };
        let l = candle_nn::loss::cross_entropy(&forward(arch, &params, &x)?, &y)?;
        let grads = l.backward()?;
        for (li, p) in params.iter().enumerate() {
            for var in [&p.w, &p.b] {
                let g = grads
                    .get(var.as_tensor())
                    .context("no gradient")?
                    .flatten_all()?
                    .to_vec1::<f32>()?;
                let v0 = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
                let shape = var.as_tensor().shape().clone();
                for i in (0..v0.len()).step_by(v0.len() / 5 + 1) {
                    let eps = 1e-4f32;
                    let mut v = v0.clone();
                    v[i] += eps;
                    var.set(&Tensor::from_vec(v.clone(), shape.clone(), &dev)?)?;
                    let lp = loss(&params)?;
                    v[i] -= 2.0 * eps;
                    var.set(&Tensor::from_vec(v, shape.clone(), &dev)?)?;
                    let lm = loss(&params)?;
                    var.set(&Tensor::from_vec(v0.clone(), shape.clone(), &dev)?)?;
                    let l0 = loss(&params)?;
                    let an = f64::from(g[i]);
                    // Forward or backward difference: one side of a ReLU or
                    // pooling kink that the step happens to cross.
                    let e = f64::from(eps);
                    let fd = [(lp - l0) / e, (l0 - lm) / e]
                        .into_iter()
                        .min_by(|a, b| (a - an).abs().total_cmp(&(b - an).abs()))
                        .unwrap_or(f64::NAN);
                    assert!(
                        (fd - an).abs() <= 0.05 * an.abs().max(fd.abs()) + 2e-3,
                        "{} layer {li} param {i}: analytic {an} numeric {fd}",
                        arch.name
                    );
                }
            }
        }
        Ok(())
    }
}
