//! The on-chip memory behind the engine's memory port, shared with the host.
//!
//! One simple dual-port block RAM (`parts::ram`, one 8-bit memory per byte
//! lane, so byte strobes need no read-modify-write) of `mem_bytes`, or on the
//! iCE40 UltraPlus its single-port RAMs ([`super::spram`]), one request
//! per clock, reads answered the next clock (latency 1, as the engine's
//! contract allows). Two masters: the engine's memory port and the host port
//! (the bridge's one-byte accesses, arriving through the clock-domain
//! crossing). **The engine has priority**: the host's request waits while the
//! engine offers one, so a run is never slowed by the host; the host reads and
//! writes memory while the engine is idle (the `host` tool does), and a
//! MEM_WRITE byte that waits a whole UART byte time is reported as an overrun.
//!
//! A read's answer stays in the RAM's output register until its master takes
//! it: no new request is taken while an answer is held (the engine may drop
//! `mem_resp_ready` for a cycle). `owner_reg` remembers whose read it was.
//! Addresses wrap modulo the memory size.

use crate::ir::{Design, Expr, Module, Ty};
use crate::parts::bundle::{MemPort, Role};
use crate::parts::ram::{self, RamConfig};
use crate::parts::Instantiate;
use crate::util::clog2;
use crate::GenError;

use super::super::k;
use super::{EngineBoardConfig, EngineBoardDerived, MemKind};

/// The memory's modules: its top and the RAM inside.
pub struct Memory {
    pub top: Module,
    pub modules: Vec<Module>,
}

/// Build `<name>_mem` and its RAM `<name>_ram`.
pub fn build(
    cfg: &EngineBoardConfig,
    d: &EngineBoardDerived,
    design: &mut Design,
) -> Result<Memory, GenError> {
    let w = cfg.engine.mem_bits;
    let lanes = w / 8;
    let lb = clog2(u64::from(lanes));
    let aw = d.mem_addr_bits;
    let ram = match cfg.memory {
        MemKind::BlockRam => ram::build(&RamConfig {
            name: cfg.sub("ram"),
            width: w,
            depth: d.mem_words,
            forwarded: false,
        })?,
        MemKind::Spram => super::spram::build(
            &cfg.sub("spram"),
            d.mem_words / super::spram::SPRAM_WORDS,
            design,
        )?,
    };
    let mut m = Module::new(cfg.sub("mem"));
    m.doc(format!(
        "On-chip memory: {} bytes of {}, {w}-bit words, read latency 1.",
        cfg.mem_bytes,
        match cfg.memory {
            MemKind::BlockRam => "block RAM",
            MemKind::Spram => "SB_SPRAM256KA",
        }
    ))
    .doc("Two masters, the engine first: the host's request waits while the engine offers one.")
    .doc("A read's answer is held until taken; no request is taken meanwhile.");
    let clk = m.input("clk", Ty::bit(), Some("Engine clock and reset"), "");
    let rst = m.input("rst", Ty::bit(), None, "");
    let eng = MemPort::ports(&mut m, "eng", Role::Slave, w, "The engine's memory port");
    let host = MemPort::ports(&mut m, "host", Role::Slave, w, "The host's accesses");
    for a in [eng.req_addr, host.req_addr] {
        m.allow_unused(
            a,
            "byte-in-word bits (addresses are word-aligned) and bits past the memory (it wraps)",
        );
    }
    let sync = m.domain("sync", clk, Some(rst));
    let resp_valid = m.reg_reset(
        "resp_valid_reg",
        Ty::bit(),
        sync,
        0,
        "a read's answer is on rd_data",
    );
    let owner = m.reg_in("owner_reg", Ty::bit(), sync, "that read was the host's");

    let taken = m.wire_of(
        "resp_taken",
        Expr::mux(owner, host.resp_ready, eng.resp_ready),
        "the held answer's master takes it",
    );
    let free = m.wire_of(
        "free",
        !Expr::from(resp_valid) | taken,
        "no answer stays held: a request may go",
    );
    let go_eng = m.wire_of("go_eng", Expr::from(free) & eng.req_valid, "");
    let go_host = m.wire_of(
        "go_host",
        Expr::from(free) & host.req_valid & !Expr::from(eng.req_valid),
        "",
    );
    let go = m.wire_of("go", Expr::from(go_eng) | go_host, "a request is taken");
    let pick = |a, b| Expr::mux(eng.req_valid, a, b);
    let write = m.wire_of(
        "write",
        pick(eng.req_write.into(), host.req_write.into()),
        "",
    );
    let addr = m.wire_of(
        "word_addr",
        pick(
            Expr::from(eng.req_addr).slice(lb, aw),
            Expr::from(host.req_addr).slice(lb, aw),
        ),
        "byte address / word bytes, modulo the size",
    );
    let read = m.wire_of("read", Expr::from(go) & !Expr::from(write), "");
    m.inst(&ram, "ram")
        .connect("clk", clk)
        .connect("wr_en", Expr::from(go) & write)
        .connect("wr_addr", addr)
        .connect("wr_data", pick(eng.req_wdata.into(), host.req_wdata.into()))
        .connect("wr_strb", pick(eng.req_wstrb.into(), host.req_wstrb.into()))
        .connect("rd_en", read)
        .connect("rd_addr", addr)
        .out("rd_data", eng.resp_rdata)
        .finish()?;
    m.assign(host.resp_rdata, eng.resp_rdata);
    m.sync(sync, "Answer of the last read, held until taken.", |p| {
        p.if_(read, |p| {
            p.set(resp_valid, k(1, 1));
            p.set(owner, go_host);
        })
        .elif(taken, |p| {
            p.set(resp_valid, k(1, 0));
        });
    });
    m.assign(eng.req_ready, free);
    m.assign(
        host.req_ready,
        Expr::from(free) & !Expr::from(eng.req_valid),
    );
    m.assign(eng.resp_valid, Expr::from(resp_valid) & !Expr::from(owner));
    m.assign(host.resp_valid, Expr::from(resp_valid) & owner);
    Ok(Memory {
        top: m,
        modules: vec![ram],
    })
}
