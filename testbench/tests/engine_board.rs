//! The engine's board top in simulation, reached only through its pins: the
//! host crate's own protocol and `run` code (`host::engine`), a UART bit-banger
//! on `uart_rx`/`uart_tx`, the bridge, the clock-domain crossing, the engine
//! and its on-chip memory, with the bridge and the engine on two clocks the
//! test drives at unrelated rates. The classes (and the whole output tensor)
//! must equal the golden model's, computed layer by layer with
//! `golden::reference::layer_reference` from the network file's fields.
//!
//! The bridge runs at 1 MHz with 8 clocks per bit (125 kbaud); a 4 x 4 engine
//! with a 32-bit memory port, 4 KB of memory.

use std::time::Instant;

use compiler::Network;
use contracts::uart::{
    CMD_GEMM, CMD_MEM_READ, CMD_REG_WRITE, ERR_BAD_CRC, ERR_BAD_LENGTH, ERR_UNKNOWN_CMD,
    KIND_ENGINE,
};
use golden::{ConvLayer, Padding};
use hdl::board::engine::{small_engine, EngineBoardConfig, EngineClock, MemKind, PllInput};
use hdl::board::Family;
use host::frame::{self, Response};
use host::{Board, HostError, Options};
use testbench::uart::SimBoard;

fn sim_cfg() -> EngineBoardConfig {
    EngineBoardConfig {
        name: "board_top".into(),
        family: Family::Ice40,
        clock_in_hz: 1_000_000,
        engine_hz: 1_250_000,
        engine_clock: EngineClock::Pin,
        pll_input: PllInput::Pad,
        baud: 125_000,
        engine: small_engine(4, 4),
        mem_bytes: 4096,
        memory: MemKind::BlockRam,
        leds: 5,
        led_active_low: 0,
    }
}

fn connect(sim: SimBoard) -> Board<SimBoard> {
    let opts = Options {
        baud: sim.baud,
        reset: true,
        slack: std::time::Duration::from_millis(20),
    };
    Board::connect(sim, opts).unwrap_or_else(|e| panic!("connect: {e}"))
}

/// The network's output by golden's reference, layer by layer, each golden
/// layer built here from the file's fields.
fn golden_chain(net: &Network, input: &[i8]) -> Vec<i8> {
    let mut shape = (
        net.input.h as usize,
        net.input.w as usize,
        net.input.c as usize,
    );
    let mut x = input.to_vec();
    for l in &net.layers {
        if l.flatten {
            shape = (1, 1, shape.0 * shape.1 * shape.2);
        }
        let z = |v: u32| v as usize;
        let c = ConvLayer::new(shape.0, shape.1, shape.2, z(l.out_c), z(l.k_h), z(l.k_w))
            .with_stride(z(l.stride_h), z(l.stride_w))
            .with_dilation(z(l.dil_h), z(l.dil_w))
            .with_padding(Padding {
                top: z(l.pad_t),
                bottom: z(l.pad_b),
                left: z(l.pad_l),
                right: z(l.pad_r),
            })
            .with_relu(l.relu)
            .with_pool(z(l.pool_k), z(l.pool_s), z(l.pool_pad))
            .with_requant(l.bias.clone(), l.mult.clone(), l.shift.clone());
        x = golden::reference::layer_reference(&c, &x, &l.weights)
            .unwrap_or_else(|e| panic!("golden layer {}: {e}", l.name));
        shape = (c.h_o(), c.w_o(), c.out_c);
    }
    x
}

/// The committed, trained `digits-cnn` (a missing or broken model file fails
/// the test: it must never quietly run on other weights).
fn model() -> digits::ModelFile {
    digits::ModelFile::open("digits-cnn").unwrap_or_else(|e| panic!("models/digits-cnn.json: {e}"))
}

/// Infer `s` through the board's host code; the whole output tensor must be
/// the golden model's.
fn infer_checked(
    board: &mut Board<SimBoard>,
    loaded: &host::engine::Loaded,
    m: &digits::ModelFile,
    s: &digits::Sample,
) -> host::engine::Inference {
    let input = m.image(s);
    let got = host::engine::infer(board, loaded, &input).unwrap_or_else(|e| {
        panic!(
            "image {}: {e}; {}",
            s.index,
            board.link().model.trace_note()
        )
    });
    assert_eq!(
        got.output,
        golden_chain(&m.network, &input),
        "image {}: output tensor",
        s.index
    );
    got
}

