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

use crate::ir::{Expr, Module, Ty, UnOp};
use crate::util::bits_for;

use super::protocol::{
    self, InfoLayout, CMD_GEMM, CMD_INFO, ERR_BAD_CRC, ERR_BAD_LENGTH, ERR_FRAMING, ERR_OVERRUN,
    ERR_UNKNOWN_CMD, RSP_ERROR, RSP_INFO, RSP_ROW, SYNC_REQUEST, SYNC_RESPONSE,
};
use super::{k, priority, reset_to, select_byte, BoardDerived, BoardTopConfig};

/// Parser and responder states (4 bits).
const S_HUNT: u64 = 0;
const S_CMD: u64 = 1;
const S_LEN0: u64 = 2;
const S_LEN1: u64 = 3;
const S_K0: u64 = 4;
const S_K1: u64 = 5;
const S_BEATS: u64 = 6;
const S_SKIP: u64 = 7;
const S_CRC: u64 = 8;
const S_LAST: u64 = 9;
const S_ROWS: u64 = 10;
const S_RESP: u64 = 11;
/// The clock after the CRC byte: answer or close the tile, from registered errors.
const S_DECIDE: u64 = 12;

/// Bytes before the payload in a response: sync, type, two length bytes.
const HEADER: u64 = 4;

