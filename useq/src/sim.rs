//! The interpreter: what the sequencer does, instruction by instruction.
//! The datapath side (memory, lanes, array, output path, register port) is
//! a [`Machine`], so one interpreter serves the functional model of the
//! engine ([`crate::model`]) and the hardware tests, which compare the RTL's
//! register writes and datapath commands with it.

use crate::asm::Program;
use crate::isa::{alu, taken, Instr, Op, Src, REGS};

/// What the sequencer asks of the rest of the engine.
pub trait Machine {
    /// `Mfs`: a special input.
    fn special(&mut self, x: u16) -> u32;
    /// `Ldr`: the `bytes` bytes at `addr` (in one memory word).
    fn load(&mut self, addr: u32, bytes: u32) -> Result<u32, String>;
    /// `Ldl`: lane `lane` loads its run at `addr` (zeros with bit 31 set).
    fn lane(&mut self, lane: u16, addr: u32) -> Result<(), String>;
    /// `Sets`.
    fn set(&mut self, x: u16, value: u32) -> Result<(), String>;
    /// `Fire`.
    fn fire(&mut self, last: bool) -> Result<(), String>;
    /// `Tile`.
    fn tile(&mut self, mask: u32, oaddr: u32, first: bool, last: bool) -> Result<(), String>;
    /// `Waito`.
    fn wait_out(&mut self) -> Result<(), String>;
}

/// How a run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Halt {
    Done,
    Error { code: u32, index: u32 },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SimError {
    #[error("pc {pc}: {what}")]
    Machine { pc: usize, what: String },
    #[error("pc {0} is outside the program")]
    Pc(usize),
    #[error("no halt within {0} instructions")]
    Steps(u64),
}

/// The sequencer's state.
#[derive(Clone, Debug)]
pub struct Cpu {
    pub pc: usize,
    pub regs: Vec<u32>,
    /// Instructions executed, per op code.
    pub executed: Vec<u64>,
}

/// What the register file holds before a program writes it: a pattern, so a
/// program that reads a register before writing it shows up in tests (the
/// RTL's block RAM holds whatever it held).
pub const POISON: u32 = 0xDEAD_BEEF;

impl Default for Cpu {
    fn default() -> Cpu {
        Cpu::new()
    }
}

impl Cpu {
    pub fn new() -> Cpu {
        Cpu {
            pc: 0,
            regs: vec![POISON; REGS as usize],
            executed: vec![0; 32],
        }
    }

    pub fn b_value(&self, i: &Instr) -> u32 {
        match i.b {
            Src::Reg(r) => self.regs[r as usize],
            Src::Imm(v) => u32::from(v),
            Src::ImmHi(v) => u32::from(v) << 16,
        }
    }

    /// Execute one instruction; `Some` when it halts.
    pub fn step(&mut self, p: &Program, m: &mut impl Machine) -> Result<Option<Halt>, SimError> {
        let pc = self.pc;
        let i = *p.code.get(pc).ok_or(SimError::Pc(pc))?;
        let a = self.regs[i.ra as usize];
        let b = self.b_value(&i);
        let sum = a.wrapping_add(b);
        let err = |what: String| SimError::Machine { pc, what };
        self.executed[i.op as usize] += 1;
        self.pc = pc + 1;
        let mut wr = None;
        if let Some(v) = alu(i.op, a, b) {
            wr = Some(v);
        } else if let Some(t) = taken(i.op, a, b) {
            if t {
                self.pc = usize::from(i.x);
            }
        } else {
            match i.op {
                Op::Mfs => wr = Some(m.special(i.x)),
                Op::Jal => {
                    wr = Some(pc as u32 + 1);
                    self.pc = usize::from(i.x);
                }
                Op::Jr => self.pc = a as usize,
                Op::Ldr => wr = Some(m.load(sum, 1 << i.x).map_err(err)?),
                Op::Ldl => {
                    m.lane(i.x, sum).map_err(err)?;
                    wr = Some(sum);
                }
                Op::Sets => m.set(i.x, sum).map_err(err)?,
                Op::Fire => m.fire(i.x & 1 == 1).map_err(err)?,
                Op::Tile => m.tile(a, b, i.x & 1 == 1, i.x & 2 == 2).map_err(err)?,
                Op::Waito => m.wait_out().map_err(err)?,
                Op::Done => return Ok(Some(Halt::Done)),
                Op::Err => {
                    return Ok(Some(Halt::Error {
                        code: u32::from(i.x),
                        index: a,
                    }))
                }
                _ => unreachable!("every op is an ALU op, a branch or listed"),
            }
        }
        if let Some(v) = wr {
            self.regs[i.rd as usize] = v;
        }
        Ok(None)
    }

    /// Run from pc 0 until a halt.
    pub fn run(
        &mut self,
        p: &Program,
        m: &mut impl Machine,
        max_steps: u64,
    ) -> Result<Halt, SimError> {
        self.pc = 0;
        for _ in 0..max_steps {
            if let Some(h) = self.step(p, m)? {
                return Ok(h);
            }
        }
        Err(SimError::Steps(max_steps))
    }

    /// Instructions executed so far.
    pub fn instructions(&self) -> u64 {
        self.executed.iter().sum()
    }
}
