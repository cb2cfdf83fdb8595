//! Synchronous FIFO with valid/ready streams on both sides and `count`, `full`,
//! `empty` status, its storage in registers or in block RAM.
//!
//! - [`Storage::Registers`]: `depth` registers and a read multiplexer; the head
//!   is on `out_data` combinationally from the registers (first-word fall-through).
//! - [`Storage::BlockRam`]: a memory with the `block_ram` hint. Block RAM reads
//!   are synchronous, so the head word is prefetched into an output register
//!   (the read port's own register) whenever it is empty or being taken: a word
//!   written at one edge can be read at the next and is offered after it, and a
//!   stream through a non-empty FIFO moves one word per clock. The read never
//!   hits the word being written (the RAM part of the FIFO is then non-empty and
//!   not full), so the memory carries `no_rw_collision`.
//!
//! Both variants hold `depth` words (`count`, the output register included);
//! `in_ready = ~full` and `out_valid` come from registers only, so no
//! combinational path joins the two sides. In registers `out_valid = ~empty`;
//! in block RAM a word written into an empty FIFO is offered one edge later
//! (after the edge that prefetches it), so `empty` and `~out_valid` may differ.

use crate::ir::{Expr, MemHints, Module, SignalId, Ty};
use crate::util::{bits_for, clog2};
use crate::{check_name, check_range, GenError};

use super::bundle::{Role, Stream};
use super::ops::{bit, k, next_slot, reset_to, select};

/// Where a FIFO keeps its words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    Registers,
    BlockRam,
}

/// A FIFO's parameters.
#[derive(Clone, Debug)]
pub struct FifoConfig {
    pub name: String,
    /// Bits per word.
    pub width: u32,
    /// Words held when full.
    pub depth: u32,
    pub storage: Storage,
}

impl FifoConfig {
    pub fn validate(&self) -> Result<(), GenError> {
        check_name("name", &self.name)?;
        check_range("width", u64::from(self.width), 1, 4096)?;
        let hi = match self.storage {
            Storage::Registers => 64,
            Storage::BlockRam => 1 << 20,
        };
        check_range("depth", u64::from(self.depth), 2, hi)?;
        Ok(())
    }
}

