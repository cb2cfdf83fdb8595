//! Benchmark: the wgpu golden model against the multi-threaded Rust reference.
//!
//! For GEMMs and a few typical conv layers, prints the median wall time of the
//! wgpu path (host packing, upload, kernels, read-back: everything a caller
//! waits for, but not device creation), the median time of the rayon
//! reference (`gemm_i8_par` / `conv2d_par`), and their ratio. Every result is
//! checked equal before timing.
//!
//! ```text
//! cargo run --release -p golden --bin golden_bench [-- --runs N] [-- --quick]
//! ```
//! `--quick` skips the largest workloads (1024^3 GEMM, 224x224 conv).

use std::time::{Duration, Instant};

use golden::{reference, Conv2dShape, Golden, Padding};

/// Deterministic pseudo-random int8 data (a 64-bit LCG), so runs are comparable.
fn data(len: usize, seed: u64) -> Vec<i8> {
    let mut s = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 56) as u8 as i8
        })
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median of `runs` timed calls of `f`.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

enum Work {
    Gemm(usize, usize, usize),
    Conv(&'static str, Conv2dShape),
}

impl Work {
    fn name(&self) -> String {
        match self {
            Work::Gemm(m, k, n) => format!("gemm {m}x{k}x{n}"),
            Work::Conv(name, _) => format!("conv {name}"),
        }
    }

    fn macs(&self) -> u64 {
        match self {
            Work::Gemm(m, k, n) => (m * k * n) as u64,
            Work::Conv(_, s) => (s.output_len() * s.taps()) as u64,
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let runs: usize = match args.iter().position(|a| a == "--runs") {
        Some(i) => args.get(i + 1).ok_or("--runs needs a number")?.parse()?,
        None => 5,
    };
    let runs = runs.max(1);

    let g = Golden::new()?;
    if !g.is_gpu() {
        eprintln!("golden_bench: no GPU adapter; the 'wgpu' column below is the reference");
    }
    let mut work = vec![Work::Gemm(64, 64, 64), Work::Gemm(256, 256, 256)];
    if !quick {
        work.push(Work::Gemm(1024, 1024, 1024));
    }
    work.push(Work::Conv(
        "56x56x64 -> 64 3x3 pad 1",
        Conv2dShape::new(56, 56, 64, 64, 3, 3).with_padding(Padding::uniform(1)),
    ));
    work.push(Work::Conv(
        "28x28x128 -> 128 3x3 pad 1",
        Conv2dShape::new(28, 28, 128, 128, 3, 3).with_padding(Padding::uniform(1)),
    ));
    if !quick {
        work.push(Work::Conv(
            "224x224x3 -> 32 3x3 s2 pad 1",
            Conv2dShape::new(224, 224, 3, 32, 3, 3)
                .with_stride(2, 2)
                .with_padding(Padding::uniform(1)),
        ));
    }

    println!("adapter: {}", g.backend_name());
    println!("reference: rayon, {} threads; median of {runs} runs; wgpu time includes packing, upload and read-back", rayon::current_num_threads());
    println!();
    println!(
        "| {:<34} | {:>8} | {:>10} | {:>10} | {:>9} | {:>10} |",
        "workload", "MMAC", "wgpu ms", "ref ms", "ref/wgpu", "wgpu GOP/s"
    );
    println!(
        "|{:-<36}|{:->10}|{:->12}|{:->12}|{:->11}|{:->12}|",
        "", "", "", "", "", ""
    );
    for (i, w) in work.iter().enumerate() {
        let (t_gpu, t_ref) = match w {
            Work::Gemm(m, k, n) => {
                let (m, k, n) = (*m, *k, *n);
                let (a, b) = (data(m * k, 2 * i as u64), data(k * n, 2 * i as u64 + 1));
                let want = reference::gemm_i8_par(&a, &b, m, k, n);
                if g.gemm_i8(&a, &b, m, k, n)? != want {
                    return Err(format!("{}: wgpu and reference differ", w.name()).into());
                }
                (
                    time(runs, || g.gemm_i8(&a, &b, m, k, n)),
                    time(runs, || reference::gemm_i8_par(&a, &b, m, k, n)),
                )
            }
            Work::Conv(_, s) => {
                let (x, wt) = (
                    data(s.input_len(), 2 * i as u64),
                    data(s.weight_len(), 2 * i as u64 + 1),
                );
                let bias: Vec<i32> = (0..s.c_out as i32).map(|c| c * 37 - 500).collect();
                let want = reference::conv2d_par(&x, &wt, Some(&bias), s)?;
                if g.conv2d(&x, &wt, Some(&bias), s)? != want {
                    return Err(format!("{}: wgpu and reference differ", w.name()).into());
                }
                (
                    time(runs, || g.conv2d(&x, &wt, Some(&bias), s)),
                    time(runs, || reference::conv2d_par(&x, &wt, Some(&bias), s)),
                )
            }
        };
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "| {:<34} | {:>8.1} | {:>10.2} | {:>10.2} | {:>9.2} | {:>10.1} |",
            w.name(),
            w.macs() as f64 / 1e6,
            ms(t_gpu),
            ms(t_ref),
            t_ref.as_secs_f64() / t_gpu.as_secs_f64(),
            2.0 * w.macs() as f64 / t_gpu.as_secs_f64() / 1e9,
        );
    }
    Ok(())
}
