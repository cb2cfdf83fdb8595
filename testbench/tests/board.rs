//! The whole board path in simulation: the host crate's protocol and GEMM code,
//! a UART bit-banger on the pins of the Verilated board top, the bridge, the
//! systolic array and back, compared bit-exactly with the golden model. Plus the
//! tool checks (Verilator -Wall, yosys) of the board top with each clocking.
//!
//! Simulated boards run at 1 MHz with 8 clocks per bit (125 kbaud) so a tile
//! costs tens of thousands of clocks, not millions; the design is the same one
//! a real board gets, minus the PLL.

use std::time::{Duration, Instant};

use hdl::array::ArrayConfig;
use hdl::board::protocol::{
    self, CMD_GEMM, CMD_INFO, ERR_BAD_CRC, ERR_BAD_LENGTH, ERR_UNKNOWN_CMD,
};
use hdl::board::{BoardTopConfig, Family};
use host::frame::{self, Response};
use host::{Board, HostError, Link, Options};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use testbench::uart::SimBoard;

fn seed(base: u64) -> u64 {
    std::env::var("TB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(base)
}

fn sim_cfg(rows: u32, cols: u32) -> BoardTopConfig {
    BoardTopConfig {
        name: "board_top".into(),
        family: Family::Ice40,
        clock_in_hz: 1_000_000,
        target_hz: 1_000_000,
        baud: 125_000,
        array: ArrayConfig {
            rows,
            cols,
            name: "systolic_array".into(),
            ..ArrayConfig::default()
        },
        leds: 4,
        led_active_low: 0,
    }
}

/// Break (reset) and INFO, as the `host` binary opens a session.
fn connect(sim: SimBoard) -> Board<SimBoard> {
    let opts = Options {
        baud: sim.baud,
        reset: true,
        // Simulated time: 2 ms is 2000 clocks, far more than the bridge ever needs.
        slack: Duration::from_millis(2),
    };
    Board::connect(sim, opts).unwrap_or_else(|e| panic!("connect: {e}"))
}

fn golden(a: &[i8], b: &[i8], m: usize, k: usize, n: usize) -> Vec<i32> {
    golden::checked_gemm_i8(a, b, m, k, n).unwrap_or_else(|e| panic!("golden model: {e}"))
}

fn random(rng: &mut StdRng, len: usize) -> Vec<i8> {
    (0..len).map(|_| rng.gen()).collect()
}

/// One tile through the board, checked against the golden model.
fn check_tile(board: &mut Board<SimBoard>, k: usize, a: &[i8], b: &[i8], what: &str) {
    let (rows, cols) = (board.info().rows, board.info().cols);
    let got = board
        .gemm_tile(k, a, b)
        .unwrap_or_else(|e| panic!("{what}: {e}; {}", board.link().model.trace_note()));
    let want = golden(a, b, rows, k, cols);
    assert_eq!(
        got,
        want,
        "{what}: K = {k}; {}",
        board.link().model.trace_note()
    );
}

/// Send a hand-made frame and expect one ERROR response with `code`.
fn expect_error(board: &mut Board<SimBoard>, bytes: &[u8], code: u8, cmd: u8, what: &str) {
    board.send(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
    let t = board.timeout_for(16);
    match board.read_response(t) {
        Ok(Response::Error { code: c, cmd: m }) => {
            assert_eq!(
                (c, m),
                (code, cmd),
                "{what}: error {} to command {m:#04x}",
                frame::error_name(c)
            )
        }
        other => panic!("{what}: expected error {code}, got {other:?}"),
    }
}

fn led(board: &mut Board<SimBoard>, bit: u32) -> bool {
    board.link().leds() >> bit & 1 == 1
}

/// INFO, tiles with K = 1, K < ROWS, K > ROWS and -128 edge values, then every
/// kind of bad frame, each answered with its error and followed by a good tile.
#[test]
fn board_2x2_info_gemm_errors_and_recovery() {
    let t0 = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed(21));
    let cfg = sim_cfg(2, 2);
    let sim = SimBoard::new(&cfg).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sim.clks_per_bit(), 8);
    let build = t0.elapsed();
    let mut board = connect(sim);
    let info = board.info().clone();
    assert_eq!((info.rows, info.cols), (2, 2));
    assert_eq!((info.clock_hz, info.baud), (1_000_000, 125_000));
    assert_eq!(info.version, protocol::version_bytes(hdl::VERSION));
    assert!(led(&mut board, 3), "PLL-locked LED");
    assert!(!led(&mut board, 2), "no error yet");

    for k in [1, 2, 3, 5, 9] {
        let (a, b) = (random(&mut rng, 2 * k), random(&mut rng, k * 2));
        check_tile(&mut board, k, &a, &b, "random tile");
    }
    let edge = vec![-128i8; 2 * 7];
    check_tile(&mut board, 7, &edge, &edge, "-128 x -128");
    let mixed: Vec<i8> = (0..2 * 4)
        .map(|i| if i % 3 == 0 { -128 } else { 127 })
        .collect();
    check_tile(&mut board, 4, &mixed, &mixed, "-128 and 127");

    // Corrupted CRC of an INFO request.
    let mut f = frame::info_request();
    f[4] ^= 0x5A;
    expect_error(&mut board, &f, ERR_BAD_CRC, CMD_INFO, "INFO with bad CRC");
    assert!(led(&mut board, 2), "the error LED lights");
    assert_eq!(board.query_info().expect("INFO after a bad frame"), info);

    // A GEMM whose payload was corrupted on the way: its tile is computed (the
    // beats already went in) but the rows are discarded, and the next GEMM is clean.
    let (a, b) = (random(&mut rng, 2 * 6), random(&mut rng, 6 * 2));
    let mut f = frame::gemm_request(2, 2, 6, &a, &b).expect("valid");
    f[9] ^= 0x01;
    expect_error(
        &mut board,
        &f,
        ERR_BAD_CRC,
        CMD_GEMM,
        "GEMM with a flipped bit",
    );
    check_tile(&mut board, 6, &a, &b, "GEMM after a discarded tile");
    // The same with a wrong CRC byte and K = 1 (the held beat is the only one).
    let mut f = frame::gemm_request(2, 2, 1, &a[..2], &b[..2]).expect("valid");
    *f.last_mut().expect("CRC") ^= 0xFF;
    expect_error(&mut board, &f, ERR_BAD_CRC, CMD_GEMM, "GEMM with a bad CRC");

    // Unknown command with a payload: skipped by its length.
    let f = frame::request(0x42, &[1, 2, 3]).expect("fits");
    expect_error(&mut board, &f, ERR_UNKNOWN_CMD, 0x42, "unknown command");
    // Lengths that do not fit the command.
    let f = frame::request(CMD_INFO, &[0]).expect("fits");
    expect_error(
        &mut board,
        &f,
        ERR_BAD_LENGTH,
        CMD_INFO,
        "INFO with a payload",
    );
    let f = frame::request(CMD_GEMM, &[0, 0]).expect("fits");
    expect_error(&mut board, &f, ERR_BAD_LENGTH, CMD_GEMM, "GEMM with K = 0");
    let f = frame::request(CMD_GEMM, &[2, 0, 1, 2, 3, 4]).expect("fits");
    expect_error(
        &mut board,
        &f,
        ERR_BAD_LENGTH,
        CMD_GEMM,
        "GEMM shorter than K says",
    );
    let f = frame::request(CMD_GEMM, &[7]).expect("fits");
    expect_error(&mut board, &f, ERR_BAD_LENGTH, CMD_GEMM, "GEMM without K");
    check_tile(
        &mut board,
        3,
        &a[..6],
        &b[..6],
        "GEMM after the length errors",
    );

    // Garbage before a frame is skipped while hunting for the sync byte.
    let mut f = vec![0x00, 0xFF, 0x13];
    f.extend(frame::info_request());
    board.send(&f).expect("send");
    let t = board.timeout_for(32);
    assert_eq!(
        board.read_response(t).expect("INFO"),
        Response::Info(info.clone())
    );

    // Half a GEMM frame, then the host gives up: a break resets the board.
    let f = frame::gemm_request(2, 2, 6, &a, &b).expect("valid");
    board.send(&f[..f.len() / 2]).expect("send");
    assert!(led(&mut board, 1), "busy in the middle of a frame");
    let t = board.timeout_for(4);
    assert!(matches!(
        board.read_response(t),
        Err(HostError::Link(host::LinkError::Timeout { got: 0, .. }))
    ));
    board.link().send_break().expect("break");
    assert!(
        !led(&mut board, 1) && !led(&mut board, 2),
        "reset clears busy and error"
    );
    assert_eq!(board.query_info().expect("INFO after the break"), info);
    check_tile(&mut board, 6, &a, &b, "GEMM after the break");
    assert_eq!(board.link().framing_errors, 0);
    eprintln!(
        "2x2 board: build {:.1} s, simulation {:.1} s for {} clocks",
        build.as_secs_f64(),
        (t0.elapsed() - build).as_secs_f64(),
        board.link().cycle()
    );
}

