//! Expression helpers shared by every block: constant-folding one-bit logic
//! (so that a feature a configuration lacks leaves no `& 1'd1` behind in the
//! Verilog), priority chains, selectors and the small counter arithmetic.
//!
//! They build [`Expr`] trees only; none declares a register.

use crate::ir::{Const, Expr, Module, Reset, SignalId, Ty};

/// One bit.
pub fn bit() -> Ty {
    Ty::bit()
}

/// Unsigned constant of `width` bits.
pub fn k(width: u32, value: u32) -> Expr {
    Expr::uconst(width, u128::from(value))
}

/// Unsigned constant of `width` bits from a `u64`.
pub fn k64(width: u32, value: u64) -> Expr {
    Expr::uconst(width, u128::from(value))
}

/// Synchronous reset of a register of type `ty` to `value`.
pub fn reset_to(rst: SignalId, ty: Ty, value: u128) -> Option<Reset> {
    Some(Reset {
        rst,
        value: Const { ty, bits: value },
    })
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

/// The next index after `slot`, wrapping at `n`.
pub fn next_slot(m: &Module, slot: SignalId, n: u32) -> Expr {
    let w = m.signal(slot).ty.width;
    Expr::mux(
        Expr::from(slot).cmp_eq(k(w, n - 1)),
        k(w, 0),
        Expr::from(slot) + k(w, 1),
    )
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

/// Nested muxes: the first arm whose condition holds gives the value, else `default`.
pub fn priority(arms: Vec<(Expr, Expr)>, default: Expr) -> Expr {
    arms.into_iter()
        .rev()
        .fold(default, |acc, (cond, value)| Expr::mux(cond, value, acc))
}

/// The value of a one-bit constant expression.
fn const_bit(e: &Expr) -> Option<bool> {
    match e {
        Expr::Const(c) if c.ty == Ty::bit() => Some(c.bits == 1),
        _ => None,
    }
}

/// `a & b` on one-bit control expressions, folding constants.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_removes_constants() {
        let m = {
            let mut m = Module::new("t");
            m.input("a", bit(), None, "");
            m
        };
        let a = m
            .find("a")
            .map(Expr::from)
            .unwrap_or_else(|| Expr::bit(false));
        assert_eq!(and(a.clone(), Expr::bit(true)), a);
        assert_eq!(and(a.clone(), Expr::bit(false)), Expr::bit(false));
        assert_eq!(or(Expr::bit(false), a.clone()), a);
        assert_eq!(or(a.clone(), Expr::bit(true)), Expr::bit(true));
        assert_eq!(not(Expr::bit(true)), Expr::bit(false));
        assert_eq!(mux(Expr::bit(true), a.clone(), Expr::bit(false)), a);
        assert_eq!(and(a.clone(), a.clone()), a.clone() & a);
    }

    #[test]
    fn priority_takes_the_first_arm() {
        let e = priority(
            vec![(Expr::bit(true), k(4, 1)), (Expr::bit(true), k(4, 2))],
            k(4, 3),
        );
        assert_eq!(
            e,
            Expr::mux(
                Expr::bit(true),
                k(4, 1),
                Expr::mux(Expr::bit(true), k(4, 2), k(4, 3))
            )
        );
    }
}
