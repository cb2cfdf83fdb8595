//! The UART bridge: parses request frames, streams GEMM beats into the array as
//! they arrive, and frames the result rows (or an error) back.
//!
//! # Protocol (numbers in [`super::protocol`], full text in `docs/uart-protocol.md`)
//!
//! Request `A5 CMD LEN_LO LEN_HI payload[LEN] CRC`, response
//! `5A TYPE LEN_LO LEN_HI payload[LEN] CRC`; CRC-8/SMBUS over everything after
//! the sync byte. Strictly one request at a time: the host waits for the whole
//! answer before it sends the next request.
//!
//! - INFO (`01`, LEN 0) -> INFO (`81`): protocol version, generator version,
//!   rows, cols, core clock, baud.
//! - GEMM (`02`): K (u16), then K beats of ROWS bytes of A's column k and COLS
//!   bytes of B's row k, LEN = 2 + K * (ROWS + COLS), K >= 1 -> ROWS frames ROW
//!   (`82`): row index (u16), then COLS int32, little-endian.
//! - Anything wrong -> ERROR (`EE`): error code, command byte.
//!
//! # How
//!
//! Every byte is taken from the receiver the clock it arrives (the receiver has no
//! flow control). A beat is shifted into `beat_buf` byte by byte and offered to the
//! array as soon as it is complete, except the last beat of a tile: it waits for
//! the CRC byte, because the array cannot take a beat back. If the CRC (or an
//! earlier check) fails, the last beat still goes in, closing the tile, but its
//! results are drained without being sent, and an ERROR answers the request. So a
//! corrupted frame never leaves the array half-way through a tile. Lengths are
//! checked by counting, not multiplying: `remain` counts LEN down, `beats_left`
//! counts K down, and the payload must end exactly with the K-th beat.
//!
//! Result rows are not copied: the array holds a row in its output register until
//! `out_ready`, so the frame's payload bytes are selected straight from `out_c`
//! and `out_ready` is raised only with the row's last byte. While the UART sends
//! (about 40 * COLS bit times per row) the array is stalled by backpressure,
//! which is exactly the path its contract promises works.
//!
//! Bytes that arrive while the bridge answers (which a host following the
//! protocol never sends) are dropped and light the error LED; a UART break
//! resets everything.

use crate::ir::{DomainId, Expr, Module, SignalId, Ty};
use crate::util::bits_for;

use super::frame::{self, HEADER};
use super::protocol::{
    self, CMD_GEMM, CMD_INFO, ERR_BAD_CRC, ERR_BAD_LENGTH, ERR_FRAMING, ERR_OVERRUN,
    ERR_UNKNOWN_CMD, RSP_ERROR, RSP_INFO, RSP_ROW, SYNC_REQUEST, SYNC_RESPONSE,
};
use super::{k, select_byte, BoardDerived, BoardTopConfig};
use crate::process::{Fsm, Proc};

/// Parser and responder states, in frame order: `CMD..=CRC` are the bytes of a
/// request, `LAST` and after answer it.
const STATES: &[&str] = &[
    "HUNT", "CMD", "LEN0", "LEN1", "K0", "K1", "BEATS", "SKIP", "CRC", "LAST", "ROWS", "RESP",
    // The clock after the CRC byte: answer or close the tile, from registered errors.
    "DECIDE",
];

/// The INFO payload bytes: design kind "array", no engine memory, the core
/// clock in both clock fields.
fn info_bytes(cfg: &BoardTopConfig, d: &BoardDerived) -> Vec<u8> {
    let hz = u32::try_from(d.clock.achieved_hz).unwrap_or(u32::MAX);
    protocol::InfoFields {
        version: protocol::version_bytes(crate::VERSION),
        rows: cfg.array.rows as u16,
        cols: cfg.array.cols as u16,
        clock_hz: hz,
        baud: cfg.baud,
        kind: protocol::KIND_ARRAY,
        mem_bits: 0,
        mem_bytes: 0,
        engine_hz: hz,
    }
    .encode()
    .to_vec()
}

