//! A direct interpreter of IR expressions: the naive model the printed Verilog
//! must agree with. Written from the IR's documented semantics only (fixed widths,
//! two's complement, explicit extension), never from the printer.

use hdl::ir::{BinOp, Expr, Module, Ty, UnOp};

fn mask(width: u32) -> u128 {
    if width >= 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    }
}

/// Sign- or zero-extend a `ty`-typed bit pattern to i128.
fn widen(v: u128, ty: Ty) -> i128 {
    if ty.signed && ty.width < 128 && (v >> (ty.width - 1)) & 1 == 1 {
        (v | !mask(ty.width)) as i128
    } else {
        v as i128
    }
}

/// Evaluate `e` in module `m`, with `sig(i)` giving the bits of signal `i`.
/// Widths up to 64 bits are supported (the products of `MulWide` up to 128).
pub fn eval(m: &Module, e: &Expr, sig: &dyn Fn(usize) -> u128) -> u128 {
    let ty = |x: &Expr| {
        m.ty_of(x)
            .unwrap_or_else(|err| panic!("ill-typed expression: {err}"))
    };
    let t = ty(e);
    let v = match e {
        Expr::Sig(s) => sig(s.index()),
        Expr::Const(c) => c.bits,
        Expr::Slice { e, lo, .. } => eval(m, e, sig) >> lo,
        Expr::Unary(op, a) => {
            let ta = ty(a);
            let x = eval(m, a, sig);
            match op {
                UnOp::Not => !x,
                UnOp::Neg => x.wrapping_neg(),
                UnOp::ReduceOr => u128::from(x & mask(ta.width) != 0),
                UnOp::ReduceAnd => u128::from(x & mask(ta.width) == mask(ta.width)),
                UnOp::ReduceXor => u128::from((x & mask(ta.width)).count_ones() % 2 == 1),
            }
        }
        Expr::Binary(op, a, b) => {
            let (ta, tb) = (ty(a), ty(b));
            let (x, y) = (eval(m, a, sig), eval(m, b, sig));
            let (sx, sy) = (widen(x, ta), widen(y, tb));
            let amount = y as u32;
            match op {
                BinOp::Add => x.wrapping_add(y),
                BinOp::Sub => x.wrapping_sub(y),
                BinOp::Mul => x.wrapping_mul(y),
                BinOp::And => x & y,
                BinOp::Or => x | y,
                BinOp::Xor => x ^ y,
                BinOp::Eq => u128::from(sx == sy),
                BinOp::Ne => u128::from(sx != sy),
                BinOp::Lt => u128::from(sx < sy),
                BinOp::Le => u128::from(sx <= sy),
                BinOp::Gt => u128::from(sx > sy),
                BinOp::Ge => u128::from(sx >= sy),
                BinOp::Shl if amount >= ta.width => 0,
                BinOp::Shl => x << amount,
                BinOp::Shr if amount >= ta.width => 0,
                BinOp::Shr => x >> amount,
                BinOp::Sra => (sx >> amount.min(127)) as u128,
            }
        }
        Expr::Mux { sel, t, f } => {
            if eval(m, sel, sig) & 1 == 1 {
                eval(m, t, sig)
            } else {
                eval(m, f, sig)
            }
        }
        Expr::Concat(parts) => {
            let mut acc = 0u128;
            let mut shift = 0;
            for p in parts {
                let w = ty(p).width;
                acc |= (eval(m, p, sig) & mask(w)) << shift;
                shift += w;
            }
            acc
        }
        Expr::Resize { e, .. } | Expr::Cast { e, .. } => {
            widen(eval(m, e, sig) & mask(ty(e).width), ty(e)) as u128
        }
        Expr::MulWide(a, b) => {
            let (ta, tb) = (ty(a), ty(b));
            let x = widen(eval(m, a, sig) & mask(ta.width), ta);
            let y = widen(eval(m, b, sig) & mask(tb.width), tb);
            x.wrapping_mul(y) as u128
        }
    };
    v & mask(t.width)
}
