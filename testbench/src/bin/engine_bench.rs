//! `cargo run --release -p testbench --bin engine_bench`: the conv/FC engine on
//! the benchmark layers at 8x8 and 16x16, memory of fixed latency that
//! takes one request per cycle. Per layer: RTL cycles (the `cycles` counter),
//! the cycle model's prediction, utilization (useful MACs / (ROWS*COLS*cycles)),
//! the `array_beats`, `rd_bytes` and `wr_bytes` counters, bytes moved over
//! compulsory bytes (input + weights + channel records + output + descriptor),
//! and simulated cycles per second.
//!
//! A benchmark, not a test: it prints a table. Every run is still checked
//! against the oracle (output bytes and counters), so a fast wrong answer
//! shows as `NO` in the `ok` column.
//!
//! Flags: `--sizes 8,16` (square arrays), `--latency 8`, `--mem-bits 64`,
//! `--layers NAME,NAME` (substring filter), `--skip-slow` (the VGG-like layer).

use golden::layer::ConvLayer;
use golden::Padding;
use hdl::engine::EngineConfig;
use rand::rngs::StdRng;
use rand::SeedableRng;
use testbench::engine::image::{random_i8, random_requant, ImageBuilder};
use testbench::engine::oracle::{residency, Descriptor, Machine};
use testbench::engine::{EngineSim, MemConfig};

const BASE: u64 = 0x1000_0000;

struct Args {
    sizes: Vec<u32>,
    latency: u32,
    mem_bits: u32,
    layers: Vec<String>,
    skip_slow: bool,
}

fn usage(msg: &str) -> ! {
    eprintln!("engine_bench: {msg}");
    eprintln!(
        "usage: engine_bench [--sizes 8,16] [--latency 8] [--mem-bits 64] [--layers NAME,..] [--skip-slow]"
    );
    std::process::exit(2);
}

fn parse_args() -> Args {
    let mut args = Args {
        sizes: vec![8, 16],
        latency: 8,
        mem_bits: 64,
        layers: Vec::new(),
        skip_slow: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .unwrap_or_else(|| usage(&format!("{name} needs a value")))
        };
        match flag.as_str() {
            "--sizes" => {
                let v = value("--sizes");
                args.sizes = v
                    .split(',')
                    .map(|s| {
                        s.trim()
                            .parse()
                            .unwrap_or_else(|_| usage(&format!("--sizes: `{s}` is not a number")))
                    })
                    .collect();
            }
            "--latency" => {
                let v = value("--latency");
                args.latency = match v.parse() {
                    Ok(l) if l >= 1 => l,
                    _ => usage(&format!("--latency: `{v}` is not a number >= 1")),
                };
            }
            "--mem-bits" => {
                let v = value("--mem-bits");
                args.mem_bits = match v.parse() {
                    Ok(b @ (32 | 64 | 128)) => b,
                    _ => usage(&format!("--mem-bits: `{v}` is not 32, 64 or 128")),
                };
            }
            "--layers" => {
                args.layers = value("--layers")
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .collect();
            }
            "--skip-slow" => args.skip_slow = true,
            "-h" | "--help" => usage("help"),
            other => usage(&format!("unknown flag `{other}`")),
        }
    }
    args
}

/// One benchmark layer.
struct Bench {
    name: &'static str,
    layer: ConvLayer,
    slow: bool,
}

