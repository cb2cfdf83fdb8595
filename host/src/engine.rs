//! Running a compiled network on an engine board, over any [`Link`]: the
//! program image (descriptors, weights, channel records) is written into the
//! board's memory once; each inference writes the input tensor, starts the
//! engine through its registers, polls `status`, and reads the output tensor
//! back. Offsets and fields come from the engine's programming model
//! ([`contracts::engine::ProgrammingModel`]) for the board's memory width, as
//! INFO reports it; the program is built by [`compiler::compile_with`],
//! with the first layer as written by default ([`load`]): an im2col'ed first
//! layer ([`load_with`]) needs a larger input per image, which costs more
//! over the UART than it saves on the engine.

use compiler::{CompileOptions, FirstLayer, Layer, Network, Program, Shape};
use contracts::engine::ProgrammingModel;
use digits::model::Accuracy;
use digits::{InputRule, ModelFile, Sample};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Instant;

use crate::client::{Board, HostError};
use crate::link::Link;

/// Most `status` polls of one inference before giving up.
pub const MAX_POLLS: u32 = 100_000;

/// A network loaded into a board's memory.
pub struct Loaded {
    pub program: Program,
    pub pm: ProgrammingModel,
    desc_addr: u32,
    desc_count: u32,
    ctrl: u32,
    status: u32,
    cycles_lo: u32,
    cycles_hi: u32,
    start: u32,
}

/// One inference's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inference {
    /// The last layer's output tensor.
    pub output: Vec<i8>,
    /// Engine clock cycles from start to done (the `cycles` counter).
    pub cycles: u64,
    /// `status` reads until the engine was done.
    pub polls: u32,
}

fn pm_err(e: String) -> HostError {
    HostError::Engine(format!("programming model: {e}"))
}

/// Compile `net` for the board's engine and write its image into the board's
/// memory (from address 0); check the engine's `id` first. The first layer as
/// written ([`FirstLayer::Direct`]).
pub fn load<L: Link>(board: &mut Board<L>, net: &Network) -> Result<Loaded, HostError> {
    load_with(board, net, FirstLayer::Direct)
}

/// [`load`] with the first layer compiled as `first_layer`; [`infer`] packs
/// each input accordingly.
pub fn load_with<L: Link>(
    board: &mut Board<L>,
    net: &Network,
    first_layer: FirstLayer,
) -> Result<Loaded, HostError> {
    let info = board.info().clone();
    if !info.is_engine() {
        return Err(HostError::Incompatible(format!(
            "running a network needs an engine board; this board reports design kind {}",
            info.kind
        )));
    }
    let pm = ProgrammingModel::new(info.mem_bits);
    let id = board.reg_read(pm.reg_offset("id").map_err(pm_err)?)?;
    if id != contracts::engine::ID {
        return Err(HostError::Incompatible(format!(
            "the engine's id register reads {id:#010x}, expected {:#010x}",
            contracts::engine::ID
        )));
    }
    let program = compiler::compile_with(net, None, &pm, 0, &CompileOptions { first_layer })
        .map_err(|e| HostError::Engine(format!("compiling `{}`: {e}", net.name)))?;
    if program.image.len() as u64 > u64::from(info.mem_bytes) {
        return Err(HostError::Engine(format!(
            "`{}` needs {} bytes of memory, the board has {}",
            net.name,
            program.image.len(),
            info.mem_bytes
        )));
    }
    board.mem_write(program.base, &program.image)?;
    let off = |n: &str| pm.reg_offset(n).map_err(pm_err);
    Ok(Loaded {
        desc_addr: off("desc_addr")?,
        desc_count: off("desc_count")?,
        ctrl: off("ctrl")?,
        status: off("status")?,
        cycles_lo: off("cycles_lo")?,
        cycles_hi: off("cycles_hi")?,
        start: pm.reg_value("ctrl", "start", 1).map_err(pm_err)?,
        program,
        pm,
    })
}

/// Run one inference of the loaded network on `input` (the network's input
/// tensor, NHWC, as in the model file: packed here for the program's first
/// layer).
pub fn infer<L: Link>(
    board: &mut Board<L>,
    net: &Loaded,
    input: &[i8],
) -> Result<Inference, HostError> {
    let p = &net.program;
    let packed = p
        .pack_input(input)
        .map_err(|e| HostError::Request(e.to_string()))?;
    let bytes: Vec<u8> = packed.iter().map(|&v| v as u8).collect();
    board.mem_write(p.input.addr, &bytes)?;
    board.reg_write(net.desc_addr, p.desc_addr)?;
    board.reg_write(net.desc_count, p.desc_count)?;
    board.reg_write(net.ctrl, net.start)?;
    let field = |s: u32, f: &str| net.pm.reg_field("status", f, s).map_err(pm_err);
    let mut polls = 0;
    let status = loop {
        let s = board.reg_read(net.status)?;
        polls += 1;
        if field(s, "busy")? == 0 {
            break s;
        }
        if polls >= MAX_POLLS {
            return Err(HostError::Engine(format!(
                "still busy after {polls} status reads"
            )));
        }
    };
    if field(status, "error")? != 0 {
        let code = field(status, "code")?;
        return Err(HostError::Engine(format!(
            "the engine refused descriptor {}: {} (code {code})",
            field(status, "index")?,
            net.pm.error_name(code).unwrap_or("unknown")
        )));
    }
    if field(status, "done")? == 0 {
        return Err(HostError::Engine(format!(
            "status {status:#010x}: neither busy nor done after a start"
        )));
    }
    let lo = board.reg_read(net.cycles_lo)?;
    let hi = board.reg_read(net.cycles_hi)?;
    let out = board.mem_read(p.output.addr, p.output.bytes as usize)?;
    Ok(Inference {
        output: out.into_iter().map(|v| v as i8).collect(),
        cycles: u64::from(hi) << 32 | u64::from(lo),
        polls,
    })
}