/// The bridge's ports: the shared clock, reset and UART ports, then the array's.
struct Ports {
    uart: frame::UartPorts,
    in_valid: SignalId,
    in_ready: SignalId,
    in_a: SignalId,
    in_b: SignalId,
    in_last: SignalId,
    out_valid: SignalId,
    out_ready: SignalId,
    out_c: SignalId,
    out_last: SignalId,
    busy: SignalId,
    error: SignalId,
}

fn ports(m: &mut Module, rows: u32, cols: u32) -> Ports {
    let uart = frame::uart_ports(m, "Clock and synchronous reset");
    let in_valid = m.output(
        "arr_in_valid",
        Ty::bit(),
        Some("To the array's operand stream"),
        "",
    );
    let in_ready = m.input("arr_in_ready", Ty::bit(), None, "");
    let in_a = m.output("arr_in_a", Ty::u(8 * rows), None, "column k of A");
    let in_b = m.output("arr_in_b", Ty::u(8 * cols), None, "row k of B");
    let in_last = m.output("arr_in_last", Ty::bit(), None, "closes the tile");
    let out_valid = m.input(
        "arr_out_valid",
        Ty::bit(),
        Some("From the array's result stream"),
        "",
    );
    let out_ready = m.output(
        "arr_out_ready",
        Ty::bit(),
        None,
        "high with the row's last byte",
    );
    let out_c = m.input("arr_out_c", Ty::u(32 * cols), None, "one row of C");
    let out_last = m.input("arr_out_last", Ty::bit(), None, "");
    let busy = m.output(
        "busy",
        Ty::bit(),
        Some("Status"),
        "a request is in progress",
    );
    let error = m.output(
        "error",
        Ty::bit(),
        None,
        "an error was answered or a byte dropped since reset",
    );
    Ports {
        uart,
        in_valid,
        in_ready,
        in_a,
        in_b,
        in_last,
        out_valid,
        out_ready,
        out_c,
        out_last,
        busy,
        error,
    }
}

/// The bridge's registers; control registers (state, errors, handshakes) are reset.
#[derive(Clone, Copy)]
struct Regs {
    cmd: SignalId,
    len_lo: SignalId,
    k_lo: SignalId,
    remain: SignalId,
    beats_left: SignalId,
    crc_rx: SignalId,
    err: SignalId,
    tile_open: SignalId,
    beat_buf: SignalId,
    bpos: SignalId,
    beat_valid: SignalId,
    discard: SignalId,
    row: SignalId,
    rows_done: SignalId,
    tx_active: SignalId,
    tx_pos: SignalId,
    tx_type: SignalId,
    tx_row: SignalId,
    tx_info: SignalId,
    tx_len: SignalId,
    tx_end: SignalId,
    crc_tx: SignalId,
    err_sticky: SignalId,
}

