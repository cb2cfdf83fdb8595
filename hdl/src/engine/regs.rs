//! The engine's register port: the register file the host sees (`id`,
//! `config0..3`, `status`, `ctrl`, `desc_addr`, `desc_count`, the 64-bit
//! counters), built from the register map in [`contracts::engine`] so offsets
//! and bit positions are written once.
//!
//! Writes take effect at the edge that takes them (`csr_ready` is always
//! high); a read answers exactly one cycle later with one `csr_rvalid` pulse.
//! `ctrl.start` while idle clears status and counters and starts the
//! generator; `ctrl.clear` clears `done`, `error`, `code` and `index`.

use contracts::engine::{self as ce, ProgrammingModel};

use crate::ir::{Expr, Module, SignalId, Ty};
use crate::parts::bundle::CsrPort;
use crate::parts::ops::{k, priority};
use crate::process::{DomainId, Proc};
use crate::GenError;

use super::config::EngineConfig;

/// Registers the generator reads or the status path writes.
pub struct Regs {
    pub desc_addr: SignalId,
    pub desc_count: SignalId,
    pub done: SignalId,
    pub error: SignalId,
    pub code: SignalId,
    pub index: SignalId,
    /// One 64-bit counter per name of [`ce::COUNTERS`], in that order.
    pub counters: Vec<SignalId>,
}

/// Declare the registers (the generator needs `desc_addr`/`desc_count` before
/// the register port is built).
pub fn declare(m: &mut Module, sync: DomainId) -> Regs {
    Regs {
        desc_addr: m.reg_reset("desc_addr_reg", Ty::u(32), sync, 0, "register desc_addr"),
        desc_count: m.reg_reset("desc_count_reg", Ty::u(32), sync, 0, "register desc_count"),
        done: m.reg_reset("done_reg", Ty::bit(), sync, 0, "status.done"),
        error: m.reg_reset("error_reg", Ty::bit(), sync, 0, "status.error"),
        code: m.reg_reset("code_reg", Ty::u(8), sync, 0, "status.code"),
        index: m.reg_reset("index_reg", Ty::u(16), sync, 0, "status.index"),
        counters: ce::COUNTERS
            .iter()
            .map(|n| {
                m.reg_reset(
                    &format!("{n}_reg"),
                    Ty::u(64),
                    sync,
                    0,
                    &format!("counter {n}"),
                )
            })
            .collect(),
    }
}

/// What the register port connects to.
pub struct RegsIo {
    pub csr: CsrPort,
    pub irq: SignalId,
    /// Driven here: `ctrl.start` written while idle.
    pub start_go: SignalId,
    pub busy: Expr,
    pub idle: Expr,
    /// The generator is in its error / done state this cycle.
    pub enter_error: Expr,
    pub enter_done: Expr,
    pub err_code: Expr,
    pub desc_index: Expr,
    /// Per-cycle increments of `array_beats`, `rd_bytes`, `wr_bytes` (64 bits;
    /// `cycles` counts busy cycles).
    pub increments: [Expr; 3],
}

