//! `host`: talk to a board running the generated bitstream over its USB UART.
//!
//! ```text
//! host --port /dev/ttyUSB1 [--baud 115200] info
//! host --port /dev/ttyUSB1 [--baud 115200] gemm --m M --k K --n N [--seed S]
//! host --port /dev/ttyUSB1 [--baud 115200] run --model digits-cnn [--images N]
//! ```
//!
//! `gemm` (array board) sends a random int8 GEMM (tiled to the board's array,
//! any shape), checks C against `golden::reference::gemm_i8`, and prints PASS
//! or FAIL with the throughput. `run` (engine board) compiles a model file
//! (`digits-cnn`, `lenet5`, a path, or `random-digits-cnn` for random weights of
//! the digits-cnn topology), loads it into the board's memory, classifies the
//! test split (or its first N images) and prints the accuracy, the engine's
//! cycles per image and images/s over the UART and at the engine's clock.
//! Results go to stdout, diagnostics to stderr; exit status 0 on success/PASS,
//! 1 on FAIL or error, 2 on bad usage.

mod serial;

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use host::{Board, HostError, Options};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use serial::SerialLink;

#[derive(Parser, Debug)]
#[command(
    name = "host",
    version,
    about = "Send int8 GEMMs to a board running the generated systolic array, over UART"
)]
struct Cli {
    /// Serial port of the board, e.g. /dev/ttyUSB1
    #[arg(long, value_name = "PATH")]
    port: String,
    /// Baud rate (must match the bitstream)
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
    /// Do not send a break (which resets the board) before the session
    #[arg(long)]
    no_reset: bool,
    /// Extra time allowed for each response, in milliseconds
    #[arg(long, default_value_t = 500, value_name = "MS")]
    slack_ms: u64,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Print what the board reports: array size, generator version, clock, baud
    Info,
    /// Run a random GEMM C = A * B (A: m x k, B: k x n) and check it
    Gemm {
        #[arg(long)]
        m: usize,
        #[arg(long)]
        k: usize,
        #[arg(long)]
        n: usize,
        /// Seed of the random operands
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Classify the digits test split on an engine board
    Run {
        /// Model: digits-cnn, lenet5, a path to a model file, or random-digits-cnn
        #[arg(long, default_value = "digits-cnn")]
        model: String,
        /// Only the first N test images (default: all)
        #[arg(long)]
        images: Option<usize>,
        /// First layer: direct (as written), im2col-rows or im2col (the host
        /// packs a larger input per image; more UART bytes)
        #[arg(long, default_value = "direct", value_parser = parse_first_layer)]
        first_layer: compiler::FirstLayer,
    },
}

fn parse_first_layer(s: &str) -> Result<compiler::FirstLayer, String> {
    s.parse()
}

/// Print to stdout; a closed pipe (`host ... | head`) is not an error.
macro_rules! out {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let model = match usage(&cli) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("host: error: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&cli, model) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("host: {e}");
            ExitCode::from(1)
        }
    }
}

/// The model `run` classifies with.
fn open_model(name: &str) -> Result<digits::ModelFile, HostError> {
    if name == "random-digits-cnn" {
        return Ok(host::engine::random_digits_cnn(1));
    }
    digits::ModelFile::open(name).map_err(|e| HostError::Request(e.to_string()))
}

/// Usage errors: exit 2, before the port is opened.
fn usage(cli: &Cli) -> Result<Option<digits::ModelFile>, String> {
    match &cli.cmd {
        Cmd::Gemm { m, k, n, .. } if *m == 0 || *k == 0 || *n == 0 => Err(format!(
            "--m, --k and --n must be at least 1, got {m}, {k}, {n}"
        )),
        Cmd::Run {
            images: Some(0), ..
        } => Err("--images must be at least 1, got 0".into()),
        Cmd::Run { model, .. } => open_model(model).map(Some).map_err(|e| e.to_string()),
        _ => Ok(None),
    }
}

