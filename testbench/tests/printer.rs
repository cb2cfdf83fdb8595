//! The printer keeps the IR's meaning: random well-typed expressions (every
//! operator, mixed signedness, extensions and slices of compound expressions,
//! full-width products, arithmetic shifts) are printed, simulated by Verilator,
//! and compared bit-exactly with a direct interpreter of the IR. Random
//! processes (nests of `if`/`case`, synchronous with reset and data registers,
//! combinational with defaults) are printed, simulated cycle by cycle and
//! compared with the interpreter's [`testbench::ireval::Sim`] the same way.

use hdl::ir::{BinOp, Design, Expr, Module, SignalId, Ty, UnOp};
use hdl::parts::Instantiate;
use hdl::process::Proc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use testbench::ireval::{eval, Sim};
use testbench::tools::verilator_lint;
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
            match self.rng.gen_range(0..14) {
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
                // Forms the printer simplifies: `x | 0`, `x ^ 0` (zero also as `0 | 0`),
                // `~(a == b)`, `~(a != b)`; and `s ? 0 : 0`, which it must not drop to `0`.
                13 => {
                    let zero = Expr::Const(hdl::ir::Const { ty, bits: 0 });
                    let zero = match self.rng.gen_range(0..3) {
                        0 => zero,
                        1 => Expr::mux(self.expr(Ty::bit(), d), zero.clone(), zero),
                        _ => Expr::Binary(BinOp::Or, Box::new(zero.clone()), Box::new(zero)),
                    };
                    let e = self.expr(ty, d);
                    let op = [BinOp::Or, BinOp::Xor][self.rng.gen_range(0..2)];
                    return match self.rng.gen_range(0..3) {
                        0 => Expr::Binary(op, Box::new(e), Box::new(zero)),
                        1 => Expr::Binary(op, Box::new(zero), Box::new(e)),
                        _ if ty == Ty::bit() => {
                            let t = self.rand_ty();
                            let cmp = [BinOp::Eq, BinOp::Ne][self.rng.gen_range(0..2)];
                            let (a, b) = (self.expr(t, d), self.expr(t, d));
                            !Expr::Binary(cmp, Box::new(a), Box::new(b))
                        }
                        _ => continue,
                    };
                }
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
                    .filter(|l| {
                        // The output and the temporaries named after it.
                        l.contains(&format!("out{o} ")) || l.contains(&format!("out{o}_"))
                    })
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

/// Random statements assigning `targets` (signal, type), nested `depth` deep.
///
/// Half the bodies hold one statement: the printer drops `begin`/`end` around a lone
/// assignment and starts a `case` arm's lone `if` on the label's line, and a lone `if`
/// without `else` inside an `if` with `else` is the dangling-else trap.
fn random_stmts(g: &mut Gen, p: &mut Proc, targets: &[(SignalId, Ty)], depth: u32) {
    let n = if g.rng.gen_bool(0.5) {
        1
    } else {
        g.rng.gen_range(1..=3)
    };
    for _ in 0..n {
        let choice = if depth == 0 { 0 } else { g.rng.gen_range(0..4) };
        match choice {
            0 | 1 => {
                let (t, ty) = targets[g.rng.gen_range(0..targets.len())];
                let e = g.expr(ty, 3);
                p.set(t, e);
            }
            2 => {
                let c = g.expr(Ty::bit(), 2);
                let mut chain = p.if_(c, |p| random_stmts(g, p, targets, depth - 1));
                for _ in 0..g.rng.gen_range(0..2) {
                    let c = g.expr(Ty::bit(), 2);
                    chain = chain.elif(c, |p| random_stmts(g, p, targets, depth - 1));
                }
                if g.rng.gen_bool(0.5) {
                    chain.else_(|p| random_stmts(g, p, targets, depth - 1));
                }
            }
            _ => {
                let w = g.rng.gen_range(1..=3);
                let sel = g.expr(Ty::u(w), 2);
                let mut values: Vec<u64> = (0..1u64 << w).collect();
                let mut sw = p.switch(sel);
                for _ in 0..g.rng.gen_range(1..=3) {
                    if values.is_empty() {
                        break;
                    }
                    let n = g.rng.gen_range(1..=values.len().min(2));
                    let picked: Vec<u64> = (0..n)
                        .map(|_| values.swap_remove(g.rng.gen_range(0..values.len())))
                        .collect();
                    sw = sw.case(&picked, |p| random_stmts(g, p, targets, depth - 1));
                }
                if g.rng.gen_bool(0.5) {
                    sw.default(|p| random_stmts(g, p, targets, depth - 1));
                }
            }
        }
    }
}

/// A random module of one synchronous and one combinational process, compared
/// cycle by cycle (random inputs, occasional reset) with the interpreter.
fn run_process_seed(seed: u64) {
    let mut g = Gen {
        rng: StdRng::seed_from_u64(seed),
        inputs: Vec::new(),
    };
    let mut m = Module::new("procs");
    let clk = m.input("clk", Ty::bit(), None, "");
    let rst = m.input("rst", Ty::bit(), None, "");
    let mut ins = Vec::new();
    for i in 0..4 {
        let ty = g.rand_ty();
        let s = m.input(&format!("in{i}"), ty, None, "");
        m.allow_unused(s, "random processes need not read every input bit");
        ins.push((s, ty));
    }
    let sync = m.domain("sync", clk, Some(rst));
    // A state register: comparisons with it and assignments to it print state names.
    let states = ["IDLE", "RUN", "WAIT", "DONE", "ERR"];
    let states = &states[..g.rng.gen_range(2..=5)];
    let fsm = m.fsm("st_reg", sync, states, "");
    let mut ctrl = vec![(fsm.reg, m.signal(fsm.reg).ty)];
    for i in 0..3 {
        let ty = g.rand_ty();
        let value = g.rng.gen::<u64>() as u128 & ((1u128 << ty.width) - 1);
        ctrl.push((m.reg_reset(&format!("c{i}_reg"), ty, sync, value, ""), ty));
    }
    let data: Vec<(SignalId, Ty)> = (0..2)
        .map(|i| {
            let ty = g.rand_ty();
            (m.reg_in(&format!("d{i}_reg"), ty, sync, ""), ty)
        })
        .collect();
    let wires: Vec<(SignalId, Ty)> = (0..2)
        .map(|i| {
            let ty = g.rand_ty();
            (m.wire(&format!("w{i}"), ty, ""), ty)
        })
        .collect();
    let regs: Vec<(SignalId, Ty)> = ctrl.iter().chain(&data).copied().collect();
    for &(s, _) in regs.iter().chain(&wires) {
        m.allow_unused(s, "random processes need not read every bit");
    }

    // The combinational process reads inputs and registers: defaults, then a nest.
    g.inputs = ins.iter().chain(&regs).copied().collect();
    let mut c = Proc::comb();
    for &(w, ty) in &wires {
        let e = g.expr(ty, 2);
        c.set(w, e);
    }
    random_stmts(&mut g, &mut c, &wires, 3);
    m.process(c);
    // The synchronous one reads the wires too; data registers get a value every clock.
    g.inputs = ins.iter().chain(&regs).chain(&wires).copied().collect();
    let mut p = Proc::sync(sync);
    for &(d, ty) in &data {
        let e = g.expr(ty, 2);
        p.set(d, e);
    }
    // Control registers: a conditional update each, so each has a driver and holds otherwise.
    for &(r, ty) in &ctrl {
        let (c, e) = (g.expr(Ty::bit(), 2), g.expr(ty, 2));
        p.if_(c, |p| {
            p.set(r, e);
        });
    }
    // The state machine itself, so that every state is named somewhere.
    let mut sw = p.fsm(&fsm);
    for (i, st) in states.iter().enumerate() {
        let next = states[(i + 1) % states.len()];
        let c = g.expr(Ty::bit(), 2);
        sw = sw.state(st, |p| {
            p.if_(c, |p| {
                p.goto(next);
            });
        });
    }
    random_stmts(&mut g, &mut p, &regs, 3);
    m.process(p);

    let mut outs = Vec::new();
    for (i, &(s, ty)) in regs.iter().chain(&wires).enumerate() {
        let o = m.output(&format!("out{i}"), ty, None, "");
        m.assign(o, s);
        outs.push(o);
    }
    let mut d = Design::new("procs");
    d.add(m.clone());
    let verilog = hdl::verilog::print(&d).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    testbench::tools::verilator_lint(&format!("lint-procs-{seed}"), "procs", &verilog)
        .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{verilog}"));
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
    let mut model = Model::build(&BuildSpec::new(verilog.clone(), "procs", ports))
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let port = |n: &str| model.port(n).unwrap_or_else(|e| panic!("{e}"));
    let (clk_p, rst_p) = (port("clk"), port("rst"));
    let in_p: Vec<_> = (0..ins.len()).map(|i| port(&format!("in{i}"))).collect();
    let out_p: Vec<_> = (0..outs.len()).map(|i| port(&format!("out{i}"))).collect();
    let mut sim = Sim::new(&m);
    for cycle in 0..300 {
        let r = u128::from(cycle == 0 || g.rng.gen_bool(0.03));
        model.set(rst_p, r as u64);
        sim.set(rst, r);
        for (k, &(s, ty)) in ins.iter().enumerate() {
            let v = g.rng.gen::<u64>() as u128 & ((1u128 << ty.width) - 1);
            model.set(in_p[k], v as u64);
            sim.set(s, v);
        }
        model.eval();
        if cycle == 0 {
            // Registers start random in Verilator: start the interpreter from the same
            // state (every register is an output).
            for (k, &(r, _)) in regs.iter().enumerate() {
                sim.set(r, u128::from(model.get(out_p[k])));
            }
        }
        sim.settle();
        for (k, &o) in outs.iter().enumerate() {
            let (got, want) = (u128::from(model.get(out_p[k])), sim.get(o));
            assert_eq!(
                got, want,
                "seed {seed} cycle {cycle}: out{k}\nVerilog:\n{verilog}"
            );
        }
        model.tick(clk_p);
        sim.tick(clk);
    }
}

#[test]
fn printed_processes_match_the_ir() {
    let base: u64 = std::env::var("TB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(11);
    for seed in base..base + 4 {
        run_process_seed(seed);
    }
}

/// The FSM example lints clean and has no latch.
#[test]
fn fsm_example_lints_clean() {
    let v = hdl::verilog::print(&hdl::examples::fsm_demo(5)).unwrap_or_else(|e| panic!("{e}"));
    testbench::tools::verilator_lint("lint-fsm-demo", "fsm_demo", &v)
        .unwrap_or_else(|e| panic!("{e}"));
    testbench::tools::yosys_check("yosys-fsm-demo", "fsm_demo", &v)
        .unwrap_or_else(|e| panic!("{e}"));
}

// ---------------------------------------------------------------------------------------
// Precedence: the printer drops parentheses where Verilog's precedence and associativity
// already group as the IR does, joins chains of one operator, and wraps long lines. These
// cases stress exactly that, and the top-level contexts where Verilog sizes an expression
// by its surroundings.

/// Binary operators that keep their operands' type.
const SAME_TYPE_OPS: [BinOp; 6] = [
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::And,
    BinOp::Or,
    BinOp::Xor,
];
const COMPARE_OPS: [BinOp; 6] = [
    BinOp::Eq,
    BinOp::Ne,
    BinOp::Lt,
    BinOp::Le,
    BinOp::Gt,
    BinOp::Ge,
];

impl Gen {
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.gen_range(0..items.len())]
    }

    /// A deep nest: mostly operators, rarely leaves, every precedence level, muxes in every
    /// position, shifts of compound values by compound amounts, chains of unary operators.
    fn nest(&mut self, ty: Ty, depth: u32) -> Expr {
        if depth == 0 || self.rng.gen_bool(0.08) {
            return self.leaf(ty);
        }
        let d = depth - 1;
        loop {
            match self.rng.gen_range(0..10) {
                0..=2 => {
                    let op = self.pick(&SAME_TYPE_OPS);
                    let a = self.nest(ty, d);
                    let b = self.nest(ty, d);
                    return Expr::Binary(op, Box::new(a), Box::new(b));
                }
                3 => {
                    // A same-level operator on the right: `a - (b + c)`, `a + (b - c)`, ...
                    let (outer, inner) = self.pick(&[
                        (BinOp::Sub, BinOp::Add),
                        (BinOp::Sub, BinOp::Sub),
                        (BinOp::Add, BinOp::Sub),
                        (BinOp::Add, BinOp::Add),
                        (BinOp::Mul, BinOp::Mul),
                        (BinOp::And, BinOp::Or),
                        (BinOp::Xor, BinOp::And),
                        (BinOp::Or, BinOp::Or),
                    ]);
                    let a = self.nest(ty, d);
                    let b = self.nest(ty, d);
                    let c = self.nest(ty, d);
                    return Expr::Binary(
                        outer,
                        Box::new(a),
                        Box::new(Expr::Binary(inner, Box::new(b), Box::new(c))),
                    );
                }
                4 if ty == Ty::bit() => {
                    let t = Ty {
                        width: self.rng.gen_range(1..=12),
                        signed: self.rng.gen_bool(0.5),
                    };
                    let op = self.pick(&COMPARE_OPS);
                    let a = self.nest(t, d);
                    let b = self.nest(t, d);
                    return Expr::Binary(op, Box::new(a), Box::new(b));
                }
                5 => {
                    let amount_ty = Ty::u(self.rng.gen_range(1..=4));
                    let amount = self.nest(amount_ty, d.min(2));
                    let op = if ty.signed && self.rng.gen_bool(0.5) {
                        BinOp::Sra
                    } else {
                        self.pick(&[BinOp::Shl, BinOp::Shr])
                    };
                    let value = self.nest(ty, d);
                    return Expr::Binary(op, Box::new(value), Box::new(amount));
                }
                6 => {
                    let sel = self.nest(Ty::bit(), d.min(3));
                    let t = self.nest(ty, d);
                    let f = self.nest(ty, d);
                    return Expr::mux(sel, t, f);
                }
                7 => {
                    // Unary chains: `- -x`, `~-x`, `-~x`, reductions of negations.
                    let mut e = self.nest(ty, d.min(2));
                    for _ in 0..self.rng.gen_range(1..=3) {
                        e = if self.rng.gen_bool(0.5) { -e } else { !e };
                    }
                    if ty == Ty::bit() && self.rng.gen_bool(0.3) {
                        let t = Ty {
                            width: self.rng.gen_range(1..=12),
                            signed: self.rng.gen_bool(0.5),
                        };
                        let inner = -self.nest(t, d.min(2));
                        let op = self.pick(&[UnOp::ReduceOr, UnOp::ReduceAnd, UnOp::ReduceXor]);
                        e = Expr::Unary(op, Box::new(inner)) ^ e;
                    }
                    return e;
                }
                8 => {
                    // A reinterpretation in the middle of a nest: the signedness of the
                    // operators around it must not leak through.
                    let inner = self.nest(
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
                9 => return self.expr(ty, d.min(2)),
                _ => continue,
            }
        }
    }
}

/// Build `outs` as the outputs of module `m`, simulate the printed design and compare every
/// output with the IR interpreter on edge and random input vectors. `eval_in` is the module
/// the expressions are evaluated in (the top, whose inputs the vectors drive).
fn simulate_and_compare(
    label: &str,
    g: &mut Gen,
    d: &Design,
    m: &Module,
    outs: &[(SignalId, Expr)],
) {
    let verilog = hdl::verilog::print(d).unwrap_or_else(|e| panic!("{label}: {e}"));
    // Lint-clean as printed; random operands may compare against a constant that decides
    // the result (`x >= 0` unsigned), which says nothing about the printer.
    let lint_text =
        format!("/* verilator lint_off UNSIGNED */\n/* verilator lint_off CMPCONST */\n{verilog}");
    let lint_label = format!("printer-{}-{}", m.name, label.replace(' ', "-"));
    verilator_lint(&lint_label, &m.name, &lint_text).unwrap_or_else(|e| panic!("{label}: {e}"));
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
    let mut model = Model::build(&BuildSpec::new(verilog.clone(), m.name.clone(), ports))
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let in_ports: Vec<_> = g
        .inputs
        .iter()
        .map(|(s, _)| {
            model
                .port(&m.signal(*s).name)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let out_ports: Vec<_> = outs
        .iter()
        .map(|(s, _)| {
            model
                .port(&m.signal(*s).name)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    for vector in 0..200 {
        let mut values = vec![0u128; m.signals.len()];
        for (k, (s, ty)) in g.inputs.iter().enumerate() {
            let v = match vector % 4 {
                0 => 0,
                1 => (1u128 << ty.width) - 1,
                2 => 1u128 << (ty.width - 1),
                _ => g.rng.gen::<u64>() as u128 & ((1u128 << ty.width) - 1),
            };
            values[s.index()] = v;
            model.set(in_ports[k], v as u64);
        }
        model.eval();
        for (o, (s, e)) in outs.iter().enumerate() {
            let want = eval(m, e, &|i| values[i]);
            let got = u128::from(model.get(out_ports[o]));
            let name = &m.signal(*s).name;
            assert_eq!(
                got, want,
                "{label} vector {vector}: {name} = {e:?}\nVerilog:\n{verilog}"
            );
        }
    }
}

fn new_gen(seed: u64, m: &mut Module, inputs: usize) -> Gen {
    let mut g = Gen {
        rng: StdRng::seed_from_u64(seed),
        inputs: Vec::new(),
    };
    for i in 0..inputs {
        let ty = g.rand_ty();
        let s = m.input(&format!("in{i}"), ty, None, "");
        m.allow_unused(s, "random expressions need not read every input bit");
        g.inputs.push((s, ty));
    }
    g
}

fn tb_seed(default: u64) -> u64 {
    std::env::var("TB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[test]
fn precedence_nests_match_the_ir() {
    let base = tb_seed(101);
    for seed in base..base + 3 {
        let mut m = Module::new("nests");
        let mut g = new_gen(seed, &mut m, 8);
        let mut outs = Vec::new();
        for o in 0..40 {
            let ty = if o % 4 == 0 { Ty::bit() } else { g.rand_ty() };
            let e = g.nest(ty, 6);
            let s = m.output(&format!("out{o}"), ty, None, "");
            m.assign(s, e.clone());
            outs.push((s, e));
        }
        let mut d = Design::new("nests");
        d.add(m.clone());
        simulate_and_compare(&format!("seed {seed}"), &mut g, &d, &m, &outs);
    }
}

/// Where an expression is printed decides its width in Verilog: a full-width product at the
/// top of an assignment, under `$signed`/`$unsigned`, in a one-part concatenation, extended
/// or truncated; constants folded through slices, casts and resizes.
#[test]
fn contexts_of_full_width_products_and_constants_match_the_ir() {
    let base = tb_seed(7);
    for seed in base..base + 2 {
        let mut m = Module::new("contexts");
        let mut g = new_gen(seed, &mut m, 8);
        let mut cases: Vec<Expr> = Vec::new();
        for _ in 0..6 {
            let signed = g.rng.gen_bool(0.5);
            let wa = g.rng.gen_range(1..=10);
            let wb = g.rng.gen_range(1..=10);
            let a = g.nest(Ty { width: wa, signed }, 2);
            let b = g.nest(Ty { width: wb, signed }, 2);
            let p = a.mul_wide(b);
            cases.push(Expr::Cast {
                e: Box::new(p.clone()),
                signed: !signed,
            });
            cases.push(p.clone().resize(wa + wb));
            cases.push(Expr::concat(vec![p.clone()]));
            cases.push(p.clone().resize(wa + wb + 3));
            cases.push(p.clone().resize((wa + wb) / 2 + 1));
            cases.push(p.clone().slice(1.min(wa + wb - 1), 1));
            cases.push(-p.clone());
            cases.push(p);
        }
        for _ in 0..6 {
            let ty = g.rand_ty();
            let bits = g.rng.gen::<u64>() as u128 & ((1u128 << ty.width) - 1);
            let c = Expr::Const(hdl::ir::Const { ty, bits });
            let w = g.rng.gen_range(1..=24);
            cases.push(c.clone().resize(w));
            cases.push(
                Expr::Cast {
                    e: Box::new(c.clone()),
                    signed: !ty.signed,
                }
                .resize(w),
            );
            let lo = g.rng.gen_range(0..ty.width);
            cases.push(c.clone().slice(lo, ty.width - lo));
        }
        let mut outs = Vec::new();
        for (o, e) in cases.into_iter().enumerate() {
            let ty = m.ty_of(&e).unwrap_or_else(|err| panic!("case {o}: {err}"));
            let s = m.output(&format!("out{o}"), ty, None, "");
            m.assign(s, e.clone());
            outs.push((s, e));
        }
        let mut d = Design::new("contexts");
        d.add(m.clone());
        simulate_and_compare(&format!("seed {seed}"), &mut g, &d, &m, &outs);
    }
}

/// Expressions connected to the input ports of an instance: selects, casts and
/// concatenations go in directly, anything else through a wire named after the port, and the
/// same expression on two ports shares one wire. A pass-through child returns each port.
#[test]
fn instance_connections_match_the_ir() {
    use hdl::ir::Conn;
    let base = tb_seed(31);
    for seed in base..base + 2 {
        let mut top = Module::new("conns");
        let mut g = new_gen(seed, &mut top, 8);
        let mut exprs: Vec<Expr> = Vec::new();
        for k in 0..24 {
            let ty = g.rand_ty();
            let e = match k % 6 {
                0 => g.leaf(ty),
                1 => {
                    let (s, t) = g.inputs[g.rng.gen_range(0..g.inputs.len())];
                    let lo = g.rng.gen_range(0..t.width);
                    Expr::Cast {
                        e: Box::new(Expr::from(s).slice(lo, t.width - lo)),
                        signed: true,
                    }
                }
                2 => {
                    let (s0, t0) = g.inputs[g.rng.gen_range(0..g.inputs.len())];
                    let (s1, _) = g.inputs[g.rng.gen_range(0..g.inputs.len())];
                    Expr::concat(vec![
                        Expr::Cast {
                            e: Box::new(Expr::from(s0)),
                            signed: !t0.signed,
                        },
                        Expr::from(s1).bit_at(0),
                        Expr::uconst(2, 2),
                    ])
                }
                3 if ty.width >= 2 => {
                    let wa = g.rng.gen_range(1..ty.width);
                    let a = g.nest(
                        Ty {
                            width: wa,
                            signed: ty.signed,
                        },
                        2,
                    );
                    let b = g.nest(
                        Ty {
                            width: ty.width - wa,
                            signed: ty.signed,
                        },
                        2,
                    );
                    a.mul_wide(b)
                }
                _ => g.nest(ty, 3),
            };
            // Every third expression is connected twice.
            if k % 3 == 0 {
                exprs.push(e.clone());
            }
            exprs.push(e);
        }
        let mut child = Module::new("conns_pass");
        let mut conns = Vec::new();
        let mut outs = Vec::new();
        for (k, e) in exprs.iter().enumerate() {
            let ty = top.ty_of(e).unwrap_or_else(|err| panic!("{err}"));
            let i = child.input(&format!("i{k}"), ty, None, "");
            let o = child.output(&format!("o{k}"), ty, None, "");
            child.assign(o, i);
            let out = top.output(&format!("out{k}"), ty, None, "");
            conns.push((format!("i{k}"), Conn::In(e.clone())));
            conns.push((format!("o{k}"), Conn::Out(out)));
            outs.push((out, e.clone()));
        }
        top.inst(&child, "pass")
            .conns(conns)
            .finish()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut d = Design::new("conns");
        d.add(top.clone());
        d.add(child);
        let verilog = hdl::verilog::print(&d).unwrap_or_else(|e| panic!("{e}"));
        // Each distinct hoisted connection is declared once.
        let temps: Vec<&str> = verilog
            .lines()
            .filter(|l| l.starts_with("assign pass_"))
            .collect();
        let mut unique = temps.clone();
        unique.sort_by_key(|l| l.split_once(" = ").map(|(_, r)| r));
        unique.dedup_by_key(|l| l.split_once(" = ").map(|(_, r)| r));
        assert_eq!(
            temps.len(),
            unique.len(),
            "seed {seed}: a hoisted connection repeats:\n{verilog}"
        );
        simulate_and_compare(&format!("seed {seed}"), &mut g, &d, &top, &outs);
    }
}
