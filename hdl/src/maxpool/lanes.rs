//! Helpers over packed int8 vectors (channel c at bits `[8*c +: 8]`) and over
//! words of several such vectors (slot j at bits `[j*D +: D]`), written once
//! for both pooling stages. The generic expression helpers the sequencer uses
//! live in [`crate::parts::ops`] and are re-exported here.

pub use crate::parts::ops::{
    and, bit, count_down, is_zero, k, mux, named, next_slot, not, or, select,
};

use crate::ir::{Expr, SignalId};

use super::config::LANE_BITS;

/// Channel `c` of the vector at bit `base` of `sig`, as a signed byte.
fn lane(sig: SignalId, base: u32, c: u32) -> Expr {
    Expr::from(sig)
        .slice(base + c * LANE_BITS, LANE_BITS)
        .as_signed()
}

/// Lane-wise signed maximum of two packed vectors of `channels` lanes, read at
/// bit `a_base` of `a` and bit `b_base` of `b`.
pub fn lane_max(a: SignalId, a_base: u32, b: SignalId, b_base: u32, channels: u32) -> Expr {
    Expr::concat(
        (0..channels)
            .map(|c| {
                let (x, y) = (lane(a, a_base, c), lane(b, b_base, c));
                Expr::mux(x.clone().cmp_gt(y.clone()), x, y)
            })
            .collect(),
    )
}

/// Vector `j` of `d` bits out of `word` (which holds `n` of them).
pub fn part(word: SignalId, j: u32, d: u32, n: u32) -> Expr {
    if n == 1 {
        Expr::from(word)
    } else {
        Expr::from(word).slice(j * d, d)
    }
}
