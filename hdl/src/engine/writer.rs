//! The writer: one output pixel's `gw` bytes (a write job) become the word
//! writes that cover them, `words(addr, gw)` of them, with strobes on exactly
//! those bytes, so the engine never writes a byte outside the output tensor.

use crate::ir::{Expr, Module, SignalId, Ty};
use crate::parts::ops::{k, select};
use crate::process::{DomainId, Proc};

use super::config::EngineConfig;
use super::top::run_words;

/// Writer wiring: the job FIFO's head and the write FIFO's input.
pub struct WriterIo {
    /// A job `{gw 8, bytes COLS*8, addr}` is at the job FIFO's head.
    pub job_valid: SignalId,
    pub job_data: SignalId,
    /// Driven here: the job's last word was pushed.
    pub job_pop: SignalId,
    /// The write FIFO takes a word.
    pub push_ready: SignalId,
}

/// Build the writer; returns `(push, data)`: a write `{strobes, data,
/// address}` offered to the write FIFO.
pub fn build(
    m: &mut Module,
    cfg: &EngineConfig,
    sync: DomainId,
    io: WriterIo,
) -> (SignalId, SignalId) {
    let (mb, cols, aw) = (cfg.mem_bits / 8, cfg.cols, cfg.addr_bits);
    let mbb = mb.trailing_zeros();
    let z = |e: Expr, w: u32| e.resize(w);
    let wq = m.reg_reset("wq_reg", Ty::u(8), sync, 0, "word of the job being written");
    let jd = Expr::from(io.job_data);
    let addr = jd.clone().slice(0, aw);
    let gw = jd.clone().slice(aw + 8 * cols, 8);
    let off = m.wire_of("wj_off", addr.clone().slice(0, mbb), "");
    let nw = m.wire_of("wj_nw", z(run_words(off, gw.clone(), mbb, 9), 8), "");
    let push = m.wire_of("wr_push", Expr::from(io.job_valid) & io.push_ready, "");
    let last = m.wire_of(
        "wj_lastw",
        Expr::from(wq).cmp_eq(Expr::from(nw) - k(8, 1)),
        "",
    );
    m.assign(io.job_pop, Expr::from(push) & last);
    let mut p = Proc::sync(sync).with_comment("Writer word counter.");
    p.if_(push, |p| {
        p.set(wq, Expr::from(wq) + k(8, 1));
        p.if_(last, |p| {
            p.set(wq, k(8, 0));
        });
    });
    m.process(p);
    let q_bytes = z(Expr::from(wq).mul_wide(k(8, mb)), 16);
    let mut bytes = Vec::new();
    let mut strobes = Vec::new();
    for b in 0..mb {
        // Word q's byte b is byte c = q*MB + b - off of the pixel's run.
        let t = q_bytes.clone() + k(16, b);
        let inrun = t.clone().cmp_ge(z(off.into(), 16))
            & (t.clone() - z(off.into(), 16)).cmp_lt(z(gw.clone(), 16));
        let c = z(t - z(off.into(), 16), 8);
        let opts: Vec<Expr> = (0..cols)
            .map(|cc| jd.clone().slice(aw + 8 * cc, 8))
            .collect();
        let slot = (cols > 1).then(|| m.wire_of(&format!("wr_c{b}"), c, ""));
        bytes.push(select(opts, slot, 8));
        strobes.push(inrun);
    }
    let word = super::top::Words { mbb, aw }.nth(addr, wq.into());
    let data = m.wire_of(
        "wr_data",
        Expr::concat(vec![word, Expr::concat(bytes), Expr::concat(strobes)]),
        "{strobes, data, address} of the write",
    );
    (push, data)
}
