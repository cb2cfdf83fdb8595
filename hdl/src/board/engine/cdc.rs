//! The clock-domain crossing between the bridge and the engine: a toggle
//! handshake that carries one request at a time, and a reset synchronizer.
//!
//! # Request/answer handshake (`<name>_cdc`)
//!
//! The source (bridge) domain takes a request when `s_valid & s_ready`: it
//! stores the request word in `data_reg` and flips `req_tog_reg`. The flip
//! crosses into the destination (engine) domain through [`SYNC_STAGES`]
//! flip-flops; while the synchronized toggle differs from `ack_tog_reg` a
//! request is pending (`d_valid`) and the destination reads `d_data` straight
//! from the source's `data_reg`, which is held stable from before the toggle
//! flips until the answer has come back, so no bit of it is ever sampled while
//! it changes. The destination answers with a `d_done` pulse: it stores
//! `d_resp` in `resp_reg` and flips `ack_tog_reg`, which crosses back the same
//! way; the source sees the flip as `s_done` (one clock), reads `s_resp` from
//! `resp_reg` (stable until the next request is answered) and is ready again.
//!
//! A round trip costs about `SYNC_STAGES + 1` clocks of each domain, nothing
//! next to the UART's 10 bit times per byte, and it works for any ratio of the
//! two clocks. Every register here is reset by its own domain's reset; the two
//! resets come from one source, so the toggles restart equal.
//!
//! # Reset synchronizer (`<name>_engine_reset`)
//!
//! The engine domain's reset is the bridge domain's (PLL lock, power-on, UART
//! break) passed through [`SYNC_STAGES`] flip-flops of the engine clock: it
//! asserts and releases synchronously to the engine clock.

use crate::ir::{Expr, Module, Ty};
use crate::GenError;

/// Flip-flops per synchronizer.
pub const SYNC_STAGES: u32 = 2;
/// Request word: op (2 bits, [`Op`]), byte address (32), value (32).
pub const REQ_BITS: u32 = 66;
/// Answer word: a register's value or a memory byte (zero-extended).
pub const RESP_BITS: u32 = 32;

/// The request's operation, bits 1:0 of the request word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Op {
    RegWrite = 0,
    RegRead = 1,
    MemWrite = 2,
    MemRead = 3,
}

/// Build the handshake `name` for requests of `req_bits` and answers of
/// `resp_bits`.
pub fn build(name: &str, req_bits: u32, resp_bits: u32) -> Result<Module, GenError> {
    let mut m = Module::new(name);
    m.doc("Clock-domain crossing: one request at a time, toggle handshake with 2-FF synchronizers.")
        .doc("data_reg is held from before req_tog flips until the answer's ack_tog is back; resp_reg likewise.");
    let clk_s = m.input("clk_s", Ty::bit(), Some("Source (bridge) domain"), "");
    let rst_s = m.input("rst_s", Ty::bit(), None, "");
    let s_valid = m.input("s_valid", Ty::bit(), None, "");
    let s_ready = m.output("s_ready", Ty::bit(), None, "no request in flight");
    let s_data = m.input("s_data", Ty::u(req_bits), None, "");
    let s_done = m.output("s_done", Ty::bit(), None, "the answer arrived (one clock)");
    let s_resp = m.output("s_resp", Ty::u(resp_bits), None, "valid from s_done on");
    let clk_d = m.input("clk_d", Ty::bit(), Some("Destination (engine) domain"), "");
    let rst_d = m.input("rst_d", Ty::bit(), None, "");
    let d_valid = m.output("d_valid", Ty::bit(), None, "a request is pending");
    let d_data = m.output("d_data", Ty::u(req_bits), None, "stable while d_valid");
    let d_done = m.input(
        "d_done",
        Ty::bit(),
        None,
        "the request is finished (one clock)",
    );
    let d_resp = m.input("d_resp", Ty::u(resp_bits), None, "its answer, with d_done");

    let src = m.domain("src", clk_s, Some(rst_s));
    let dst = m.domain("dst", clk_d, Some(rst_d));
    let req_tog = m.reg_reset("req_tog_reg", Ty::bit(), src, 0, "flips with each request");
    let data = m.reg_in("data_reg", Ty::u(req_bits), src, "the request, held");
    let ack_meta = m.reg_reset(
        "ack_meta_reg",
        Ty::bit(),
        src,
        0,
        "synchronizer, first stage",
    );
    let ack_sync = m.reg_reset(
        "ack_sync_reg",
        Ty::bit(),
        src,
        0,
        "synchronizer, second stage",
    );
    let ack_seen = m.reg_reset("ack_seen_reg", Ty::bit(), src, 0, "ack_sync a clock ago");
    let req_meta = m.reg_reset(
        "req_meta_reg",
        Ty::bit(),
        dst,
        0,
        "synchronizer, first stage",
    );
    let req_sync = m.reg_reset(
        "req_sync_reg",
        Ty::bit(),
        dst,
        0,
        "synchronizer, second stage",
    );
    let ack_tog = m.reg_reset("ack_tog_reg", Ty::bit(), dst, 0, "flips with each answer");
    let resp = m.reg_in("resp_reg", Ty::u(resp_bits), dst, "the answer, held");

    let idle = m.wire_of(
        "idle",
        Expr::from(req_tog).cmp_eq(ack_sync),
        "the last request was answered",
    );
    let take = m.wire_of("take", Expr::from(s_valid) & idle, "a request is taken");
    m.sync(
        src,
        "Source: take a request, see its answer come back.",
        |p| {
            p.set(ack_meta, ack_tog);
            p.set(ack_sync, ack_meta);
            p.set(ack_seen, ack_sync);
            p.if_(take, |p| {
                p.set(data, s_data);
                p.set(req_tog, !Expr::from(req_tog));
            });
        },
    );
    m.assign(s_ready, idle);
    m.assign(s_done, Expr::from(ack_sync) ^ Expr::from(ack_seen));
    m.assign(s_resp, resp);

    m.sync(dst, "Destination: see a request, answer it.", |p| {
        p.set(req_meta, req_tog);
        p.set(req_sync, req_meta);
        p.if_(d_done, |p| {
            p.set(resp, d_resp);
            p.set(ack_tog, !Expr::from(ack_tog));
        });
    });
    m.assign(d_valid, Expr::from(req_sync) ^ Expr::from(ack_tog));
    m.assign(d_data, data);
    Ok(m)
}

/// Build the reset synchronizer `name`: `rst_out` is `rst_in` through
/// [`SYNC_STAGES`] flip-flops of `clk`.
pub fn reset_sync(name: &str) -> Module {
    let mut m = Module::new(name);
    m.doc("Reset of the engine domain: the bridge domain's reset through a 2-FF synchronizer.");
    let clk = m.input("clk", Ty::bit(), Some("Engine clock"), "");
    let rst_in = m.input("rst_in", Ty::bit(), Some("Reset"), "from the bridge domain");
    let rst_out = m.output("rst_out", Ty::bit(), None, "synchronous to clk");
    let meta = m.reg("rst_meta_reg", Ty::bit(), "synchronizer, first stage");
    let sync = m.reg("rst_sync_reg", Ty::bit(), "synchronizer, second stage");
    m.clocked(meta, clk, rst_in, None, None);
    m.clocked(sync, clk, meta, None, None);
    m.assign(rst_out, sync);
    m
}
