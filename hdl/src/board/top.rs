//! The board top: pins and wiring only, so a board's constraint file has four
//! ports to place: `clk_in`, `uart_rx`, `uart_tx` and `led`.
//!
//! ```text
//! clk_in -> clock -> clk ---------------------------------------------+
//!                    locked -> reset -> rst -------------------------+|
//! uart_rx -> uart_rx -> bytes -> bridge -> beats -> systolic array   ||
//! uart_tx <- uart_tx <- bytes <- bridge <- rows  <-/                 ||
//! led     <- heartbeat, busy, error, locked                          ||
//! ```
//!
//! Every block runs on the one core clock and the one synchronous reset; the
//! only asynchronous inputs (`uart_rx`, PLL lock) are synchronized in the blocks
//! that read them.

use crate::ir::{Module, Ty};
use crate::parts::Instantiate;
use crate::GenError;

use super::{common, BoardDerived, BoardTopConfig};

/// The modules the top instantiates.
pub struct Blocks<'a> {
    pub clock: &'a Module,
    pub reset: &'a Module,
    pub uart_rx: &'a Module,
    pub uart_tx: &'a Module,
    pub bridge: &'a Module,
    pub array: &'a Module,
}

/// Build the top module `<name>`.
pub fn build(
    cfg: &BoardTopConfig,
    d: &BoardDerived,
    blocks: Blocks<'_>,
) -> Result<Module, GenError> {
    let (rows, cols) = (cfg.array.rows, cfg.array.cols);
    let mut m = Module::new(cfg.name.clone());
    m.doc(format!(
        "Board top: a {rows} x {cols} int8 systolic array behind a UART bridge ({:?} FPGA).",
        cfg.family
    ))
    .doc(format!(
        "Core clock {} Hz from a {} Hz board clock ({}); UART {} baud 8N1 ({} clocks per bit).",
        d.clock.achieved_hz,
        cfg.clock_in_hz,
        match d.clock.pll {
            super::Pll::Bypass => "no PLL",
            super::Pll::Ice40(_) => "SB_PLL40_PAD",
            super::Pll::Ecp5(_) => "EHXPLLL",
        },
        cfg.baud,
        d.clks_per_bit
    ))
    .doc("Protocol: docs/uart-protocol.md. Hold uart_rx low for two frames (a break) to reset.");
    for (i, meaning) in d.leds.iter().enumerate() {
        m.doc(format!("led[{i}]: {meaning}"));
    }

    let clk_in = m.input("clk_in", Ty::bit(), Some("Board clock"), "");
    let pins = common::uart_pins(&mut m);
    let led = common::led_port(
        &mut m,
        cfg.leds,
        "active high: heartbeat, busy, error, locked",
    );

    let clk = m.wire("clk", Ty::bit(), "core clock");
    let locked = m.wire("locked", Ty::bit(), "PLL lock (asynchronous)");
    m.inst(blocks.clock, "clock")
        .connect("clk_in", clk_in)
        .out("clk", clk)
        .out("locked", locked)
        .finish()?;

    let r = common::reset(&mut m, blocks.reset, clk, locked, "synchronous reset")?;
    let rst = r.rst;
    let uart = common::uart(
        &mut m,
        blocks.uart_rx,
        blocks.uart_tx,
        clk,
        rst,
        r.brk,
        pins,
    )?;

    let in_valid = m.wire("in_valid", Ty::bit(), "");
    let in_ready = m.wire("in_ready", Ty::bit(), "");
    let in_a = m.wire("in_a", Ty::u(d.array.in_a_bits), "");
    let in_b = m.wire("in_b", Ty::u(d.array.in_b_bits), "");
    let in_last = m.wire("in_last", Ty::bit(), "");
    let out_valid = m.wire("out_valid", Ty::bit(), "");
    let out_ready = m.wire("out_ready", Ty::bit(), "");
    let out_c = m.wire("out_c", Ty::u(d.array.out_c_bits), "");
    let out_last = m.wire("out_last", Ty::bit(), "");
    let busy = m.wire("busy", Ty::bit(), "");
    let error = m.wire("error", Ty::bit(), "");
    uart.bridge(&mut m, blocks.bridge, clk, rst)
        .out("arr_in_valid", in_valid)
        .connect("arr_in_ready", in_ready)
        .out("arr_in_a", in_a)
        .out("arr_in_b", in_b)
        .out("arr_in_last", in_last)
        .connect("arr_out_valid", out_valid)
        .out("arr_out_ready", out_ready)
        .connect("arr_out_c", out_c)
        .connect("arr_out_last", out_last)
        .out("busy", busy)
        .out("error", error)
        .finish()?;
    m.inst(blocks.array, "array")
        .connect("clk", clk)
        .connect("rst", rst)
        .connect("in_valid", in_valid)
        .out("in_ready", in_ready)
        .connect("in_a", in_a)
        .connect("in_b", in_b)
        .connect("in_last", in_last)
        .out("out_valid", out_valid)
        .connect("out_ready", out_ready)
        .out("out_c", out_c)
        .out("out_last", out_last)
        .finish()?;

    // LEDs: as many status signals as there are LEDs, the rest off.
    common::leds(
        &mut m,
        led,
        &[r.heartbeat, busy, error, locked],
        cfg.leds,
        cfg.led_active_low,
    );
    Ok(m)
}
