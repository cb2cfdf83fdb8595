//! Read-only memory with one synchronous read port, its contents fixed at
//! generation (`Module::rom`: an `initial` block in the Verilog, which
//! simulators load and synthesis turns into the block RAM's initial value,
//! `SB_RAM40_4K` on iCE40). For tables and programs a block reads, such as a
//! micro-sequenced controller's program.

use crate::ir::{MemHints, Module, Ty};
use crate::util::clog2;
use crate::{check_name, check_range, ConfigError, GenError};

use super::ops::bit;

/// A ROM's parameters.
#[derive(Clone, Debug)]
pub struct RomConfig {
    pub name: String,
    /// Bits per word, 1..=128.
    pub width: u32,
    /// The words, address 0 first (2..=2^20 of them; each must fit `width`).
    pub contents: Vec<u128>,
}

impl RomConfig {
    pub fn validate(&self) -> Result<(), GenError> {
        check_name("name", &self.name)?;
        check_range("width", u64::from(self.width), 1, 128)?;
        check_range("contents", self.contents.len() as u64, 2, 1 << 20)?;
        if let Some((a, &w)) = self
            .contents
            .iter()
            .enumerate()
            .find(|(_, &w)| self.width < 128 && w >> self.width != 0)
        {
            return Err(ConfigError::new(
                "contents",
                format!("every word must fit {} bits (word {a})", self.width),
                format!("{w:#x}"),
            )
            .into());
        }
        Ok(())
    }
}

/// Build the ROM: ports `clk`, `rd_en`, `rd_addr`, `rd_data` (registered:
/// `rom[rd_addr]` the edge after `rd_en`, held while `rd_en` is low).
pub fn build(cfg: &RomConfig) -> Result<Module, GenError> {
    cfg.validate()?;
    let depth = cfg.contents.len() as u32;
    let aw = clog2(u64::from(depth)).max(1);
    let mut m = Module::new(cfg.name.clone());
    m.doc(format!(
        "Read-only memory, {depth} words of {} bits, synchronous read.",
        cfg.width
    ));
    let clk = m.input("clk", bit(), Some("Clock"), "");
    let rd_en = m.input("rd_en", bit(), Some("Read port"), "");
    let rd_addr = m.input("rd_addr", Ty::u(aw), None, "");
    let rd_data = m.output(
        "rd_data",
        Ty::u(cfg.width),
        None,
        "rom[rd_addr] one edge after rd_en",
    );
    let rom = m.rom("words", cfg.width, cfg.contents.clone(), "the contents");
    m.memory_hints(
        rom,
        MemHints {
            block_ram: true,
            no_rw_collision: true,
        },
    );
    let r = m.reg("rd_reg", Ty::u(cfg.width), "");
    m.mem_read(rom, clk, rd_en, rd_addr, r);
    m.assign(rd_data, r);
    Ok(m)
}
