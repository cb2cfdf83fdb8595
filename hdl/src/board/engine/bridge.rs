//! The engine board's UART bridge: parses request frames and answers them,
//! turning register and memory commands into requests for the engine domain
//! (through the clock-domain crossing, one at a time).
//!
//! # Protocol (numbers in `contracts::uart`, full text in `docs/uart-protocol.md`)
//!
//! Frames as on the array board (`A5 CMD LEN payload CRC` in, `5A TYPE LEN
//! payload CRC` out, CRC-8/SMBUS after the sync byte), with these commands:
//!
//! - INFO (`01`, LEN 0) -> INFO (`81`): kind "engine", rows, cols, clocks, memory;
//! - REG_WRITE (`03`): address u8, value u32 -> ACK (`83`); applied only after
//!   the CRC checked, so a corrupted frame never starts the engine;
//! - REG_READ (`04`): address u8 -> REG (`84`): value u32;
//! - MEM_WRITE (`05`): address u32, then data bytes -> ACK; each byte is
//!   written as it arrives (a bad CRC is reported after the bytes were written);
//! - MEM_READ (`06`): address u32, count u16 >= 1 -> MEM (`85`): the bytes;
//! - anything wrong -> ERROR (`EE`): error code, command byte.
//!
//! # How
//!
//! Every byte is taken the clock it arrives. The payload's fixed fields land in
//! `hdr_reg` byte by byte (by index, not by shifting, so every field sits at a
//! fixed place whatever the command). A MEM_WRITE data byte becomes a memory
//! write request at once; the crossing must have finished the previous one (a
//! UART byte time, 10 bit times, is far longer than a round trip of a few clocks
//! of each domain), else the byte is dropped and the answer is an overrun. A
//! MEM_READ answer streams: the next byte is read while the current one is
//! sent, and the transmitter waits for a byte that is not there yet. Lengths are
//! checked when LEN arrives, by compares with constants.
//!
//! Bytes that arrive while the bridge answers are dropped and light the error
//! LED; a UART break resets everything.

use crate::ir::{Expr, Module, Ty};
use crate::process::Proc;

use super::super::frame::{self, TxFrame, UartPorts, HEADER};
use super::super::protocol::{
    self, CMD_INFO, CMD_MEM_READ, CMD_MEM_WRITE, CMD_REG_READ, CMD_REG_WRITE, ERR_BAD_CRC,
    ERR_BAD_LENGTH, ERR_FRAMING, ERR_OVERRUN, ERR_UNKNOWN_CMD, MEM_READ_LEN, MEM_WRITE_HEADER,
    REG_READ_LEN, REG_WRITE_LEN, RSP_ACK, RSP_ERROR, RSP_INFO, RSP_MEM, RSP_REG,
};
use super::super::{k, priority, select_byte};
use super::cdc::{Op, REQ_BITS, RESP_BITS};
use super::{EngineBoardConfig, EngineBoardDerived};

/// Parser and responder states, in frame order: `CMD..=CRC` are the bytes of a
/// request, `DECIDE` and after answer it.
const STATES: &[&str] = &[
    "HUNT", "CMD", "LEN0", "LEN1", "HDR", "DATA", "SKIP", "CRC", "DECIDE", "ISSUE", "WAIT",
    "MEMRD", "RESP",
];

/// Bytes of `hdr_reg`: the longest fixed part of a payload (MEM_READ's).
const HDR_BYTES: u32 = MEM_READ_LEN as u32;
/// Bits of the transmit position: a frame is at most 4 + 65535 + 1 bytes.
const POS_BITS: u32 = 17;

/// The INFO payload of this board.
fn info_bytes(cfg: &EngineBoardConfig, d: &EngineBoardDerived) -> Vec<u8> {
    let hz = |f: u64| u32::try_from(f).unwrap_or(u32::MAX);
    protocol::InfoFields {
        version: protocol::version_bytes(crate::VERSION),
        rows: cfg.engine.rows as u16,
        cols: cfg.engine.cols as u16,
        clock_hz: hz(d.bridge_clock.achieved_hz),
        baud: cfg.baud,
        kind: protocol::KIND_ENGINE,
        mem_bits: cfg.engine.mem_bits as u8,
        mem_bytes: cfg.mem_bytes,
        engine_hz: hz(d.engine_clock.achieved_hz),
    }
    .encode()
    .to_vec()
}

