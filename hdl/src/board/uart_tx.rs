//! UART transmitter, 8N1: takes a byte on a valid/ready handshake and shifts out
//! start bit, eight data bits LSB first and stop bit, each one bit time long.
//!
//! The line is driven from a register (reset high, the idle level), so it never
//! glitches. `ready` is high whenever no byte is being sent; a byte taken right
//! after the stop bit ends follows it with no idle gap beyond one clock.

use crate::ir::{Expr, Module, Ty};
use crate::util::bits_for;

use super::{k, priority, reset_to, BoardDerived, BoardTopConfig};

/// Build `<name>_uart_tx`.
pub fn build(cfg: &BoardTopConfig, d: &BoardDerived) -> Module {
    let cpb = u64::from(d.clks_per_bit);
    let mut m = Module::new(cfg.sub("uart_tx"));
    m.doc("UART transmitter, 8N1, LSB first.").doc(format!(
        "{} clocks per bit ({:.0} baud at {} Hz).",
        cpb, d.baud_actual, d.clock.achieved_hz
    ));
    let clk = m.input("clk", Ty::bit(), Some("Clock and synchronous reset"), "");
    let rst = m.input("rst", Ty::bit(), None, "");
    let valid = m.input("valid", Ty::bit(), Some("Bytes to send"), "");
    let ready = m.output("ready", Ty::bit(), None, "idle: the byte is taken");
    let data = m.input("data", Ty::u(8), None, "");
    let tx = m.output("tx", Ty::bit(), Some("Serial line"), "idle high");

    let cnt_bits = bits_for(cpb - 1);
    let busy = m.reg("busy_reg", Ty::bit(), "a byte is being sent");
    let tx_reg = m.reg("tx_reg", Ty::bit(), "the line");
    let shift = m.reg(
        "shift_reg",
        Ty::u(9),
        "bits still to send, LSB next; ones above",
    );
    let left = m.reg(
        "left_reg",
        Ty::u(4),
        "bits still to send after the current one",
    );
    let cnt = m.reg("cnt_reg", Ty::u(cnt_bits), "clocks into the current bit");

    let accept = m.wire_of(
        "accept",
        Expr::from(valid) & !Expr::from(busy),
        "a byte is taken: the start bit begins",
    );
    let bit_end = m.wire_of(
        "bit_end",
        Expr::from(busy) & Expr::from(cnt).cmp_eq(k(cnt_bits, cpb - 1)),
        "the current bit has lasted one bit time",
    );
    let more = m.wire_of(
        "more",
        Expr::from(left).cmp_ne(k(4, 0)),
        "a data or stop bit follows",
    );
    let next_bit = m.wire_of("next_bit", Expr::from(bit_end) & more, "");

    m.clocked(
        busy,
        clk,
        priority(
            vec![
                (accept.into(), k(1, 1)),
                (Expr::from(bit_end) & !Expr::from(more), k(1, 0)),
            ],
            busy.into(),
        ),
        None,
        reset_to(rst, 1, 0),
    );
    m.clocked(
        tx_reg,
        clk,
        priority(
            vec![
                (accept.into(), k(1, 0)),
                (next_bit.into(), Expr::from(shift).bit_at(0)),
            ],
            tx_reg.into(),
        ),
        None,
        reset_to(rst, 1, 1),
    );
    m.clocked(
        shift,
        clk,
        Expr::mux(
            accept,
            Expr::concat(vec![data.into(), k(1, 1)]),
            Expr::concat(vec![Expr::from(shift).slice(1, 8), k(1, 1)]),
        ),
        Some(Expr::from(accept) | next_bit),
        None,
    );
    m.clocked(
        left,
        clk,
        Expr::mux(accept, k(4, 9), Expr::from(left) - k(4, 1)),
        Some(Expr::from(accept) | next_bit),
        reset_to(rst, 4, 0),
    );
    m.clocked(
        cnt,
        clk,
        Expr::mux(
            Expr::from(accept) | bit_end,
            k(cnt_bits, 0),
            Expr::from(cnt) + k(cnt_bits, 1),
        ),
        None,
        reset_to(rst, cnt_bits, 0),
    );
    m.assign(ready, !Expr::from(busy));
    m.assign(tx, tx_reg);
    m
}