fn registers(
    m: &mut Module,
    sync: DomainId,
    beat_bits: u32,
    bpos_bits: u32,
    pos_bits: u32,
) -> Regs {
    let cmd = m.reg_in(
        "cmd_reg",
        Ty::u(8),
        sync,
        "command byte of the current request",
    );
    let len_lo = m.reg_in("len_lo_reg", Ty::u(8), sync, "");
    let k_lo = m.reg_in("k_lo_reg", Ty::u(8), sync, "");
    let remain = m.reg_in(
        "remain_reg",
        Ty::u(16),
        sync,
        "payload bytes still to come, this one included",
    );
    let beats_left = m.reg_in(
        "beats_left_reg",
        Ty::u(16),
        sync,
        "beats K still announces, this one included",
    );
    let crc_rx = m.reg_in("crc_rx_reg", Ty::u(8), sync, "CRC of the request so far");
    let err = m.reg_reset(
        "err_reg",
        Ty::u(8),
        sync,
        0,
        "first error of the request, 0 = none",
    );
    let tile_open = m.reg_reset(
        "tile_open_reg",
        Ty::bit(),
        sync,
        0,
        "this request's beats go to the array",
    );
    let beat_buf = m.reg_in(
        "beat_buf_reg",
        Ty::u(beat_bits),
        sync,
        "the beat being received, first byte lowest",
    );
    let bpos = m.reg_in(
        "beat_pos_reg",
        Ty::u(bpos_bits),
        sync,
        "byte index in the beat",
    );
    let beat_valid = m.reg_reset(
        "beat_valid_reg",
        Ty::bit(),
        sync,
        0,
        "the beat is offered to the array",
    );
    let discard = m.reg_reset(
        "discard_reg",
        Ty::bit(),
        sync,
        0,
        "the tile's rows are drained, not sent",
    );
    let row = m.reg_in("row_reg", Ty::u(16), sync, "index of the row being sent");
    let rows_done = m.reg_reset(
        "rows_done_reg",
        Ty::bit(),
        sync,
        0,
        "the tile's last row was taken",
    );
    let tx_active = m.reg_reset(
        "tx_active_reg",
        Ty::bit(),
        sync,
        0,
        "a response frame is being sent",
    );
    let tx_pos = m.reg_in(
        "tx_pos_reg",
        Ty::u(pos_bits),
        sync,
        "byte index in the frame",
    );
    let tx_type = m.reg_in(
        "tx_type_reg",
        Ty::u(8),
        sync,
        "TYPE of the frame being sent",
    );
    let tx_row = m.reg_in("tx_row_reg", Ty::bit(), sync, "the frame is a ROW");
    let tx_info = m.reg_in("tx_info_reg", Ty::bit(), sync, "the frame is INFO");
    let tx_len = m.reg_in("tx_len_reg", Ty::u(16), sync, "LEN of the frame being sent");
    let tx_end = m.reg_in(
        "tx_end_reg",
        Ty::u(pos_bits),
        sync,
        "position of the frame's CRC byte",
    );
    let crc_tx = m.reg_in("crc_tx_reg", Ty::u(8), sync, "CRC of the frame so far");
    let err_sticky = m.reg_reset("err_sticky_reg", Ty::bit(), sync, 0, "");
    Regs {
        cmd,
        len_lo,
        k_lo,
        remain,
        beats_left,
        crc_rx,
        err,
        tile_open,
        beat_buf,
        bpos,
        beat_valid,
        discard,
        row,
        rows_done,
        tx_active,
        tx_pos,
        tx_type,
        tx_row,
        tx_info,
        tx_len,
        tx_end,
        crc_tx,
        err_sticky,
    }
}

/// What the parser's states read besides the registers.
#[derive(Clone, Copy)]
struct ParseIn {
    rx_valid: SignalId,
    rx_data: SignalId,
    sync_byte: SignalId,
    len_new: SignalId,
    len_zero: SignalId,
    is_gemm: SignalId,
    last_byte: SignalId,
    beat_end: SignalId,
    failed: SignalId,
    beat_taken: SignalId,
    frame_done: SignalId,
    beat_bits: u32,
    bpos_bits: u32,
}

