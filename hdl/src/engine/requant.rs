//! Per-channel requantization of one array result, exactly as
//! `golden::requant` and the issue's formula:
//!
//! ```text
//! r = clamp(((acc + bias) as i64 * mult + round(shift)) >> shift, lo, 127)
//!     acc + bias wraps in int32; round(s) = s > 0 ? 1 << (s-1) : 0;
//!     lo = 0 with ReLU, -128 without; mult in 1..=65535, shift in 0..=31
//! ```
//!
//! The product of a 32-bit sum and a 17-bit signed multiplier fits 49 bits,
//! and so does the rounding term, so the whole expression is exact at 49 bits.

use crate::ir::{Expr, Module, SignalId, Ty};
use crate::parts::ops::{k, k64};

/// Build the requantization of `acc` (int32) with the channel's `bias`
/// (32 bits, two's complement), `mult` (16 bits), `shift` (8 bits) and
/// `relu` (1 bit); returns the int8 result as an 8-bit wire named
/// `rq_out{tag}`.
pub fn build(
    m: &mut Module,
    tag: &str,
    acc: Expr,
    bias: Expr,
    mult: Expr,
    shift: Expr,
    relu: Expr,
) -> SignalId {
    const W: u32 = 49;
    let sum = acc.as_signed() + bias.as_signed();
    let prod = sum.mul_wide(mult.resize(17).as_signed());
    // The record check keeps shift in 0..=31: five bits of shifter.
    let sh5 = shift.clone().resize(5);
    let round = Expr::mux(
        shift.cmp_eq(k(8, 0)),
        Expr::zero(Ty::s(W)),
        (k64(W, 1) << (sh5.clone() - k(5, 1))).as_signed(),
    );
    let total = m.wire_of(&format!("rq_tot{tag}"), prod + round, "");
    let shifted = m.wire_of(&format!("rq_sh{tag}"), Expr::from(total).sra(sh5), "");
    let lo = Expr::mux(relu, Expr::zero(Ty::s(W)), Expr::sconst(W, -128));
    let r8 = Expr::mux(
        Expr::from(shifted).cmp_gt(Expr::sconst(W, 127)),
        k(8, 127),
        Expr::mux(
            Expr::from(shifted).cmp_lt(lo.clone()),
            lo.slice(0, 8),
            Expr::from(shifted).slice(0, 8),
        ),
    );
    m.wire_of(&format!("rq_out{tag}"), r8, "requantized result")
}
