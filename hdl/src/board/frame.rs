//! The framed protocol's pieces both bridges share (the array's [`super::bridge`]
//! and the engine's [`super::engine::bridge`]): the UART ports, the request
//! header (sync byte, CMD, LEN), the first-error rule and the response frame's
//! header, error payload and CRC byte. The commands behind the header are each
//! bridge's own; what every frame looks like (`docs/uart-protocol.md`) is here once.

use crate::ir::{Expr, Module, SignalId, Ty, UnOp};
use crate::process::{Fsm, Proc, Switch};

use super::protocol::{self, ERR_FRAMING, SYNC_REQUEST, SYNC_RESPONSE};
use super::{k, priority};

/// Bytes before the payload in a response: sync, type, two length bytes.
pub(crate) const HEADER: u64 = 4;

/// One CRC-8/SMBUS byte step as an XOR network: the update is linear in
/// `crc ^ byte`, so output bit i is the parity of the input bits whose
/// single-bit CRC has bit i set.
pub(crate) fn crc8_step(crc: Expr, byte: Expr) -> Expr {
    let x = crc ^ byte;
    let bits = (0..8)
        .map(|i| {
            let mask = (0..8)
                .filter(|j| protocol::crc8_update(1 << j, 0) >> i & 1 == 1)
                .fold(0u64, |acc, j| acc | 1 << j);
            Expr::Unary(UnOp::ReduceXor, Box::new(x.clone() & k(8, mask)))
        })
        .collect();
    Expr::concat(bits)
}

/// The wire `crc_rx_next`: the request's CRC with the byte on `rx_data`.
pub(crate) fn crc_rx_next(m: &mut Module, crc_rx: SignalId, rx_data: SignalId) -> SignalId {
    m.wire_of(
        "crc_rx_next",
        crc8_step(crc_rx.into(), rx_data.into()),
        "CRC of the request with this byte",
    )
}

/// A bridge's clock, reset and UART byte ports.
pub(crate) struct UartPorts {
    pub clk: SignalId,
    pub rst: SignalId,
    pub rx_valid: SignalId,
    pub rx_data: SignalId,
    pub rx_ferr: SignalId,
    pub tx_valid: SignalId,
    pub tx_ready: SignalId,
    pub tx_data: SignalId,
}

/// Declare the clock, reset and UART ports; `clk_group` is their group comment.
pub(crate) fn uart_ports(m: &mut Module, clk_group: &str) -> UartPorts {
    let clk = m.input("clk", Ty::bit(), Some(clk_group), "");
    let rst = m.input("rst", Ty::bit(), None, "");
    let rx_valid = m.input(
        "rx_valid",
        Ty::bit(),
        Some("From the UART receiver"),
        "one clock per byte",
    );
    let rx_data = m.input("rx_data", Ty::u(8), None, "");
    let rx_ferr = m.input("rx_ferr", Ty::bit(), None, "the byte's stop bit was low");
    let tx_valid = m.output("tx_valid", Ty::bit(), Some("To the UART transmitter"), "");
    let tx_ready = m.input("tx_ready", Ty::bit(), None, "");
    let tx_data = m.output("tx_data", Ty::u(8), None, "");
    UartPorts {
        clk,
        rst,
        rx_valid,
        rx_data,
        rx_ferr,
        tx_valid,
        tx_ready,
        tx_data,
    }
}

/// The request header's wires.
pub(crate) struct RxHeader {
    /// A byte of the current request (between the sync byte and the CRC byte).
    pub byte: SignalId,
    /// A byte arrived while answering: not read.
    pub dropped: SignalId,
    /// A request starts.
    pub sync_byte: SignalId,
    /// LEN, on its high byte.
    pub len_new: SignalId,
    pub len_zero: SignalId,
}

