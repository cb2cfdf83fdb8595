//! An assembler written as Rust calls: the microprogram is generated per
//! configuration (rows, columns, word width, limits are constants of the
//! build), so loops over array rows unroll in Rust and constants become
//! immediates. Registers are named when allocated; labels are placed once
//! and resolved at the end. Errors (a constant that fits no immediate, a
//! label never placed, too many registers or instructions) are collected and
//! reported by [`Asm::finish`], so program-building code reads straight.

use crate::isa::{Instr, Op, Set, Special, Src, MAX_PROGRAM, REGS};

/// A register of the register file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reg(pub u8);

/// Register 0 holds 0: the program's first instruction clears it and nothing
/// writes it again.
pub const ZERO: Reg = Reg(0);

/// A program address, placed once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

/// A `B` operand: a register or a constant.
#[derive(Clone, Copy, Debug)]
pub enum B {
    R(Reg),
    K(u32),
}

impl From<Reg> for B {
    fn from(r: Reg) -> B {
        B::R(r)
    }
}

impl From<u32> for B {
    fn from(v: u32) -> B {
        B::K(v)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AsmError {
    #[error("constant {0:#x} fits no immediate (16 bits, or 16 bits shifted left by 16)")]
    Constant(u32),
    #[error("more than {REGS} registers (allocating {0})")]
    Registers(String),
    #[error("program of {0} instructions is over the {MAX_PROGRAM} the ROM addresses")]
    TooLong(usize),
    #[error("label {0} used but never placed")]
    Unplaced(usize),
    #[error("label {0} placed twice")]
    Placed(usize),
    #[error("instruction {0} writes register 0 (the zero register)")]
    WritesZero(usize),
}

/// An assembled program.
#[derive(Clone, Debug)]
pub struct Program {
    pub code: Vec<Instr>,
    /// Register names by number (for traces and docs).
    pub reg_names: Vec<String>,
}

impl Program {
    /// The ROM words.
    pub fn words(&self) -> Vec<u64> {
        self.code.iter().map(Instr::encode).collect()
    }
}

#[derive(Default)]
pub struct Asm {
    code: Vec<Instr>,
    /// Per instruction whose `x` is a label: the label.
    fixups: Vec<(usize, Label)>,
    labels: Vec<Option<usize>>,
    reg_names: Vec<String>,
    errors: Vec<AsmError>,
}

impl Asm {
    pub fn new() -> Asm {
        let mut a = Asm {
            reg_names: vec!["zero".into()],
            ..Asm::default()
        };
        // Whatever the register file held, A & 0 is 0 (not A - A: the
        // RTL's two register-file copies need not agree before a write).
        a.code.push(Instr {
            op: Op::And,
            rd: 0,
            ra: 0,
            b: Src::Imm(0),
            x: 0,
        });
        a
    }

    /// A new register named `name`.
    pub fn reg(&mut self, name: &str) -> Reg {
        if self.reg_names.len() >= REGS as usize {
            self.errors.push(AsmError::Registers(name.into()));
            return Reg(u8::MAX);
        }
        self.reg_names.push(name.into());
        Reg((self.reg_names.len() - 1) as u8)
    }

    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Place `l` at the next instruction.
    pub fn place(&mut self, l: Label) {
        if self.labels[l.0].replace(self.code.len()).is_some() {
            self.errors.push(AsmError::Placed(l.0));
        }
    }

    /// The next instruction's address.
    pub fn here(&self) -> usize {
        self.code.len()
    }

    fn src(&mut self, b: B) -> Src {
        match b {
            B::R(r) => Src::Reg(r.0),
            B::K(v) if v <= 0xFFFF => Src::Imm(v as u16),
            B::K(v) if v & 0xFFFF == 0 => Src::ImmHi((v >> 16) as u16),
            B::K(v) => {
                self.errors.push(AsmError::Constant(v));
                Src::Imm(0)
            }
        }
    }

    fn emit(&mut self, op: Op, rd: Reg, ra: Reg, b: B, x: u16) {
        if op.writes_rd() && rd.0 == 0 {
            self.errors.push(AsmError::WritesZero(self.code.len()));
        }
        let b = self.src(b);
        self.code.push(Instr {
            op,
            rd: rd.0,
            ra: ra.0,
            b,
            x,
        });
    }

    fn emit_to(&mut self, op: Op, ra: Reg, b: B, to: Label) {
        self.fixups.push((self.code.len(), to));
        self.emit(op, ZERO, ra, b, 0);
    }

    pub fn alu(&mut self, op: Op, rd: Reg, ra: Reg, b: impl Into<B>) {
        self.emit(op, rd, ra, b.into(), 0);
    }
    pub fn add(&mut self, rd: Reg, ra: Reg, b: impl Into<B>) {
        self.alu(Op::Add, rd, ra, b);
    }
    pub fn sub(&mut self, rd: Reg, ra: Reg, b: impl Into<B>) {
        self.alu(Op::Sub, rd, ra, b);
    }
    pub fn adds(&mut self, rd: Reg, ra: Reg, b: impl Into<B>) {
        self.alu(Op::AddS, rd, ra, b);
    }
    pub fn and(&mut self, rd: Reg, ra: Reg, b: impl Into<B>) {
        self.alu(Op::And, rd, ra, b);
    }
    pub fn or(&mut self, rd: Reg, ra: Reg, b: impl Into<B>) {
        self.alu(Op::Or, rd, ra, b);
    }
    pub fn sltu(&mut self, rd: Reg, ra: Reg, b: impl Into<B>) {
        self.alu(Op::Sltu, rd, ra, b);
    }
    pub fn shr1(&mut self, rd: Reg, ra: Reg) {
        self.alu(Op::Shr1, rd, ra, 0);
    }
    pub fn shl1s(&mut self, rd: Reg, ra: Reg) {
        self.alu(Op::Shl1S, rd, ra, 0);
    }
    /// `rd = b` (one instruction, or two for a constant with both halves).
    pub fn li(&mut self, rd: Reg, b: impl Into<B>) {
        match b.into() {
            B::K(v) if v > 0xFFFF && v & 0xFFFF != 0 => {
                self.add(rd, ZERO, v & 0xFFFF_0000);
                self.or(rd, rd, v & 0xFFFF);
            }
            b => self.add(rd, ZERO, b),
        }
    }
    pub fn mov(&mut self, rd: Reg, ra: Reg) {
        self.add(rd, ra, 0);
    }
    pub fn mfs(&mut self, rd: Reg, s: Special) {
        self.emit(Op::Mfs, rd, ZERO, B::K(0), s as u16);
    }
    pub fn beq(&mut self, ra: Reg, b: impl Into<B>, to: Label) {
        self.emit_to(Op::Beq, ra, b.into(), to);
    }
    pub fn bne(&mut self, ra: Reg, b: impl Into<B>, to: Label) {
        self.emit_to(Op::Bne, ra, b.into(), to);
    }
    pub fn bltu(&mut self, ra: Reg, b: impl Into<B>, to: Label) {
        self.emit_to(Op::Bltu, ra, b.into(), to);
    }
    pub fn bgeu(&mut self, ra: Reg, b: impl Into<B>, to: Label) {
        self.emit_to(Op::Bgeu, ra, b.into(), to);
    }
    /// `pc = to` (`beq zero, 0`).
    pub fn jmp(&mut self, to: Label) {
        self.beq(ZERO, 0, to);
    }
    /// Call `to`, the return address in `link`.
    pub fn jal(&mut self, link: Reg, to: Label) {
        self.fixups.push((self.code.len(), to));
        self.emit(Op::Jal, link, ZERO, B::K(0), 0);
    }
    pub fn jr(&mut self, ra: Reg) {
        self.emit(Op::Jr, ZERO, ra, B::K(0), 0);
    }
    /// `rd` = the `bytes` (1, 2 or 4) bytes at `ra + b`.
    pub fn ldr(&mut self, rd: Reg, ra: Reg, b: impl Into<B>, bytes: u32) {
        let x = bytes.trailing_zeros() as u16;
        debug_assert!(bytes.is_power_of_two() && bytes <= 4);
        self.emit(Op::Ldr, rd, ra, b.into(), x);
    }
    /// Lane `lane` loads its run at `ra + b`; `rd = ra + b`.
    pub fn ldl(&mut self, lane: u16, rd: Reg, ra: Reg, b: impl Into<B>) {
        self.emit(Op::Ldl, rd, ra, b.into(), lane);
    }
    pub fn sets(&mut self, s: Set, ra: Reg, b: impl Into<B>) {
        self.emit(Op::Sets, ZERO, ra, b.into(), s as u16);
    }
    pub fn fire(&mut self, last: bool) {
        self.emit(Op::Fire, ZERO, ZERO, B::K(0), u16::from(last));
    }
    pub fn tile(&mut self, mask: Reg, oaddr: Reg, first: bool, last: bool) {
        self.emit(
            Op::Tile,
            ZERO,
            mask,
            B::R(oaddr),
            u16::from(first) | u16::from(last) << 1,
        );
    }
    pub fn waito(&mut self) {
        self.emit(Op::Waito, ZERO, ZERO, B::K(0), 0);
    }
    pub fn done(&mut self) {
        self.emit(Op::Done, ZERO, ZERO, B::K(0), 0);
    }
    pub fn err(&mut self, code: u32, index: Reg) {
        self.emit(Op::Err, ZERO, index, B::K(0), code as u16);
    }

    pub fn finish(mut self) -> Result<Program, AsmError> {
        for &(at, l) in &self.fixups {
            match self.labels[l.0] {
                Some(pos) => self.code[at].x = pos as u16,
                None => self.errors.push(AsmError::Unplaced(l.0)),
            }
        }
        if self.code.len() > MAX_PROGRAM {
            self.errors.push(AsmError::TooLong(self.code.len()));
        }
        match self.errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(Program {
                code: self.code,
                reg_names: self.reg_names,
            }),
        }
    }
}
