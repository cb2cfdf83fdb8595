//! Helpers shared by the test binaries: model files of the two networks'
//! topologies with random weights (for development and for the CLI's error
//! tests; never committed under `models/`), and running the `run` binary.

#![allow(dead_code)] // Each test binary uses its own subset.

use compiler::{Layer, Network, Shape};
use digits::model::{Accuracy, FORMAT};
use digits::{InputRule, ModelFile};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One layer's topology.
struct Spec {
    name: &'static str,
    out_c: u32,
    k: u32,
    pad: u32,
    relu: bool,
    pool: bool,
    flatten: bool,
}

fn spec(name: &'static str, out_c: u32, k: u32, pad: u32, relu: bool, pool: bool) -> Spec {
    Spec {
        name,
        out_c,
        k,
        pad,
        relu,
        pool,
        flatten: false,
    }
}

fn fc(name: &'static str, out_c: u32, relu: bool, flatten: bool) -> Spec {
    Spec {
        flatten,
        ..spec(name, out_c, 1, 0, relu, false)
    }
}

/// `digits-cnn`'s or `lenet5`'s topology with random int8 weights, biases
/// and a requantization scaled to the reduction length so that activations
/// stay mostly inside int8 without saturating.
pub fn random_model(which: &str, seed: u64) -> ModelFile {
    let (input, rule, specs) = match which {
        "digits-cnn" => (
            Shape { h: 8, w: 8, c: 1 },
            InputRule::Native8,
            vec![
                spec("conv1", 8, 3, 1, true, true),
                spec("conv2", 16, 3, 1, true, true),
                fc("fc", 10, false, true),
            ],
        ),
        "lenet5" => (
            Shape { h: 32, w: 32, c: 1 },
            InputRule::Nearest32,
            vec![
                spec("conv1", 6, 5, 0, true, true),
                spec("conv2", 16, 5, 0, true, true),
                fc("fc1", 120, true, true),
                fc("fc2", 84, true, false),
                fc("fc3", 10, false, false),
            ],
        ),
        other => panic!("no topology `{other}`"),
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut layers = Vec::new();
    let mut prev = input;
    for s in specs {
        let in_c = if s.flatten {
            prev.h * prev.w * prev.c
        } else {
            prev.c
        };
        let k_red = s.k * s.k * in_c;
        let n = (k_red * s.out_c) as usize;
        // Activations ~ +-60 times weights ~ +-40 over k_red terms: a sum of
        // about 2400 * sqrt(k_red); scale that to about +-60.
        let shift = 16 + (32 - k_red.leading_zeros()).div_ceil(2);
        let l = Layer {
            name: s.name.into(),
            out_c: s.out_c,
            k_h: s.k,
            k_w: s.k,
            stride_h: 1,
            stride_w: 1,
            dil_h: 1,
            dil_w: 1,
            pad_t: s.pad,
            pad_b: s.pad,
            pad_l: s.pad,
            pad_r: s.pad,
            relu: s.relu,
            pool_k: if s.pool { 2 } else { 0 },
            pool_s: if s.pool { 2 } else { 0 },
            pool_pad: 0,
            flatten: s.flatten,
            weights: (0..n).map(|_| rng.gen_range(-64i8..=64)).collect(),
            bias: (0..s.out_c).map(|_| rng.gen_range(-2000..2000)).collect(),
            mult: (0..s.out_c).map(|_| rng.gen_range(1500..2500)).collect(),
            shift: (0..s.out_c).map(|_| shift).collect(),
        };
        let sh = Network {
            name: "probe".into(),
            input: prev,
            layers: vec![l.clone()],
        }
        .shapes()
        .expect("random layer is valid");
        prev = sh[0].output;
        layers.push(l);
    }
    let mut file = ModelFile {
        format: FORMAT,
        input: rule,
        accuracy: Accuracy {
            test_images: 360,
            float_correct: 0,
            int8_correct: 0,
        },
        commands: vec![format!(
            "runner/tests/common: random weights for `{which}`, seed {seed}"
        )],
        network: Network {
            name: which.into(),
            input,
            layers,
        },
    };
    file.validate("random model")
        .expect("random model validates");
    // Record what the golden reference gets, as a real model file does.
    let data = digits::Dataset::load().expect("data set");
    let convs = file.network.conv_layers().expect("layers");
    let correct = data
        .test
        .iter()
        .filter(|s| {
            let mut x = file.image(s);
            for (c, l) in convs.iter().zip(&file.network.layers) {
                x = golden::reference::layer_reference(c, &x, &l.weights).expect("runs");
            }
            digits::argmax(&x) == s.label
        })
        .count();
    file.accuracy.int8_correct = correct as u32;
    file
}

/// Write `file` as `dir/name.json`; returns the path as a string.
pub fn write_model(dir: &std::path::Path, name: &str, file: &ModelFile) -> String {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, file.to_json()).expect("writes the model file");
    path.display().to_string()
}

/// What the binary did.
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Run the `run` binary with `args` in `cwd`.
pub fn run_bin(cwd: &std::path::Path, args: &[&str]) -> Output {
    run_bin_env(cwd, args, &[])
}

/// Run the `run` binary with `args` in `cwd` and the environment variables `env` set.
pub fn run_bin_env(cwd: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_run"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .output()
        .expect("the run binary starts");
    Output {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}
