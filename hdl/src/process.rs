//! Control in the IR: clock domains, registers declared with their reset,
//! processes of `if`/`case` statements and state machines with named states.
//!
//! Why: a controller written as one nested mux per register (`next = c1 ? a :
//! c2 ? b : ...`) grows with every state and is unreadable once printed. The
//! constructs here follow amaranth's `m.If`/`m.Switch`/`m.FSM` and print as the
//! `always` blocks an engineer would write.
//!
//! # Clock domains and registers
//!
//! [`Module::domain`] names a clock and an optional synchronous, active-high
//! reset. A register is declared in a domain with its reset value
//! ([`Module::reg_reset`], control state) or without one ([`Module::reg_in`],
//! data). The printer gathers every synchronous process of a domain into one
//! `always @(posedge clk)` block and applies the declared resets last in it,
//! so the reset wins over any assignment and no process lists its resets.
//!
//! # Processes
//!
//! A [`Proc`] is a statement tree built with closures:
//!
//! ```
//! # use hdl::ir::{Module, Ty, Expr};
//! # use hdl::process::Proc;
//! let mut m = Module::new("demo");
//! let clk = m.input("clk", Ty::bit(), None, "");
//! let rst = m.input("rst", Ty::bit(), None, "");
//! let go = m.input("go", Ty::bit(), None, "");
//! let sync = m.domain("sync", clk, Some(rst));
//! let count = m.reg_reset("count_reg", Ty::u(4), sync, 0, "beats so far");
//! let mut p = Proc::sync(sync);
//! p.if_(go, |p| {
//!     p.set(count, count + Expr::uconst(4, 1));
//! })
//! .else_(|p| {
//!     p.set(count, Expr::uconst(4, 0));
//! });
//! m.process(p);
//! ```
//!
//! - A **synchronous** process ([`Proc::sync`]) assigns registers of its domain
//!   with non-blocking assignments; a register keeps its value on every path
//!   that does not assign it.
//! - A **combinational** process ([`Proc::comb`], printed `always @*`) assigns
//!   wires and outputs with blocking assignments. Each target must be assigned
//!   on every path (usually by a default at the top); otherwise the check
//!   reports a latch.
//!
//! Statements: [`Proc::set`], [`Proc::if_`] with `.elif(..)` and `.else_(..)`,
//! [`Proc::switch`] with `.case(&[values], ..)` and `.default(..)`.
//!
//! # State machines
//!
//! [`Module::fsm`] declares a state register with named states (the first is
//! the reset state). [`Proc::fsm`] opens a `case` on it whose arms are the
//! states; inside, [`Proc::goto`] names the next state. [`Module::in_state`]
//! gives the "is in state X" condition for use anywhere. The printer emits one
//! `localparam` per state (`STATE_IDLE`) and uses the names in the `case` labels
//! and in the assignments to the state register. An unknown state name is a
//! check error naming the FSM and the name, never a panic.
//!
//! The check ([`crate::check`]) applies the usual rules: one driver per signal
//! (a process drives each of its targets), types of every assignment, 1-bit
//! conditions, case values that fit the selector, no combinational loop through
//! combinational processes, and no latch.

use crate::ir::{Const, Expr, Item, Module, SignalId, SignalKind, Ty};
use crate::util::clog2;

/// Index of a clock domain inside its module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DomainId(pub u32);

/// A clock with an optional synchronous, active-high reset.
#[derive(Clone, Debug)]
pub struct Domain {
    pub name: String,
    pub clk: SignalId,
    pub rst: Option<SignalId>,
}

/// Where a process's assignments take effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcKind {
    /// At the rising edge of the domain's clock, to registers of that domain.
    Sync(DomainId),
    /// Continuously, to wires and outputs.
    Comb,
}

/// A process: a statement tree and where its assignments take effect.
#[derive(Clone, Debug)]
pub struct Process {
    pub kind: ProcKind,
    /// Printed above the process's statements.
    pub comment: String,
    pub body: Vec<Stmt>,
}

/// One statement of a process.
#[derive(Clone, Debug)]
pub enum Stmt {
    /// `target <= expr` (synchronous) or `target = expr` (combinational).
    Set { target: SignalId, expr: Expr },
    /// `if (c0) .. else if (c1) .. else ..`: the first arm whose 1-bit condition holds.
    If {
        arms: Vec<Arm>,
        otherwise: Vec<Stmt>,
    },
    /// `case (sel)`: the arm listing the selector's bit pattern, else `default`.
    Switch {
        sel: Expr,
        cases: Vec<Case>,
        default: Option<Vec<Stmt>>,
    },
}

