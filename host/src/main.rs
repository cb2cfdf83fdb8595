//! `host`: talk to a board running the generated bitstream over its USB UART.
//!
//! ```text
//! host --port /dev/ttyUSB1 [--baud 115200] info
//! host --port /dev/ttyUSB1 [--baud 115200] gemm --m M --k K --n N [--seed S]
//! ```
//!
//! `gemm` sends a random int8 GEMM (tiled to the board's array, any shape),
//! checks C against `golden::reference::gemm_i8`, and prints PASS or FAIL with
//! the throughput. Results go to stdout, diagnostics to stderr; exit status 0
//! on PASS, 1 on FAIL or error, 2 on bad usage.

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
}

/// Print to stdout; a closed pipe (`host ... | head`) is not an error.
macro_rules! out {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("host: {e}");
            ExitCode::from(1)
        }
    }
}

/// Ok(true) on success/PASS, Ok(false) on FAIL.
fn run(cli: &Cli) -> Result<bool, HostError> {
    if let Cmd::Gemm { m, k, n, .. } = cli.cmd {
        if m == 0 || k == 0 || n == 0 {
            return Err(HostError::Request(format!(
                "--m, --k and --n must be at least 1, got {m}, {k}, {n}"
            )));
        }
    }
    let link = SerialLink::open(&cli.port, cli.baud)?;
    let opts = Options {
        baud: cli.baud,
        reset: !cli.no_reset,
        slack: Duration::from_millis(cli.slack_ms),
    };
    let mut board = Board::connect(link, opts)?;
    let info = board.info().clone();
    out!(
        "board: {} x {} int8 systolic array, protocol {}, generator {}, core clock {} Hz, {} baud",
        info.rows,
        info.cols,
        info.protocol,
        info.version_string(),
        info.clock_hz,
        info.baud
    );
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
