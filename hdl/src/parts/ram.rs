//! Simple dual-port RAM: one write port with byte enables, one synchronous
//! read port, both on one clock; inferred as block RAM (`SB_RAM40_4K` on iCE40).
//!
//! Each byte lane is a memory of its own, written when its strobe bit is set:
//! the IR writes whole words, and a lane per memory is the pattern every
//! synthesis tool maps without a read-modify-write. At depth 512 a lane is
//! exactly one iCE40 block RAM (512 x 8); shallower lanes leave part of it unused.
//!
//! A read of the address being written in the same edge returns the old word
//! (Verilog's non-blocking semantics); the model in the tests checks exactly that.
//! A user that never looks at such a read's word (it forwards the write
//! itself) sets [`RamConfig::forwarded`], and the tool is told it need not
//! build that behaviour (a register and comparator per lane on iCE40).

use crate::ir::{Expr, MemHints, Module, Ty};
use crate::util::clog2;
use crate::{check_name, check_range, ConfigError, GenError};

use super::ops::bit;

/// A RAM's parameters.
#[derive(Clone, Debug)]
pub struct RamConfig {
    pub name: String,
    /// Bits per word; a multiple of 8 (one strobe bit per byte).
    pub width: u32,
    /// Words.
    pub depth: u32,
    /// The user ignores the word of a read at the address written in the
    /// same edge (it forwards the written bytes itself): no old-data
    /// emulation (`MemHints::no_rw_collision`). Simulation is unchanged.
    pub forwarded: bool,
}

impl RamConfig {
    pub fn validate(&self) -> Result<(), GenError> {
        check_name("name", &self.name)?;
        check_range("width", u64::from(self.width), 8, 1024)?;
        if self.width % 8 != 0 {
            return Err(ConfigError::new(
                "width",
                "must be a multiple of 8 (one strobe per byte)",
                self.width,
            )
            .into());
        }
        check_range("depth", u64::from(self.depth), 2, 1 << 20)?;
        Ok(())
    }
}

/// Build the RAM: ports `clk`, write port `wr_en`, `wr_addr`, `wr_data`,
/// `wr_strb`, read port `rd_en`, `rd_addr`, `rd_data` (registered: valid the
/// edge after `rd_en`, held while `rd_en` is low).
pub fn build(cfg: &RamConfig) -> Result<Module, GenError> {
    cfg.validate()?;
    let (w, depth) = (cfg.width, cfg.depth);
    let lanes = w / 8;
    let aw = clog2(u64::from(depth)).max(1);
    let mut m = Module::new(cfg.name.clone());
    m.doc(format!(
        "Simple dual-port RAM, {depth} words of {w} bits, byte write enables, synchronous read."
    ))
    .doc("A read of the word being written returns the old word.");
    let clk = m.input("clk", bit(), Some("Clock"), "");
    let wr_en = m.input("wr_en", bit(), Some("Write port"), "");
    let wr_addr = m.input("wr_addr", Ty::u(aw), None, "");
    let wr_data = m.input("wr_data", Ty::u(w), None, "");
    let wr_strb = m.input(
        "wr_strb",
        Ty::u(lanes),
        None,
        "byte b written when bit b is set",
    );
    let rd_en = m.input("rd_en", bit(), Some("Read port"), "");
    let rd_addr = m.input("rd_addr", Ty::u(aw), None, "");
    let rd_data = m.output(
        "rd_data",
        Ty::u(w),
        None,
        "mem[rd_addr] one edge after rd_en",
    );
    let mut bytes = Vec::new();
    for b in 0..lanes {
        let mem = m.memory(
            &format!("lane{b}"),
            8,
            depth,
            &format!("byte {b} of every word"),
        );
        m.memory_hints(
            mem,
            MemHints {
                block_ram: true,
                no_rw_collision: cfg.forwarded,
            },
        );
        let we = Expr::from(wr_en) & Expr::from(wr_strb).bit_at(b);
        m.mem_write(mem, clk, we, wr_addr, Expr::from(wr_data).slice(8 * b, 8));
        let r = m.reg(&format!("lane{b}_rd_reg"), Ty::u(8), "");
        m.mem_read(mem, clk, rd_en, rd_addr, r);
        bytes.push(Expr::from(r));
    }
    m.assign(rd_data, Expr::concat(bytes));
    Ok(m)
}
