//! The memory port's request register, shared by both engines: each cycle
//! it is empty or being taken (`load`) it takes a write from the write FIFO
//! first, else the engine's read, and it holds its request until the memory
//! takes it (the contract's rule for `mem_req_*`). Also the back end's FIFO
//! instances (tile info, write jobs, writes), which both engines wire alike.

use contracts::engine as ce;

use crate::ir::{Expr, Module, SignalId, Ty};
use crate::parts::bundle::MemPort;
use crate::parts::fifo::{self, FifoEnds};
use crate::parts::ops::{bit, k};
use crate::process::{DomainId, Proc};
use crate::GenError;

use super::config::EngineConfig;
use super::output::OutputOut;

/// The request register and its `load` condition.
pub(super) struct PortReg {
    pub valid: SignalId,
    pub write: SignalId,
    addr: SignalId,
    wdata: SignalId,
    pub wstrb: SignalId,
    /// The register is empty or being taken: it loads this cycle.
    pub load: SignalId,
}

impl PortReg {
    /// Declare the register (`aw`-bit addresses) and `load`.
    pub fn declare(
        m: &mut Module,
        cfg: &EngineConfig,
        sync: DomainId,
        mem: &MemPort,
        aw: u32,
    ) -> PortReg {
        let mb = cfg.mem_bits / 8;
        let valid = m.reg_reset("mreq_valid_reg", bit(), sync, 0, "a request is offered");
        let write = m.reg_in("mreq_write_reg", bit(), sync, "");
        let addr = m.reg_in("mreq_addr_reg", Ty::u(aw), sync, "");
        let wdata = m.reg_in("mreq_wdata_reg", Ty::u(cfg.mem_bits), sync, "");
        let wstrb = m.reg_in("mreq_wstrb_reg", Ty::u(mb), sync, "");
        let load = m.wire_of(
            "mreq_load",
            !Expr::from(valid) | mem.req_ready,
            "the request register is empty or being taken",
        );
        PortReg {
            valid,
            write,
            addr,
            wdata,
            wstrb,
            load,
        }
    }

    /// The register's process and the port's request outputs: `take_wr`
    /// loads the write FIFO's head `wr_out` (`{strobes, data, address}`),
    /// else `take_rd` a read of word address `rd_addr`.
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        &self,
        m: &mut Module,
        cfg: &EngineConfig,
        sync: DomainId,
        mem: &MemPort,
        aw: u32,
        take_wr: SignalId,
        take_rd: SignalId,
        wr_out: SignalId,
        rd_addr: Expr,
    ) {
        let mb = cfg.mem_bits / 8;
        let wo = Expr::from(wr_out);
        let mut sa = Proc::sync(sync)
            .with_comment("Port: writes go first; the request register holds until taken.");
        sa.if_(self.load, |p| {
            p.set(self.valid, Expr::from(take_wr) | take_rd);
            p.if_(take_wr, |p| {
                p.set(self.write, Expr::bit(true));
                p.set(self.addr, wo.clone().slice(0, aw));
                p.set(self.wdata, wo.clone().slice(aw, cfg.mem_bits));
                p.set(self.wstrb, wo.clone().slice(aw + cfg.mem_bits, mb));
            })
            .elif(take_rd, |p| {
                p.set(self.write, Expr::bit(false));
                p.set(self.addr, rd_addr);
                p.set(self.wstrb, Expr::zero(Ty::u(mb)));
            });
        });
        m.process(sa);
        m.assign(mem.req_valid, self.valid);
        m.assign(mem.req_write, self.write);
        m.assign(
            mem.req_addr,
            Expr::from(self.addr).resize(ce::PORT_ADDR_BITS),
        );
        m.assign(mem.req_wdata, self.wdata);
        m.assign(mem.req_wstrb, self.wstrb);
    }

    /// A write is in the register.
    pub fn write_pending(&self) -> Expr {
        Expr::from(self.valid) & self.write
    }

    /// `wr_bytes`' increment: the strobes of a write the memory takes.
    pub fn wr_bytes_increment(&self, mem: &MemPort, mb: u32) -> Expr {
        Expr::mux(
            self.write_pending() & mem.req_ready,
            (0..mb)
                .fold(k(8, 0), |acc, b| {
                    acc + Expr::from(self.wstrb).slice(b, 1).resize(8)
                })
                .resize(64),
            k(64, 0),
        )
    }
}

