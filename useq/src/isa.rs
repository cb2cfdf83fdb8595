//! The instruction set: one instruction is a fixed-width word in the
//! program ROM, decoded by slicing (no decode ROM). Every instruction reads
//! `A = R[ra]` and an operand `B` (a register, or a 16-bit immediate that may
//! sit in the upper half), and the one adder computes `A + B`: it is the
//! ALU's sum, a branch's comparison (as `A - B`), and every memory and
//! datapath instruction's address or value, so the hardware has one adder.
//!
//! Field layout, LSB first (the widths below are the only place they are
//! written; `hdl` slices the ROM word with them):
//! `op[5] rd[8] ra[8] bi[1] hi[1] imm[16] x[10]`; with `bi` = 0, `B` is
//! `R[imm[7:0]]`, with `bi` = 1 it is `imm` (`hi` = 1: `imm << 16`). `x` is
//! a branch target, a lane, a special register or a flag set, per op.

/// Registers in the register file (block RAM: two copies, one per read
/// port; an iCE40 RAM40 holds 256 x 16, so 256 cost no more blocks than 128).
pub const REGS: u32 = 256;
pub const OP_BITS: u32 = 5;
pub const REG_BITS: u32 = 8;
pub const IMM_BITS: u32 = 16;
pub const X_BITS: u32 = 10;
/// Largest program (instructions): `x` holds any address in it.
pub const MAX_PROGRAM: usize = 1 << X_BITS;

/// Bit offsets of the fields in an instruction word.
pub const OP_LSB: u32 = 0;
pub const RD_LSB: u32 = OP_LSB + OP_BITS;
pub const RA_LSB: u32 = RD_LSB + REG_BITS;
pub const BI_LSB: u32 = RA_LSB + REG_BITS;
pub const HI_LSB: u32 = BI_LSB + 1;
pub const IMM_LSB: u32 = HI_LSB + 1;
pub const X_LSB: u32 = IMM_LSB + IMM_BITS;
/// Bits of an instruction word.
pub const WORD_BITS: u32 = X_LSB + X_BITS;

/// The operations. `A`, `B` as in the module doc; `R[rd]` is written only
/// by the ALU ops, `Jal`, `Ldr` and `Ldl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Op {
    /// `R[rd] = A + B` (wrapping).
    Add = 0,
    /// `R[rd] = A - B` (wrapping).
    Sub = 1,
    /// `R[rd] = min(A + B, 2^32 - 1)`: sizes and ends for the checks.
    AddS = 2,
    /// `R[rd] = A & B`.
    And = 3,
    /// `R[rd] = A | B`.
    Or = 4,
    /// `R[rd] = A < B` (unsigned; 1 or 0).
    Sltu = 5,
    /// `R[rd] = A >> 1`.
    Shr1 = 6,
    /// `R[rd] = A << 1`, or `2^32 - 1` when `A`'s top bit is set
    /// (saturating: the checks' products never wrap).
    Shl1S = 7,
    /// `R[rd] = special input x` ([`Special`]).
    Mfs = 8,
    /// `pc = x` if `A == B`.
    Beq = 9,
    /// `pc = x` if `A != B`.
    Bne = 10,
    /// `pc = x` if `A < B` (unsigned).
    Bltu = 11,
    /// `pc = x` if `A >= B` (unsigned).
    Bgeu = 12,
    /// `R[rd] = pc + 1; pc = x`.
    Jal = 13,
    /// `pc = A`.
    Jr = 14,
    /// `R[rd]` = the `2^x` bytes at address `A + B` (x in 0..=2), zero
    /// extended; they must lie in one memory word.
    Ldr = 15,
    /// Lane `x` takes its run of bytes from address `A + B`, or zeros when
    /// that address has bit 31 set; `R[rd] = A + B`.
    Ldl = 16,
    /// Datapath register `x` ([`Set`]) = `A + B`.
    Sets = 17,
    /// The array takes `N` beats from the lanes (waiting for their loads);
    /// `x` bit 0: the tile's last chunk.
    Fire = 18,
    /// A tile's info for the output path: `A` the row mask (conv position
    /// inside and pixel live), `B` the first row's output address, `x` bit 0
    /// the first pool-window offset, bit 1 the last.
    Tile = 19,
    /// Wait until the output path has written every tile.
    Waito = 20,
    /// `status.done`; the sequencer stops.
    Done = 21,
    /// `status.error` with `code` = `x`, `index` = `A`; the sequencer stops.
    Err = 22,
}

pub const OPS: &[Op] = &[
    Op::Add,
    Op::Sub,
    Op::AddS,
    Op::And,
    Op::Or,
    Op::Sltu,
    Op::Shr1,
    Op::Shl1S,
    Op::Mfs,
    Op::Beq,
    Op::Bne,
    Op::Bltu,
    Op::Bgeu,
    Op::Jal,
    Op::Jr,
    Op::Ldr,
    Op::Ldl,
    Op::Sets,
    Op::Fire,
    Op::Tile,
    Op::Waito,
    Op::Done,
    Op::Err,
];