/// The `host run` loop itself over `samples`: its classes are the golden
/// model's.
fn classify_checked(
    board: &mut Board<SimBoard>,
    loaded: &host::engine::Loaded,
    m: &digits::ModelFile,
    samples: &[digits::Sample],
) -> host::engine::RunSummary {
    let r = host::engine::classify(board, loaded, m, samples, |_, _| {})
        .unwrap_or_else(|e| panic!("classify: {e}"));
    let want: Vec<u8> = samples
        .iter()
        .map(|s| digits::argmax(&golden_chain(&m.network, &m.image(s))))
        .collect();
    assert_eq!(r.classes, want, "classes of `host::engine::classify`");
    r
}

/// Send a hand-made frame and expect one ERROR response with `code`.
fn expect_error(board: &mut Board<SimBoard>, bytes: &[u8], code: u8, cmd: u8, what: &str) {
    board.send(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
    let t = board.timeout_for(bytes.len() + 16);
    match board.read_response(t) {
        Ok(Response::Error { code: c, cmd: m }) => assert_eq!(
            (c, m),
            (code, cmd),
            "{what}: error {} to command {m:#04x}",
            frame::error_name(c)
        ),
        other => panic!("{what}: expected error {code}, got {other:?}"),
    }
}

/// digits-cnn on test images through the board, engine clock 1.25x the bridge's.
#[test]
fn engine_board_runs_digits_cnn_like_the_golden_model() {
    let t0 = Instant::now();
    let cfg = sim_cfg();
    let sim = SimBoard::engine(&cfg, 5, 4).unwrap_or_else(|e| panic!("{e}"));
    let build = t0.elapsed();
    let mut board = connect(sim);
    let info = board.info().clone();
    assert_eq!(info.kind, KIND_ENGINE);
    assert_eq!((info.rows, info.cols, info.mem_bits), (4, 4, 32));
    assert_eq!((info.mem_bytes, info.engine_hz), (4096, 1_250_000));
    assert_eq!((info.clock_hz, info.baud), (1_000_000, 125_000));

    let m = model();
    let loaded = host::engine::load(&mut board, &m.network).unwrap_or_else(|e| panic!("{e}"));
    // The image is in memory as written (MEM_READ of its first 128 bytes:
    // the descriptors and the first weights).
    let n = loaded.program.image.len().min(128);
    let back = board.mem_read(0, n).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, loaded.program.image[..n], "memory read back");

    let data = digits::Dataset::load().unwrap_or_else(|e| panic!("{e}"));
    let images = std::env::var("TB_BOARD_IMAGES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3usize);
    for s in data.test.iter().take(images) {
        let got = infer_checked(&mut board, &loaded, &m, s);
        let want = golden_chain(&m.network, &m.image(s));
        assert_eq!(digits::argmax(&got.output), digits::argmax(&want));
        assert!(got.cycles > 0, "the cycles counter counted");
        eprintln!(
            "image {}: label {}, class {}, {} engine cycles, {} polls, scores {:?}",
            s.index,
            s.label,
            digits::argmax(&got.output),
            got.cycles,
            got.polls,
            got.output
        );
    }
    let samples = &data.test[images..images + 2];
    let r = classify_checked(&mut board, &loaded, &m, samples);
    assert_eq!(
        r.correct,
        samples
            .iter()
            .zip(&r.classes)
            .filter(|(s, c)| s.label == **c)
            .count()
    );
    assert!(
        board.link().leds() >> 4 & 1 == 1,
        "irq LED: the engine is done"
    );
    assert_eq!(board.link().framing_errors, 0);
    eprintln!(
        "engine board: build {:.1} s, simulation {:.1} s for {} bridge clocks",
        build.as_secs_f64(),
        (t0.elapsed() - build).as_secs_f64(),
        board.link().cycle()
    );
}

/// The iCE40 UltraPlus memory: four SB_SPRAM256KA (128 KB, two banks of two),
/// through their simulation model: bytes in both banks, and digits-cnn.
#[test]
fn engine_board_on_spram() {
    let cfg = EngineBoardConfig {
        mem_bytes: 131_072,
        memory: MemKind::Spram,
        ..sim_cfg()
    };
    let sim = SimBoard::engine(&cfg, 5, 3).unwrap_or_else(|e| panic!("{e}"));
    assert!(sim.verilog.contains("SB_SPRAM256KA"));
    let mut board = connect(sim);
    assert_eq!(board.info().mem_bytes, 131_072);
    let bytes: Vec<u8> = (0..21u32).map(|i| (i * 91 + 3) as u8).collect();
    for addr in [3u32, 65_530, 131_072 - 21] {
        board.mem_write(addr, &bytes).expect("write");
    }
    for addr in [3u32, 65_530, 131_072 - 21] {
        assert_eq!(board.mem_read(addr, 21).expect("read"), bytes, "at {addr}");
    }
    let m = model();
    let loaded = host::engine::load(&mut board, &m.network).unwrap_or_else(|e| panic!("{e}"));
    let data = digits::Dataset::load().unwrap_or_else(|e| panic!("{e}"));
    for s in data.test.iter().skip(20).take(2) {
        infer_checked(&mut board, &loaded, &m, s);
    }
}

/// The icebreaker's build: the area-first engine (`control = micro`, 2 x 2,
/// SB_MAC16 products, one requantization lane) on the SPRAM, digits-cnn
/// through the host's protocol and `classify` loop.
#[test]
fn engine_board_micro_on_spram() {
    let cfg = EngineBoardConfig {
        mem_bytes: 131_072,
        memory: MemKind::Spram,
        engine: hdl::engine::EngineConfig {
            control: hdl::engine::Control::Micro,
            dsp_cell: hdl::array::DspCell::Ice40,
            requant_lanes: Some(1),
            addr_bits: hdl::engine::config::MICRO_MAX_ADDR_BITS,
            ..small_engine(2, 2)
        },
        ..sim_cfg()
    };
    let sim = SimBoard::engine(&cfg, 5, 3).unwrap_or_else(|e| panic!("{e}"));
    let mut board = connect(sim);
    assert_eq!((board.info().rows, board.info().cols), (2, 2));
    let m = model();
    let loaded = host::engine::load(&mut board, &m.network).unwrap_or_else(|e| panic!("{e}"));
    let data = digits::Dataset::load().unwrap_or_else(|e| panic!("{e}"));
    for s in data.test.iter().skip(30).take(2) {
        let got = infer_checked(&mut board, &loaded, &m, s);
        eprintln!(
            "micro engine, image {}: {} engine cycles",
            s.index, got.cycles
        );
    }
    classify_checked(&mut board, &loaded, &m, &data.test[40..42]);
}

/// Register and memory commands, the errors, and an engine clock slower than
/// the bridge's (the other direction of the crossing's ratio).
#[test]
fn engine_board_commands_and_errors() {
    let cfg = sim_cfg();
    let sim = SimBoard::engine(&cfg, 3, 7).unwrap_or_else(|e| panic!("{e}"));
    let mut board = connect(sim);
    let pm = contracts::engine::ProgrammingModel::new(32);
    let off = |n: &str| pm.reg_offset(n).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        board.reg_read(off("id")).expect("id"),
        contracts::engine::ID
    );
    let c0 = board.reg_read(off("config0")).expect("config0");
    assert_eq!(pm.reg_field("config0", "rows", c0).expect("field"), 4);
    assert_eq!(pm.reg_field("config0", "mem_bits", c0).expect("field"), 32);
    board.reg_write(off("desc_addr"), 0x40).expect("write");
    board.reg_write(off("desc_count"), 7).expect("write");
    assert_eq!(board.reg_read(off("desc_addr")).expect("read"), 0x40);
    assert_eq!(board.reg_read(off("desc_count")).expect("read"), 7);

    // Memory: unaligned bytes across words, read back whole and in part.
    let bytes: Vec<u8> = (0..37u32).map(|i| (i * 37 + 5) as u8).collect();
    board.mem_write(4093 - 37, &bytes).expect("mem write");
    assert_eq!(board.mem_read(4093 - 37, 37).expect("read"), bytes);
    assert_eq!(board.mem_read(4093 - 30, 3).expect("read"), bytes[7..10]);
    board.mem_write_chunked(100, &bytes, 5).expect("chunks");
    assert_eq!(board.mem_read(100, 37).expect("read"), bytes);

    // A REG_WRITE with a bad CRC is not applied.
    let mut f = frame::reg_write_request(off("desc_count") as u8, 99);
    *f.last_mut().expect("crc") ^= 1;
    expect_error(
        &mut board,
        &f,
        ERR_BAD_CRC,
        CMD_REG_WRITE,
        "REG_WRITE bad CRC",
    );
    assert_eq!(board.reg_read(off("desc_count")).expect("read"), 7);
    assert!(board.link().leds() >> 2 & 1 == 1, "error LED");
    // Lengths and commands.
    let f = frame::request(CMD_REG_WRITE, &[0x10, 1, 2]).expect("fits");
    expect_error(
        &mut board,
        &f,
        ERR_BAD_LENGTH,
        CMD_REG_WRITE,
        "short REG_WRITE",
    );
    let f = frame::request(CMD_MEM_READ, &[0, 0, 0, 0, 0, 0]).expect("fits");
    expect_error(
        &mut board,
        &f,
        ERR_BAD_LENGTH,
        CMD_MEM_READ,
        "MEM_READ of 0 bytes",
    );
    let f = frame::gemm_request(4, 4, 1, &[0; 4], &[0; 4]).expect("fits");
    expect_error(
        &mut board,
        &f,
        ERR_UNKNOWN_CMD,
        CMD_GEMM,
        "GEMM on the engine board",
    );
    // After every error the board still answers.
    assert_eq!(board.reg_read(off("desc_addr")).expect("read"), 0x40);
    // Host-side checks: past the memory, before anything is sent.
    assert!(matches!(
        board.mem_read(4090, 10),
        Err(HostError::Request(_))
    ));
}

