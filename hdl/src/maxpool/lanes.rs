//! Helpers over packed int8 vectors (channel c at bits `[8*c +: 8]`) and over
//! words of several such vectors (slot j at bits `[j*D +: D]`), written once
//! for both pooling stages; plus the small counter arithmetic of the sequencer.

use crate::ir::{Expr, Module, SignalId, Ty};

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

/// `parts[slot]`; with one part the selector does not exist and is not read.
pub fn select(parts: Vec<Expr>, slot: Option<SignalId>, slot_bits: u32) -> Expr {
    let mut it = parts.into_iter().enumerate();
    let Some((_, first)) = it.next() else {
        return Expr::bit(false);
    };
    let Some(slot) = slot else {
        return first;
    };
    it.fold(first, |acc, (j, p)| {
        Expr::mux(
            Expr::from(slot).cmp_eq(Expr::uconst(slot_bits, j as u128)),
            p,
            acc,
        )
    })
}

/// Unsigned constant.
pub fn k(width: u32, value: u32) -> Expr {
    Expr::uconst(width, u128::from(value))
}

/// `sig == 0`.
pub fn is_zero(m: &Module, sig: SignalId) -> Expr {
    Expr::from(sig).cmp_eq(Expr::zero(m.signal(sig).ty))
}

/// The next value of a down-counter that reloads `reload` after reaching zero.
pub fn count_down(m: &Module, cnt: SignalId, reload: u32) -> Expr {
    let w = m.signal(cnt).ty.width;
    Expr::mux(is_zero(m, cnt), k(w, reload), Expr::from(cnt) - k(w, 1))
}

/// The next slot index after `slot`, wrapping at `n`.
pub fn next_slot(m: &Module, slot: SignalId, n: u32) -> Expr {
    let w = m.signal(slot).ty.width;
    Expr::mux(
        Expr::from(slot).cmp_eq(k(w, n - 1)),
        k(w, 0),
        Expr::from(slot) + k(w, 1),
    )
}

/// One bit.
pub fn bit() -> Ty {
    Ty::bit()
}

/// The value of a one-bit constant expression.
fn const_bit(e: &Expr) -> Option<bool> {
    match e {
        Expr::Const(c) if c.ty == Ty::bit() => Some(c.bits == 1),
        _ => None,
    }
}

/// `a & b` on one-bit control expressions, folding constants so that features a
/// configuration lacks leave no `& 1'd1` behind in the Verilog.
pub fn and(a: impl Into<Expr>, b: impl Into<Expr>) -> Expr {
    let (a, b) = (a.into(), b.into());
    match (const_bit(&a), const_bit(&b)) {
        (Some(false), _) | (_, Some(false)) => Expr::bit(false),
        (Some(true), _) => b,
        (_, Some(true)) => a,
        _ => a & b,
    }
}

/// `a | b`, folding constants.
pub fn or(a: impl Into<Expr>, b: impl Into<Expr>) -> Expr {
    let (a, b) = (a.into(), b.into());
    match (const_bit(&a), const_bit(&b)) {
        (Some(true), _) | (_, Some(true)) => Expr::bit(true),
        (Some(false), _) => b,
        (_, Some(false)) => a,
        _ => a | b,
    }
}

/// `~a`, folding constants.
pub fn not(a: impl Into<Expr>) -> Expr {
    let a = a.into();
    match const_bit(&a) {
        Some(v) => Expr::bit(!v),
        None => !a,
    }
}

/// `sel ? t : f`, folding a constant select.
pub fn mux(sel: impl Into<Expr>, t: impl Into<Expr>, f: impl Into<Expr>) -> Expr {
    let sel = sel.into();
    match const_bit(&sel) {
        Some(true) => t.into(),
        Some(false) => f.into(),
        None => Expr::mux(sel, t, f),
    }
}

/// A wire named `name` holding `e`, or `e` itself when it is a constant.
pub fn named(m: &mut Module, name: &str, e: Expr, comment: &str) -> Expr {
    if const_bit(&e).is_some() {
        e
    } else {
        m.wire_of(name, e, comment).into()
    }
}
