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

use crate::ir::{Conn, Expr, Module, SignalId, Ty};

use super::{BoardDerived, BoardTopConfig};

/// Names of the modules the top instantiates.
pub struct Blocks<'a> {
    pub clock: &'a str,
    pub reset: &'a str,
    pub uart_rx: &'a str,
    pub uart_tx: &'a str,
    pub bridge: &'a str,
    pub array: &'a str,
}

fn input(port: &str, e: impl Into<Expr>) -> (String, Conn) {
    (port.to_string(), Conn::In(e.into()))
}

fn output(port: &str, s: SignalId) -> (String, Conn) {
    (port.to_string(), Conn::Out(s))
}

/// Build the top module `<name>`.
pub fn build(cfg: &BoardTopConfig, d: &BoardDerived, blocks: Blocks<'_>) -> Module {
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
    let uart_rx = m.input(
        "uart_rx",
        Ty::bit(),
        Some("UART to the host, 8N1"),
        "from the host",
    );
    let uart_tx = m.output("uart_tx", Ty::bit(), None, "to the host");
    let led = m.output(
        "led",
        Ty::u(cfg.leds),
        Some("Status"),
        "active high: heartbeat, busy, error, locked",
    );

    let clk = m.wire("clk", Ty::bit(), "core clock");
    let locked = m.wire("locked", Ty::bit(), "PLL lock (asynchronous)");
    m.instance(
        blocks.clock,
        "clock",
        vec![
            input("clk_in", clk_in),
            output("clk", clk),
            output("locked", locked),
        ],
    );

    let rst = m.wire("rst", Ty::bit(), "synchronous reset");
    let brk = m.wire("brk", Ty::bit(), "break on uart_rx");
    let heartbeat = m.wire("heartbeat", Ty::bit(), "");
    m.instance(
        blocks.reset,
        "reset",
        vec![
            input("clk", clk),
            input("locked", locked),
            input("brk", brk),
            output("rst", rst),
            output("heartbeat", heartbeat),
        ],
    );

    let rx_valid = m.wire("rx_valid", Ty::bit(), "");
    let rx_data = m.wire("rx_data", Ty::u(8), "");
    let rx_ferr = m.wire("rx_ferr", Ty::bit(), "");
    m.instance(
        blocks.uart_rx,
        "receiver",
        vec![
            input("clk", clk),
            input("rst", rst),
            input("rx", uart_rx),
            output("valid", rx_valid),
            output("data", rx_data),
            output("ferr", rx_ferr),
            output("brk", brk),
        ],
    );

    let tx_valid = m.wire("tx_valid", Ty::bit(), "");
    let tx_ready = m.wire("tx_ready", Ty::bit(), "");
    let tx_data = m.wire("tx_data", Ty::u(8), "");
    m.instance(
        blocks.uart_tx,
        "transmitter",
        vec![
            input("clk", clk),
            input("rst", rst),
            input("valid", tx_valid),
            output("ready", tx_ready),
            input("data", tx_data),
            output("tx", uart_tx),
        ],
    );

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
    m.instance(
        blocks.bridge,
        "bridge",
        vec![
            input("clk", clk),
            input("rst", rst),
            input("rx_valid", rx_valid),
            input("rx_data", rx_data),
            input("rx_ferr", rx_ferr),
            output("tx_valid", tx_valid),
            input("tx_ready", tx_ready),
            output("tx_data", tx_data),
            output("arr_in_valid", in_valid),
            input("arr_in_ready", in_ready),
            output("arr_in_a", in_a),
            output("arr_in_b", in_b),
            output("arr_in_last", in_last),
            input("arr_out_valid", out_valid),
            output("arr_out_ready", out_ready),
            input("arr_out_c", out_c),
            input("arr_out_last", out_last),
            output("busy", busy),
            output("error", error),
        ],
    );
    m.instance(
        blocks.array,
        "array",
        vec![
            input("clk", clk),
            input("rst", rst),
            input("in_valid", in_valid),
            output("in_ready", in_ready),
            input("in_a", in_a),
            input("in_b", in_b),
            input("in_last", in_last),
            output("out_valid", out_valid),
            input("out_ready", out_ready),
            output("out_c", out_c),
            output("out_last", out_last),
        ],
    );

    // LEDs: as many status signals as there are LEDs, the rest off.
    let status = [heartbeat, busy, error, locked];
    let n = cfg.leds as usize;
    for s in status.iter().skip(n) {
        m.allow_unused(*s, "no LED left for this status signal");
    }
    let mut bits: Vec<Expr> = status.iter().take(n).map(|s| Expr::from(*s)).collect();
    if n > status.len() {
        bits.push(Expr::uconst((n - status.len()) as u32, 0));
    }
    let mask = u128::from(cfg.led_active_low) & ((1u128 << n) - 1);
    m.assign(led, Expr::concat(bits) ^ Expr::uconst(n as u32, mask));
    m
}