/// `run`: classify the test split on an engine board.
fn run_model<L: host::Link>(
    board: &mut Board<L>,
    model: &digits::ModelFile,
    images: Option<usize>,
    first_layer: compiler::FirstLayer,
) -> Result<bool, HostError> {
    let data = digits::Dataset::load().map_err(|e| HostError::Request(e.to_string()))?;
    let n = images.unwrap_or(data.test.len()).min(data.test.len());
    let t0 = Instant::now();
    let loaded = host::engine::load_with(board, &model.network, first_layer)?;
    out!(
        "model {}: {} layers, {} bytes loaded in {:.2} s",
        model.name(),
        model.network.layers.len(),
        loaded.program.image.len(),
        t0.elapsed().as_secs_f64()
    );
    let r = host::engine::classify(board, &loaded, model, &data.test[..n], |done, total| {
        if done % 50 == 0 {
            eprintln!("host: {done} / {total} images");
        }
    })?;
    let (correct, secs) = (r.correct, r.secs.max(1e-9));
    let per = r.cycles_per_image();
    let hz = f64::from(board.info().engine_hz);
    out!(
        "accuracy: {correct} / {n} = {:.2}% (test split, rows with index % 5 == 0)",
        100.0 * correct as f64 / n as f64
    );
    out!(
        "engine: {per:.0} cycles per image = {:.0} images/s at its {} Hz clock",
        hz / per.max(1.0),
        board.info().engine_hz
    );
    out!(
        "through the UART: {:.2} images/s ({n} images in {secs:.2} s; the line, not the engine, bounds this)",
        n as f64 / secs
    );
    Ok(true)
}

/// Ok(true) on success/PASS, Ok(false) on FAIL.
fn run(cli: &Cli, model: Option<digits::ModelFile>) -> Result<bool, HostError> {
    let link = SerialLink::open(&cli.port, cli.baud)?;
    let opts = Options {
        baud: cli.baud,
        reset: !cli.no_reset,
        slack: Duration::from_millis(cli.slack_ms),
    };
    let mut board = Board::connect(link, opts)?;
    let info = board.info().clone();
    if info.is_engine() {
        out!(
            "board: {} x {} int8 conv/FC engine, {} bytes of {}-bit memory, protocol {}, generator {}, engine clock {} Hz, bridge clock {} Hz, {} baud",
            info.rows,
            info.cols,
            info.mem_bytes,
            info.mem_bits,
            info.protocol,
            info.version_string(),
            info.engine_hz,
            info.clock_hz,
            info.baud
        );
    } else {
        out!(
            "board: {} x {} int8 systolic array, protocol {}, generator {}, core clock {} Hz, {} baud",
            info.rows,
            info.cols,
            info.protocol,
            info.version_string(),
            info.clock_hz,
            info.baud
        );
    }
    if info.baud != cli.baud {
        eprintln!(
            "host: warning: the bitstream was built for {} baud, the port runs at {}",
            info.baud, cli.baud
        );
    }
    if info.version != contracts::uart::version_bytes(contracts::VERSION) {
        eprintln!(
            "host: note: the bitstream comes from generator {}, this host is {}",
            info.version_string(),
            contracts::VERSION
        );
    }
    if let (
        Cmd::Run {
            images,
            first_layer,
            ..
        },
        Some(model),
    ) = (&cli.cmd, &model)
    {
        return run_model(&mut board, model, *images, *first_layer);
    }
    let Cmd::Gemm { m, k, n, seed } = cli.cmd else {
        return Ok(true);
    };

    let mut rng = StdRng::seed_from_u64(seed);
    let a: Vec<i8> = (0..m * k).map(|_| rng.gen()).collect();
    let b: Vec<i8> = (0..k * n).map(|_| rng.gen()).collect();
    let before = board.stats();
    let t0 = Instant::now();
    let c = board.gemm(&a, &b, m, k, n)?;
    let secs = t0.elapsed().as_secs_f64().max(1e-9);
    let s = board.stats();
    let (sent, received) = (
        s.bytes_sent - before.bytes_sent,
        s.bytes_received - before.bytes_received,
    );
    let macs = (m * k * n) as f64;
    let line = (sent.max(received) * 10) as f64 / f64::from(cli.baud);
    out!(
        "GEMM {m}x{k} * {k}x{n} (seed {seed}): {} tiles, sent {sent} B, received {received} B in {secs:.3} s",
        s.tiles - before.tiles
    );
    out!(
        "throughput: {:.0} MAC/s, {:.0} B/s; the UART alone needs {line:.3} s ({:.0}% of the time)",
        macs / secs,
        (sent + received) as f64 / secs,
        100.0 * line / secs
    );
    let want = golden::reference::gemm_i8(&a, &b, m, k, n);
    match c.iter().zip(&want).position(|(x, y)| x != y) {
        None => {
            out!("PASS: C ({m} x {n}) matches golden::reference::gemm_i8 bit-exactly");
            Ok(true)
        }
        Some(i) => {
            let bad = c.iter().zip(&want).filter(|(x, y)| x != y).count();
            out!(
                "FAIL: {bad} of {} values differ; first C[{}][{}]: board {} golden {}",
                c.len(),
                i / n,
                i % n,
                c[i],
                want[i]
            );
            Ok(false)
        }
    }
}