/// Build the register port into `m`.
pub fn build(
    m: &mut Module,
    cfg: &EngineConfig,
    pm: &ProgrammingModel,
    sync: DomainId,
    regs: &Regs,
    io: RegsIo,
) -> Result<(), GenError> {
    let csr = io.csr;
    let z = |e: Expr, w: u32| e.resize(w);
    let csr_w = m.wire_of(
        "csr_wr",
        Expr::from(csr.valid) & csr.write,
        "a register write moves",
    );
    let at = |name: &str| -> Result<Expr, GenError> {
        let off = pm.reg_offset(name).map_err(GenError::Internal)?;
        Ok(Expr::from(csr.addr).cmp_eq(k(ce::CSR_ADDR_BITS, off)))
    };
    let bit_of = |reg: &str, field: &str| -> Result<u32, GenError> {
        Ok(pm
            .reg_value(reg, field, 1)
            .map_err(GenError::Internal)?
            .trailing_zeros())
    };
    let ctrl_w = m.wire_of("ctrl_wr", Expr::from(csr_w) & at("ctrl")?, "");
    m.assign(
        io.start_go,
        Expr::from(ctrl_w) & Expr::from(csr.wdata).bit_at(bit_of("ctrl", "start")?) & io.idle,
    );
    let clear_cmd = Expr::from(ctrl_w) & Expr::from(csr.wdata).bit_at(bit_of("ctrl", "clear")?);
    m.assign(csr.ready, Expr::bit(true));

    let mut sc = Proc::sync(sync).with_comment("Registers, status and counters.");
    sc.if_(Expr::from(csr_w) & at("desc_addr")?, |p| {
        p.set(regs.desc_addr, csr.wdata);
    });
    sc.if_(Expr::from(csr_w) & at("desc_count")?, |p| {
        p.set(regs.desc_count, csr.wdata);
    });
    let clear_status = |p: &mut Proc| {
        p.set(regs.done, Expr::bit(false));
        p.set(regs.error, Expr::bit(false));
        p.set(regs.code, k(8, 0));
        p.set(regs.index, k(16, 0));
    };
    sc.if_(io.start_go, clear_status)
        .elif(clear_cmd, clear_status);
    sc.if_(io.enter_error, |p| {
        p.set(regs.error, Expr::bit(true));
        p.set(regs.code, io.err_code);
        p.set(regs.index, io.desc_index);
    });
    sc.if_(io.enter_done, |p| {
        p.set(regs.done, Expr::bit(true));
    });
    let [beats, rd, wr] = io.increments;
    let incs = [z(io.busy.clone(), 64), beats, rd, wr];
    for (&cnt, inc) in regs.counters.iter().zip(incs) {
        sc.if_(io.start_go, |p| {
            p.set(cnt, k(64, 0));
        })
        .else_(|p| {
            p.set(cnt, Expr::from(cnt) + inc);
        });
    }
    m.process(sc);
    m.assign(io.irq, Expr::from(regs.done) | regs.error);

    // Read data: one cycle after the request.
    let rvalid = m.reg_reset("csr_rvalid_reg", Ty::bit(), sync, 0, "a read answers");
    let rdata_r = m.reg_in("csr_rdata_reg", Ty::u(32), sync, "its data");
    let value = |reg: &str, fields: &[(&str, u32)]| -> Result<u32, GenError> {
        fields.iter().try_fold(0, |acc, &(f, v)| {
            Ok(acc | pm.reg_value(reg, f, v).map_err(GenError::Internal)?)
        })
    };
    let cfg0 = value(
        "config0",
        &[
            ("rows", cfg.rows),
            ("cols", cfg.cols),
            ("mem_bits", cfg.mem_bits & 0xff),
            ("pipeline", cfg.pipeline),
        ],
    )?;
    let cfg1 = value(
        "config1",
        &[
            ("desc_bytes", ce::DESCRIPTOR_BYTES),
            ("record_bytes", ce::RECORD_BYTES),
            ("staging_beats", cfg.chunk_bytes()),
        ],
    )?;
    let fieldv = |f: &str, e: Expr, w: u32| -> Result<Expr, GenError> {
        Ok(z(z(e, w), 32) << k(5, bit_of("status", f)?))
    };
    let status = fieldv("busy", io.busy.clone(), 1)?
        | fieldv("done", Expr::from(regs.done), 1)?
        | fieldv("error", Expr::from(regs.error), 1)?
        | fieldv("code", Expr::from(regs.code), 8)?
        | fieldv("index", Expr::from(regs.index), 16)?;
    let mut arms: Vec<(Expr, Expr)> = vec![
        (at("id")?, k(32, ce::ID)),
        (at("config0")?, k(32, cfg0)),
        (at("config1")?, k(32, cfg1)),
        (at("config2")?, k(32, cfg.ibuf_built())),
        (at("config3")?, k(32, cfg.wbuf_built())),
        (at("status")?, status),
        (at("desc_addr")?, Expr::from(regs.desc_addr)),
        (at("desc_count")?, Expr::from(regs.desc_count)),
    ];
    for (name, &cnt) in ce::COUNTERS.iter().zip(&regs.counters) {
        arms.push((at(&format!("{name}_lo"))?, Expr::from(cnt).slice(0, 32)));
        arms.push((at(&format!("{name}_hi"))?, Expr::from(cnt).slice(32, 32)));
    }
    let rd_val = priority(arms, k(32, 0));
    let mut sr = Proc::sync(sync).with_comment("Register reads answer one cycle later.");
    let read = Expr::from(csr.valid) & !Expr::from(csr.write);
    sr.set(rvalid, read.clone());
    sr.if_(read, |p| {
        p.set(rdata_r, rd_val);
    });
    m.process(sr);
    m.assign(csr.rvalid, rvalid);
    m.assign(csr.rdata, rdata_r);
    Ok(())
}
