//! The iCE40 UltraPlus single-port RAMs (`SB_SPRAM256KA`, 16K x 16 bits each,
//! four on a UP5K: 128 KB) as the engine board's memory, behind the same ports
//! as the block RAM (`parts::ram`), so the memory controller does not change.
//!
//! A 32-bit word is two SPRAMs side by side (low and high half); 128 KB is two
//! banks of them, chosen by the top address bit. A SPRAM has one port: the
//! controller never reads and writes in one clock, and its read and write
//! addresses are the same signal, so the port's address is the write address
//! while writing and the read address otherwise. Byte strobes become the
//! SPRAM's nibble write masks. A SPRAM's output holds while it is not selected,
//! so, as with block RAM, an answer stays until the next read; the bank of that
//! read is registered to pick the output.

use crate::ir::{Design, Expr, ExternModule, Module, PortDir, Ty};
use crate::parts::Instantiate;
use crate::GenError;

/// Words of one SPRAM (16 bits each).
pub const SPRAM_WORDS: u32 = 16 * 1024;

/// The primitive, with the ports this design uses.
pub fn sb_spram256ka() -> ExternModule {
    ExternModule::new(
        "SB_SPRAM256KA",
        "iCE40 UltraPlus 256 kbit single-port RAM (yosys ice40 cell library)",
    )
    .port("ADDRESS", Ty::u(14), PortDir::Input)
    .port("DATAIN", Ty::u(16), PortDir::Input)
    .port("MASKWREN", Ty::u(4), PortDir::Input)
    .port("WREN", Ty::bit(), PortDir::Input)
    .port("CHIPSELECT", Ty::bit(), PortDir::Input)
    .port("CLOCK", Ty::bit(), PortDir::Input)
    .port("STANDBY", Ty::bit(), PortDir::Input)
    .port("SLEEP", Ty::bit(), PortDir::Input)
    .port("POWEROFF", Ty::bit(), PortDir::Input)
    .port("DATAOUT", Ty::u(16), PortDir::Output)
}

/// Build `name`: `banks` banks of two SPRAMs, 32-bit words, the ports of
/// `parts::ram` (`clk`, `wr_en`, `wr_addr`, `wr_data`, `wr_strb`, `rd_en`,
/// `rd_addr`, `rd_data`).
pub fn build(name: &str, banks: u32, design: &mut Design) -> Result<Module, GenError> {
    if !(1..=2).contains(&banks) {
        return Err(GenError::Internal(format!(
            "SPRAM memory of {banks} banks (1 or 2)"
        )));
    }
    let cell = sb_spram256ka();
    let aw = 14 + u32::from(banks == 2);
    let mut m = Module::new(name);
    m.doc(format!(
        "{} KB of SB_SPRAM256KA: {banks} bank(s) of two 16-bit SPRAMs per 32-bit word; one access per clock.",
        banks * 64
    ));
    let clk = m.input("clk", Ty::bit(), Some("Clock"), "");
    let wr_en = m.input("wr_en", Ty::bit(), Some("Write port"), "");
    let wr_addr = m.input("wr_addr", Ty::u(aw), None, "");
    let wr_data = m.input("wr_data", Ty::u(32), None, "");
    let wr_strb = m.input(
        "wr_strb",
        Ty::u(4),
        None,
        "byte b written when bit b is set",
    );
    let rd_en = m.input("rd_en", Ty::bit(), Some("Read port"), "never with wr_en");
    let rd_addr = m.input("rd_addr", Ty::u(aw), None, "");
    let rd_data = m.output(
        "rd_data",
        Ty::u(32),
        None,
        "mem[rd_addr] one edge after rd_en",
    );
    let addr = m.wire_of(
        "addr",
        Expr::mux(wr_en, Expr::from(wr_addr), Expr::from(rd_addr)),
        "the single port's address",
    );
    let mut outs = Vec::new();
    for b in 0..banks {
        let sel = if banks == 1 {
            Expr::bit(true)
        } else {
            Expr::from(addr)
                .bit_at(14)
                .cmp_eq(Expr::uconst(1, u128::from(b)))
        };
        let cs = m.wire_of(
            &format!("cs{b}"),
            (Expr::from(wr_en) | rd_en) & sel,
            &format!("bank {b} selected"),
        );
        let mut halves = Vec::new();
        for h in 0..2u32 {
            let out = m.wire(
                &format!("dout{b}_{h}"),
                Ty::u(16),
                &format!("bank {b}, bits {}..{}", 16 * h + 15, 16 * h),
            );
            let s = |i: u32| Expr::from(wr_strb).bit_at(2 * h + i);
            m.inst(&cell, &format!("spram{b}_{h}"))
                .connect("ADDRESS", Expr::from(addr).slice(0, 14))
                .connect("DATAIN", Expr::from(wr_data).slice(16 * h, 16))
                .connect("MASKWREN", Expr::concat(vec![s(0), s(0), s(1), s(1)]))
                .connect("WREN", wr_en)
                .connect("CHIPSELECT", cs)
                .connect("CLOCK", clk)
                .connect("STANDBY", Expr::bit(false))
                .connect("SLEEP", Expr::bit(false))
                // POWEROFF is active low: 1 keeps the RAM powered.
                .connect("POWEROFF", Expr::bit(true))
                .out("DATAOUT", out)
                .finish()?;
            halves.push(Expr::from(out));
        }
        outs.push(Expr::concat(halves));
    }
    if banks == 2 {
        let bank = m.reg("rd_bank_reg", Ty::bit(), "bank of the last read");
        m.clocked(
            bank,
            clk,
            Expr::from(rd_addr).bit_at(14),
            Some(rd_en.into()),
            None,
        );
        let hi = outs.pop().unwrap_or_else(|| Expr::uconst(32, 0));
        let lo = outs.pop().unwrap_or_else(|| Expr::uconst(32, 0));
        m.assign(rd_data, Expr::mux(bank, hi, lo));
    } else {
        let only = outs.pop().unwrap_or_else(|| Expr::uconst(32, 0));
        m.assign(rd_data, only);
    }
    design.add_extern(cell);
    Ok(m)
}