/// Whole GEMMs of shapes that need padding and several tiles, through the same
/// routine the `host` binary runs on hardware.
fn gemm_any_shape(cfg: BoardTopConfig, seed_base: u64) {
    let (rows, cols) = (cfg.array.rows, cfg.array.cols);
    let t0 = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed(seed_base));
    let sim = SimBoard::new(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let build = t0.elapsed();
    let mut board = connect(sim);
    let (r, c) = (rows as usize, cols as usize);
    assert_eq!((board.info().rows, board.info().cols), (r, c));
    for (m, k, n) in [(6, 9, 7), (r, 1, c), (1, 13, 2), (5, 2, 9)] {
        let (a, b) = (random(&mut rng, m * k), random(&mut rng, k * n));
        let got = board
            .gemm(&a, &b, m, k, n)
            .unwrap_or_else(|e| panic!("{rows}x{cols}: {m}x{k}x{n}: {e}"));
        assert_eq!(got, golden(&a, &b, m, k, n), "{rows}x{cols}: {m}x{k}x{n}");
    }
    // -128 x -128 everywhere: the largest products, K = 20 sums to 327680.
    let (a, b) = (vec![-128i8; r * 20], vec![-128i8; 20 * c]);
    check_tile(&mut board, 20, &a, &b, "-128 x -128, K = 20");
    assert_eq!(board.link().framing_errors, 0);
    eprintln!(
        "{rows}x{cols} board: build {:.1} s, simulation {:.1} s for {} clocks, {} tiles",
        build.as_secs_f64(),
        (t0.elapsed() - build).as_secs_f64(),
        board.link().cycle(),
        board.stats().tiles
    );
}

