//! `cargo run --release -p testbench --bin bench [-- OPTIONS]`: performance figures of
//! the systolic array (cycles, utilization, simulation speed in the Verilator harness and
//! in Icarus Verilog on the same design and stimulus) and of the generator.
//!
//! A benchmark, not a test: it prints tables and asserts nothing about speed. Every result
//! is still compared bit-exactly with the golden model (and the Icarus run's cycle count
//! with the Verilator run's), and a wrong one fails the run with exit status 1 after the
//! tables, so a fast wrong answer cannot pass unnoticed.

use std::time::Instant;

use hdl::array::ArrayConfig;
use rand::rngs::StdRng;
use rand::SeedableRng;
use testbench::array::{ArrayDut, Beats, Tile, Traffic};
use testbench::cpu_time;
use testbench::verilator::{BuildOptions, Model};

// Same allocator as the `gen` binary, so the generator timings match what users see.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TILES: usize = 8;

const USAGE: &str = "usage: bench [--sizes N,N,..] [--min-secs S] [--compare] [--threads N] \
                     [--no-icarus] [--no-gen]

  --sizes N,N,..  array sizes, N x N each (default 4,8,16)
  --min-secs S    Verilator time per table row, at least 3 runs (default 0.5)
  --compare       also measure the model built and clocked as before the simulation-speed
                  work (one evaluation function per block, one shim call per evaluation),
                  interleaved with the current one, and print the speedup
  --threads N     Verilator --threads of the measured model (default 1)
  --no-icarus     skip the Icarus Verilog columns
  --no-gen        skip the generator table";

struct Args {
    sizes: Vec<u32>,
    min_secs: f64,
    compare: bool,
    threads: u32,
    icarus: bool,
    gen: bool,
}

fn usage_error(msg: String) -> ! {
    eprintln!("bench: {msg}\n{USAGE}");
    std::process::exit(2);
}

fn parse_args() -> Args {
    let mut args = Args {
        sizes: vec![4, 8, 16],
        min_secs: 0.5,
        compare: false,
        threads: 1,
        icarus: true,
        gen: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .unwrap_or_else(|| usage_error(format!("{flag} needs a value")))
        };
        match a.as_str() {
            "--sizes" => {
                let v = value("--sizes");
                args.sizes = v
                    .split(',')
                    .map(|s| match s.trim().parse::<u32>() {
                        Ok(n) if (1..=64).contains(&n) => n,
                        _ => {
                            usage_error(format!("--sizes: `{s}` is not an array size from 1 to 64"))
                        }
                    })
                    .collect();
            }
            "--min-secs" => {
                let v = value("--min-secs");
                args.min_secs = match v.parse::<f64>() {
                    Ok(s) if s > 0.0 && s <= 600.0 => s,
                    _ => usage_error(format!(
                        "--min-secs: `{v}` is not a number of seconds in (0, 600]"
                    )),
                };
            }
            "--threads" => {
                let v = value("--threads");
                args.threads = match v.parse::<u32>() {
                    Ok(n) if (1..=64).contains(&n) => n,
                    _ => usage_error(format!("--threads: `{v}` is not a count from 1 to 64")),
                };
            }
            "--compare" => args.compare = true,
            "--no-icarus" => args.icarus = false,
            "--no-gen" => args.gen = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => usage_error(format!("unknown argument `{other}`")),
        }
    }
    args
}

fn main() {
    let args = parse_args();
    match run(&args) {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("bench: error: some results differ from the golden model (rows marked NO)");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("bench: error: {e}");
            std::process::exit(1);
        }
    }
}

/// `/proc/loadavg`'s first three fields, or a note that there is none.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

fn tool_version(program: &str, arg: &str) -> String {
    std::process::Command::new(program)
        .arg(arg)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.lines().next().map(|l| l.trim().to_string())
        })
        .unwrap_or_else(|| format!("{program}: not found"))
}

/// One run's simulated cycles, CPU and wall-clock seconds.
#[derive(Clone, Copy)]
struct Rate {
    cycles: f64,
    cpu: Option<f64>,
    wall: f64,
}

/// One timed run: its rates, whether C matched the golden model, the run's cycle count.
/// The tiles come packed into operand beats (outside the timer, as the Icarus testbench
/// reads its tiles before it starts timing).
fn timed_run(
    dut: &mut ArrayDut,
    beats: &Beats,
    golden: &[Vec<i32>],
    rng: &mut StdRng,
) -> Result<(Rate, bool, u64), Box<dyn std::error::Error>> {
    let before = dut.cycle();
    let cpu0 = cpu_time::thread();
    let t = Instant::now();
    let r = dut.run_packed(beats, Traffic::FULL, rng)?;
    let secs = t.elapsed().as_secs_f64();
    let cpu1 = cpu_time::thread();
    // Every simulated cycle counts, the drain after the last row included.
    let cycles = (dut.cycle() - before) as f64;
    Ok((
        Rate {
            cycles,
            cpu: cpu0
                .zip(cpu1)
                .map(|(a, b)| b.saturating_sub(a).as_secs_f64()),
            wall: secs,
        },
        r.c == golden,
        r.cycles,
    ))
}

