//! The `host` binary end to end: a pseudo-terminal stands in for the board's USB
//! UART and the Verilated board top sits on its other side, so the real command
//! line, serial-port code, protocol and GEMM tiling run against the generated RTL.

use std::io::{Read, Write};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use hdl::array::ArrayConfig;
use hdl::board::engine::{small_engine, EngineBoardConfig, EngineClock};
use hdl::board::{BoardTopConfig, Family};
use host::Link;
use serialport::{SerialPort, TTYPort};
use testbench::uart::SimBoard;

const BAUD: u32 = 125_000;

/// A simulated 4 x 4 board behind a pty; dropping it stops the simulation.
struct PtyBoard {
    path: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl PtyBoard {
    /// A 4 x 4 array board.
    fn start() -> PtyBoard {
        PtyBoard::start_with(|| {
            let cfg = BoardTopConfig {
                clock_in_hz: 1_000_000,
                target_hz: 1_000_000,
                baud: BAUD,
                family: Family::Ice40,
                array: ArrayConfig {
                    rows: 4,
                    cols: 4,
                    name: "systolic_array".into(),
                    ..ArrayConfig::default()
                },
                ..BoardTopConfig::default()
            };
            SimBoard::new(&cfg).map_err(|e| format!("board: {e}"))
        })
    }

    /// A 4 x 4 engine board, the engine clock 1.25 times the bridge's.
    fn start_engine() -> PtyBoard {
        PtyBoard::start_with(|| {
            let cfg = EngineBoardConfig {
                clock_in_hz: 1_000_000,
                engine_hz: 1_250_000,
                engine_clock: EngineClock::Pin,
                baud: BAUD,
                engine: small_engine(4, 4),
                mem_bytes: 4096,
                ..EngineBoardConfig::default()
            };
            SimBoard::engine(&cfg, 5, 4).map_err(|e| format!("board: {e}"))
        })
    }

    /// The board `make` builds, behind a pty.
    fn start_with(make: fn() -> Result<SimBoard, String>) -> PtyBoard {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_sim = stop.clone();
        // A Verilated model stays on the thread that made it.
        let thread = std::thread::spawn(move || -> Result<(), String> {
            let fail = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");
            let mut sim = make()?;
            // A pty carries no break: reset the simulated board here instead.
            sim.send_break().map_err(|e| fail("break", &e))?;
            let (mut master, slave) = TTYPort::pair().map_err(|e| fail("pty", &e))?;
            let name = slave.name().ok_or("the pty has no name")?;
            master
                .set_timeout(Duration::from_millis(1))
                .map_err(|e| fail("pty", &e))?;
            let _ = tx.send(name);
            let mut buf = [0u8; 4096];
            let mut active_until = 0;
            while !stop_sim.load(Ordering::Relaxed) {
                if let Ok(n) = master.read(&mut buf) {
                    if n > 0 {
                        sim.send(&buf[..n]).map_err(|e| fail("to the board", &e))?;
                        active_until = sim.cycle() + 1000 * sim.clks_per_bit();
                    }
                }
                // Simulate while a request is in progress and a while after.
                if sim.leds() & 2 != 0 || sim.cycle() < active_until {
                    sim.run(500);
                } else {
                    std::thread::sleep(Duration::from_millis(1));
                }
                let n = sim.pending();
                if n > 0 {
                    let mut out = vec![0u8; n];
                    sim.recv_exact(&mut out, Duration::ZERO)
                        .map_err(|e| fail("from the board", &e))?;
                    master.write_all(&out).map_err(|e| fail("pty", &e))?;
                }
            }
            drop(slave);
            Ok(())
        });
        let path = match rx.recv_timeout(Duration::from_secs(300)) {
            Ok(p) => p,
            Err(_) => match thread.join() {
                Ok(Err(e)) => panic!("simulated board failed: {e}"),
                _ => panic!("simulated board did not start"),
            },
        };
        PtyBoard {
            path,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for PtyBoard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            if let Ok(Err(e)) = t.join() {
                if !std::thread::panicking() {
                    panic!("simulated board failed: {e}");
                }
            }
        }
    }
}

fn host(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_host"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run host: {e}"))
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn info_and_gemm_through_a_pty() {
    let board = PtyBoard::start();
    let baud = BAUD.to_string();
    // Generous slack: the simulation runs slower than the 1 MHz it pretends.
    let common = ["--port", &board.path, "--baud", &baud, "--slack-ms", "5000"];

    let o = host(&[&common[..], &["info"]].concat());
    let (out, err) = text(&o);
    assert!(o.status.success(), "info failed: {out}{err}");
    assert!(
        out.contains("board: 4 x 4 int8 systolic array, protocol 2")
            && out.contains("core clock 1000000 Hz, 125000 baud"),
        "{out}"
    );

    let o = host(
        &[
            &common[..],
            &["gemm", "--m", "6", "--k", "9", "--n", "7", "--seed", "3"],
        ]
        .concat(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "gemm failed: {out}{err}");
    assert!(out.contains("GEMM 6x9 * 9x7 (seed 3): 4 tiles"), "{out}");
    assert!(
        out.contains("PASS: C (6 x 7) matches golden::reference::gemm_i8 bit-exactly"),
        "{out}"
    );
    assert!(out.contains("throughput:"), "{out}");
}

/// `host run` on an engine board: load the model, classify two test images.
#[test]
fn run_on_an_engine_board_through_a_pty() {
    let board = PtyBoard::start_engine();
    let baud = BAUD.to_string();
    let common = ["--port", &board.path, "--baud", &baud, "--slack-ms", "5000"];
    let o = host(&[&common[..], &["info"]].concat());
    let (out, err) = text(&o);
    assert!(o.status.success(), "info failed: {out}{err}");
    assert!(
        out.contains("board: 4 x 4 int8 conv/FC engine, 4096 bytes of 32-bit memory, protocol 2")
            && out.contains("engine clock 1250000 Hz, bridge clock 1000000 Hz"),
        "{out}"
    );
    let run = ["run", "--model", "random-digits-cnn", "--images", "2"];
    let o = host(&[&common[..], &run[..]].concat());
    let (out, err) = text(&o);
    assert!(o.status.success(), "run failed: {out}{err}");
    assert!(out.contains("model digits-cnn-random: 3 layers"), "{out}");
    assert!(out.contains("accuracy: "), "{out}");
    assert!(out.contains(" / 2 = "), "{out}");
    assert!(out.contains("cycles per image"), "{out}");
    // The first layer im2col'ed (the host packs each input): the same
    // classes, so the same accuracy line.
    let accuracy = |out: &str| {
        out.lines()
            .find(|l| l.contains("accuracy: "))
            .map(str::to_string)
    };
    let im2col = [&run[..], &["--first-layer", "im2col"]].concat();
    let o2 = host(&[&common[..], &im2col[..]].concat());
    let (out2, err2) = text(&o2);
    assert!(
        o2.status.success(),
        "run --first-layer im2col failed: {out2}{err2}"
    );
    assert!(accuracy(&out).is_some());
    assert_eq!(accuracy(&out2), accuracy(&out), "{out2}");
    // An array board has no engine: a clear error, exit 1.
    drop(board);
    let board = PtyBoard::start();
    let common = ["--port", &board.path, "--baud", &baud, "--slack-ms", "5000"];
    let o = host(&[&common[..], &run[..]].concat());
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(err.contains("needs an engine board"), "{err}");
}

#[test]
fn clear_errors_without_a_board() {
    let o = host(&["--port", "/dev/no-such-port", "info"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        err.contains("cannot open serial port /dev/no-such-port")
            && err.contains("is the board plugged in?"),
        "{err}"
    );
    let o = host(&[
        "--port",
        "/dev/null",
        "gemm",
        "--m",
        "0",
        "--k",
        "1",
        "--n",
        "1",
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "a usage error: exit 2");
    assert!(err.contains("--m, --k and --n must be at least 1"), "{err}");
    let o = host(&["--port", "/dev/null", "run", "--images", "0"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--images must be at least 1, got 0"), "{err}");
    let o = host(&["--port", "/dev/null", "run", "--first-layer", "sideways"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`sideways` is not one of direct, im2col-rows, im2col"),
        "{err}"
    );
    let o = host(&["--port", "/dev/null", "run", "--model", "nosuch"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("unknown model `nosuch`"), "{err}");
    let o = host(&["info"]);
    assert_eq!(o.status.code(), Some(2), "usage errors exit 2");

    // A port with nobody on the other side: the read deadline, not a hang.
    let (_master, slave) = TTYPort::pair().expect("pty");
    let path = slave.name().expect("pty name");
    let o = host(&["--port", &path, "--no-reset", "--slack-ms", "100", "info"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(err.contains("timed out after"), "{err}");
}
