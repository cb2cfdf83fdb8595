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
use crate::parts::ops::k;
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

/// Low bits of `t` the clamp reads (see [`finish`]).
const TW: u32 = 12;

/// Bits of a record's shift (the record check keeps it in 0..=31).
pub const SHIFT_BITS: u32 = 5;

/// The requantization's second half: round, shift, clamp (and ReLU) a
/// product of [`scaled`] (`shift`: the record's, [`SHIFT_BITS`] bits;
/// `relu`: 1 bit); returns the int8 result as an 8-bit wire named
/// `rq_out{tag}`.
///
/// With `x` the product and `s` the shift, `(x + round(s)) >> s` is
/// `(t + 1) >> 1` for `t = (2 * x) >> s`, `s = 0` included (`x = q * 2^s + r`:
/// adding `2^(s-1)` carries into bit `s` exactly when bit `s - 1` of `x` is
/// set). The clamp to `[lo, 127]` needs only whether `t` fits [`TW`] bits
/// (else the result is 127 or `lo` by its sign) and its low [`TW`] bits, so
/// there is no 49-bit rounding adder and no 49-bit comparison: the output
/// path's longest logic on an FPGA (`golden::requant` is the reference the
/// engine tests compare with).
pub fn finish(m: &mut Module, tag: &str, prod: Expr, shift: Expr, relu: Expr) -> SignalId {
    let t = m.wire_of(
        &format!("rq_t{tag}"),
        Expr::concat(vec![Expr::zero(Ty::u(1)), prod])
            .as_signed()
            .sra(shift),
        "2 * product >> shift (the rounding bit is its bit 0)",
    );
    let te = || Expr::from(t);
    let sign = te().bit_at(W);
    // t fits TW bits when bits TW-1..W are all its sign.
    let top = te().slice(TW - 1, W + 2 - TW);
    let fits = m.wire_of(
        &format!("rq_fits{tag}"),
        top.clone().reduce_and() | !top.reduce_or(),
        "2 * product >> shift fits its low bits",
    );
    // (t + 1) >> 1 on the low bits, one bit wider: -2^(TW-1)/2 ..= 2^(TW-1)/2.
    let y = m.wire_of(
        &format!("rq_y{tag}"),
        (te().slice(0, TW).as_signed().resize(TW + 1) + Expr::sconst(TW + 1, 1)).sra(k(1, 1)),
        "the rounded, shifted result when it fits",
    );
    let lo = Expr::mux(relu, Expr::zero(Ty::s(TW + 1)), Expr::sconst(TW + 1, -128));
    let r8 = Expr::mux(
        !Expr::from(fits),
        Expr::mux(sign, lo.clone().slice(0, 8), k(8, 127)),
        Expr::mux(
            Expr::from(y).cmp_gt(Expr::sconst(TW + 1, 127)),
            k(8, 127),
            Expr::mux(
                Expr::from(y).cmp_lt(lo.clone()),
                lo.slice(0, 8),
                Expr::from(y).slice(0, 8),
            ),
        ),
    );
    m.wire_of(&format!("rq_out{tag}"), r8, "requantized result")
}
