//! The engine board top: pins and wiring only. Pins `clk_in`, `uart_rx`,
//! `uart_tx` and `led` (plus `clk_engine` when the engine clock is a pin).
//!
//! Two clock domains: the bridge (clock, reset, UART, parser) on `clk_bridge`,
//! the engine, its memory and the access block on `clk_engine`. They meet only
//! in the handshake crossing (`cdc`), the engine reset's synchronizer and the
//! irq's synchronizer in the bridge; nothing else crosses.

use crate::ir::{Module, Ty};
use crate::parts::bundle::{CsrPort, MemPort};
use crate::parts::Instantiate;
use crate::GenError;

use super::super::common;
use super::cdc::{REQ_BITS, RESP_BITS};
use super::{EngineBoardConfig, EngineBoardDerived, EngineClock};

/// The modules the top instantiates.
pub struct Blocks<'a> {
    pub clock: &'a Module,
    pub reset: &'a Module,
    pub uart_rx: &'a Module,
    pub uart_tx: &'a Module,
    pub bridge: &'a Module,
    pub cdc: &'a Module,
    pub rst_sync: &'a Module,
    pub access: &'a Module,
    pub mem: &'a Module,
    pub engine: &'a Module,
}

/// Build the top module `<name>`.
pub fn build(
    cfg: &EngineBoardConfig,
    d: &EngineBoardDerived,
    b: Blocks<'_>,
) -> Result<Module, GenError> {
    let e = &cfg.engine;
    let mut m = Module::new(cfg.name.clone());
    m.doc(format!(
        "Engine board top: a {} x {} conv/FC engine with {} bytes of on-chip memory behind a UART bridge ({:?} FPGA).",
        e.rows, e.cols, cfg.mem_bytes, cfg.family
    ))
    .doc(format!(
        "Bridge clock {} Hz (the board clock), UART {} baud 8N1 ({} clocks per bit); engine clock {} Hz ({}).",
        d.bridge_clock.achieved_hz,
        cfg.baud,
        d.clks_per_bit,
        d.engine_clock.achieved_hz,
        d.engine_clock_source
    ))
    .doc("Protocol: docs/uart-protocol.md (version 2). Hold uart_rx low for two frames (a break) to reset.");
    for (i, meaning) in d.leds.iter().enumerate() {
        m.doc(format!("led[{i}]: {meaning}"));
    }

    let clk_in = m.input("clk_in", Ty::bit(), Some("Board clock"), "");
    let clk_pin = (cfg.engine_clock == EngineClock::Pin)
        .then(|| m.input("clk_engine", Ty::bit(), None, "engine clock (simulation)"));
    let pins = common::uart_pins(&mut m);
    let led = common::led_port(
        &mut m,
        cfg.leds,
        "active high: heartbeat, busy, error, locked, irq",
    );

    // ---- Clocks and resets ----------------------------------------------------------------
    let clk = m.wire("clk", Ty::bit(), "bridge clock");
    let clk_e = m.wire("clk_e", Ty::bit(), "engine clock");
    let locked = m.wire("locked", Ty::bit(), "PLL lock (asynchronous)");
    let mut inst = m.inst(b.clock, "clocks").connect("clk_in", clk_in);
    if let Some(p) = clk_pin {
        inst = inst.connect("clk_engine", p);
    }
    inst.out("clk_bridge", clk)
        .out("clk_engine_out", clk_e)
        .out("locked", locked)
        .finish()?;
    let r = common::reset(&mut m, b.reset, clk, locked, "bridge domain reset")?;
    let rst = r.rst;
    let rst_e = m.wire("rst_e", Ty::bit(), "engine domain reset");
    m.inst(b.rst_sync, "engine_reset")
        .connect("clk", clk_e)
        .connect("rst_in", rst)
        .out("rst_out", rst_e)
        .finish()?;

    // ---- Bridge domain ------------------------------------------------------------------------
    let uart = common::uart(&mut m, b.uart_rx, b.uart_tx, clk, rst, r.brk, pins)?;
    let acc_valid = m.wire("acc_valid", Ty::bit(), "");
    let acc_ready = m.wire("acc_ready", Ty::bit(), "");
    let acc_data = m.wire("acc_data", Ty::u(REQ_BITS), "");
    let acc_done = m.wire("acc_done", Ty::bit(), "");
    let acc_resp = m.wire("acc_resp", Ty::u(RESP_BITS), "");
    let irq_e = m.wire("irq_e", Ty::bit(), "engine irq (engine domain)");
    let irq = m.wire("irq", Ty::bit(), "engine irq (bridge domain)");
    let busy = m.wire("busy", Ty::bit(), "");
    let error = m.wire("error", Ty::bit(), "");
    uart.bridge(&mut m, b.bridge, clk, rst)
        .out("acc_valid", acc_valid)
        .connect("acc_ready", acc_ready)
        .out("acc_data", acc_data)
        .connect("acc_done", acc_done)
        .connect("acc_resp", acc_resp)
        .connect("eng_irq", irq_e)
        .out("irq", irq)
        .out("busy", busy)
        .out("error", error)
        .finish()?;

    // ---- The crossing -------------------------------------------------------------------------
    let req_valid = m.wire("req_valid", Ty::bit(), "");
    let req_data = m.wire("req_data", Ty::u(REQ_BITS), "");
    let req_done = m.wire("req_done", Ty::bit(), "");
    let req_resp = m.wire("req_resp", Ty::u(RESP_BITS), "");
    m.inst(b.cdc, "cdc")
        .connect("clk_s", clk)
        .connect("rst_s", rst)
        .connect("s_valid", acc_valid)
        .out("s_ready", acc_ready)
        .connect("s_data", acc_data)
        .out("s_done", acc_done)
        .out("s_resp", acc_resp)
        .connect("clk_d", clk_e)
        .connect("rst_d", rst_e)
        .out("d_valid", req_valid)
        .out("d_data", req_data)
        .connect("d_done", req_done)
        .connect("d_resp", req_resp)
        .finish()?;

    // ---- Engine domain ----------------------------------------------------------------------------
    let csr = CsrPort::wires(&mut m, "csr", d.engine.csr_addr_bits);
    let host = MemPort::wires(&mut m, "host_mem", e.mem_bits);
    let emem = MemPort::wires(&mut m, "eng_mem", e.mem_bits);
    m.inst(b.access, "access")
        .connect("clk", clk_e)
        .connect("rst", rst_e)
        .connect("req_valid", req_valid)
        .connect("req_data", req_data)
        .out("done", req_done)
        .out("resp", req_resp)
        .bundle("csr", &csr)
        .bundle("mem", &host)
        .finish()?;
    m.inst(b.engine, "engine")
        .connect("clk", clk_e)
        .connect("rst", rst_e)
        .bundle("csr", &csr)
        .out("irq", irq_e)
        .bundle("mem", &emem)
        .finish()?;
    m.inst(b.mem, "mem")
        .connect("clk", clk_e)
        .connect("rst", rst_e)
        .bundle("eng", &emem)
        .bundle("host", &host)
        .finish()?;

    // ---- LEDs -------------------------------------------------------------------------------------
    common::leds(
        &mut m,
        led,
        &[r.heartbeat, busy, error, locked, irq],
        cfg.leds,
        cfg.led_active_low,
    );
    Ok(m)
}