/// The parser and responder FSM: one state per field of the request frame,
/// then the answer.
fn parser_states(p: &mut Proc, fsm: &Fsm, r: Regs, w: &ParseIn) {
    let ParseIn {
        rx_valid,
        rx_data,
        sync_byte,
        len_new,
        len_zero,
        is_gemm,
        last_byte,
        beat_end,
        failed,
        beat_taken,
        frame_done,
        beat_bits,
        bpos_bits,
    } = *w;
    let Regs {
        cmd,
        len_lo,
        k_lo,
        remain,
        beats_left,
        crc_rx,
        tile_open,
        beat_buf,
        bpos,
        beat_valid,
        discard,
        row,
        rows_done,
        tx_active,
        ..
    } = r;
    let b = || Expr::from(rx_data);
    let sw = p.fsm(fsm).state("HUNT", |p| {
        p.if_(sync_byte, |p| {
            p.set(crc_rx, k(8, 0));
            p.set(tile_open, k(1, 0));
            p.goto("CMD");
        });
    });
    frame::cmd_len_states(sw, rx_valid, rx_data, cmd, len_lo)
        .state("LEN1", |p| {
            p.if_(rx_valid, |p| {
                p.set(remain, len_new);
                p.if_(len_zero, |p| {
                    p.goto("CRC");
                })
                .elif(is_gemm, |p| {
                    p.goto("K0");
                })
                .else_(|p| {
                    p.goto("SKIP");
                });
            });
        })
        .state("K0", |p| {
            p.if_(rx_valid, |p| {
                p.set(k_lo, b());
                p.if_(last_byte, |p| {
                    p.goto("CRC");
                })
                .else_(|p| {
                    p.goto("K1");
                });
            });
        })
        .state("K1", |p| {
            p.if_(rx_valid, |p| {
                p.set(bpos, k(bpos_bits, 0));
                p.set(beats_left, Expr::concat(vec![k_lo.into(), b()]));
                p.if_(last_byte, |p| {
                    p.goto("CRC");
                })
                .else_(|p| {
                    p.set(tile_open, k(1, 1));
                    p.goto("BEATS");
                });
            });
        })
        .state("BEATS", |p| {
            p.if_(rx_valid, |p| {
                p.set(
                    beat_buf,
                    Expr::concat(vec![Expr::from(beat_buf).slice(8, beat_bits - 8), b()]),
                );
                p.if_(beat_end, |p| {
                    p.set(bpos, k(bpos_bits, 0));
                    p.set(beats_left, Expr::from(beats_left) - k(16, 1));
                    // The last beat waits for the CRC byte (DECIDE).
                    p.if_(!Expr::from(last_byte), |p| {
                        p.set(beat_valid, k(1, 1));
                    });
                })
                .else_(|p| {
                    p.set(bpos, Expr::from(bpos) + k(bpos_bits, 1));
                });
                p.if_(last_byte, |p| {
                    p.goto("CRC");
                });
            });
        })
        .state("SKIP", |p| {
            p.if_(rx_valid, |p| {
                p.if_(last_byte, |p| {
                    p.goto("CRC");
                });
            });
        })
        .state("CRC", |p| {
            p.if_(rx_valid, |p| {
                p.goto("DECIDE");
            });
        })
        .state("DECIDE", |p| {
            // A GEMM's held last beat closes the tile, even after an error.
            p.if_(tile_open, |p| {
                p.set(beat_valid, k(1, 1));
                p.set(discard, failed);
                p.goto("LAST");
            })
            .else_(|p| {
                p.goto("RESP");
            });
        })
        .state("LAST", |p| {
            p.set(row, k(16, 0));
            p.set(rows_done, k(1, 0));
            p.if_(beat_taken, |p| {
                p.goto("ROWS");
            });
        })
        .state("ROWS", |p| {
            p.if_(Expr::from(rows_done) & !Expr::from(tx_active), |p| {
                p.if_(discard, |p| {
                    p.goto("RESP");
                })
                .else_(|p| {
                    p.goto("HUNT");
                });
            });
        })
        .state("RESP", |p| {
            p.if_(frame_done, |p| {
                p.goto("HUNT");
            });
        });
}