/// One CRC-8/SMBUS byte step as an XOR network: the update is linear in
/// `crc ^ byte`, so output bit i is the parity of the input bits whose
/// single-bit CRC has bit i set.
fn crc8_step(crc: Expr, byte: Expr) -> Expr {
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

/// The 16 INFO payload bytes.
fn info_bytes(cfg: &BoardTopConfig, d: &BoardDerived) -> Vec<u8> {
    let mut b = vec![0u8; InfoLayout::LEN];
    b[InfoLayout::PROTOCOL] = protocol::PROTOCOL_VERSION;
    b[InfoLayout::VERSION..InfoLayout::VERSION + 3]
        .copy_from_slice(&protocol::version_bytes(crate::VERSION));
    b[InfoLayout::ROWS..InfoLayout::ROWS + 2]
        .copy_from_slice(&(cfg.array.rows as u16).to_le_bytes());
    b[InfoLayout::COLS..InfoLayout::COLS + 2]
        .copy_from_slice(&(cfg.array.cols as u16).to_le_bytes());
    let hz = u32::try_from(d.clock.achieved_hz).unwrap_or(u32::MAX);
    b[InfoLayout::CLOCK_HZ..InfoLayout::CLOCK_HZ + 4].copy_from_slice(&hz.to_le_bytes());
    b[InfoLayout::BAUD..InfoLayout::BAUD + 4].copy_from_slice(&cfg.baud.to_le_bytes());
    b
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

    let clk = m.input("clk", Ty::bit(), Some("Clock and synchronous reset"), "");
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
    let in_valid = m.output(
        "arr_in_valid",
        Ty::bit(),
        Some("To the array's operand stream"),
        "",
    );
    let in_ready = m.input("arr_in_ready", Ty::bit(), None, "");
    let in_a = m.output("arr_in_a", Ty::u(8 * rows as u32), None, "column k of A");
    let in_b = m.output("arr_in_b", Ty::u(8 * cols as u32), None, "row k of B");
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
    let out_c = m.input("arr_out_c", Ty::u(32 * cols as u32), None, "one row of C");
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

    // ---- Registers -------------------------------------------------------------
    let state = m.reg("state_reg", Ty::u(4), "parser / responder state");
    let cmd = m.reg("cmd_reg", Ty::u(8), "command byte of the current request");
    let len_lo = m.reg("len_lo_reg", Ty::u(8), "");
    let k_lo = m.reg("k_lo_reg", Ty::u(8), "");
    let remain = m.reg(
        "remain_reg",
        Ty::u(16),
        "payload bytes still to come, this one included",
    );
    let beats_left = m.reg(
        "beats_left_reg",
        Ty::u(16),
        "beats K still announces, this one included",
    );
    let crc_rx = m.reg("crc_rx_reg", Ty::u(8), "CRC of the request so far");
    let err = m.reg("err_reg", Ty::u(8), "first error of the request, 0 = none");
    let tile_open = m.reg(
        "tile_open_reg",
        Ty::bit(),
        "this request's beats go to the array",
    );
    let beat_bits = 8 * beat as u32;
    let beat_buf = m.reg(
        "beat_buf_reg",
        Ty::u(beat_bits),
        "the beat being received, first byte lowest",
    );
    let bpos_bits = bits_for(beat - 1);
    let bpos = m.reg("beat_pos_reg", Ty::u(bpos_bits), "byte index in the beat");
    let beat_valid = m.reg(
        "beat_valid_reg",
        Ty::bit(),
        "the beat is offered to the array",
    );
    let discard = m.reg(
        "discard_reg",
        Ty::bit(),
        "the tile's rows are drained, not sent",
    );
    let row = m.reg("row_reg", Ty::u(16), "index of the row being sent");
    let rows_done = m.reg("rows_done_reg", Ty::bit(), "the tile's last row was taken");
    let tx_active = m.reg("tx_active_reg", Ty::bit(), "a response frame is being sent");
    let tx_pos = m.reg("tx_pos_reg", Ty::u(pos_bits), "byte index in the frame");
    let tx_type = m.reg("tx_type_reg", Ty::u(8), "TYPE of the frame being sent");
    let tx_row = m.reg("tx_row_reg", Ty::bit(), "the frame is a ROW");
    let tx_info = m.reg("tx_info_reg", Ty::bit(), "the frame is INFO");
    let tx_len = m.reg("tx_len_reg", Ty::u(16), "LEN of the frame being sent");
    let tx_end = m.reg(
        "tx_end_reg",
        Ty::u(pos_bits),
        "position of the frame's CRC byte",
    );
    let crc_tx = m.reg("crc_tx_reg", Ty::u(8), "CRC of the frame so far");
    let err_sticky = m.reg("err_sticky_reg", Ty::bit(), "");

    let st = |v: u64| Expr::from(state).cmp_eq(k(4, v));
    let b = || Expr::from(rx_data);

    // ---- Receive side --------------------------------------------------------------
    // Lengths are checked by counting, never by multiplying: `remain` counts LEN
    // down over K and the beats, `beats_left` counts K down, and the payload must
    // end exactly where the K-th beat ends.
    let in_frame = m.wire_of(
        "in_frame",
        Expr::from(state).cmp_ge(k(4, S_CMD)) & Expr::from(state).cmp_le(k(4, S_CRC)),
        "between the sync byte and the CRC byte",
    );
    let byte = m.wire_of(
        "req_byte",
        Expr::from(rx_valid) & in_frame,
        "a byte of the current request",
    );
    let dropped = m.wire_of(
        "dropped",
        Expr::from(rx_valid) & Expr::from(state).cmp_ge(k(4, S_LAST)),
        "a byte arrived while answering: not read",
    );
    let sync = m.wire_of(
        "sync",
        Expr::from(rx_valid)
            & st(S_HUNT)
            & !Expr::from(rx_ferr)
            & b().cmp_eq(k(8, u64::from(SYNC_REQUEST))),
        "a request starts",
    );
    let len_new = m.wire_of(
        "len_new",
        Expr::concat(vec![len_lo.into(), b()]),
        "LEN, on its high byte",
    );
    let len_zero = m.wire_of("len_zero", Expr::from(len_new).cmp_eq(k(16, 0)), "");
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
    let on = |s: u64| Expr::from(byte) & st(s);
    let bad_length = (on(S_LEN1)
        & ((Expr::from(is_info) & !Expr::from(len_zero)) | (Expr::from(is_gemm) & len_zero)))
        | ((on(S_K0) | on(S_K1)) & last_byte)
        | (on(S_BEATS) & last_byte & !Expr::from(last_beat_ok));
    let err_next = m.wire_of(
        "err_next",
        priority(
            vec![
                (sync.into(), code(0)),
                (Expr::from(err).cmp_ne(code(0)), err.into()),
                (Expr::from(byte) & rx_ferr, code(ERR_FRAMING)),
                ((on(S_BEATS) | on(S_CRC)) & beat_valid, code(ERR_OVERRUN)),
                (
                    on(S_LEN1) & !Expr::from(is_info) & !Expr::from(is_gemm),
                    code(ERR_UNKNOWN_CMD),
                ),
                (bad_length, code(ERR_BAD_LENGTH)),
                (on(S_CRC) & !crc_ok, code(ERR_BAD_CRC)),
            ],
            err.into(),
        ),
        "err_reg after this clock",
    );
    m.clocked(err, clk, err_next, None, reset_to(rst, 8, 0));
    // Decisions that depend on the request's outcome are taken one clock after
    // its CRC byte (S_DECIDE), from the register: the error priority chain and the
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
    let pos_is = |v: u64| Expr::from(tx_pos).cmp_eq(k(pos_bits, v));
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
    let err_byte = Expr::mux(pos_is(HEADER), Expr::from(err), Expr::from(cmd));
    let payload = priority(
        vec![(tx_row.into(), row_byte), (tx_info.into(), info_byte)],
        err_byte,
    );
    let tx_byte = m.wire_of(
        "tx_byte",
        priority(
            vec![
                (pos_is(0), k(8, u64::from(SYNC_RESPONSE))),
                (pos_is(1), tx_type.into()),
                (pos_is(2), Expr::from(tx_len).slice(0, 8)),
                (pos_is(3), Expr::from(tx_len).slice(8, 8)),
                (at_crc.into(), crc_tx.into()),
            ],
            payload,
        ),
        "the frame byte at tx_pos",
    );
    m.assign(tx_valid, tx_active);
    m.assign(tx_data, tx_byte);

    // Which frame starts: an answer to the request, or the next row of C.
    let start_resp = m.wire_of(
        "start_resp",
        (st(S_DECIDE) & !Expr::from(tile_open))
            | (st(S_ROWS) & rows_done & discard & !Expr::from(tx_active)),
        "INFO or ERROR frame starts",
    );
    let start_row = m.wire_of(
        "start_row",
        st(S_ROWS)
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
    m.clocked(
        tx_active,
        clk,
        priority(
            vec![(start.into(), k(1, 1)), (frame_done.into(), k(1, 0))],
            tx_active.into(),
        ),
        None,
        reset_to(rst, 1, 0),
    );
    m.clocked(
        tx_pos,
        clk,
        Expr::mux(start, k(pos_bits, 0), Expr::from(tx_pos) + k(pos_bits, 1)),
        Some(Expr::from(start) | fire),
        None,
    );
    let by_type = |row_v: u64, info_v: u64, err_v: u64, w: u32| {
        priority(
            vec![
                (start_row.into(), k(w, row_v)),
                (start_info.into(), k(w, info_v)),
            ],
            k(w, err_v),
        )
    };
    let info_len = info.len() as u64;
    m.clocked(
        tx_type,
        clk,
        by_type(
            u64::from(RSP_ROW),
            u64::from(RSP_INFO),
            u64::from(RSP_ERROR),
            8,
        ),
        Some(start.into()),
        None,
    );
    m.clocked(tx_row, clk, start_row, Some(start.into()), None);
    m.clocked(tx_info, clk, start_info, Some(start.into()), None);
    m.clocked(
        tx_len,
        clk,
        by_type(row_len, info_len, 2, 16),
        Some(start.into()),
        None,
    );
    m.clocked(
        tx_end,
        clk,
        by_type(HEADER + row_len, HEADER + info_len, HEADER + 2, pos_bits),
        Some(start.into()),
        None,
    );
    m.clocked(
        crc_tx,
        clk,
        Expr::mux(start, k(8, 0), crc8_step(crc_tx.into(), tx_byte.into())),
        Some(Expr::from(start) | (Expr::from(fire) & !pos_is(0) & !Expr::from(at_crc))),
        None,
    );

    // ---- Array side ------------------------------------------------------------------
    let row_taken = m.wire_of(
        "row_taken",
        Expr::from(out_valid) & out_ready,
        "the array's output beat moves",
    );
    m.assign(out_ready, st(S_ROWS) & (Expr::from(discard) | row_sent));
    m.assign(in_valid, beat_valid);
    m.assign(in_last, st(S_LAST));
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
    let beat_byte = m.wire_of("beat_byte", on(S_BEATS), "");
    let close_tile = m.wire_of(
        "close_tile",
        st(S_DECIDE) & tile_open,
        "the CRC byte is in: the held last beat goes to the array",
    );
    m.clocked(
        beat_valid,
        clk,
        priority(
            vec![
                (
                    Expr::from(beat_byte) & beat_end & !Expr::from(last_byte),
                    k(1, 1),
                ),
                (close_tile.into(), k(1, 1)),
                (beat_taken.into(), k(1, 0)),
            ],
            beat_valid.into(),
        ),
        None,
        reset_to(rst, 1, 0),
    );
    m.clocked(
        beat_buf,
        clk,
        Expr::concat(vec![Expr::from(beat_buf).slice(8, beat_bits - 8), b()]),
        Some(beat_byte.into()),
        None,
    );
    m.clocked(
        bpos,
        clk,
        Expr::mux(
            Expr::from(beat_end) | st(S_K1),
            k(bpos_bits, 0),
            Expr::from(bpos) + k(bpos_bits, 1),
        ),
        Some(Expr::from(beat_byte) | on(S_K1)),
        None,
    );
    m.clocked(
        beats_left,
        clk,
        Expr::mux(
            st(S_K1),
            Expr::concat(vec![k_lo.into(), b()]),
            Expr::from(beats_left) - k(16, 1),
        ),
        Some(on(S_K1) | (Expr::from(beat_byte) & beat_end)),
        None,
    );
    m.clocked(
        discard,
        clk,
        failed,
        Some(close_tile.into()),
        reset_to(rst, 1, 0),
    );
    m.clocked(
        row,
        clk,
        Expr::mux(st(S_LAST), k(16, 0), Expr::from(row) + k(16, 1)),
        Some(st(S_LAST) | row_taken),
        None,
    );
    m.clocked(
        rows_done,
        clk,
        Expr::mux(st(S_LAST), k(1, 0), k(1, 1)),
        Some(st(S_LAST) | (Expr::from(row_taken) & out_last)),
        reset_to(rst, 1, 0),
    );

    // ---- Request fields -------------------------------------------------------------------
    m.clocked(
        crc_rx,
        clk,
        Expr::mux(sync, k(8, 0), crc8_step(crc_rx.into(), b())),
        Some(Expr::from(sync) | (Expr::from(byte) & !st(S_CRC))),
        None,
    );
    m.clocked(cmd, clk, b(), Some(on(S_CMD)), None);
    m.clocked(len_lo, clk, b(), Some(on(S_LEN0)), None);
    m.clocked(k_lo, clk, b(), Some(on(S_K0)), None);
    m.clocked(
        remain,
        clk,
        Expr::mux(st(S_LEN1), len_new, Expr::from(remain) - k(16, 1)),
        Some(on(S_LEN1) | on(S_K0) | on(S_K1) | on(S_SKIP) | beat_byte),
        None,
    );
    m.clocked(
        tile_open,
        clk,
        Expr::mux(sync, k(1, 0), k(1, 1)),
        Some(Expr::from(sync) | (on(S_K1) & !Expr::from(last_byte))),
        reset_to(rst, 1, 0),
    );
    m.clocked(
        err_sticky,
        clk,
        k(1, 1),
        Some(Expr::from(dropped) | (Expr::from(start_resp) & failed)),
        reset_to(rst, 1, 0),
    );

    // ---- State -----------------------------------------------------------------------
    let s = |v: u64| k(4, v);
    let after_len1 = priority(
        vec![(len_zero.into(), s(S_CRC)), (is_gemm.into(), s(S_K0))],
        s(S_SKIP),
    );
    let state_next = priority(
        vec![
            (sync.into(), s(S_CMD)),
            (on(S_CMD), s(S_LEN0)),
            (on(S_LEN0), s(S_LEN1)),
            (on(S_LEN1), after_len1),
            // K0, K1, SKIP and BEATS end where LEN ends.
            (
                (on(S_K0) | on(S_K1) | on(S_SKIP) | beat_byte) & last_byte,
                s(S_CRC),
            ),
            (on(S_K0), s(S_K1)),
            (on(S_K1), s(S_BEATS)),
            (on(S_CRC), s(S_DECIDE)),
            (close_tile.into(), s(S_LAST)),
            (start_resp.into(), s(S_RESP)),
            (st(S_LAST) & beat_taken, s(S_ROWS)),
            (
                st(S_ROWS) & rows_done & !Expr::from(discard) & !Expr::from(tx_active),
                s(S_HUNT),
            ),
            (st(S_RESP) & frame_done, s(S_HUNT)),
        ],
        state.into(),
    );
    m.clocked(state, clk, state_next, None, reset_to(rst, 4, S_HUNT));

    m.assign(busy, !st(S_HUNT));
    m.assign(error, err_sticky);
    m
}