/// One arm of a [`Stmt::Switch`]: selector bit patterns and the statements.
#[derive(Clone, Debug)]
pub struct Case {
    pub values: Vec<u128>,
    pub body: Vec<Stmt>,
}

/// A state machine of a module: its state register and state names, in
/// encoding order (state i is encoded as i; state 0 is the reset state).
#[derive(Clone, Debug)]
pub struct FsmInfo {
    pub reg: SignalId,
    pub states: Vec<String>,
    /// Prefix of the printed `localparam` names (`STATE` gives `STATE_IDLE`).
    pub prefix: String,
}

impl FsmInfo {
    /// The printed name of state `i`.
    pub fn param_name(&self, i: usize) -> String {
        format!("{}_{}", self.prefix, self.states[i])
    }
}

/// A handle on a state machine declared with [`Module::fsm`].
#[derive(Clone, Debug)]
pub struct Fsm {
    /// The state register.
    pub reg: SignalId,
    name: String,
    states: Vec<String>,
    width: u32,
}

impl Fsm {
    /// Encoding of state `name`, or the rule it breaks.
    pub fn encode(&self, name: &str) -> Result<Expr, String> {
        match self.states.iter().position(|s| s == name) {
            Some(i) => Ok(Expr::uconst(self.width, i as u128)),
            None => Err(format!(
                "FSM `{}` has no state `{name}` (rule: goto, state and in_state name a declared state; declared: {})",
                self.name,
                self.states.join(", ")
            )),
        }
    }
}

/// A process under construction; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Proc {
    kind: ProcKind,
    comment: String,
    body: Vec<Stmt>,
    /// The innermost FSM state being written, for [`Proc::goto`].
    fsm: Option<Fsm>,
    errors: Vec<String>,
}

impl Proc {
    fn new(kind: ProcKind) -> Proc {
        Proc {
            kind,
            comment: String::new(),
            body: Vec::new(),
            fsm: None,
            errors: Vec::new(),
        }
    }
    /// A synchronous process of domain `d`.
    pub fn sync(d: DomainId) -> Proc {
        Proc::new(ProcKind::Sync(d))
    }
    /// A combinational process.
    pub fn comb() -> Proc {
        Proc::new(ProcKind::Comb)
    }
    /// A comment printed above the process's statements.
    pub fn with_comment(mut self, comment: &str) -> Proc {
        self.comment = comment.to_string();
        self
    }

    /// Build a nested block with `f` and return its statements.
    fn block(&mut self, fsm: Option<Fsm>, f: impl FnOnce(&mut Proc)) -> Vec<Stmt> {
        let mut child = Proc {
            kind: self.kind,
            comment: String::new(),
            body: Vec::new(),
            fsm: fsm.or_else(|| self.fsm.clone()),
            errors: Vec::new(),
        };
        f(&mut child);
        self.errors.append(&mut child.errors);
        child.body
    }

    /// Assign `expr` to `target`.
    pub fn set(&mut self, target: SignalId, expr: impl Into<Expr>) -> &mut Self {
        self.body.push(Stmt::Set {
            target,
            expr: expr.into(),
        });
        self
    }

    /// `if (cond)`; chain `.elif(..)` and `.else_(..)` on the result.
    pub fn if_(&mut self, cond: impl Into<Expr>, then: impl FnOnce(&mut Proc)) -> If<'_> {
        let body = self.block(None, then);
        self.body.push(Stmt::If {
            arms: vec![(cond.into(), body)],
            otherwise: Vec::new(),
        });
        If { p: self }
    }

    /// `case (sel)`; add arms with `.case(..)` and `.default(..)` on the result.
    pub fn switch(&mut self, sel: impl Into<Expr>) -> Switch<'_> {
        self.body.push(Stmt::Switch {
            sel: sel.into(),
            cases: Vec::new(),
            default: None,
        });
        Switch { p: self, fsm: None }
    }

    /// `case (state)` of `fsm`; add its states with `.state(name, ..)`.
    pub fn fsm(&mut self, fsm: &Fsm) -> Switch<'_> {
        self.body.push(Stmt::Switch {
            sel: fsm.reg.into(),
            cases: Vec::new(),
            default: None,
        });
        Switch {
            p: self,
            fsm: Some(fsm.clone()),
        }
    }

    /// Go to state `name` of the FSM whose state this statement is in.
    pub fn goto(&mut self, name: &str) -> &mut Self {
        let Some(fsm) = self.fsm.clone() else {
            self.errors.push(format!(
                "goto(`{name}`) outside an FSM state (rule: goto is written inside .state(..))"
            ));
            return self;
        };
        match fsm.encode(name) {
            Ok(e) => {
                self.set(fsm.reg, e);
            }
            Err(rule) => self.errors.push(rule),
        }
        self
    }
}