/// Verilator -Wall and yosys (`proc; check -assert`, no latches) on the engine
/// board top with each clocking: simulation pins, iCE40 PLL (SB_PLL40_2_PAD),
/// ECP5 PLL (EHXPLLL). Vendor primitives are checked against stubs.
#[test]
fn engine_board_lint_and_synth_clean() {
    let ice = EngineBoardConfig {
        clock_in_hz: 12_000_000,
        engine_hz: 24_000_000,
        engine_clock: EngineClock::Pll,
        baud: 115_200,
        ..sim_cfg()
    };
    let ecp = EngineBoardConfig {
        family: Family::Ecp5,
        clock_in_hz: 25_000_000,
        engine_hz: 50_000_000,
        engine_clock: EngineClock::Pll,
        baud: 115_200,
        leds: 8,
        ..sim_cfg()
    };
    let hx8k = EngineBoardConfig {
        pll_input: PllInput::Fabric,
        ..ice.clone()
    };
    let up5k = EngineBoardConfig {
        mem_bytes: 131_072,
        memory: MemKind::Spram,
        ..ice.clone()
    };
    for (label, cfg, primitive) in [
        ("engine-board-sim", sim_cfg(), None),
        ("engine-board-up5k", up5k, Some("SB_SPRAM256KA spram1_1")),
        ("engine-board-hx8k", hx8k, Some("SB_PLL40_CORE #(")),
        ("engine-board-ice40", ice, Some("SB_PLL40_2_PAD #(")),
        ("engine-board-ecp5", ecp, Some("EHXPLLL #(")),
    ] {
        let g = hdl::board::engine::generate(&cfg).unwrap_or_else(|e| panic!("{label}: {e}"));
        if let Some(p) = primitive {
            assert!(g.verilog.contains(p), "{label}: no {p}");
        }
        assert_eq!(g.design.top, cfg.name, "{label}");
        testbench::models::lint_with_models(label, &g.design, &g.verilog)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
    }
}