fn layers() -> Vec<Bench> {
    let pad1 = Padding::uniform(1);
    let b = |name, layer, slow| Bench { name, layer, slow };
    vec![
        b(
            "digits conv1 8x8x1->8 3x3 relu pool2",
            ConvLayer::new(8, 8, 1, 8, 3, 3)
                .with_padding(pad1)
                .with_relu(true)
                .with_pool(2, 2, 0),
            false,
        ),
        b(
            "digits conv2 4x4x8->16 3x3 relu pool2",
            ConvLayer::new(4, 4, 8, 16, 3, 3)
                .with_padding(pad1)
                .with_relu(true)
                .with_pool(2, 2, 0),
            false,
        ),
        b("digits fc 64->10", ConvLayer::fc(1, 64, 10), false),
        b(
            "lenet conv1 32x32x1->6 5x5 pool2",
            ConvLayer::new(32, 32, 1, 6, 5, 5)
                .with_relu(true)
                .with_pool(2, 2, 0),
            false,
        ),
        b(
            "lenet conv2 14x14x6->16 5x5 pool2",
            ConvLayer::new(14, 14, 6, 16, 5, 5)
                .with_relu(true)
                .with_pool(2, 2, 0),
            false,
        ),
        b(
            "vgg-like 28x28x128->128 3x3",
            ConvLayer::new(28, 28, 128, 128, 3, 3)
                .with_padding(pad1)
                .with_relu(true),
            true,
        ),
        b(
            "stride-2 28x28x32->64 3x3",
            ConvLayer::new(28, 28, 32, 64, 3, 3)
                .with_stride(2, 2)
                .with_padding(Padding {
                    top: 1,
                    bottom: 0,
                    left: 1,
                    right: 0,
                })
                .with_relu(true),
            false,
        ),
        b(
            "1x1 28x28x64->64",
            ConvLayer::new(28, 28, 64, 64, 1, 1).with_relu(true),
            false,
        ),
        b("fc 512->256 batch 1", ConvLayer::fc(1, 512, 256), false),
        b("fc 512->256 batch 64", ConvLayer::fc(64, 512, 256), false),
    ]
}

/// The analytical model's cycles (`compiler::model`, one start) for `d`
/// fetched from `desc_addr` on `cfg` with memory latency `latency`; `None`
/// where the model refuses the descriptor.
fn model_cycles(cfg: &EngineConfig, d: &Descriptor, desc_addr: u64, latency: u32) -> Option<u64> {
    let pm = cfg.programming_model();
    let mut cd = compiler::Descriptor::default();
    for (name, value) in d.fields() {
        if !cd.set(name, value) {
            return None;
        }
    }
    let params = testbench::engine::model_params(cfg, latency);
    let desc_addr = u32::try_from(desc_addr).ok()?;
    compiler::program_cost(&pm, &params, desc_addr, &[cd])
        .ok()
        .map(|c| c.total.cycles)
}

/// Why a layer misses the targets (utilization 0.85, traffic 1.3x), in the
/// short words of the legend printed under the table.
fn why(l: &ConvLayer, m: &Machine, util: f64, traffic: f64) -> String {
    let d = Descriptor::conv(l, 0, 0, 0, 0);
    let (ires, wres) = residency(&d, m);
    let (rows, cols) = (m.rows as usize, m.cols as usize);
    let mut r = Vec::new();
    if util < 0.85 {
        if l.k_h * l.k_w * l.in_c < 4 * rows {
            r.push("K<4R");
        }
        if l.in_h == 1 && l.in_w == 1 {
            r.push("batch-1 FC");
        } else if l.h_o() * l.w_o() < 8 * rows {
            r.push("<8R pixels");
        }
        if l.out_c % cols != 0 {
            r.push("C_out%COLS");
        }
        if l.pool_k > 0 {
            r.push("pool");
        }
        if !ires {
            r.push("input streamed");
        }
        if !wres {
            r.push("weights streamed");
        }
        // The compulsory bytes alone keep the port busy for most of the ideal
        // compute time: input loads and output writes cannot all hide behind it.
        let compulsory_words = (l.in_h * l.in_w * l.in_c
            + l.k_h * l.k_w * l.in_c * l.out_c
            + l.h_o() * l.w_o() * l.out_c) as f64
            / m.mb as f64;
        let ideal =
            (l.h_c() * l.w_c() * l.out_c * l.k_h * l.k_w * l.in_c) as f64 / (rows * cols) as f64;
        if compulsory_words > 0.7 * ideal {
            r.push("memory-bound");
        }
        if r.is_empty() {
            r.push("tile overhead");
        }
    }
    if traffic > 1.3 {
        if l.out_c as u64 % m.mb != 0 {
            r.push("weight rows straddle words");
        }
        if !ires || !wres {
            r.push("re-reads");
        }
        r.push("small tensors: descriptor and records count");
    }
    r.join(", ")
}

const LEGEND: &str = "K<4R: C_in*k_h*k_w < 4*ROWS (short reductions, tile overhead dominates); \
batch-1 FC: one live array row; <8R pixels: fewer than 8*ROWS output pixels (few tiles); \
C_out%COLS: C_out not a multiple of COLS (idle columns); pool: the conv runs once per pool-window offset; \
input streamed / weights streamed: the input (weights) do not fit the input (weight) buffer and are read \
from memory per chunk; tile overhead: per-tile fill and drain with none of the above; \
weight rows straddle words: a group's COLS weights of one row touch two memory words when C_out is not \
a multiple of the word; re-reads: streamed operands are read more than once; \
memory-bound: input + weights + output words exceed 0.7x the cycles of the layer's MACs at full array \
rate, so the port, not the array, sets the pace.";