/// The median of the runs' rates by CPU time if every run has one (else by wall time), and
/// by wall-clock time.
fn rates(runs: &[Rate]) -> (f64, f64) {
    let wall = median(runs.iter().map(|r| r.cycles / r.wall).collect());
    let cpu: Option<Vec<f64>> = runs
        .iter()
        .map(|r| r.cpu.filter(|&s| s > 0.0).map(|s| r.cycles / s))
        .collect();
    (cpu.map_or(wall, median), wall)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn run(args: &Args) -> Result<bool, Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(7);
    let options = {
        let mut o = BuildOptions::default();
        o.threads = args.threads;
        o
    };
    let icarus = args.icarus && testbench::icarus::available();
    let mut all_ok = true;

    println!(
        "Systolic array, {TILES} back-to-back tiles, out_ready held high, bit-exact against the golden model"
    );
    println!();
    println!(
        "- Verilator: {} ({:?})",
        tool_version("verilator", "--version"),
        options
    );
    if args.compare {
        println!("- before: {:?}", BuildOptions::legacy());
    }
    if icarus {
        println!(
            "- Icarus: {} (same Verilog, testbench/icarus/array_tb.v, the same tiles)",
            tool_version("iverilog", "-V")
        );
    } else if args.icarus {
        println!("- Icarus Verilog: `iverilog`/`vvp` not found on PATH (install the `iverilog` package); its columns are skipped");
    } else {
        println!("- Icarus Verilog: skipped (--no-icarus)");
    }
    let by_cpu = cpu_time::thread().is_some();
    println!(
        "- cycles/s: simulated cycles per second of {}; `wall`: per wall-clock second. Verilator: median of at least 3 runs and {} s, every simulated cycle counted, the tiles packed into operand beats before the timer starts; Icarus: one run, timed from after elaboration and reset to the last row",
        if by_cpu {
            "CPU time of the simulating thread or process, so that other processes on a shared machine count as little as possible"
        } else {
            "wall-clock time (this system reports no per-thread CPU time)"
        },
        args.min_secs
    );
    println!(
        "- {} CPUs, load average at start: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    println!();
    let mut header = String::from(
        "| array | K | cycles | sum(K)+R+C | utilization | Verilator cycles/s | wall |",
    );
    let mut rule = String::from("|---|---|---|---|---|---:|---:|");
    if args.compare {
        header.push_str(" before cycles/s | speedup |");
        rule.push_str("---:|---:|");
    }
    if icarus {
        header.push_str(" Icarus cycles/s | Verilator/Icarus |");
        rule.push_str("---:|---:|");
    }
    header.push_str(" correct |");
    rule.push_str("---|");
    println!("{header}");
    println!("{rule}");

    for &n in &args.sizes {
        let cfg = ArrayConfig {
            rows: n,
            cols: n,
            ..ArrayConfig::default()
        };
        let g = hdl::array::generate(&cfg)?;
        let spec = testbench::models::build_spec(&g, &cfg.name)?;
        let dut_with = |options: &BuildOptions| -> Result<ArrayDut, Box<dyn std::error::Error>> {
            let model = Model::build_with(&spec, options)?;
            Ok(ArrayDut::with_model(
                &cfg,
                g.manifest.clone(),
                g.verilog.clone(),
                model,
            )?)
        };
        let mut dut = dut_with(&options)?;
        let mut before = if args.compare {
            Some(dut_with(&BuildOptions::legacy())?)
        } else {
            None
        };
        // The Icarus run compiles the same text Verilator built: design and primitive models.
        let verilog = &spec.verilog;
        for k in [n, 4 * n, 16 * n] {
            let k = k as usize;
            let tiles: Vec<Tile> = (0..TILES)
                .map(|_| Tile::random(&mut rng, n as usize, n as usize, k))
                .collect();
            let golden: Vec<Vec<i32>> = tiles
                .iter()
                .map(|t| golden::reference::gemm_i8(&t.a, &t.b, n as usize, t.k, n as usize))
                .collect();
            let beats = dut.pack(&tiles);
            let mut ok = true;
            let (mut now_rates, mut before_rates) = (Vec::new(), Vec::new());
            let mut cycles = None;
            let start = Instant::now();
            while now_rates.len() < 3 || start.elapsed().as_secs_f64() < args.min_secs {
                let (rate, good, c) = timed_run(&mut dut, &beats, &golden, &mut rng)?;
                now_rates.push(rate);
                ok &= good && cycles.is_none_or(|prev| prev == c);
                cycles = Some(c);
                if let Some(b) = before.as_mut() {
                    let (rate, good, c) = timed_run(b, &beats, &golden, &mut rng)?;
                    before_rates.push(rate);
                    ok &= good && cycles == Some(c);
                }
            }
            let cycles = cycles.unwrap_or(0);
            let (rate, wall) = rates(&now_rates);
            let mut row = format!(
                "| {n}x{n} | {k} | {cycles} | {} | {:.1}% | {rate:.0} | {wall:.0} |",
                TILES * k + 2 * n as usize,
                100.0 * (TILES * k) as f64 / cycles as f64,
            );
            if args.compare {
                let (b, _) = rates(&before_rates);
                row.push_str(&format!(" {b:.0} | {:.2}x |", rate / b));
            }
            if icarus {
                let ic = testbench::icarus::run_array(&cfg, verilog, &tiles)?;
                ok &= ic.c == golden && ic.cycles == cycles;
                let secs = match ic.sim_cpu_time {
                    Some(t) if by_cpu => t,
                    _ => ic.sim_time,
                };
                let ic_rate = ic.cycles as f64 / secs.as_secs_f64();
                row.push_str(&format!(" {ic_rate:.0} | {:.0}x |", rate / ic_rate));
            }
            row.push_str(if ok { " yes |" } else { " NO |" });
            println!("{row}");
            all_ok &= ok;
        }
    }
    println!();
    println!("Load average at the end: {}", load_average());

    if args.gen {
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
    }
    Ok(all_ok)
}
