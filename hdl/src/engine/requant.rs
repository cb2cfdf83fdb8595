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
//!
//! The product is `*` (LUTs or whatever DSP synthesis infers), or with
//! `--dsp-cell ice40` two `SB_MAC16` blocks in 16x16 mode: the flow keeps
//! yosys' `-dsp` off for designs that instantiate the block, so there a `*`
//! would be ~1.2k LUT4 per unit. `mult` is unsigned (1..=65535), so
//! `sum * mult = (sum[31:16] signed * mult) << 16 + sum[15:0] * mult`, two
//! 16x16 products that each fit 32 bits.

use crate::array::ice40_mac16;
use crate::ir::{Expr, Module, SignalId, Ty};
use crate::parts::ops::{k, k64};
use crate::GenError;

/// Width at which the whole expression is exact (see the module doc).
const W: u32 = 49;

/// How the requantization's product is built.
#[derive(Clone, Copy, Debug)]
pub enum Product {
    /// `*` in the Verilog.
    Infer,
    /// Two instantiated iCE40 `SB_MAC16` blocks (clocked by `clk`, registers unused).
    Ice40 { clk: SignalId },
}

/// `sum` (32-bit signed) times `mult` (16-bit unsigned), 49-bit signed.
fn product(
    m: &mut Module,
    tag: &str,
    how: Product,
    sum: Expr,
    mult: Expr,
) -> Result<Expr, GenError> {
    Ok(match how {
        Product::Infer => sum.mul_wide(mult.resize(17).as_signed()),
        Product::Ice40 { clk } => {
            let sum = m.wire_of(&format!("rq_sum{tag}"), sum, "acc + bias (int32, wraps)");
            let lo = ice40_mac16::mul16(
                m,
                &format!("rq_mac_lo{tag}"),
                clk,
                Expr::from(sum).slice(0, 16),
                mult.clone(),
                false,
            )?;
            let hi = ice40_mac16::mul16(
                m,
                &format!("rq_mac_hi{tag}"),
                clk,
                Expr::from(sum).slice(16, 16),
                mult,
                true,
            )?;
            // hi is signed (sign-extends), lo unsigned (zero-extends).
            let hi_at16 = Expr::concat(vec![Expr::zero(Ty::u(16)), Expr::from(hi).resize(W - 16)]);
            hi_at16.as_signed() + Expr::from(lo).resize(W).as_signed()
        }
    })
}

/// The requantization's first half: `acc` (int32) plus the channel's
/// `bias` (32 bits, two's complement), times its `mult` (16 bits), exact at
/// [`PROD_BITS`] bits (signed). The engine's output pipeline (`out_pipe`)
/// registers it; [`finish`] is the rest.
pub fn scaled(
    m: &mut Module,
    tag: &str,
    how: Product,
    acc: Expr,
    bias: Expr,
    mult: Expr,
) -> Result<Expr, GenError> {
    let sum = acc.as_signed() + bias.as_signed();
    product(m, tag, how, sum, mult)
}

/// Bits of the product [`scaled`] returns.
pub const PROD_BITS: u32 = W;

/// The requantization's second half: round, shift, clamp (and ReLU) a
/// product of [`scaled`] (`shift`: the record's, 8 bits; `relu`: 1 bit);
/// returns the int8 result as an 8-bit wire named `rq_out{tag}`.
pub fn finish(m: &mut Module, tag: &str, prod: Expr, shift: Expr, relu: Expr) -> SignalId {
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
