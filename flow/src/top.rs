//! The design that goes on the FPGA: the Verilog, its manifest, its top-level
//! ports and the core clock the timing target applies to.
//!
//! The array goes inside a board top whose ports are the board's own pins
//! (`clk_in`, `uart_rx`, `uart_tx`, `led[N-1:0]`), so every port is mapped to a
//! pin and nextpnr is never left to place IOs at random.
//!
//! `hdl::board::generate` (reset synchronizer, PLL, UART bridge) is being written
//! beside this crate. Until it lands, [`standin_board_top`] builds a top with the
//! same ports from the same IR: a pseudo-random stimulus (an LFSR stirred by
//! `uart_rx`) feeds the array and the parity of its results drives `uart_tx` and
//! the LEDs, so synthesis keeps the whole array. It has no PLL: the core runs on
//! `clk_in` and `--freq` is only the timing target. Its resource numbers are the
//! array's plus a few dozen cells, not those of the real bridge.

use serde_json::Value;

use boards::Board;
use hdl::array::ArrayConfig;
use hdl::ir::{Const, Expr, Module, Reset, Ty, UnOp};
use hdl::manifest::Manifest;

use crate::config::DesignSpec;
use crate::error::FlowError;

/// Name of the board-level top module.
pub const BOARD_TOP: &str = "board_top";

/// One port of the top module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    pub name: String,
    pub input: bool,
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
}

fn ports_of(manifest: &Manifest) -> Vec<Port> {
    manifest
        .ports
        .iter()
        .map(|p| Port {
            name: p.name.clone(),
            input: p.dir == "input",
            width: p.width,
        })
        .collect()
}

/// Generate the design for `board` at `target_hz`.
pub fn generate(board: &Board, design: &DesignSpec, target_hz: u64) -> Result<TopSource, FlowError> {
    match design {
        DesignSpec::Array(cfg) => {
            let leds = u32::try_from(board.leds.len()).unwrap_or(u32::MAX).min(8);
            let g = standin_board_top(cfg, leds)?;
            Ok(TopSource {
                top: g.manifest.top.clone(),
                ports: ports_of(&g.manifest),
                manifest_json: g.manifest.to_json(),
                verilog: g.verilog,
                core_hz: target_hz,
                board_top: true,
                note: "stand-in board top (LFSR stimulus, parity to uart_tx/LEDs, no PLL) around \
                       the array, until hdl::board lands"
                    .into(),
            })
        }
        DesignSpec::Maxpool(_) => Err(FlowError::Usage(
            "--design maxpool needs hdl::maxpool::generate, which has not landed yet".into(),
        )),
    }
}

/// The core clock recorded in a manifest (`derived.clock.achieved_hz`), if any.
pub fn manifest_core_hz(manifest: &Value) -> Option<u64> {
    manifest
        .pointer("/derived/clock/achieved_hz")
        .and_then(Value::as_u64)
}

fn reduce_xor(e: Expr) -> Expr {
    Expr::Unary(UnOp::ReduceXor, Box::new(e))
}

/// `width` bits taken from `src` (`src_width` bits wide), repeating it as needed
/// and rotating by `rot` so different consumers see different bits.
fn spread(src: Expr, src_width: u32, width: u32, rot: u32) -> Expr {
    let parts: Vec<Expr> = (0..width)
        .map(|i| src.clone().bit_at((i + rot) % src_width))
        .collect();
    Expr::concat(parts)
}