/// What a run over a set of images gave.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    pub images: usize,
    pub correct: usize,
    /// The board's class of each image ([`digits::argmax`] of the output).
    pub classes: Vec<u8>,
    /// Engine cycles summed over the images.
    pub engine_cycles: u64,
    /// Wall-clock (link) seconds for the images, UART transfers included.
    pub secs: f64,
}

impl RunSummary {
    pub fn cycles_per_image(&self) -> f64 {
        self.engine_cycles as f64 / self.images.max(1) as f64
    }
}

/// Classify `samples` with the loaded `model`: one [`infer`] per image;
/// `progress(done, total)` after each.
pub fn classify<L: Link>(
    board: &mut Board<L>,
    loaded: &Loaded,
    model: &ModelFile,
    samples: &[Sample],
    mut progress: impl FnMut(usize, usize),
) -> Result<RunSummary, HostError> {
    let t0 = Instant::now();
    let mut r = RunSummary {
        images: samples.len(),
        correct: 0,
        classes: Vec::with_capacity(samples.len()),
        engine_cycles: 0,
        secs: 0.0,
    };
    for (i, s) in samples.iter().enumerate() {
        let inf = infer(board, loaded, &model.image(s))?;
        let class = digits::argmax(&inf.output);
        r.correct += usize::from(class == s.label);
        r.classes.push(class);
        r.engine_cycles += inf.cycles;
        progress(i + 1, samples.len());
    }
    r.secs = t0.elapsed().as_secs_f64();
    Ok(r)
}

fn layer(rng: &mut StdRng, name: &str, in_c: u32, out_c: u32, k: u32) -> Layer {
    let n = (k * k * in_c * out_c) as usize;
    // Shift so that a typical sum of K products of about 40 x 40 lands in int8.
    let kk = f64::from(k * k * in_c);
    let shift = (16.0 + (kk.sqrt() * 1600.0 / 64.0).log2()).round() as u32;
    Layer {
        name: name.into(),
        out_c,
        k_h: k,
        k_w: k,
        stride_h: 1,
        stride_w: 1,
        dil_h: 1,
        dil_w: 1,
        pad_t: k / 2,
        pad_b: k / 2,
        pad_l: k / 2,
        pad_r: k / 2,
        relu: true,
        pool_k: 2,
        pool_s: 2,
        pool_pad: 0,
        flatten: false,
        weights: (0..n).map(|_| rng.gen_range(-64..=64)).collect(),
        bias: (0..out_c).map(|_| rng.gen_range(-2000..=2000)).collect(),
        mult: (0..out_c).map(|_| rng.gen_range(16384..=65535)).collect(),
        shift: vec![shift.min(31); out_c as usize],
    }
}

/// A `digits-cnn` with random weights: conv 3x3 pad 1 1 -> 8, ReLU, pool 2;
/// conv 3x3 pad 1 8 -> 16, ReLU, pool 2; FC 64 -> 10 (flatten). The topology of
/// the trained model, for developing and testing the board path before (or
/// without) the trained file.
pub fn random_digits_cnn(seed: u64) -> ModelFile {
    let mut rng = StdRng::seed_from_u64(seed);
    let conv1 = layer(&mut rng, "conv1", 1, 8, 3);
    let conv2 = layer(&mut rng, "conv2", 8, 16, 3);
    let mut fc = layer(&mut rng, "fc", 64, 10, 1);
    fc.pool_k = 0;
    fc.pool_s = 0;
    fc.relu = false;
    fc.flatten = true;
    ModelFile {
        format: digits::model::FORMAT,
        input: InputRule::Native8,
        accuracy: Accuracy {
            test_images: 0,
            float_correct: 0,
            int8_correct: 0,
        },
        commands: vec![format!("host::engine::random_digits_cnn({seed})")],
        network: Network {
            name: "digits-cnn-random".into(),
            input: Shape { h: 8, w: 8, c: 1 },
            layers: vec![conv1, conv2, fc],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_digits_cnn_is_a_valid_network_of_the_topology() {
        let m = random_digits_cnn(3);
        let shapes = m.network.shapes().expect("valid");
        let outs: Vec<(u32, u32, u32)> = shapes
            .iter()
            .map(|s| (s.output.h, s.output.w, s.output.c))
            .collect();
        assert_eq!(outs, vec![(4, 4, 8), (2, 2, 16), (1, 1, 10)]);
        assert_eq!(m.network.layers[2].weights.len(), 64 * 10);
        assert_ne!(random_digits_cnn(4).network, m.network);
    }
}
