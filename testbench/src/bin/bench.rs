//! `cargo run --release -p testbench --bin bench`: performance figures of the
//! systolic array (cycles, utilization, simulation speed) and of the generator.
//! A benchmark, not a test: it prints a table and asserts nothing about speed.

use std::time::Instant;

use hdl::array::ArrayConfig;
use rand::rngs::StdRng;
use rand::SeedableRng;
use testbench::array::{ArrayDut, Tile, Traffic};

// Same allocator as the `gen` binary, so the generator timings match what users see.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TILES: usize = 8;

fn main() {
    if let Err(e) = run() {
        eprintln!("bench: error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(7);
    println!("Systolic array, {TILES} back-to-back tiles, out_ready held high (Verilator 5, -O2)");
    println!();
    println!("| array | K | cycles | sum(K)+R+C | utilization | sim cycles/s | correct |");
    println!("|---|---|---|---|---|---|---|");
    for n in [4u32, 8, 16] {
        let cfg = ArrayConfig {
            rows: n,
            cols: n,
            ..ArrayConfig::default()
        };
        let mut dut = ArrayDut::new(&cfg)?;
        for k in [n, 4 * n, 16 * n] {
            let k = k as usize;
            let tiles: Vec<Tile> = (0..TILES)
                .map(|_| Tile::random(&mut rng, n as usize, n as usize, k))
                .collect();
            let t = Instant::now();
            let r = dut.run(&tiles, Traffic::FULL, &mut rng)?;
            let secs = t.elapsed().as_secs_f64();
            let ok = r.c.iter().zip(&tiles).all(|(c, t)| {
                *c == golden::reference::gemm_i8(&t.a, &t.b, n as usize, t.k, n as usize)
            });
            let useful = (TILES * k) as f64; // MACs / (rows*cols)
            println!(
                "| {n}x{n} | {k} | {} | {} | {:.1}% | {:.0} | {} |",
                r.cycles,
                TILES * k + 2 * n as usize,
                100.0 * useful / r.cycles as f64,
                r.cycles as f64 / secs,
                if ok { "yes" } else { "NO" }
            );
        }
    }
    println!();
    println!("Generator (IR build + checks + Verilog print), median of 5");
    println!();
    println!("| array | time | Verilog bytes |");
    println!("|---|---|---|");
    for n in [16u32, 64, 256] {
        let cfg = ArrayConfig {
            rows: n,
            cols: n,
            ..ArrayConfig::default()
        };
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let g = hdl::array::generate(&cfg)?;
            times.push(t.elapsed().as_secs_f64());
            bytes = g.verilog.len();
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!("| {n}x{n} | {:.1} ms | {bytes} |", times[2] * 1e3);
    }
    Ok(())
}
