//! The printer keeps the IR's meaning: random well-typed expressions (every
//! operator, mixed signedness, extensions and slices of compound expressions,
//! full-width products, arithmetic shifts) are printed, simulated by Verilator,
//! and compared bit-exactly with a direct interpreter of the IR.

use hdl::ir::{BinOp, Design, Expr, Module, SignalId, Ty, UnOp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use testbench::ireval::eval;
use testbench::verilator::{BuildSpec, Dir, Model, PortDesc};

struct Gen {
    rng: StdRng,
    inputs: Vec<(SignalId, Ty)>,
}

impl Gen {
    fn rand_ty(&mut self) -> Ty {
        Ty {
            width: self.rng.gen_range(1..=20),
            signed: self.rng.gen_bool(0.5),
        }
    }

    fn leaf(&mut self, ty: Ty) -> Expr {
        let same: Vec<SignalId> = self
            .inputs
            .iter()
            .filter(|(_, t)| *t == ty)
            .map(|(s, _)| *s)
            .collect();
        if !same.is_empty() && self.rng.gen_bool(0.8) {
            return same[self.rng.gen_range(0..same.len())].into();
        }
        if self.rng.gen_bool(0.5) {
            // Any input, re-typed explicitly.
            let (s, t) = self.inputs[self.rng.gen_range(0..self.inputs.len())];
            let e = Expr::from(s);
            let e = if t.signed != ty.signed {
                Expr::Cast {
                    e: Box::new(e),
                    signed: ty.signed,
                }
            } else {
                e
            };
            return e.resize(ty.width);
        }
        let bits = self.rng.gen::<u64>() as u128 & ((1u128 << ty.width) - 1);
        Expr::Const(hdl::ir::Const { ty, bits })
    }

    fn expr(&mut self, ty: Ty, depth: u32) -> Expr {
        if depth == 0 || self.rng.gen_bool(0.15) {
            return self.leaf(ty);
        }
        let d = depth - 1;
        loop {
            match self.rng.gen_range(0..13) {
                0 => {
                    let op = [
                        BinOp::Add,
                        BinOp::Sub,
                        BinOp::Mul,
                        BinOp::And,
                        BinOp::Or,
                        BinOp::Xor,
                    ][self.rng.gen_range(0..6)];
                    return Expr::Binary(
                        op,
                        Box::new(self.expr(ty, d)),
                        Box::new(self.expr(ty, d)),
                    );
                }
                1 if ty == Ty::bit() => {
                    let t = self.rand_ty();
                    let op = [
                        BinOp::Eq,
                        BinOp::Ne,
                        BinOp::Lt,
                        BinOp::Le,
                        BinOp::Gt,
                        BinOp::Ge,
                    ][self.rng.gen_range(0..6)];
                    return Expr::Binary(op, Box::new(self.expr(t, d)), Box::new(self.expr(t, d)));
                }
                2 => {
                    let aw = self.rng.gen_range(1..=4);
                    let amount = self.expr(Ty::u(aw), d);
                    let op = if ty.signed && self.rng.gen_bool(0.5) {
                        BinOp::Sra
                    } else if self.rng.gen_bool(0.5) {
                        BinOp::Shl
                    } else {
                        BinOp::Shr
                    };
                    return Expr::Binary(op, Box::new(self.expr(ty, d)), Box::new(amount));
                }
                3 => return Expr::mux(self.expr(Ty::bit(), d), self.expr(ty, d), self.expr(ty, d)),
                4 => {
                    let inner = self.expr(ty, d);
                    return if self.rng.gen_bool(0.5) {
                        !inner
                    } else {
                        -inner
                    };
                }
                5 if ty == Ty::bit() => {
                    let t = self.rand_ty();
                    let op = [UnOp::ReduceOr, UnOp::ReduceAnd, UnOp::ReduceXor]
                        [self.rng.gen_range(0..3)];
                    return Expr::Unary(op, Box::new(self.expr(t, d)));
                }
                6 if !ty.signed => {
                    let extra = self.rng.gen_range(0..6);
                    let lo = self.rng.gen_range(0..=extra);
                    let t = Ty {
                        width: ty.width + extra,
                        signed: self.rng.gen_bool(0.5),
                    };
                    return self.expr(t, d).slice(lo, ty.width);
                }
                7 if !ty.signed && ty.width >= 2 => {
                    let cut = self.rng.gen_range(1..ty.width);
                    let lo_ty = Ty {
                        width: cut,
                        signed: self.rng.gen_bool(0.5),
                    };
                    let hi_ty = Ty {
                        width: ty.width - cut,
                        signed: self.rng.gen_bool(0.5),
                    };
                    return Expr::concat(vec![self.expr(lo_ty, d), self.expr(hi_ty, d)]);
                }
                8 | 9 => {
                    let w = self.rng.gen_range(1..=24);
                    return self
                        .expr(
                            Ty {
                                width: w,
                                signed: ty.signed,
                            },
                            d,
                        )
                        .resize(ty.width);
                }
                10 => {
                    let inner = self.expr(
                        Ty {
                            width: ty.width,
                            signed: !ty.signed,
                        },
                        d,
                    );
                    return Expr::Cast {
                        e: Box::new(inner),
                        signed: ty.signed,
                    };
                }
                11 if ty.width >= 2 => {
                    let wa = self.rng.gen_range(1..ty.width);
                    let a = self.expr(
                        Ty {
                            width: wa,
                            signed: ty.signed,
                        },
                        d,
                    );
                    let b = self.expr(
                        Ty {
                            width: ty.width - wa,
                            signed: ty.signed,
                        },
                        d,
                    );
                    return a.mul_wide(b);
                }
                12 => return self.leaf(ty),
                _ => continue,
            }
        }
    }
}

fn run_seed(seed: u64, outputs: usize) {
    let mut g = Gen {
        rng: StdRng::seed_from_u64(seed),
        inputs: Vec::new(),
    };
    let mut m = Module::new("exprs");
    for i in 0..8 {
        let ty = g.rand_ty();
        let s = m.input(&format!("in{i}"), ty, None, "");
        m.allow_unused(s, "random expressions need not read every input bit");
        g.inputs.push((s, ty));
    }
    let mut outs = Vec::new();
    for o in 0..outputs {
        let ty = if o % 5 == 0 { Ty::bit() } else { g.rand_ty() };
        let e = g.expr(ty, 4);
        let s = m.output(&format!("out{o}"), ty, None, "");
        m.assign(s, e.clone());
        outs.push((s, e));
    }
    let mut d = Design::new("exprs");
    d.add(m.clone());
    let verilog = hdl::verilog::print(&d).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let ports = m
        .ports()
        .map(|(_, s)| PortDesc {
            name: s.name.clone(),
            width: s.ty.width,
            dir: if s.kind == hdl::ir::SignalKind::Input {
                Dir::Input
            } else {
                Dir::Output
            },
        })
        .collect();
    let mut model = Model::build(&BuildSpec::new(verilog.clone(), "exprs", ports))
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let in_ports: Vec<_> = (0..g.inputs.len())
        .map(|i| {
            model
                .port(&format!("in{i}"))
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let out_ports: Vec<_> = (0..outs.len())
        .map(|o| {
            model
                .port(&format!("out{o}"))
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    for vector in 0..200 {
        let mut values = vec![0u128; m.signals.len()];
        for (k, (s, ty)) in g.inputs.iter().enumerate() {
            let v = match vector % 4 {
                // Edge patterns: all zeros, all ones, only the sign bit, random.
                0 => 0,
                1 => (1u128 << ty.width) - 1,
                2 => 1u128 << (ty.width - 1),
                _ => g.rng.gen::<u64>() as u128 & ((1u128 << ty.width) - 1),
            };
            values[s.index()] = v;
            model.set(in_ports[k], v as u64);
        }
        model.eval();
        for (o, (_, e)) in outs.iter().enumerate() {
            let want = eval(&m, e, &|i| values[i]);
            let got = u128::from(model.get(out_ports[o]));
            assert_eq!(
                got,
                want,
                "seed {seed} vector {vector}: out{o} = {e:?}\nVerilog:\n{}",
                verilog
                    .lines()
                    .filter(|l| l.contains(&format!("out{o} ")) || l.contains("expr_"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}

#[test]
fn printed_expressions_match_the_ir() {
    let base: u64 = std::env::var("TB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(11);
    for seed in base..base + 3 {
        run_seed(seed, 60);
    }
}
