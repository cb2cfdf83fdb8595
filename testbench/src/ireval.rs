//! A direct interpreter of IR expressions: the naive model the printed Verilog
//! must agree with. Written from the IR's documented semantics only (fixed widths,
//! two's complement, explicit extension), never from the printer. [`Sim`] adds
//! assigns, processes, FSMs and registers, cycle by cycle.

use hdl::ir::{BinOp, Expr, Item, Module, ProcKind, SignalId, Stmt, Ty, UnOp};

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

/// A cycle-level interpreter of a module's assigns, processes and clocked
/// registers, written from the IR's documented semantics: combinational
/// processes run top to bottom with blocking assignments; at a clock edge every
/// synchronous process of the clock's domains computes from the old values, a
/// register keeps its value where no path assigns it, the last assignment
/// wins, and the domain's reset, when high, overrides with the declared reset
/// values. Memories and instances are not modelled.
pub struct Sim<'m> {
    m: &'m Module,
    values: Vec<u128>,
}

impl<'m> Sim<'m> {
    /// Every signal starts at zero.
    pub fn new(m: &'m Module) -> Self {
        Sim {
            m,
            values: vec![0; m.signals.len()],
        }
    }
    pub fn set(&mut self, s: SignalId, v: u128) {
        self.values[s.index()] = v & mask(self.m.signal(s).ty.width);
    }
    pub fn get(&self, s: SignalId) -> u128 {
        self.values[s.index()]
    }

    /// Evaluate the combinational logic until nothing changes.
    pub fn settle(&mut self) {
        let m = self.m;
        for _ in 0..=m.signals.len() + 1 {
            let before = self.values.clone();
            for item in &m.items {
                match item {
                    Item::Assign { target, expr } => {
                        let v = eval(m, expr, &|i| self.values[i]);
                        self.values[target.index()] = v;
                    }
                    Item::Process(p) if p.kind == ProcKind::Comb => {
                        // Blocking: later statements read earlier assignments.
                        let mut vals = self.values.clone();
                        exec(m, &p.body, &mut vals, None);
                        self.values = vals;
                    }
                    _ => {}
                }
            }
            if self.values == before {
                return;
            }
        }
        panic!("combinational logic of `{}` does not settle", m.name);
    }

    /// One rising edge of `clk`: settle, update the registers clocked by it, settle.
    pub fn tick(&mut self, clk: SignalId) {
        self.settle();
        let m = self.m;
        let old = self.values.clone();
        let mut next = old.clone();
        for item in &m.items {
            match item {
                Item::Process(p) => {
                    let ProcKind::Sync(d) = p.kind else { continue };
                    if m.domains[d.0 as usize].clk == clk {
                        exec(m, &p.body, &mut next, Some(&old));
                    }
                }
                Item::Clocked {
                    target,
                    clk: c,
                    next: e,
                    enable,
                    reset,
                } if *c == clk => {
                    let on = enable
                        .as_ref()
                        .is_none_or(|en| eval(m, en, &|i| old[i]) & 1 == 1);
                    if on {
                        next[target.index()] = eval(m, e, &|i| old[i]);
                    }
                    if let Some(r) = reset.as_ref().filter(|r| old[r.rst.index()] & 1 == 1) {
                        next[target.index()] = r.value.bits;
                    }
                }
                Item::MemRead { .. } | Item::MemWrite { .. } | Item::Instance { .. } => {
                    panic!("ireval::Sim does not model memories or instances")
                }
                _ => {}
            }
        }
        for (i, s) in m.signals.iter().enumerate() {
            let (Some(d), Some(v)) = (s.domain, s.reset) else {
                continue;
            };
            let dom = &m.domains[d.0 as usize];
            if dom.clk == clk && dom.rst.is_some_and(|r| old[r.index()] & 1 == 1) {
                next[i] = v.bits;
            }
        }
        self.values = next;
        self.settle();
    }
}

/// Run a statement tree. Reads come from `old` (synchronous: values before the
/// edge) or from `vals` itself (combinational: blocking assignments).
fn exec(m: &Module, stmts: &[Stmt], vals: &mut Vec<u128>, old: Option<&[u128]>) {
    let read = |vals: &Vec<u128>, e: &Expr| -> u128 {
        match old {
            Some(o) => eval(m, e, &|i| o[i]),
            None => eval(m, e, &|i| vals[i]),
        }
    };
    for s in stmts {
        match s {
            Stmt::Set { target, expr } => {
                let v = read(vals, expr);
                vals[target.index()] = v;
            }
            Stmt::If { arms, otherwise } => {
                let arm = arms.iter().find(|(c, _)| read(vals, c) & 1 == 1);
                let body = arm.map_or(otherwise.as_slice(), |(_, b)| b.as_slice());
                exec(m, body, vals, old);
            }
            Stmt::Switch {
                sel,
                cases,
                default,
            } => {
                let v = read(vals, sel);
                let arm = cases.iter().find(|c| c.values.contains(&v));
                let body = match (arm, default) {
                    (Some(c), _) => c.body.as_slice(),
                    (None, Some(d)) => d.as_slice(),
                    (None, None) => &[],
                };
                exec(m, body, vals, old);
            }
        }
    }
}
