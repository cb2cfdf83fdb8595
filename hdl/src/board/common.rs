//! Wiring both board tops share (the array's [`super::top`] and the engine's
//! [`super::engine::top`]): the UART pins, the reset block, the receiver and
//! transmitter, the bridge's UART ports and the LED port. One place, so the two
//! tops keep the same pins, names and status encoding.

use crate::ir::{Expr, Module, SignalId, Ty};
use crate::parts::{Inst, Instantiate};
use crate::GenError;

/// The UART pins: `uart_rx` in, `uart_tx` out.
pub(crate) fn uart_pins(m: &mut Module) -> (SignalId, SignalId) {
    let uart_rx = m.input(
        "uart_rx",
        Ty::bit(),
        Some("UART to the host, 8N1"),
        "from the host",
    );
    let uart_tx = m.output("uart_tx", Ty::bit(), None, "to the host");
    (uart_rx, uart_tx)
}

/// The `led` port, `leds` wide; `meaning` lists the status bits in order.
pub(crate) fn led_port(m: &mut Module, leds: u32, meaning: &str) -> SignalId {
    m.output("led", Ty::u(leds), Some("Status"), meaning)
}

/// The reset block's outputs.
pub(crate) struct ResetWires {
    pub rst: SignalId,
    pub brk: SignalId,
    pub heartbeat: SignalId,
}

/// Instantiate the reset block as `reset` on `clk`; `rst_doc` says which
/// domain its reset is.
pub(crate) fn reset(
    m: &mut Module,
    block: &Module,
    clk: SignalId,
    locked: SignalId,
    rst_doc: &str,
) -> Result<ResetWires, GenError> {
    let rst = m.wire("rst", Ty::bit(), rst_doc);
    let brk = m.wire("brk", Ty::bit(), "break on uart_rx");
    let heartbeat = m.wire("heartbeat", Ty::bit(), "");
    m.inst(block, "reset")
        .connect("clk", clk)
        .connect("locked", locked)
        .connect("brk", brk)
        .out("rst", rst)
        .out("heartbeat", heartbeat)
        .finish()?;
    Ok(ResetWires {
        rst,
        brk,
        heartbeat,
    })
}

/// The byte streams between the UART blocks and the bridge.
pub(crate) struct UartWires {
    pub rx_valid: SignalId,
    pub rx_data: SignalId,
    pub rx_ferr: SignalId,
    pub tx_valid: SignalId,
    pub tx_ready: SignalId,
    pub tx_data: SignalId,
}

/// Instantiate the receiver and the transmitter on `clk`/`rst` between the
/// pins and the bridge; the receiver drives `brk`.
pub(crate) fn uart(
    m: &mut Module,
    rx_block: &Module,
    tx_block: &Module,
    clk: SignalId,
    rst: SignalId,
    brk: SignalId,
    (uart_rx, uart_tx): (SignalId, SignalId),
) -> Result<UartWires, GenError> {
    let rx_valid = m.wire("rx_valid", Ty::bit(), "");
    let rx_data = m.wire("rx_data", Ty::u(8), "");
    let rx_ferr = m.wire("rx_ferr", Ty::bit(), "");
    m.inst(rx_block, "receiver")
        .connect("clk", clk)
        .connect("rst", rst)
        .connect("rx", uart_rx)
        .out("valid", rx_valid)
        .out("data", rx_data)
        .out("ferr", rx_ferr)
        .out("brk", brk)
        .finish()?;
    let tx_valid = m.wire("tx_valid", Ty::bit(), "");
    let tx_ready = m.wire("tx_ready", Ty::bit(), "");
    let tx_data = m.wire("tx_data", Ty::u(8), "");
    m.inst(tx_block, "transmitter")
        .connect("clk", clk)
        .connect("rst", rst)
        .connect("valid", tx_valid)
        .out("ready", tx_ready)
        .connect("data", tx_data)
        .out("tx", uart_tx)
        .finish()?;
    Ok(UartWires {
        rx_valid,
        rx_data,
        rx_ferr,
        tx_valid,
        tx_ready,
        tx_data,
    })
}

impl UartWires {
    /// Start the bridge's instance `bridge` with its clock, reset and UART
    /// ports connected; the caller adds the ports of what is behind it.
    pub(crate) fn bridge<'a>(
        &self,
        m: &'a mut Module,
        block: &Module,
        clk: SignalId,
        rst: SignalId,
    ) -> Inst<'a> {
        m.inst(block, "bridge")
            .connect("clk", clk)
            .connect("rst", rst)
            .connect("rx_valid", self.rx_valid)
            .connect("rx_data", self.rx_data)
            .connect("rx_ferr", self.rx_ferr)
            .out("tx_valid", self.tx_valid)
            .connect("tx_ready", self.tx_ready)
            .out("tx_data", self.tx_data)
    }
}

/// Drive `led` from as many `status` signals as there are LEDs (the rest
/// off), inverting the active-low ones so every LED reads "on = true".
pub(crate) fn leds(m: &mut Module, led: SignalId, status: &[SignalId], leds: u32, active_low: u32) {
    let n = leds as usize;
    for s in status.iter().skip(n) {
        m.allow_unused(*s, "no LED left for this status signal");
    }
    let mut bits: Vec<Expr> = status.iter().take(n).map(|s| Expr::from(*s)).collect();
    if n > status.len() {
        bits.push(Expr::uconst((n - status.len()) as u32, 0));
    }
    let mask = u128::from(active_low) & ((1u128 << n) - 1);
    m.assign(led, Expr::concat(bits) ^ Expr::uconst(n as u32, mask));
}