impl Op {
    pub fn from_code(code: u32) -> Option<Op> {
        OPS.iter().copied().find(|&o| o as u32 == code)
    }

    /// The op writes `R[rd]`.
    pub fn writes_rd(self) -> bool {
        matches!(
            self,
            Op::Add
                | Op::Sub
                | Op::AddS
                | Op::And
                | Op::Or
                | Op::Sltu
                | Op::Shr1
                | Op::Shl1S
                | Op::Mfs
                | Op::Jal
                | Op::Ldr
                | Op::Ldl
        )
    }

    /// `x` is a program address.
    pub fn is_jump(self) -> bool {
        matches!(self, Op::Beq | Op::Bne | Op::Bltu | Op::Bgeu | Op::Jal)
    }
}

/// Special inputs (`Mfs` x): what the register port holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum Special {
    /// `desc_addr` as copied by the start.
    DescAddr = 0,
    /// `desc_count` as copied by the start.
    DescCount = 1,
}

/// Datapath registers (`Sets` x).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum Set {
    /// Beats per chunk (A lanes' run length, `Fire`'s beats), 1..=chunk.
    N = 0,
    /// Live columns of the group (B lanes' run length), 1..=cols.
    Gw = 1,
    /// Live rows of the tile (the output path writes rows below it).
    Nv = 2,
    /// The layer's `relu` (bit 0).
    Relu = 3,
    /// The layer's `out_c` (the output path's row stride).
    OutC = 4,
}

/// The `B` operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    Reg(u8),
    Imm(u16),
    /// `imm << 16`.
    ImmHi(u16),
}

/// One instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instr {
    pub op: Op,
    pub rd: u8,
    pub ra: u8,
    pub b: Src,
    pub x: u16,
}

impl Instr {
    /// The ROM word.
    pub fn encode(&self) -> u64 {
        let (bi, hi, imm) = match self.b {
            Src::Reg(r) => (0u64, 0u64, u64::from(r)),
            Src::Imm(v) => (1, 0, u64::from(v)),
            Src::ImmHi(v) => (1, 1, u64::from(v)),
        };
        (self.op as u64) << OP_LSB
            | u64::from(self.rd) << RD_LSB
            | u64::from(self.ra) << RA_LSB
            | bi << BI_LSB
            | hi << HI_LSB
            | imm << IMM_LSB
            | u64::from(self.x) << X_LSB
    }

    /// The instruction of a ROM word (`None`: no such op).
    pub fn decode(w: u64) -> Option<Instr> {
        let f = |lsb: u32, bits: u32| (w >> lsb) & ((1u64 << bits) - 1);
        let op = Op::from_code(f(OP_LSB, OP_BITS) as u32)?;
        let imm = f(IMM_LSB, IMM_BITS) as u16;
        let b = match (f(BI_LSB, 1), f(HI_LSB, 1)) {
            (0, _) => Src::Reg((u32::from(imm) & ((1 << REG_BITS) - 1)) as u8),
            (_, 0) => Src::Imm(imm),
            _ => Src::ImmHi(imm),
        };
        Some(Instr {
            op,
            rd: f(RD_LSB, REG_BITS) as u8,
            ra: f(RA_LSB, REG_BITS) as u8,
            b,
            x: f(X_LSB, X_BITS) as u16,
        })
    }
}

/// The ALU (ops that write `R[rd]` from `A` and `B`; others give `None`).
pub fn alu(op: Op, a: u32, b: u32) -> Option<u32> {
    Some(match op {
        Op::Add => a.wrapping_add(b),
        Op::Sub => a.wrapping_sub(b),
        Op::AddS => a.saturating_add(b),
        Op::And => a & b,
        Op::Or => a | b,
        Op::Sltu => u32::from(a < b),
        Op::Shr1 => a >> 1,
        Op::Shl1S => {
            if a >> 31 == 1 {
                u32::MAX
            } else {
                a << 1
            }
        }
        _ => return None,
    })
}

/// A branch's condition (`None`: not a conditional branch).
pub fn taken(op: Op, a: u32, b: u32) -> Option<bool> {
    Some(match op {
        Op::Beq => a == b,
        Op::Bne => a != b,
        Op::Bltu => a < b,
        Op::Bgeu => a >= b,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        for &op in OPS {
            for b in [
                Src::Reg(127),
                Src::Imm(0xBEEF),
                Src::ImmHi(0x8000),
                Src::Reg(0),
            ] {
                let i = Instr {
                    op,
                    rd: 193,
                    ra: 5,
                    b,
                    x: 1023,
                };
                assert_eq!(Instr::decode(i.encode()), Some(i));
                assert!(i.encode() < 1u64 << WORD_BITS);
            }
        }
        assert_eq!(Instr::decode(31), None);
    }
}