/// The request header's wires. The states are encoded in frame order (`CMD`
/// to `CRC` the request's bytes, `answering` and after the answer), so "inside
/// the frame" and "answering" are ranges.
pub(crate) fn rx_header(
    m: &mut Module,
    fsm: &Fsm,
    rx_valid: SignalId,
    rx_data: SignalId,
    rx_ferr: SignalId,
    len_lo: SignalId,
    answering: &str,
) -> RxHeader {
    let state = Expr::from(fsm.reg);
    let code_of = |m: &mut Module, name: &str| match fsm.encode(name) {
        Ok(e) => e,
        // Records the rule; the design check reports it.
        Err(_) => m.in_state(fsm, name),
    };
    let (cmd_code, crc_code) = (code_of(m, "CMD"), code_of(m, "CRC"));
    let in_frame = m.wire_of(
        "in_frame",
        state.clone().cmp_ge(cmd_code) & state.clone().cmp_le(crc_code),
        "between the sync byte and the CRC byte",
    );
    let byte = m.wire_of(
        "req_byte",
        Expr::from(rx_valid) & in_frame,
        "a byte of the current request",
    );
    let answer_code = code_of(m, answering);
    let dropped = m.wire_of(
        "dropped",
        Expr::from(rx_valid) & state.cmp_ge(answer_code),
        "a byte arrived while answering: not read",
    );
    let hunt = m.in_state(fsm, "HUNT");
    let sync_byte = m.wire_of(
        "sync",
        Expr::from(rx_valid)
            & hunt
            & !Expr::from(rx_ferr)
            & Expr::from(rx_data).cmp_eq(k(8, u64::from(SYNC_REQUEST))),
        "a request starts",
    );
    let len_new = m.wire_of(
        "len_new",
        Expr::concat(vec![len_lo.into(), rx_data.into()]),
        "LEN, on its high byte",
    );
    let len_zero = m.wire_of("len_zero", Expr::from(len_new).cmp_eq(k(16, 0)), "");
    RxHeader {
        byte,
        dropped,
        sync_byte,
        len_new,
        len_zero,
    }
}

/// The next error register: cleared by a sync byte, the first error of the
/// request kept, then a byte's framing error, then `rest` (the bridge's own
/// checks, in priority order).
pub(crate) fn first_error(
    h: &RxHeader,
    err: SignalId,
    rx_ferr: SignalId,
    rest: Vec<(Expr, Expr)>,
) -> Expr {
    let code = |c: u8| k(8, u64::from(c));
    let mut arms = vec![
        (h.sync_byte.into(), code(0)),
        (Expr::from(err).cmp_ne(code(0)), err.into()),
        (Expr::from(h.byte) & rx_ferr, code(ERR_FRAMING)),
    ];
    arms.extend(rest);
    priority(arms, err.into())
}

/// The response frame's registers the byte picker reads.
pub(crate) struct TxFrame {
    pub pos: SignalId,
    pub pos_bits: u32,
    pub ty: SignalId,
    pub len: SignalId,
    pub crc: SignalId,
}

impl TxFrame {
    /// The transmitter took the byte at `pos`: step on, end the frame after its
    /// CRC byte, and fold every byte after the sync byte into the CRC.
    pub(crate) fn advance(
        &self,
        p: &mut Proc,
        active: SignalId,
        at_crc: SignalId,
        tx_byte: SignalId,
    ) {
        p.set(self.pos, Expr::from(self.pos) + k(self.pos_bits, 1));
        p.if_(at_crc, |p| {
            p.set(active, k(1, 0));
        })
        .elif(!Expr::from(self.pos).cmp_eq(k(self.pos_bits, 0)), |p| {
            p.set(self.crc, crc8_step(self.crc.into(), tx_byte.into()));
        });
    }
}

/// The wire `tx_byte`: the frame byte at `tx_pos` (sync, TYPE, LEN, then the
/// payload, then the CRC at `at_crc`). The payload is the first of `payloads`
/// whose condition holds, else an ERROR's: the error code, then the command.
pub(crate) fn response_byte(
    m: &mut Module,
    tx: &TxFrame,
    at_crc: SignalId,
    err: SignalId,
    cmd: SignalId,
    payloads: Vec<(Expr, Expr)>,
) -> SignalId {
    let pos_is = |v: u64| Expr::from(tx.pos).cmp_eq(k(tx.pos_bits, v));
    let err_byte = Expr::mux(pos_is(HEADER), Expr::from(err), Expr::from(cmd));
    let payload = priority(payloads, err_byte);
    m.wire_of(
        "tx_byte",
        priority(
            vec![
                (pos_is(0), k(8, u64::from(SYNC_RESPONSE))),
                (pos_is(1), tx.ty.into()),
                (pos_is(2), Expr::from(tx.len).slice(0, 8)),
                (pos_is(3), Expr::from(tx.len).slice(8, 8)),
                (at_crc.into(), tx.crc.into()),
            ],
            payload,
        ),
        "the frame byte at tx_pos",
    )
}

/// The states `CMD` and `LEN0`: register the command byte and LEN's low byte.
pub(crate) fn cmd_len_states<'a>(
    sw: Switch<'a>,
    rx_valid: SignalId,
    rx_data: SignalId,
    cmd: SignalId,
    len_lo: SignalId,
) -> Switch<'a> {
    sw.state("CMD", |p| {
        p.if_(rx_valid, |p| {
            p.set(cmd, rx_data);
            p.goto("LEN0");
        });
    })
    .state("LEN0", |p| {
        p.if_(rx_valid, |p| {
            p.set(len_lo, rx_data);
            p.goto("LEN1");
        });
    })
}