/// The temporary board top (see the module docs): ports `clk_in`, `uart_rx`,
/// `uart_tx`, `led[leds-1:0]`, the array inside.
pub fn standin_board_top(array: &ArrayConfig, leds: u32) -> Result<hdl::Generated, FlowError> {
    let mut acfg = array.clone();
    acfg.name = format!("{BOARD_TOP}_array");
    let mut design = hdl::array::design(&acfg)?;
    let d = acfg.derived();
    let leds = leds.max(1);

    let mut m = Module::new(BOARD_TOP);
    m.doc("Stand-in board top for the FPGA flow: an LFSR stirred by uart_rx feeds the");
    m.doc("array, and the parity of its results drives uart_tx and the LEDs, so that");
    m.doc("synthesis keeps every PE. No PLL: the core runs on clk_in.");
    let clk = m.input("clk_in", Ty::bit(), Some("Board clock"), "board oscillator");
    let rx = m.input("uart_rx", Ty::bit(), Some("Host UART"), "stirs the stimulus");
    let tx = m.output("uart_tx", Ty::bit(), None, "parity of the results");
    let led = m.output("led", Ty::u(leds), Some("LEDs"), "parity of result slices");

    // Power-on reset: held until the counter saturates (FPGA registers start at 0).
    let por = m.reg("por_count", Ty::u(4), "power-on reset counter");
    let por_done = m.wire_of("por_done", Expr::from(por).reduce_and(), "counter saturated");
    m.clocked(
        por,
        clk,
        Expr::from(por) + Expr::concat(vec![!Expr::from(por_done), Expr::uconst(3, 0)]),
        None,
        None,
    );
    let rst = m.wire_of("rst", !Expr::from(por_done), "reset while counting");

    // 32-bit Fibonacci LFSR (taps 32, 22, 2, 1), with uart_rx mixed in.
    let lfsr = m.reg("lfsr", Ty::u(32), "stimulus");
    let fb = Expr::from(lfsr).bit_at(31)
        ^ Expr::from(lfsr).bit_at(21)
        ^ Expr::from(lfsr).bit_at(1)
        ^ Expr::from(lfsr).bit_at(0)
        ^ Expr::from(rx);
    m.clocked(
        lfsr,
        clk,
        Expr::concat(vec![fb, Expr::from(lfsr).slice(0, 31)]),
        None,
        Some(Reset {
            rst,
            value: Const {
                ty: Ty::u(32),
                bits: 1,
            },
        }),
    );

    let in_ready = m.wire("in_ready", Ty::bit(), "");
    let out_valid = m.wire("out_valid", Ty::bit(), "");
    let out_last = m.wire("out_last", Ty::bit(), "");
    let out_c = m.wire("out_c", Ty::u(d.out_c_bits), "");
    m.allow_unused(in_ready, "the stimulus never waits");
    use hdl::ir::Conn;
    let l = || Expr::from(lfsr);
    m.instance(
        &acfg.name,
        "array",
        vec![
            ("clk".into(), Conn::In(clk.into())),
            ("rst".into(), Conn::In(rst.into())),
            ("in_valid".into(), Conn::In(Expr::bit(true))),
            ("in_ready".into(), Conn::Out(in_ready)),
            ("in_a".into(), Conn::In(spread(l(), 32, d.in_a_bits, 0))),
            ("in_b".into(), Conn::In(spread(l(), 32, d.in_b_bits, 13))),
            ("in_last".into(), Conn::In(l().bit_at(7) & l().bit_at(19))),
            ("out_valid".into(), Conn::Out(out_valid)),
            ("out_ready".into(), Conn::In(Expr::bit(true))),
            ("out_c".into(), Conn::Out(out_c)),
            ("out_last".into(), Conn::Out(out_last)),
        ],
    );

    // Parity of the results, registered.
    let tx_reg = m.reg("tx_reg", Ty::bit(), "");
    m.clocked(
        tx_reg,
        clk,
        reduce_xor(out_c.into()) ^ Expr::from(out_valid) ^ Expr::from(out_last),
        None,
        None,
    );
    m.assign(tx, tx_reg);
    let led_reg = m.reg("led_reg", Ty::u(leds), "");
    let chunk = d.out_c_bits.div_ceil(leds);
    let bits: Vec<Expr> = (0..leds)
        .map(|i| {
            let lo = (i * chunk).min(d.out_c_bits - 1);
            let w = chunk.min(d.out_c_bits - lo);
            reduce_xor(Expr::from(out_c).slice(lo, w))
        })
        .collect();
    m.clocked(led_reg, clk, Expr::concat(bits), Some(out_valid.into()), None);
    m.assign(led, led_reg);

    design.top = BOARD_TOP.into();
    design.modules.insert(0, m);
    let manifest = Manifest::new("board_top_standin", &acfg, &d, &design)?;
    design.header = manifest.header_lines();
    let verilog = hdl::verilog::print(&design).map_err(hdl::GenError::from)?;
    Ok(hdl::Generated {
        design,
        verilog,
        manifest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standin_top_has_the_board_ports() {
        let cfg = ArrayConfig {
            rows: 2,
            cols: 3,
            name: "systolic_array".into(),
        };
        let g = standin_board_top(&cfg, 2).unwrap_or_else(|e| panic!("{e}"));
        let ports: Vec<(String, u32)> = g
            .manifest
            .ports
            .iter()
            .map(|p| (p.name.clone(), p.width))
            .collect();
        assert_eq!(
            ports,
            [
                ("clk_in".to_string(), 1),
                ("uart_rx".into(), 1),
                ("uart_tx".into(), 1),
                ("led".into(), 2)
            ]
        );
        assert!(g.verilog.contains("module board_top ("));
        assert!(g.verilog.contains("module board_top_array ("));
    }

    #[test]
    fn bit_names_follow_nextpnr() {
        let p = Port {
            name: "led".into(),
            input: false,
            width: 2,
        };
        assert_eq!(p.bit_names(), ["led[0]", "led[1]"]);
        let p = Port {
            name: "clk_in".into(),
            input: true,
            width: 1,
        };
        assert_eq!(p.bit_names(), ["clk_in"]);
    }
}