/// Build `<name>_bridge`.
pub fn build(cfg: &BoardTopConfig, d: &BoardDerived) -> Module {
    let (rows, cols) = (u64::from(cfg.array.rows), u64::from(cfg.array.cols));
    let beat = rows + cols;
    let row_len = protocol::row_payload_len(cols as usize) as u64;
    let info = info_bytes(cfg, d);
    let max_len = row_len.max(info.len() as u64);
    let pos_bits = bits_for(HEADER + max_len);

    let mut m = Module::new(cfg.sub("bridge"));
    m.doc("UART bridge: framed requests in, GEMM beats to the array, framed rows out.")
        .doc(format!(
            "Request  {SYNC_REQUEST:02X} CMD LEN_LO LEN_HI payload CRC8; response {SYNC_RESPONSE:02X} TYPE LEN_LO LEN_HI payload CRC8."
        ))
        .doc(format!(
            "INFO {CMD_INFO:02X} -> {RSP_INFO:02X}; GEMM {CMD_GEMM:02X}: K (u16), K beats of {rows} A + {cols} B bytes -> {rows} x ROW {RSP_ROW:02X}: index (u16), {cols} x int32."
        ))
        .doc(format!(
            "Errors -> {RSP_ERROR:02X} [code, cmd]: CRC {ERR_BAD_CRC}, unknown command {ERR_UNKNOWN_CMD}, length {ERR_BAD_LENGTH}, framing {ERR_FRAMING}, overrun {ERR_OVERRUN}."
        ))
        .doc("The last beat of a tile waits for the CRC; a bad frame's tile is closed and its rows discarded.")
        .doc("Rows are sent straight from the array's output register, which is held by out_ready (backpressure).")
        .doc("See docs/uart-protocol.md.");

    let Ports {
        uart:
            frame::UartPorts {
                clk,
                rst,
                rx_valid,
                rx_data,
                rx_ferr,
                tx_valid,
                tx_ready,
                tx_data,
            },
        in_valid,
        in_ready,
        in_a,
        in_b,
        in_last,
        out_valid,
        out_ready,
        out_c,
        out_last,
        busy,
        error,
    } = ports(&mut m, rows as u32, cols as u32);

    // ---- Registers -------------------------------------------------------------
    let sync = m.domain("sync", clk, Some(rst));
    let fsm = m.fsm("state_reg", sync, STATES, "parser / responder state");
    let beat_bits = 8 * beat as u32;
    let bpos_bits = bits_for(beat - 1);
    let r = registers(&mut m, sync, beat_bits, bpos_bits, pos_bits);
    let Regs {
        cmd,
        len_lo,
        remain,
        beats_left,
        crc_rx,
        err,
        tile_open,
        beat_buf,
        bpos,
        beat_valid,
        discard,
        row,
        rows_done,
        tx_active,
        tx_pos,
        tx_type,
        tx_row,
        tx_info,
        tx_len,
        tx_end,
        crc_tx,
        err_sticky,
        ..
    } = r;

    let b = || Expr::from(rx_data);
    let state = Expr::from(fsm.reg);
    let st = |m: &mut Module, name: &str| m.in_state(&fsm, name);

    // ---- Receive side --------------------------------------------------------------
    // Lengths are checked by counting, never by multiplying: `remain` counts LEN
    // down over K and the beats, `beats_left` counts K down, and the payload must
    // end exactly where the K-th beat ends. The states are encoded in frame order,
    // so "inside the frame" and "answering" are ranges.
    let code_of = |name: &str| {
        k(
            4,
            STATES.iter().position(|s| *s == name).unwrap_or(0) as u64,
        )
    };
    let h = frame::rx_header(&mut m, &fsm, rx_valid, rx_data, rx_ferr, len_lo, "LAST");
    let (byte, dropped, sync_byte, len_new, len_zero) =
        (h.byte, h.dropped, h.sync_byte, h.len_new, h.len_zero);
    let is_info = m.wire_of(
        "is_info",
        Expr::from(cmd).cmp_eq(k(8, u64::from(CMD_INFO))),
        "",
    );
    let is_gemm = m.wire_of(
        "is_gemm",
        Expr::from(cmd).cmp_eq(k(8, u64::from(CMD_GEMM))),
        "",
    );
    let beat_end = m.wire_of(
        "beat_end",
        Expr::from(bpos).cmp_eq(k(bpos_bits, beat - 1)),
        "this byte completes a beat",
    );
    let last_byte = m.wire_of(
        "last_byte",
        Expr::from(remain).cmp_eq(k(16, 1)),
        "this byte ends the payload",
    );
    let last_beat_ok = m.wire_of(
        "last_beat_ok",
        Expr::from(beat_end) & Expr::from(beats_left).cmp_eq(k(16, 1)),
        "the payload ends with the K-th beat",
    );
    let crc_ok = b().cmp_eq(crc_rx);

    // The first error of the request wins; a byte's framing error outranks what it says.
    let code = |c: u8| k(8, u64::from(c));
    let on = |m: &mut Module, s: &str| Expr::from(byte) & st(m, s);
    let (len1, k0, k1) = (on(&mut m, "LEN1"), on(&mut m, "K0"), on(&mut m, "K1"));
    let (beats, crc) = (on(&mut m, "BEATS"), on(&mut m, "CRC"));
    let bad_length = (len1.clone()
        & ((Expr::from(is_info) & !Expr::from(len_zero)) | (Expr::from(is_gemm) & len_zero)))
        | ((k0 | k1) & last_byte)
        | (beats.clone() & last_byte & !Expr::from(last_beat_ok));
    let err_next = m.wire_of(
        "err_next",
        frame::first_error(
            &h,
            err,
            rx_ferr,
            vec![
                ((beats | crc.clone()) & beat_valid, code(ERR_OVERRUN)),
                (
                    len1 & !Expr::from(is_info) & !Expr::from(is_gemm),
                    code(ERR_UNKNOWN_CMD),
                ),
                (bad_length, code(ERR_BAD_LENGTH)),
                (crc & !crc_ok, code(ERR_BAD_CRC)),
            ],
        ),
        "err_reg after this clock",
    );
    // Decisions that depend on the request's outcome are taken one clock after
    // its CRC byte (DECIDE), from the register: the error priority chain and the
    // response set-up do not share a clock period.
    let failed = m.wire_of(
        "failed",
        Expr::from(err).cmp_ne(code(0)),
        "the request has an error",
    );

    // ---- Transmit side: one frame at a time, bytes picked by position -------------------
    // Everything that depends on the frame's type is registered when it starts, so
    // picking a byte is a compare of tx_pos with constants and a mux.
    let fire = m.wire_of(
        "fire",
        Expr::from(tx_active) & tx_ready,
        "the transmitter takes a byte",
    );
    let at_crc = m.wire_of("at_crc", Expr::from(tx_pos).cmp_eq(tx_end), "");
    let frame_done = m.wire_of("frame_done", Expr::from(fire) & at_crc, "");
    let row_sent = m.wire_of(
        "row_sent",
        Expr::from(fire) & tx_row & Expr::from(tx_pos).cmp_eq(k(pos_bits, HEADER + row_len - 1)),
        "the row's last byte goes out: the array may drop it",
    );
    let out_c_bytes: Vec<Expr> = (0..4 * cols as u32)
        .map(|i| Expr::from(out_c).slice(8 * i, 8))
        .collect();
    let row_bytes = [Expr::from(row).slice(0, 8), Expr::from(row).slice(8, 8)]
        .into_iter()
        .chain(out_c_bytes)
        .collect();
    let row_byte = select_byte(row_bytes, tx_pos.into(), pos_bits, HEADER);
    let info_byte = select_byte(
        info.iter().map(|&v| k(8, u64::from(v))).collect(),
        tx_pos.into(),
        pos_bits,
        HEADER,
    );
    let tx = frame::TxFrame {
        pos: tx_pos,
        pos_bits,
        ty: tx_type,
        len: tx_len,
        crc: crc_tx,
    };
    let tx_byte = frame::response_byte(
        &mut m,
        &tx,
        at_crc,
        err,
        cmd,
        vec![(tx_row.into(), row_byte), (tx_info.into(), info_byte)],
    );
    m.assign(tx_valid, tx_active);
    m.assign(tx_data, tx_byte);

    // Which frame starts: an answer to the request, or the next row of C.
    let (decide, rows_st) = (st(&mut m, "DECIDE"), st(&mut m, "ROWS"));
    let start_resp = m.wire_of(
        "start_resp",
        (decide & !Expr::from(tile_open))
            | (rows_st.clone() & rows_done & discard & !Expr::from(tx_active)),
        "INFO or ERROR frame starts",
    );
    let start_row = m.wire_of(
        "start_row",
        rows_st
            & out_valid
            & !Expr::from(discard)
            & !Expr::from(rows_done)
            & !Expr::from(tx_active),
        "ROW frame starts",
    );
    let start = m.wire_of("start", Expr::from(start_resp) | start_row, "");
    let start_info = m.wire_of(
        "start_info",
        Expr::from(start_resp) & !Expr::from(failed),
        "",
    );
    let info_len = info.len() as u64;
    let frame = |p: &mut Proc, ty: u8, len: u64| {
        p.set(tx_type, k(8, u64::from(ty)));
        p.set(tx_len, k(16, len));
        p.set(tx_end, k(pos_bits, HEADER + len));
    };
    m.sync(
        sync,
        "Transmitter: a frame starts, then one byte per fire.",
        |p| {
            p.if_(start, |p| {
                p.set(tx_active, k(1, 1));
                p.set(tx_pos, k(pos_bits, 0));
                p.set(crc_tx, k(8, 0));
                p.set(tx_row, start_row);
                p.set(tx_info, start_info);
                p.if_(start_row, |p| frame(p, RSP_ROW, row_len))
                    .elif(start_info, |p| frame(p, RSP_INFO, info_len))
                    .else_(|p| frame(p, RSP_ERROR, 2));
            })
            .elif(fire, |p| tx.advance(p, tx_active, at_crc, tx_byte));
        },
    );

    // ---- Array side ------------------------------------------------------------------
    let row_taken = m.wire_of(
        "row_taken",
        Expr::from(out_valid) & out_ready,
        "the array's output beat moves",
    );
    let rows_now = st(&mut m, "ROWS");
    m.assign(out_ready, rows_now & (Expr::from(discard) | row_sent));
    m.assign(in_valid, beat_valid);
    let last_st = st(&mut m, "LAST");
    m.assign(in_last, last_st);
    m.assign(in_a, Expr::from(beat_buf).slice(0, 8 * rows as u32));
    m.assign(
        in_b,
        Expr::from(beat_buf).slice(8 * rows as u32, 8 * cols as u32),
    );
    let beat_taken = m.wire_of(
        "beat_taken",
        Expr::from(beat_valid) & in_ready,
        "the array takes the beat",
    );

    // ---- The request parser and responder --------------------------------------------
    let crc_next = frame::crc_rx_next(&mut m, crc_rx, rx_data);
    let payload_byte = m.wire_of(
        "payload_byte",
        Expr::from(byte) & state.clone().cmp_ge(code_of("K0")) & state.cmp_le(code_of("SKIP")),
        "a byte after LEN: K, a beat or skipped",
    );
    let crc_now = st(&mut m, "CRC");
    let mut p =
        Proc::sync(sync).with_comment("Parser and responder: one state per field of the frame.");
    p.set(err, err_next);
    p.if_(Expr::from(byte) & !crc_now, |p| {
        p.set(crc_rx, crc_next);
    });
    p.if_(payload_byte, |p| {
        p.set(remain, Expr::from(remain) - k(16, 1));
    });
    p.if_(
        Expr::from(dropped) | (Expr::from(start_resp) & failed),
        |p| {
            p.set(err_sticky, k(1, 1));
        },
    );
    p.if_(beat_taken, |p| {
        p.set(beat_valid, k(1, 0));
    });
    p.if_(row_taken, |p| {
        p.set(row, Expr::from(row) + k(16, 1));
        p.if_(out_last, |p| {
            p.set(rows_done, k(1, 1));
        });
    });
    let inputs = ParseIn {
        rx_valid,
        rx_data,
        sync_byte,
        len_new,
        len_zero,
        is_gemm,
        last_byte,
        beat_end,
        failed,
        beat_taken,
        frame_done,
        beat_bits,
        bpos_bits,
    };
    parser_states(&mut p, &fsm, r, &inputs);
    m.process(p);

    let hunt = st(&mut m, "HUNT");
    m.assign(busy, !hunt);
    m.assign(error, err_sticky);
    m
}
