//! `cargo run --release -p testbench --bin maxpool_bench`: cycles per image and
//! simulation speed of the max-pool unit on 28x28x8 and 224x224x64 images,
//! 2x2/2 and 3x3/2 pad 1, input always valid and out_ready held high.
//! A benchmark, not a test: it prints a table; the results are still compared
//! with the plain-Rust reference so a fast wrong answer cannot pass unnoticed.

use hdl::maxpool::MaxpoolConfig;
use rand::rngs::StdRng;
use rand::SeedableRng;
use testbench::array::Traffic;
use testbench::maxpool::{shape, token_cycles, Image, PoolSim};

fn main() {
    if let Err(e) = run() {
        eprintln!("maxpool_bench: error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(11);
    println!("Max-pool unit, back-to-back images, input always valid, out_ready held high (Verilator 5, -O2)");
    println!();
    println!(
        "| image | pool | images | cycles/image | pixels/cycle | in_last to out_last taken (edges) | sim pixels/s | sim cycles/s | correct |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (h_w, c, images) in [(28u32, 8u32, 64usize), (224, 64, 4)] {
        for (k, s, p) in [(2u32, 2u32, 0u32), (3, 2, 1)] {
            let cfg = MaxpoolConfig {
                channels: c,
                width: h_w,
                window: k,
                stride: s,
                pad: p,
                ..MaxpoolConfig::default()
            };
            let mut sim = PoolSim::new(std::slice::from_ref(&cfg))?;
            let batch: Vec<Image> = (0..images)
                .map(|_| Image::random(&mut rng, &cfg, h_w))
                .collect();
            // Latency: one image alone, from its first pixel to its last pooled pixel taken,
            // minus the cycles spent taking its pixels: edges from in_last to out_last taken.
            let one = sim.run(0, &batch[..1], Traffic::FULL, &mut rng)?;
            let latency = one.cycles - token_cycles(&cfg, h_w);
            let r = sim.run(0, &batch, Traffic::FULL, &mut rng)?;
            let pixels = (images as u64) * u64::from(h_w * h_w);
            let secs = r.wall.as_secs_f64();
            let sh = shape(&cfg, h_w, 1);
            let mut ok = r.images.len() == batch.len();
            for (got, im) in r.images.iter().zip(&batch) {
                ok &= *got == golden::reference::maxpool(&im.data, &sh)?;
            }
            println!(
                "| {h_w}x{h_w}x{c} | {k}x{k}/{s} pad {p} | {images} | {:.1} | {:.3} | {latency} | {:.0} | {:.0} | {} |",
                r.cycles as f64 / images as f64,
                pixels as f64 / r.cycles as f64,
                pixels as f64 / secs,
                r.cycles as f64 / secs,
                if ok { "yes" } else { "NO" }
            );
        }
    }
    Ok(())
}