/// Build the FIFO: ports `clk`, `rst`, stream `in` (slave), stream `out`
/// (master), then `count` (words held), `full`, `empty`.
pub fn build(cfg: &FifoConfig) -> Result<Module, GenError> {
    cfg.validate()?;
    let (w, depth) = (cfg.width, cfg.depth);
    let ty = Ty::u(w);
    let mut m = Module::new(cfg.name.clone());
    m.doc(format!(
        "Synchronous FIFO, {depth} words of {w} bits in {}.",
        match cfg.storage {
            Storage::Registers => "registers",
            Storage::BlockRam => "block RAM with a prefetched output register",
        }
    ))
    .doc("in_ready = ~full and out_valid depend on registers only.");
    let (clk, rst) = super::clock_and_reset(&mut m);
    let s_in = Stream::ports(&mut m, "in", Role::Slave, ty, false, "Input stream");
    let s_out = Stream::ports(&mut m, "out", Role::Master, ty, false, "Output stream");
    let cw = bits_for(u64::from(depth));
    let count = m.output("count", Ty::u(cw), Some("Status"), "words held");
    let full = m.output("full", bit(), None, "");
    let empty = m.output("empty", bit(), None, "");

    let count_reg = m.reg("count_reg", Ty::u(cw), "words held");
    let aw = clog2(u64::from(depth)).max(1);
    let wr_ptr_reg = m.reg("wr_ptr_reg", Ty::u(aw), "where the next word is written");
    let rd_ptr_reg = m.reg("rd_ptr_reg", Ty::u(aw), "the oldest word in storage");
    let full_e = Expr::from(count_reg).cmp_eq(k(cw, depth));
    let in_fire = m.wire_of(
        "in_fire",
        Expr::from(s_in.valid) & !full_e.clone(),
        "a word is written",
    );
    let ctrl = |ty: Ty, v: u128| reset_to(rst, ty, v);
    m.clocked(
        wr_ptr_reg,
        clk,
        next_slot(&m, wr_ptr_reg, depth),
        Some(in_fire.into()),
        ctrl(Ty::u(aw), 0),
    );

    let out_valid: Expr = match cfg.storage {
        Storage::Registers => {
            let words: Vec<SignalId> = (0..depth)
                .map(|i| m.reg(&format!("word{i}_reg"), ty, ""))
                .collect();
            for (i, &r) in words.iter().enumerate() {
                let hit = Expr::from(in_fire) & Expr::from(wr_ptr_reg).cmp_eq(k(aw, i as u32));
                m.clocked(r, clk, s_in.data, Some(hit), None);
            }
            let valid = Expr::from(count_reg).cmp_ne(Expr::zero(Ty::u(cw)));
            let out_fire = m.wire_of(
                "out_fire",
                valid.clone() & s_out.ready,
                "the head word is taken",
            );
            m.clocked(
                rd_ptr_reg,
                clk,
                next_slot(&m, rd_ptr_reg, depth),
                Some(out_fire.into()),
                ctrl(Ty::u(aw), 0),
            );
            let head = select(
                words.iter().map(|&r| Expr::from(r)).collect(),
                Some(rd_ptr_reg),
                aw,
            );
            m.assign(s_out.data, head);
            let count_next = Expr::from(count_reg) + Expr::from(in_fire).resize(cw)
                - Expr::from(out_fire).resize(cw);
            m.clocked(count_reg, clk, count_next, None, ctrl(Ty::u(cw), 0));
            valid
        }
        Storage::BlockRam => {
            let mem = m.memory("mem", w, depth, "the words behind the output register");
            m.memory_hints(
                mem,
                MemHints {
                    block_ram: true,
                    no_rw_collision: true,
                },
            );
            m.mem_write(mem, clk, in_fire, wr_ptr_reg, s_in.data);
            let out_valid_reg = m.reg(
                "out_valid_reg",
                bit(),
                "the output register holds the head word",
            );
            let out_data_reg = m.reg("out_data_reg", ty, "the read port's register");
            let stored = m.wire_of(
                "stored",
                Expr::from(count_reg) - Expr::from(out_valid_reg).resize(cw),
                "words in the memory",
            );
            let out_free = m.wire_of("out_free", !Expr::from(out_valid_reg) | s_out.ready, "");
            let rd_en = m.wire_of(
                "rd_en",
                Expr::from(out_free) & Expr::from(stored).cmp_ne(Expr::zero(Ty::u(cw))),
                "prefetch the oldest stored word",
            );
            m.mem_read(mem, clk, rd_en, rd_ptr_reg, out_data_reg);
            m.clocked(
                rd_ptr_reg,
                clk,
                next_slot(&m, rd_ptr_reg, depth),
                Some(rd_en.into()),
                ctrl(Ty::u(aw), 0),
            );
            m.clocked(
                out_valid_reg,
                clk,
                rd_en,
                Some(out_free.into()),
                ctrl(bit(), 0),
            );
            let out_fire = Expr::from(out_valid_reg) & s_out.ready;
            let count_next =
                Expr::from(count_reg) + Expr::from(in_fire).resize(cw) - out_fire.resize(cw);
            m.clocked(count_reg, clk, count_next, None, ctrl(Ty::u(cw), 0));
            m.assign(s_out.data, out_data_reg);
            Expr::from(out_valid_reg)
        }
    };
    m.assign(s_out.valid, out_valid);
    m.assign(s_in.ready, !full_e.clone());
    m.assign(count, count_reg);
    m.assign(full, full_e);
    m.assign(empty, Expr::from(count_reg).cmp_eq(Expr::zero(Ty::u(cw))));
    Ok(m)
}

/// What a FIFO instance connects to: the input stream (`in_ready` driven
/// by the FIFO), the output stream (`out_valid`, `out_data` driven by it) and
/// its `empty` flag.
pub struct FifoEnds {
    pub in_valid: Expr,
    pub in_ready: SignalId,
    pub in_data: Expr,
    pub out_valid: SignalId,
    pub out_ready: Expr,
    pub out_data: SignalId,
    pub empty: SignalId,
}

/// Instantiate the FIFO module `part` as `name` in `m`, clocked by `clk` and
/// reset by `rst`; `count` and `full` are left open (ready/valid and `empty`
/// are what a user needs).
pub fn instance(
    m: &mut Module,
    part: &Module,
    name: &str,
    clk: SignalId,
    rst: SignalId,
    ends: FifoEnds,
) -> Result<(), GenError> {
    use super::inst::Instantiate;
    m.inst(part, name)
        .connect("clk", clk)
        .connect("rst", rst)
        .connect("in_valid", ends.in_valid)
        .out("in_ready", ends.in_ready)
        .connect("in_data", ends.in_data)
        .out("out_valid", ends.out_valid)
        .connect("out_ready", ends.out_ready)
        .out("out_data", ends.out_data)
        .open(
            "count",
            "fill level not needed: ready/valid and empty suffice",
        )
        .open("full", "in_ready is ~full")
        .out("empty", ends.empty)
        .finish()
}
