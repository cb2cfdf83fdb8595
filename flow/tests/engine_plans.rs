//! The engine's board top on every board, planned without running any tool
//! (what CI checks): the files, the engine clock's PLL in the Verilog and in
//! nextpnr's `--freq`, the bridge on the board clock, every top port pinned.

use std::path::PathBuf;

use boards::{Board, Family};
use flow::config::{design_from, DesignSpec, FlowConfig, RawDesign};
use flow::plan::StepKind;

fn plan_engine(board: &Board, engine_hz: u64) -> flow::plan::Plan {
    let cfg = FlowConfig {
        board: board.clone(),
        design: DesignSpec::Engine(hdl::board::engine::small_engine(4, 4)),
        target_hz: engine_hz,
        seeds: vec![1],
        out_dir: PathBuf::from("build").join(format!("test-engine-{}", board.name)),
        allow_timing_fail: false,
    };
    flow::plan_for(&cfg, &flow::tools::ToolPaths::plain())
        .unwrap_or_else(|e| panic!("plan for {}: {e}", board.name))
}

#[test]
fn engine_board_top_plans_on_every_board() {
    for (name, engine_hz, pll) in [
        ("icebreaker", 24_000_000, "SB_PLL40_2_PAD #("),
        ("ice40-hx8k", 24_000_000, "SB_PLL40_CORE #("),
        ("ulx3s", 50_000_000, "EHXPLLL #("),
    ] {
        let board = boards::get(name).unwrap_or_else(|e| panic!("{e}"));
        let p = plan_engine(&board, engine_hz);
        let v = &p.file("board_top.v").expect("verilog").contents;
        assert!(v.contains("module board_top ("), "{name}");
        assert!(v.contains(pll), "{name}: the engine clock's PLL");
        assert!(v.contains("module engine ("), "{name}: the engine inside");
        let m: serde_json::Value = serde_json::from_str(
            &p.file("board_top.manifest.json")
                .expect("manifest")
                .contents,
        )
        .expect("json");
        assert_eq!(
            m["derived"]["engine_clock"]["achieved_hz"], engine_hz,
            "{name}"
        );
        assert_eq!(
            m["derived"]["bridge_clock"]["achieved_hz"], board.clock.hz,
            "{name}: the bridge runs on the board clock"
        );
        let ports: Vec<&str> = m["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .map(|p| p["name"].as_str().expect("name"))
            .collect();
        assert_eq!(ports, ["clk_in", "uart_rx", "uart_tx", "led"], "{name}");
        let cons = match board.family {
            Family::Ice40 => &p.file("board_top.pcf").expect("pcf").contents,
            Family::Ecp5 => &p.file("board_top.lpf").expect("lpf").contents,
        };
        for pin in [&board.clock.pin, &board.uart.rx, &board.uart.tx] {
            assert!(
                cons.contains(pin.as_str()),
                "{name}: pin {pin} not constrained"
            );
        }
        let kinds: Vec<StepKind> = p.steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                StepKind::Synth,
                StepKind::PlaceRoute { seed: 1 },
                StepKind::Pack { seed: 1 }
            ],
            "{name}"
        );
        let pnr = &p.steps[1].args;
        let i = pnr.iter().position(|a| a == "--freq").expect("--freq");
        assert_eq!(
            pnr[i + 1],
            (engine_hz / 1_000_000).to_string(),
            "{name}: placement aims at the engine clock"
        );
        assert!(p.describe().contains("engine 4x4"), "{name}");
    }
}

#[test]
fn engine_design_flags() {
    let mut raw = RawDesign {
        design: Some("engine".into()),
        ..RawDesign::default()
    };
    raw.array.rows = Some("2".into());
    raw.array.cols = Some("3".into());
    match design_from(&raw).expect("valid") {
        DesignSpec::Engine(e) => assert_eq!((e.rows, e.cols, e.mem_bits), (2, 3, 32)),
        other => panic!("{other:?}"),
    }
    raw.array.rows = None;
    let e = design_from(&raw).expect_err("rows");
    assert!(e.to_string().contains("--rows is required"), "{e}");
    raw.array.rows = Some("65".into());
    let e = design_from(&raw).expect_err("too large");
    assert!(e.to_string().contains("--rows"), "{e}");
}

/// The engine's own flags (`gencli::flags::EngineFlags`, shared with `gen`)
/// reach the planned engine: its manifest shows the values given, the rest
/// keep the board's small defaults.
#[test]
fn engine_flags_reach_the_planned_engine() {
    use clap::Parser;
    let cli = flow::args::RawCli::try_parse_from([
        "flow",
        "--board",
        "ulx3s",
        "--design",
        "engine",
        "--rows",
        "4",
        "--mem-bits",
        "64",
        "--ibuf-bytes",
        "2048",
        "--wbuf-rows",
        "512",
        "--plan-only",
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let cfg = flow::config::flow_from(&cli.run.to_raw_flow()).unwrap_or_else(|e| panic!("{e}"));
    let DesignSpec::Engine(e) = &cfg.design else {
        panic!("{:?}", cfg.design)
    };
    let small = hdl::board::engine::small_engine(4, 4);
    assert_eq!(
        (e.mem_bits, e.ibuf_bytes, e.wbuf_rows, e.max_inflight),
        (64, 2048, 512, small.max_inflight)
    );
    let p =
        flow::plan_for(&cfg, &flow::tools::ToolPaths::plain()).unwrap_or_else(|e| panic!("{e}"));
    let m: serde_json::Value = serde_json::from_str(
        &p.file("board_top.manifest.json")
            .expect("manifest")
            .contents,
    )
    .expect("json");
    let engine = m
        .pointer("/config/engine")
        .unwrap_or_else(|| panic!("no config.engine in {m}"));
    assert_eq!(engine["mem_bits"], 64);
    assert_eq!(engine["ibuf_bytes"], 2048);
    assert_eq!(engine["wbuf_rows"], 512);
    assert_eq!(engine["max_inflight"], small.max_inflight);
}

/// An engine flag with a bad value names its rule; with another design it is
/// refused rather than ignored.
#[test]
fn engine_flags_are_checked() {
    let raw = |design: &str, flag: fn(&mut gencli::flags::EngineFlags)| {
        let mut r = RawDesign {
            design: Some(design.into()),
            ..RawDesign::default()
        };
        r.array.rows = Some("4".into());
        flag(&mut r.engine);
        r
    };
    let e = design_from(&raw("engine", |f| f.mem_bits = Some("48".into()))).expect_err("48");
    assert_eq!(
        e.to_string(),
        "--mem-bits must be one of 32, 64, 128, got 48"
    );
    let e = design_from(&raw("engine", |f| f.ibuf_bytes = Some("1002".into()))).expect_err("ibuf");
    assert!(e.to_string().starts_with("--ibuf-bytes must be"), "{e}");
    for design in ["array", "maxpool"] {
        let e =
            design_from(&raw(design, |f| f.wbuf_rows = Some("512".into()))).expect_err("foreign");
        assert_eq!(
            e.to_string(),
            format!("--wbuf-rows applies to --design engine only, got it with {design}")
        );
    }
}