#[test]
fn board_4x4_gemm_any_shape() {
    gemm_any_shape(sim_cfg(4, 4), 22);
}

/// Rows != cols: a mix-up of A's and B's lanes or of row and column order shows.
/// With the deepest PE pipeline and the ECP5 multiplier blocks (through their
/// simulation model), as the ULX3S flow builds it.
#[test]
fn board_3x5_gemm_any_shape() {
    let mut cfg = sim_cfg(3, 5);
    cfg.array.pipeline = hdl::array::config::MAX_PIPELINE;
    cfg.array.dsp_cell = hdl::array::DspCell::Ecp5;
    gemm_any_shape(cfg, 24);
}

/// The receiver samples mid-bit: a host 2% slow or fast still gets through.
#[test]
fn board_tolerates_baud_mismatch() {
    let mut rng = StdRng::seed_from_u64(seed(23));
    for error in [0.02, -0.02] {
        let mut sim = SimBoard::new(&sim_cfg(2, 2)).unwrap_or_else(|e| panic!("{e}"));
        sim.set_host_baud_error(error);
        let mut board = connect(sim);
        let (a, b) = (random(&mut rng, 2 * 5), random(&mut rng, 5 * 2));
        check_tile(&mut board, 5, &a, &b, &format!("host baud off by {error}"));
    }
}

/// Verilator -Wall and yosys (`proc; check -assert`, no latches) on the board top
/// with each clocking. Vendor PLLs are black boxes to both tools, so the design
/// is checked together with lint-only stubs declaring the primitives' ports and
/// parameters (`hdl::verilog::print_extern_stubs`): every connection and
/// parameter name is still checked, only the primitive's inside is not.
#[test]
fn board_top_lint_and_synth_clean() {
    let sim = sim_cfg(2, 2);
    let icebreaker = BoardTopConfig {
        clock_in_hz: 12_000_000,
        target_hz: 30_000_000,
        baud: 115_200,
        ..sim_cfg(4, 4)
    };
    let ulx3s = BoardTopConfig {
        family: Family::Ecp5,
        clock_in_hz: 25_000_000,
        target_hz: 100_000_000,
        baud: 115_200,
        leds: 8,
        ..sim_cfg(3, 5)
    };
    for (label, cfg, primitive) in [
        ("board-sim", sim, None),
        ("board-ice40", icebreaker, Some("SB_PLL40_PAD #(")),
        ("board-ecp5", ulx3s, Some("EHXPLLL #(")),
    ] {
        let g = hdl::board::generate(&cfg).unwrap_or_else(|e| panic!("{label}: {e}"));
        if let Some(p) = primitive {
            assert!(g.verilog.contains(p), "{label}: no {p}");
        }
        assert_eq!(g.design.top, cfg.name, "{label}");
        testbench::models::lint_with_models(label, &g.design, &g.verilog)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
    }
}

/// The Link is only a byte pipe: a request split across many sends and a
/// response read byte by byte work the same.
#[test]
fn board_link_is_a_byte_pipe() {
    let sim = SimBoard::new(&sim_cfg(2, 2)).unwrap_or_else(|e| panic!("{e}"));
    let mut board = connect(sim);
    let f = frame::info_request();
    for b in &f {
        board.link().send(std::slice::from_ref(b)).expect("send");
        board.link().run(37);
    }
    let mut got = Vec::new();
    for _ in 0..protocol::FRAME_OVERHEAD + protocol::InfoLayout::LEN {
        let mut b = [0u8];
        board
            .link()
            .recv_exact(&mut b, Duration::from_millis(5))
            .expect("a byte");
        got.push(b[0]);
    }
    let (r, rest) = frame::decode_frame(&got).expect("a frame");
    assert!(rest.is_empty());
    assert_eq!(r, Response::Info(board.info().clone()));
}
