//! The host's accesses in the engine domain: one request from the clock-domain
//! crossing becomes one register access on the engine's register port or one
//! byte access on the memory's host port, and its answer goes back.
//!
//! Request word (`cdc::REQ_BITS`): op [1:0] ([`super::cdc::Op`]), byte
//! address [33:2], value [65:34]. A register write or a memory write is done
//! when its port takes it; a read when its answer arrives (the register port
//! answers one or more clocks after it takes a read, the memory one clock
//! after). A memory byte write is a whole-word write with one strobe; a byte
//! read returns the word's byte, zero-extended.

use crate::ir::{Expr, Module, Ty};
use crate::parts::bundle::{CsrPort, MemPort, Role};
use crate::util::clog2;

use super::super::{k, select_byte};
use super::cdc::{Op, REQ_BITS, RESP_BITS};
use super::{EngineBoardConfig, EngineBoardDerived};

/// Build `<name>_access`.
pub fn build(cfg: &EngineBoardConfig, d: &EngineBoardDerived) -> Module {
    let w = cfg.engine.mem_bits;
    let lanes = w / 8;
    let lb = clog2(u64::from(lanes)).max(1);
    let ab = d.engine.csr_addr_bits;
    let mut m = Module::new(cfg.sub("access"));
    m.doc("The host's requests in the engine domain: register accesses and one-byte memory accesses.")
        .doc("op [1:0]: 0 register write, 1 register read, 2 memory write, 3 memory read; address [33:2]; value [65:34].");
    let clk = m.input("clk", Ty::bit(), Some("Engine clock and reset"), "");
    let rst = m.input("rst", Ty::bit(), None, "");
    let req_valid = m.input(
        "req_valid",
        Ty::bit(),
        Some("From the clock-domain crossing"),
        "a request is pending",
    );
    let req_data = m.input("req_data", Ty::u(REQ_BITS), None, "stable while pending");
    let done = m.output("done", Ty::bit(), None, "the request is finished");
    let resp = m.output("resp", Ty::u(RESP_BITS), None, "its answer, with done");
    let csr = CsrPort::ports(
        &mut m,
        "csr",
        Role::Master,
        ab,
        "To the engine's register port",
    );
    let mem = MemPort::ports(&mut m, "mem", Role::Master, w, "To the memory's host port");

    let sync = m.domain("sync", clk, Some(rst));
    let issued = m.reg_reset(
        "issued_reg",
        Ty::bit(),
        sync,
        0,
        "a read was taken; waiting for its answer",
    );
    let op = m.wire_of("op", Expr::from(req_data).slice(0, 2), "");
    let addr = m.wire_of("addr", Expr::from(req_data).slice(2, 32), "");
    let value = m.wire_of("value", Expr::from(req_data).slice(34, 32), "");
    let is = |m: &mut Module, o: Op, name: &str| {
        m.wire_of(name, Expr::from(op).cmp_eq(k(2, o as u64)), "")
    };
    let reg_write = is(&mut m, Op::RegWrite, "is_reg_write");
    let mem_write = is(&mut m, Op::MemWrite, "is_mem_write");
    let is_mem = m.wire_of("is_mem", Expr::from(op).bit_at(1), "");
    let go = m.wire_of(
        "go",
        Expr::from(req_valid) & !Expr::from(issued),
        "offer the request",
    );
    m.assign(csr.valid, Expr::from(go) & !Expr::from(is_mem));
    m.assign(csr.write, reg_write);
    m.assign(csr.addr, Expr::from(addr).slice(0, ab));
    m.assign(csr.wdata, value);
    let lane = m.wire_of(
        "lane",
        Expr::from(addr).slice(0, lb),
        "the byte's lane in the word",
    );
    let word_addr = if lanes > 1 {
        Expr::concat(vec![k(lb, 0), Expr::from(addr).slice(lb, 32 - lb)])
    } else {
        addr.into()
    };
    m.assign(mem.req_valid, Expr::from(go) & is_mem);
    m.assign(mem.req_write, mem_write);
    m.assign(mem.req_addr, word_addr);
    let byte = Expr::from(value).slice(0, 8);
    m.assign(
        mem.req_wdata,
        Expr::concat((0..lanes).map(|_| byte.clone()).collect()),
    );
    m.assign(
        mem.req_wstrb,
        Expr::concat(
            (0..lanes)
                .map(|i| Expr::from(lane).cmp_eq(k(lb, u64::from(i))))
                .collect(),
        ),
    );
    m.assign(mem.resp_ready, k(1, 1));
    let taken = m.wire_of(
        "taken",
        (Expr::from(csr.valid) & csr.ready) | (Expr::from(mem.req_valid) & mem.req_ready),
        "the port takes the request",
    );
    let is_write = m.wire_of("is_write", Expr::from(reg_write) | mem_write, "");
    let answer = m.wire_of(
        "answer",
        Expr::from(issued) & (Expr::from(csr.rvalid) | mem.resp_valid),
        "a read's answer arrives",
    );
    m.sync(sync, "A read waits for its answer.", |p| {
        p.if_(Expr::from(taken) & !Expr::from(is_write), |p| {
            p.set(issued, k(1, 1));
        })
        .elif(answer, |p| {
            p.set(issued, k(1, 0));
        });
    });
    m.assign(done, (Expr::from(taken) & is_write) | answer);
    let mem_byte = select_byte(
        (0..lanes)
            .map(|i| Expr::from(mem.resp_rdata).slice(8 * i, 8))
            .collect(),
        lane.into(),
        lb,
        0,
    );
    m.assign(
        resp,
        Expr::mux(
            csr.rvalid,
            Expr::from(csr.rdata),
            Expr::concat(vec![mem_byte, k(24, 0)]),
        ),
    );
    m
}