/// Build `<name>_bridge`.
pub fn build(cfg: &EngineBoardConfig, d: &EngineBoardDerived) -> Module {
    let info = info_bytes(cfg, d);
    let mut m = Module::new(cfg.sub("bridge"));
    m.doc("UART bridge of the engine board: framed requests in, register and memory accesses to the engine domain, framed answers out.")
        .doc(format!(
            "INFO {CMD_INFO:02X} -> {RSP_INFO:02X}; REG_WRITE {CMD_REG_WRITE:02X} -> ACK {RSP_ACK:02X}; REG_READ {CMD_REG_READ:02X} -> REG {RSP_REG:02X}; MEM_WRITE {CMD_MEM_WRITE:02X} -> ACK; MEM_READ {CMD_MEM_READ:02X} -> MEM {RSP_MEM:02X}."
        ))
        .doc(format!(
            "Errors -> {RSP_ERROR:02X} [code, cmd]: CRC {ERR_BAD_CRC}, unknown command {ERR_UNKNOWN_CMD}, length {ERR_BAD_LENGTH}, framing {ERR_FRAMING}, overrun {ERR_OVERRUN}."
        ))
        .doc("See docs/uart-protocol.md.");

    // ---- Ports -------------------------------------------------------------------
    let UartPorts {
        clk,
        rst,
        rx_valid,
        rx_data,
        rx_ferr,
        tx_valid,
        tx_ready,
        tx_data,
    } = frame::uart_ports(&mut m, "Bridge clock and synchronous reset");
    let acc_valid = m.output(
        "acc_valid",
        Ty::bit(),
        Some("Requests to the engine domain (clock-domain crossing)"),
        "",
    );
    let acc_ready = m.input(
        "acc_ready",
        Ty::bit(),
        None,
        "the last request was answered",
    );
    let acc_data = m.output("acc_data", Ty::u(REQ_BITS), None, "op, address, value");
    let acc_done = m.input("acc_done", Ty::bit(), None, "an answer arrived");
    let acc_resp = m.input("acc_resp", Ty::u(RESP_BITS), None, "");
    let eng_irq = m.input(
        "eng_irq",
        Ty::bit(),
        Some("Status"),
        "the engine's irq, asynchronous to clk",
    );
    let irq = m.output("irq", Ty::bit(), None, "eng_irq, synchronized");
    let busy = m.output("busy", Ty::bit(), None, "a request is in progress");
    let error = m.output(
        "error",
        Ty::bit(),
        None,
        "an error was answered or a byte dropped since reset",
    );

    // ---- Registers -----------------------------------------------------------------
    let sync = m.domain("sync", clk, Some(rst));
    let fsm = m.fsm("state_reg", sync, STATES, "parser / responder state");
    let cmd = m.reg_in("cmd_reg", Ty::u(8), sync, "command byte of the request");
    let len_lo = m.reg_in("len_lo_reg", Ty::u(8), sync, "");
    let remain = m.reg_in(
        "remain_reg",
        Ty::u(16),
        sync,
        "payload bytes still to come, this one included",
    );
    let crc_rx = m.reg_in("crc_rx_reg", Ty::u(8), sync, "CRC of the request so far");
    let err = m.reg_reset("err_reg", Ty::u(8), sync, 0, "first error, 0 = none");
    let hdr = m.reg_in(
        "hdr_reg",
        Ty::u(8 * HDR_BYTES),
        sync,
        "the payload's fixed fields, byte i at [8i +: 8]",
    );
    let pidx = m.reg_in("pidx_reg", Ty::u(3), sync, "index of the payload byte");
    let maddr = m.reg_in(
        "maddr_reg",
        Ty::u(32),
        sync,
        "memory address of the next byte",
    );
    let rd_left = m.reg_in(
        "rd_left_reg",
        Ty::u(16),
        sync,
        "MEM_READ bytes still to read",
    );
    let rd_have = m.reg_reset(
        "rd_have_reg",
        Ty::bit(),
        sync,
        0,
        "rd_byte_reg holds the next byte to send",
    );
    let rd_pend = m.reg_reset(
        "rd_pend_reg",
        Ty::bit(),
        sync,
        0,
        "a memory read is in flight",
    );
    let rd_byte = m.reg_in("rd_byte_reg", Ty::u(8), sync, "");
    let val = m.reg_in("val_reg", Ty::u(32), sync, "a register's value, for REG");
    let tx_active = m.reg_reset(
        "tx_active_reg",
        Ty::bit(),
        sync,
        0,
        "a response frame is being sent",
    );
    let tx_pos = m.reg_in(
        "tx_pos_reg",
        Ty::u(POS_BITS),
        sync,
        "byte index in the frame",
    );
    let tx_type = m.reg_in("tx_type_reg", Ty::u(8), sync, "TYPE of the frame");
    let tx_len = m.reg_in("tx_len_reg", Ty::u(16), sync, "LEN of the frame");
    let tx_end = m.reg_in(
        "tx_end_reg",
        Ty::u(POS_BITS),
        sync,
        "position of the frame's CRC byte",
    );
    let tx_info = m.reg_in("tx_info_reg", Ty::bit(), sync, "the frame is INFO");
    let tx_reg = m.reg_in("tx_reg_reg", Ty::bit(), sync, "the frame is REG");
    let tx_mem = m.reg_in("tx_mem_reg", Ty::bit(), sync, "the frame is MEM");
    let crc_tx = m.reg_in("crc_tx_reg", Ty::u(8), sync, "CRC of the frame so far");
    let err_sticky = m.reg_reset("err_sticky_reg", Ty::bit(), sync, 0, "");
    let irq_meta = m.reg_in("irq_meta_reg", Ty::bit(), sync, "synchronizer, first stage");
    let irq_sync = m.reg_in(
        "irq_sync_reg",
        Ty::bit(),
        sync,
        "synchronizer, second stage",
    );

    let b = || Expr::from(rx_data);
    let state = Expr::from(fsm.reg);
    let code_of = |name: &str| {
        k(
            crate::util::clog2(STATES.len() as u64),
            STATES.iter().position(|s| *s == name).unwrap_or(0) as u64,
        )
    };
    let st = |m: &mut Module, name: &str| m.in_state(&fsm, name);

    // ---- Receive side ----------------------------------------------------------------
    let h = frame::rx_header(&mut m, &fsm, rx_valid, rx_data, rx_ferr, len_lo, "DECIDE");
    let (byte, dropped, sync_byte, len_new, len_zero) =
        (h.byte, h.dropped, h.sync_byte, h.len_new, h.len_zero);
    let is_cmd = |m: &mut Module, c: u8, name: &str| {
        m.wire_of(name, Expr::from(cmd).cmp_eq(k(8, u64::from(c))), "")
    };
    let is_info = is_cmd(&mut m, CMD_INFO, "is_info");
    let is_regw = is_cmd(&mut m, CMD_REG_WRITE, "is_reg_write");
    let is_regr = is_cmd(&mut m, CMD_REG_READ, "is_reg_read");
    let is_memw = is_cmd(&mut m, CMD_MEM_WRITE, "is_mem_write");
    let is_memr = is_cmd(&mut m, CMD_MEM_READ, "is_mem_read");
    let known = m.wire_of(
        "known",
        Expr::from(is_info) | is_regw | is_regr | is_memw | is_memr,
        "a command of this board",
    );
    let len_is = |n: usize| Expr::from(len_new).cmp_eq(k(16, n as u64));
    let len_ok = m.wire_of(
        "len_ok",
        (Expr::from(is_info) & len_zero)
            | (Expr::from(is_regw) & len_is(REG_WRITE_LEN))
            | (Expr::from(is_regr) & len_is(REG_READ_LEN))
            | (Expr::from(is_memr) & len_is(MEM_READ_LEN))
            | (Expr::from(is_memw) & Expr::from(len_new).cmp_gt(k(16, MEM_WRITE_HEADER as u64))),
        "LEN fits the command",
    );
    let last_byte = m.wire_of(
        "last_byte",
        Expr::from(remain).cmp_eq(k(16, 1)),
        "this byte ends the payload",
    );
    let hdr_end = m.wire_of(
        "hdr_end",
        Expr::from(is_memw) & Expr::from(pidx).cmp_eq(k(3, MEM_WRITE_HEADER as u64 - 1)),
        "MEM_WRITE's address is complete: data follows",
    );
    let count = m.wire_of(
        "mem_count",
        Expr::from(hdr).slice(32, 16),
        "MEM_READ's byte count",
    );
    let crc_ok = b().cmp_eq(crc_rx);

    let code = |c: u8| k(8, u64::from(c));
    let on = |m: &mut Module, s: &str| Expr::from(byte) & st(m, s);
    let (len1, data_st, crc_st) = (on(&mut m, "LEN1"), on(&mut m, "DATA"), on(&mut m, "CRC"));
    let err_next = m.wire_of(
        "err_next",
        frame::first_error(
            &h,
            err,
            rx_ferr,
            vec![
                (data_st.clone() & !Expr::from(acc_ready), code(ERR_OVERRUN)),
                (len1.clone() & !Expr::from(known), code(ERR_UNKNOWN_CMD)),
                (len1 & !Expr::from(len_ok), code(ERR_BAD_LENGTH)),
                (
                    crc_st.clone() & is_memr & Expr::from(count).cmp_eq(k(16, 0)),
                    code(ERR_BAD_LENGTH),
                ),
                (crc_st & !crc_ok, code(ERR_BAD_CRC)),
            ],
        ),
        "err_reg after this clock",
    );
    let failed = m.wire_of(
        "failed",
        Expr::from(err).cmp_ne(code(0)),
        "the request has an error",
    );

    // ---- Requests to the engine domain -----------------------------------------------------
    let (issue_st, memrd_st) = (st(&mut m, "ISSUE"), st(&mut m, "MEMRD"));
    let in_data = st(&mut m, "DATA");
    let rd_issue = m.wire_of(
        "rd_issue",
        memrd_st.clone()
            & !Expr::from(rd_have)
            & !Expr::from(rd_pend)
            & Expr::from(rd_left).cmp_ne(k(16, 0))
            & acc_ready,
        "read the next byte of a MEM answer",
    );
    let reg_issue = m.wire_of(
        "reg_issue",
        issue_st.clone() & (Expr::from(is_regw) | is_regr) & acc_ready,
        "the register access goes",
    );
    let wr_issue = m.wire_of("wr_issue", data_st & acc_ready, "a MEM_WRITE byte goes");
    m.assign(acc_valid, Expr::from(rd_issue) | reg_issue | wr_issue);
    let op = priority(
        vec![
            (in_data.clone(), k(2, Op::MemWrite as u64)),
            (memrd_st.clone(), k(2, Op::MemRead as u64)),
            (is_regr.into(), k(2, Op::RegRead as u64)),
        ],
        k(2, Op::RegWrite as u64),
    );
    let addr = Expr::mux(
        issue_st.clone(),
        Expr::concat(vec![Expr::from(hdr).slice(0, 8), k(24, 0)]),
        Expr::from(maddr),
    );
    let value = Expr::mux(
        in_data,
        Expr::concat(vec![b(), k(24, 0)]),
        Expr::from(hdr).slice(8, 32),
    );
    m.assign(acc_data, Expr::concat(vec![op, addr, value]));

    // ---- Transmit side -------------------------------------------------------------------
    let at_crc = m.wire_of("at_crc", Expr::from(tx_pos).cmp_eq(tx_end), "");
    let in_payload = m.wire_of(
        "in_payload",
        Expr::from(tx_pos).cmp_ge(k(POS_BITS, HEADER)) & !Expr::from(at_crc),
        "",
    );
    let avail = m.wire_of(
        "tx_avail",
        !(Expr::from(tx_mem) & in_payload) | rd_have,
        "the byte at tx_pos is there (a MEM byte may still be on its way)",
    );
    let tx_go = m.wire_of("tx_go", Expr::from(tx_active) & avail, "");
    let fire = m.wire_of(
        "fire",
        Expr::from(tx_go) & tx_ready,
        "the transmitter takes a byte",
    );
    let frame_done = m.wire_of("frame_done", Expr::from(fire) & at_crc, "");
    let val_byte = select_byte(
        (0..4).map(|i| Expr::from(val).slice(8 * i, 8)).collect(),
        tx_pos.into(),
        POS_BITS,
        HEADER,
    );
    let info_byte = select_byte(
        info.iter().map(|&v| k(8, u64::from(v))).collect(),
        tx_pos.into(),
        POS_BITS,
        HEADER,
    );
    let tx = TxFrame {
        pos: tx_pos,
        pos_bits: POS_BITS,
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
        vec![
            (tx_mem.into(), rd_byte.into()),
            (tx_reg.into(), val_byte),
            (tx_info.into(), info_byte),
        ],
    );
    m.assign(tx_valid, tx_go);
    m.assign(tx_data, tx_byte);

    // ---- The parser and responder ---------------------------------------------------------
    let crc_next = frame::crc_rx_next(&mut m, crc_rx, rx_data);
    let crc_now = st(&mut m, "CRC");
    let hdr_next = m.wire_of(
        "hdr_next",
        Expr::concat(
            (0..HDR_BYTES)
                .map(|i| {
                    Expr::mux(
                        Expr::from(pidx).cmp_eq(k(3, u64::from(i))),
                        b(),
                        Expr::from(hdr).slice(8 * i, 8),
                    )
                })
                .collect(),
        ),
        "hdr_reg with this byte at pidx",
    );
    let info_len = info.len() as u64;
    // A frame starts: every field that depends on its type is registered now.
    let frame = |p: &mut Proc, ty: u8, len: Expr, end: Expr, flags: (bool, bool, bool)| {
        p.set(tx_active, k(1, 1));
        p.set(tx_pos, k(POS_BITS, 0));
        p.set(crc_tx, k(8, 0));
        p.set(tx_type, k(8, u64::from(ty)));
        p.set(tx_len, len);
        p.set(tx_end, end);
        p.set(tx_info, k(1, u64::from(flags.0)));
        p.set(tx_reg, k(1, u64::from(flags.1)));
        p.set(tx_mem, k(1, u64::from(flags.2)));
    };
    let fixed = |p: &mut Proc, ty: u8, len: u64, flags| {
        frame(p, ty, k(16, len), k(POS_BITS, HEADER + len), flags)
    };
    let mut p =
        Proc::sync(sync).with_comment("Parser and responder: one state per field of the frame.");
    p.set(err, err_next);
    p.set(irq_meta, eng_irq);
    p.set(irq_sync, irq_meta);
    p.if_(Expr::from(byte) & !crc_now, |p| {
        p.set(crc_rx, crc_next);
    });
    p.if_(
        Expr::from(byte) & state.clone().cmp_ge(code_of("HDR")) & state.cmp_le(code_of("SKIP")),
        |p| {
            p.set(remain, Expr::from(remain) - k(16, 1));
        },
    );
    p.if_(Expr::from(dropped) | (st(&mut m, "DECIDE") & failed), |p| {
        p.set(err_sticky, k(1, 1));
    });
    // The transmitter: one byte per fire.
    p.if_(fire, |p| {
        tx.advance(p, tx_active, at_crc, tx_byte);
        p.if_(Expr::from(tx_mem) & in_payload, |p| {
            p.set(rd_have, k(1, 0));
        });
    });
    // MEM answer: read ahead of the transmitter, one byte at a time.
    p.if_(rd_issue, |p| {
        p.set(rd_pend, k(1, 1));
        p.set(rd_left, Expr::from(rd_left) - k(16, 1));
        p.set(maddr, Expr::from(maddr) + k(32, 1));
    });
    p.if_(Expr::from(acc_done) & rd_pend, |p| {
        p.set(rd_pend, k(1, 0));
        p.set(rd_have, k(1, 1));
        p.set(rd_byte, Expr::from(acc_resp).slice(0, 8));
    });
    let sw = p.fsm(&fsm).state("HUNT", |p| {
        p.if_(sync_byte, |p| {
            p.set(crc_rx, k(8, 0));
            p.goto("CMD");
        });
    });
    frame::cmd_len_states(sw, rx_valid, rx_data, cmd, len_lo)
        .state("LEN1", |p| {
            p.if_(rx_valid, |p| {
                p.set(remain, len_new);
                p.set(pidx, k(3, 0));
                p.if_(len_zero, |p| {
                    p.goto("CRC");
                })
                .elif(Expr::from(known) & len_ok, |p| {
                    p.goto("HDR");
                })
                .else_(|p| {
                    p.goto("SKIP");
                });
            });
        })
        .state("HDR", |p| {
            p.if_(rx_valid, |p| {
                p.set(hdr, hdr_next);
                p.set(pidx, Expr::from(pidx) + k(3, 1));
                p.if_(last_byte, |p| {
                    p.goto("CRC");
                })
                .elif(hdr_end, |p| {
                    p.set(maddr, Expr::from(hdr_next).slice(0, 32));
                    p.goto("DATA");
                });
            });
        })
        .state("DATA", |p| {
            p.if_(rx_valid, |p| {
                p.set(maddr, Expr::from(maddr) + k(32, 1));
                p.if_(last_byte, |p| {
                    p.goto("CRC");
                });
            });
        })
        .state("SKIP", |p| {
            p.if_(Expr::from(rx_valid) & last_byte, |p| {
                p.goto("CRC");
            });
        })
        .state("CRC", |p| {
            p.if_(rx_valid, |p| {
                p.goto("DECIDE");
            });
        })
        .state("DECIDE", |p| {
            p.if_(failed, |p| {
                fixed(p, RSP_ERROR, 2, (false, false, false));
                p.goto("RESP");
            })
            .elif(is_info, |p| {
                fixed(p, RSP_INFO, info_len, (true, false, false));
                p.goto("RESP");
            })
            .elif(is_memr, |p| {
                p.set(maddr, Expr::from(hdr).slice(0, 32));
                p.set(rd_left, count);
                p.set(rd_have, k(1, 0));
                frame(
                    p,
                    RSP_MEM,
                    count.into(),
                    Expr::from(count).resize(POS_BITS) + k(POS_BITS, HEADER),
                    (false, false, true),
                );
                p.goto("MEMRD");
            })
            .else_(|p| {
                p.goto("ISSUE");
            });
        })
        .state("ISSUE", |p| {
            // A MEM_WRITE is done when its last byte is (the crossing is idle).
            p.if_(Expr::from(is_memw) & acc_ready, |p| {
                fixed(p, RSP_ACK, 0, (false, false, false));
                p.goto("RESP");
            })
            .elif(reg_issue, |p| {
                p.goto("WAIT");
            });
        })
        .state("WAIT", |p| {
            p.if_(acc_done, |p| {
                p.set(val, acc_resp);
                p.if_(is_regr, |p| {
                    fixed(p, RSP_REG, 4, (false, true, false));
                })
                .else_(|p| {
                    fixed(p, RSP_ACK, 0, (false, false, false));
                });
                p.goto("RESP");
            });
        })
        .state("MEMRD", |p| {
            p.if_(frame_done, |p| {
                p.goto("HUNT");
            });
        })
        .state("RESP", |p| {
            p.if_(frame_done, |p| {
                p.goto("HUNT");
            });
        });
    m.process(p);

    let hunt = st(&mut m, "HUNT");
    m.assign(busy, !hunt);
    m.assign(error, err_sticky);
    m.assign(irq, irq_sync);
    m
}