/// One `if`/`else if` arm: its condition and statements.
pub type Arm = (Expr, Vec<Stmt>);

/// An `if` statement being built: add `else if` and `else` arms.
pub struct If<'a> {
    p: &'a mut Proc,
}

impl If<'_> {
    fn arms(&mut self) -> Option<(&mut Vec<Arm>, &mut Vec<Stmt>)> {
        match self.p.body.last_mut() {
            Some(Stmt::If { arms, otherwise }) => Some((arms, otherwise)),
            _ => None,
        }
    }
    /// `else if (cond)`.
    pub fn elif(mut self, cond: impl Into<Expr>, then: impl FnOnce(&mut Proc)) -> Self {
        let body = self.p.block(None, then);
        if let Some((arms, _)) = self.arms() {
            arms.push((cond.into(), body));
        }
        self
    }
    /// `else`.
    pub fn else_(mut self, then: impl FnOnce(&mut Proc)) {
        let body = self.p.block(None, then);
        if let Some((_, otherwise)) = self.arms() {
            *otherwise = body;
        }
    }
}

/// A `case` statement being built: add arms.
pub struct Switch<'a> {
    p: &'a mut Proc,
    fsm: Option<Fsm>,
}

impl Switch<'_> {
    fn push(&mut self, values: Vec<u128>, body: Vec<Stmt>) {
        if let Some(Stmt::Switch { cases, .. }) = self.p.body.last_mut() {
            cases.push(Case { values, body });
        }
    }
    /// An arm taken when the selector equals one of `values` (bit patterns).
    pub fn case(mut self, values: &[u64], then: impl FnOnce(&mut Proc)) -> Self {
        let body = self.p.block(None, then);
        self.push(values.iter().map(|&v| u128::from(v)).collect(), body);
        self
    }
    /// The arm of FSM state `name`; [`Proc::goto`] inside names the next state.
    pub fn state(mut self, name: &str, then: impl FnOnce(&mut Proc)) -> Self {
        let Some(fsm) = self.fsm.clone() else {
            self.p.errors.push(format!(
                "state(`{name}`) on a case that is not an FSM (rule: open it with Proc::fsm)"
            ));
            return self;
        };
        let value = match fsm.encode(name) {
            Ok(Expr::Const(c)) => c.bits,
            Ok(_) => 0,
            Err(rule) => {
                self.p.errors.push(rule);
                return self;
            }
        };
        let body = self.p.block(Some(fsm), then);
        self.push(vec![value], body);
        self
    }
    /// The arm taken when no other matches.
    pub fn default(self, then: impl FnOnce(&mut Proc)) {
        let body = self.p.block(self.fsm.clone(), then);
        if let Some(Stmt::Switch { default, .. }) = self.p.body.last_mut() {
            *default = Some(body);
        }
    }
}

impl Module {
    /// Declare a clock domain: `clk` (an input) and an optional synchronous,
    /// active-high reset.
    pub fn domain(&mut self, name: &str, clk: SignalId, rst: Option<SignalId>) -> DomainId {
        let id = DomainId(self.domains.len() as u32);
        self.domains.push(Domain {
            name: name.to_string(),
            clk,
            rst,
        });
        id
    }

    /// Declare a control register of `domain` that takes `reset` (a bit
    /// pattern of `ty`) while the domain's reset is high.
    pub fn reg_reset(
        &mut self,
        name: &str,
        ty: Ty,
        domain: DomainId,
        reset: u128,
        comment: &str,
    ) -> SignalId {
        let id = self.reg_in(name, ty, domain, comment);
        self.signals[id.index()].reset = Some(Const { ty, bits: reset });
        id
    }