/// The write FIFO's read side, as the port sees it.
pub(super) struct WrFifo {
    pub valid: SignalId,
    pub out: SignalId,
    pub pop: SignalId,
    pub empty: SignalId,
}

/// The back end's FIFO modules.
pub(super) struct BackParts<'a> {
    pub info: &'a Module,
    pub wjob: &'a Module,
    pub wr: &'a Module,
}

/// Instantiate the tile-info, write-job and write FIFOs between the
/// engine's front end (`info_*`), the output path (`out`) and the port
/// (`wr`).
#[allow(clippy::too_many_arguments)]
pub(super) fn back_fifos(
    m: &mut Module,
    parts: BackParts<'_>,
    clk: SignalId,
    rst: SignalId,
    out: &OutputOut,
    (info_valid, info_ready, info_data): (SignalId, SignalId, SignalId),
    wr: &WrFifo,
) -> Result<(), GenError> {
    fifo::instance(
        m,
        parts.info,
        "u_info_fifo",
        clk,
        rst,
        FifoEnds {
            in_valid: info_valid.into(),
            in_ready: info_ready,
            in_data: info_data.into(),
            out_valid: out.info_hvalid,
            out_ready: out.info_pop.into(),
            out_data: out.info_head,
            empty: out.info_empty,
        },
    )?;
    fifo::instance(
        m,
        parts.wjob,
        "u_wjob_fifo",
        clk,
        rst,
        FifoEnds {
            in_valid: out.wjob_valid.into(),
            in_ready: out.wjob_ready,
            in_data: out.wjob_data.into(),
            out_valid: out.wj_valid,
            out_ready: out.wj_pop.into(),
            out_data: out.wj_data,
            empty: out.wjob_empty,
        },
    )?;
    fifo::instance(
        m,
        parts.wr,
        "u_wr_fifo",
        clk,
        rst,
        FifoEnds {
            in_valid: out.wr_push.into(),
            in_ready: out.wr_push_ready,
            in_data: out.wr_data.into(),
            out_valid: wr.valid,
            out_ready: wr.pop.into(),
            out_data: wr.out,
            empty: wr.empty,
        },
    )
}

/// The engine's ports (`docs/engine-contract.md`, "Ports"), declared once
/// for both engines, and its clock domain.
pub(super) struct EnginePorts {
    pub clk: SignalId,
    pub rst: SignalId,
    pub csr: crate::parts::bundle::CsrPort,
    pub irq: SignalId,
    pub mem: MemPort,
    pub sync: DomainId,
}

impl EnginePorts {
    pub fn declare(m: &mut Module, cfg: &EngineConfig) -> EnginePorts {
        use crate::parts::bundle::{CsrPort, Role};
        let clk = m.input(
            "clk",
            bit(),
            Some("Clock and synchronous active-high reset"),
            "",
        );
        let rst = m.input("rst", bit(), None, "");
        let csr = CsrPort::ports(
            m,
            "csr",
            Role::Slave,
            ce::CSR_ADDR_BITS,
            "Register port: 32-bit registers at byte addresses",
        );
        let irq = m.output(
            "irq",
            bit(),
            Some("Interrupt"),
            "high while status.done or status.error is set",
        );
        let mem = MemPort::ports(
            m,
            "mem",
            Role::Master,
            cfg.mem_bits,
            "Memory master port: byte addresses, whole words, reads answered in order",
        );
        let sync = m.domain("sync", clk, Some(rst));
        EnginePorts {
            clk,
            rst,
            csr,
            irq,
            mem,
            sync,
        }
    }
}
