//! UART receiver, 8N1: one start bit, eight data bits LSB first, one stop bit.
//!
//! The pin is asynchronous, so it passes a two-flip-flop synchronizer. A falling
//! edge starts a byte; the start bit is checked again half a bit later (a shorter
//! low pulse is a glitch and is ignored), and from there every bit is sampled one
//! bit time apart, in the middle of the bit, where a baud mismatch of a few
//! percent still lands inside it. The byte is delivered with its stop bit's value
//! (`ferr` = stop bit low) rather than dropped, so a framing error corrupts one
//! byte of a frame, which the bridge reports, instead of shifting every byte
//! after it.
//!
//! A line held low for `BREAK_BITS` bit times is a break (`brk`), used as a
//! reset request. Its counter clears whenever the line is high, so it needs no
//! reset of its own.

use crate::ir::{Expr, Module, Ty};
use crate::util::bits_for;

use super::{k, priority, reset_to, BoardDerived, BoardTopConfig, BREAK_BITS};

const IDLE: u64 = 0;
const START: u64 = 1;
const DATA: u64 = 2;
const STOP: u64 = 3;

/// Build `<name>_uart_rx`.
pub fn build(cfg: &BoardTopConfig, d: &BoardDerived) -> Module {
    let cpb = u64::from(d.clks_per_bit);
    let mut m = Module::new(cfg.sub("uart_rx"));
    m.doc("UART receiver, 8N1, LSB first, mid-bit sampling after a 2-FF synchronizer.")
        .doc(format!(
            "{} clocks per bit ({:.0} baud at {} Hz); start bit re-checked after {} clocks.",
            cpb,
            d.baud_actual,
            d.clock.achieved_hz,
            cpb / 2
        ))
        .doc("valid pulses for one clock per byte; ferr is the inverted stop bit of that byte.")
        .doc(format!(
            "brk is high while the line has been low for {BREAK_BITS} bit times ({} clocks).",
            d.break_cycles
        ));
    let clk = m.input("clk", Ty::bit(), Some("Clock and synchronous reset"), "");
    let rst = m.input("rst", Ty::bit(), None, "");
    let rx = m.input(
        "rx",
        Ty::bit(),
        Some("Serial line"),
        "asynchronous, idle high",
    );
    let valid = m.output(
        "valid",
        Ty::bit(),
        Some("Received bytes"),
        "one clock per byte",
    );
    let data = m.output("data", Ty::u(8), None, "the byte, valid with valid");
    let ferr = m.output("ferr", Ty::bit(), None, "its stop bit was low");
    let brk = m.output("brk", Ty::bit(), Some("Line state"), "line held low: break");

    let rx_meta = m.reg("rx_meta_reg", Ty::bit(), "synchronizer, first stage");
    let rx_sync = m.reg("rx_sync_reg", Ty::bit(), "synchronizer, second stage");
    m.clocked(rx_meta, clk, rx, None, None);
    m.clocked(rx_sync, clk, rx_meta, None, None);

    let cnt_bits = bits_for(cpb - 1);
    let state = m.reg("state_reg", Ty::u(2), "IDLE, START, DATA, STOP");
    let cnt = m.reg("cnt_reg", Ty::u(cnt_bits), "clocks into the current bit");
    let bit = m.reg("bit_reg", Ty::u(3), "data bit being received");
    let shift = m.reg("shift_reg", Ty::u(8), "data bits, LSB first");
    let valid_reg = m.reg("valid_reg", Ty::bit(), "");
    let ferr_reg = m.reg("ferr_reg", Ty::bit(), "");

    let st = |v: u64| Expr::from(state).cmp_eq(k(2, v));
    let low = m.wire_of("low", !Expr::from(rx_sync), "the line is low");
    let at_half = m.wire_of(
        "at_half",
        Expr::from(cnt).cmp_eq(k(cnt_bits, cpb / 2 - 1)),
        "middle of the start bit",
    );
    let at_end = m.wire_of(
        "at_end",
        Expr::from(cnt).cmp_eq(k(cnt_bits, cpb - 1)),
        "one bit time since the last sample: sample now",
    );
    let sample_data = m.wire_of("sample_data", st(DATA) & at_end, "");
    let sample_stop = m.wire_of("sample_stop", st(STOP) & at_end, "");
    let last_bit = Expr::from(bit).cmp_eq(k(3, 7));

    let state_next = priority(
        vec![
            (st(IDLE) & low, k(2, START)),
            (st(START) & at_half, Expr::mux(low, k(2, DATA), k(2, IDLE))),
            (Expr::from(sample_data) & last_bit, k(2, STOP)),
            (sample_stop.into(), k(2, IDLE)),
        ],
        state.into(),
    );
    m.clocked(state, clk, state_next, None, reset_to(rst, 2, IDLE));
    let cnt_next = priority(
        vec![
            (st(IDLE), k(cnt_bits, 0)),
            (st(START) & at_half, k(cnt_bits, 0)),
            (at_end.into(), k(cnt_bits, 0)),
        ],
        Expr::from(cnt) + k(cnt_bits, 1),
    );
    m.clocked(cnt, clk, cnt_next, None, reset_to(rst, cnt_bits, 0));
    m.clocked(
        bit,
        clk,
        Expr::mux(st(START), k(3, 0), Expr::from(bit) + k(3, 1)),
        Some(st(START) | sample_data),
        None,
    );
    m.clocked(
        shift,
        clk,
        Expr::concat(vec![Expr::from(shift).slice(1, 7), rx_sync.into()]),
        Some(sample_data.into()),
        None,
    );
    m.clocked(valid_reg, clk, sample_stop, None, reset_to(rst, 1, 0));
    m.clocked(ferr_reg, clk, low, Some(sample_stop.into()), None);
    m.assign(valid, valid_reg);
    m.assign(data, shift);
    m.assign(ferr, ferr_reg);

    // Break detection: consecutive low clocks, saturating at the threshold.
    let brk_cycles = u64::from(d.break_cycles);
    let brk_bits = bits_for(brk_cycles);
    let brk_cnt = m.reg(
        "brk_cnt_reg",
        Ty::u(brk_bits),
        "clocks the line has been low, saturating",
    );
    let brk_now = m.wire_of(
        "brk_now",
        Expr::from(brk_cnt).cmp_eq(k(brk_bits, brk_cycles)),
        "",
    );
    m.clocked(
        brk_cnt,
        clk,
        priority(
            vec![
                (rx_sync.into(), k(brk_bits, 0)),
                (brk_now.into(), brk_cnt.into()),
            ],
            Expr::from(brk_cnt) + k(brk_bits, 1),
        ),
        None,
        None,
    );
    m.assign(brk, brk_now);
    m
}