    /// Declare a data register of `domain`, never reset.
    pub fn reg_in(&mut self, name: &str, ty: Ty, domain: DomainId, comment: &str) -> SignalId {
        let id = self.reg(name, ty, comment);
        self.signals[id.index()].domain = Some(domain);
        id
    }

    /// Add a finished process.
    pub fn process(&mut self, mut p: Proc) {
        self.build_errors.append(&mut p.errors);
        self.items.push(Item::Process(Process {
            kind: p.kind,
            comment: p.comment,
            body: p.body,
        }));
    }

    /// Build and add a synchronous process of `domain`.
    pub fn sync(&mut self, domain: DomainId, comment: &str, f: impl FnOnce(&mut Proc)) {
        let mut p = Proc::sync(domain).with_comment(comment);
        f(&mut p);
        self.process(p);
    }

    /// Build and add a combinational process.
    pub fn comb(&mut self, comment: &str, f: impl FnOnce(&mut Proc)) {
        let mut p = Proc::comb().with_comment(comment);
        f(&mut p);
        self.process(p);
    }

    /// Declare a state machine: register `name` of `domain` with the given
    /// states, the first one being the reset state. The `localparam` names are
    /// the register name without `_reg`, upper-cased, then `_` and the state.
    pub fn fsm(&mut self, name: &str, domain: DomainId, states: &[&str], comment: &str) -> Fsm {
        let width = clog2(states.len() as u64).max(1);
        let reg = self.reg_reset(name, Ty::u(width), domain, 0, comment);
        let states: Vec<String> = states.iter().map(|s| s.to_string()).collect();
        if states.is_empty() {
            self.build_errors
                .push(format!("FSM `{name}` has no states (rule: at least one)"));
        }
        for (i, s) in states.iter().enumerate() {
            if states[..i].contains(s) {
                self.build_errors.push(format!(
                    "FSM `{name}` declares state `{s}` twice (rule: state names are unique)"
                ));
            }
        }
        let prefix = name.strip_suffix("_reg").unwrap_or(name).to_uppercase();
        self.fsms.push(FsmInfo {
            reg,
            states: states.clone(),
            prefix,
        });
        Fsm {
            reg,
            name: name.to_string(),
            states,
            width,
        }
    }

    /// The 1-bit condition "`fsm` is in state `name`"; an unknown name is a
    /// check error.
    pub fn in_state(&mut self, fsm: &Fsm, name: &str) -> Expr {
        match fsm.encode(name) {
            Ok(e) => Expr::from(fsm.reg).cmp_eq(e),
            Err(rule) => {
                self.build_errors.push(rule);
                Expr::bit(false)
            }
        }
    }

    /// The signal kinds a process may assign.
    pub(crate) fn proc_target_ok(&self, kind: ProcKind, target: SignalId) -> bool {
        let Some(s) = self.signals.get(target.index()) else {
            return false;
        };
        match kind {
            ProcKind::Sync(d) => s.kind == SignalKind::Reg && s.domain == Some(d),
            ProcKind::Comb => matches!(s.kind, SignalKind::Wire | SignalKind::Output),
        }
    }
}

impl Stmt {
    /// Visit every statement of a tree, depth first, with the conditions on its path.
    pub fn walk<'a>(stmts: &'a [Stmt], f: &mut impl FnMut(&'a Stmt)) {
        for s in stmts {
            f(s);
            match s {
                Stmt::Set { .. } => {}
                Stmt::If { arms, otherwise } => {
                    for (_, b) in arms {
                        Stmt::walk(b, f);
                    }
                    Stmt::walk(otherwise, f);
                }
                Stmt::Switch { cases, default, .. } => {
                    for c in cases {
                        Stmt::walk(&c.body, f);
                    }
                    if let Some(d) = default {
                        Stmt::walk(d, f);
                    }
                }
            }
        }
    }

    /// Every signal a statement tree assigns, in first-assignment order, once each.
    pub fn targets(stmts: &[Stmt]) -> Vec<SignalId> {
        let mut out = Vec::new();
        Stmt::walk(stmts, &mut |s| {
            if let Stmt::Set { target, .. } = s {
                if !out.contains(target) {
                    out.push(*target);
                }
            }
        });
        out
    }
}