fn main() {
    let args = parse_args();
    if let Err(e) = run(&args) {
        eprintln!("engine_bench: error: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(12);
    let chosen: Vec<Bench> = layers()
        .into_iter()
        .filter(|b| !(args.skip_slow && b.slow))
        .filter(|b| {
            args.layers.is_empty() || args.layers.iter().any(|f| b.name.contains(f.as_str()))
        })
        .collect();
    if chosen.is_empty() {
        usage("--layers matches no benchmark layer");
    }
    println!(
        "Conv/FC engine, {}-bit memory port, default buffers (input {} bytes, weights {} rows), fixed read latency {}, req_ready always high (Verilator, -O2)",
        args.mem_bits,
        EngineConfig::default().ibuf_bytes,
        EngineConfig::default().wbuf_rows,
        args.latency
    );
    println!();
    println!("| layer | array | RTL cycles | model cycles | utilization | array_beats | rd_bytes | wr_bytes | moved / compulsory | sim cycles/s | ok | why it misses |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &n in &args.sizes {
        let cfg = EngineConfig {
            rows: n,
            cols: n,
            mem_bits: args.mem_bits,
            ..EngineConfig::default()
        };
        let mut sim: Option<EngineSim> = None;
        for b in &chosen {
            let layer = random_requant(&mut rng, b.layer.clone());
            // A fresh image for each layer, in a memory just big enough.
            let pm = cfg.programming_model();
            let mut ib = ImageBuilder::new(&pm, BASE, 7);
            let input = random_i8(&mut rng, layer.input_len());
            let in_addr = ib.tensor(&input);
            let weights = random_i8(&mut rng, layer.weight_len());
            ib.conv(&layer, in_addr, &weights, None)?;
            let prog = ib.finish()?;
            let size = prog.image.bytes.len().next_power_of_two().max(1 << 16);
            let need_new = sim
                .as_ref()
                .is_none_or(|s| s.memory().len() < prog.image.bytes.len());
            if need_new {
                sim = Some(EngineSim::new(
                    &cfg,
                    MemConfig::fixed(BASE, size, args.latency),
                )?);
            }
            let Some(s) = sim.as_mut() else { continue };
            // A fresh memory model (and traffic log) for each layer.
            s.reset_for(2)?;
            let (want_mem, want) = prog.expected(&s.pm, &s.machine())?;
            let budget = 8 * (want.counts.reads + want.counts.array_beats) + 100_000;
            let r = s.run_program(&prog, budget)?;
            let mb = u64::from(args.mem_bits / 8);
            let got = s.memory_at(prog.image.base, prog.image.bytes.len())?;
            let ok = got == want_mem.bytes.as_slice()
                && r.done
                && !r.error
                && r.rd_bytes == mb * want.counts.reads
                && r.wr_bytes == want.counts.wr_bytes
                && r.array_beats == want.counts.array_beats;
            let d = &prog.descs[0];
            let macs =
                (layer.h_c() * layer.w_c() * layer.out_c * layer.k_h * layer.k_w * layer.in_c)
                    as f64;
            let util = macs / (f64::from(n * n) * r.cycles.max(1) as f64);
            let compulsory = (layer.input_len() + layer.weight_len() + layer.output_len()) as u64
                + d.record_bytes(&s.pm)
                + u64::from(s.pm.descriptor.bytes);
            let traffic = (r.rd_bytes + r.wr_bytes) as f64 / compulsory as f64;
            let model = model_cycles(&cfg, d, prog.desc_addr, args.latency)
                .map_or("—".to_string(), |c| c.to_string());
            println!(
                "| {} | {n}x{n} | {} | {model} | {util:.3} | {} | {} | {} | {traffic:.2} | {:.0} | {} | {} |",
                b.name,
                r.cycles,
                r.array_beats,
                r.rd_bytes,
                r.wr_bytes,
                r.sim_cycles as f64 / r.wall.as_secs_f64().max(1e-9),
                if ok { "yes" } else { "NO" },
                why(&layer, &s.machine(), util, traffic)
            );
        }
    }
    println!();
    println!("{LEGEND}");
    Ok(())
}
