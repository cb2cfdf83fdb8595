//! Printing of processes, clock domains and state machines ([`crate::process`]).
//!
//! A combinational process becomes one `always @*` block with blocking
//! assignments; its targets are declared `reg`. Every synchronous process of a
//! domain goes into that domain's one `always @(posedge clk)` block, followed by
//! the resets of the domain's registers (`if (rst) begin .. end`), so the reset
//! wins. FSM states are `localparam`s, used in `case` labels and in the
//! assignments to the state register.

use std::fmt::Write;

use rustc_hash::FxHashSet as HashSet;

use super::{const_text, Printer};
use crate::check::switch_is_full;
use crate::ir::{Const, Expr, Module, ProcKind, Process, SignalId, Stmt};

const INDENT: &str = "    ";

/// The text of an expression on the right-hand side of `target op e;` indented by
/// `indent`, wrapped where it is long; temporaries are named after the target.
fn rhs(p: &mut Printer, e: &Expr, target: &str, indent: usize, op: &str) -> String {
    let col = indent + target.len() + op.len() + 2;
    if op == "<=" {
        p.set_ctx(&super::next_name(target));
        p.expr_nonblocking(e, col, indent)
    } else {
        p.set_ctx(target);
        p.expr_at(e, true, col, indent, 1)
    }
}

/// The text of a condition or selector.
fn cond(p: &mut Printer, e: &Expr) -> String {
    let t = p.expr(e, false);
    // `if ((a & b))` reads badly: drop one pair of outer parentheses.
    match t.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        Some(inner) if balanced(inner) => inner.to_string(),
        _ => t,
    }
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

/// Signals a combinational process drives: declared `reg` (`output reg` for ports).
pub(super) fn comb_targets(m: &Module) -> HashSet<SignalId> {
    let mut out = HashSet::default();
    for item in &m.items {
        if let crate::ir::Item::Process(pr) = item {
            if pr.kind == ProcKind::Comb {
                out.extend(Stmt::targets(&pr.body));
            }
        }
    }
    out
}

/// `localparam` declarations of the module's FSM states.
pub(super) fn state_params(m: &Module, out: &mut String) {
    for f in &m.fsms {
        let sig = m.signal(f.reg);
        let _ = writeln!(out, "// States of {}", sig.name);
        for i in 0..f.states.len() {
            let value = const_text(&Const {
                ty: sig.ty,
                bits: i as u128,
            });
            let _ = writeln!(
                out,
                "localparam {}{} = {value};",
                super::range(sig.ty.width),
                f.param_name(i)
            );
        }
    }
    if !m.fsms.is_empty() {
        out.push('\n');
    }
}

/// Print a combinational process now, or keep a synchronous one for its domain block.
pub(super) fn item<'m>(
    p: &mut Printer<'m>,
    pr: &'m Process,
    body: &mut String,
    by_domain: &mut Vec<Vec<&'m Process>>,
) {
    match pr.kind {
        ProcKind::Comb => {
            comment(&pr.comment, "", body);
            body.push_str("always @* begin\n");
            stmts(p, &pr.body, 1, "=", body);
            body.push_str("end\n");
        }
        ProcKind::Sync(d) => {
            let d = d.0 as usize;
            if by_domain.len() <= d {
                by_domain.resize(d + 1, Vec::new());
            }
            by_domain[d].push(pr);
        }
    }
}

/// One `always @(posedge clk)` block per domain with its processes and resets.
pub(super) fn domain_blocks(p: &mut Printer, by_domain: &[Vec<&Process>], body: &mut String) {
    let m = p.m;
    for (d, procs) in by_domain.iter().enumerate() {
        if procs.is_empty() {
            continue;
        }
        let dom = &m.domains[d];
        if !body.is_empty() {
            body.push('\n');
        }
        let _ = writeln!(body, "always @(posedge {}) begin", m.signal(dom.clk).name);
        for (i, pr) in procs.iter().enumerate() {
            if i > 0 {
                body.push('\n');
            }
            comment(&pr.comment, INDENT, body);
            stmts(p, &pr.body, 1, "<=", body);
        }
        let resets: Vec<(SignalId, Const)> = m
            .signals
            .iter()
            .enumerate()
            .filter(|(_, s)| s.domain.map(|x| x.0 as usize) == Some(d))
            .filter_map(|(i, s)| s.reset.map(|v| (SignalId(i as u32), v)))
            .collect();
        if let (Some(rst), false) = (dom.rst, resets.is_empty()) {
            let _ = writeln!(body, "{INDENT}if ({}) begin", m.signal(rst).name);
            for (s, v) in resets {
                let value = state_name(m, s, v.bits).unwrap_or_else(|| const_text(&v));
                let _ = writeln!(body, "{INDENT}{INDENT}{} <= {value};", m.signal(s).name);
            }
            let _ = writeln!(body, "{INDENT}end");
        }
        body.push_str("end\n");
    }
}

fn comment(text: &str, indent: &str, body: &mut String) {
    for line in text.lines().filter(|l| !l.is_empty()) {
        let _ = writeln!(body, "{indent}// {line}");
    }
}

/// The `localparam` name of `value` when `reg` is an FSM state register.
fn state_name(m: &Module, reg: SignalId, value: u128) -> Option<String> {
    let f = m.fsms.iter().find(|f| f.reg == reg)?;
    let i = usize::try_from(value)
        .ok()
        .filter(|&i| i < f.states.len())?;
    Some(f.param_name(i))
}

fn stmts(p: &mut Printer, list: &[Stmt], depth: usize, op: &str, out: &mut String) {
    let ind = INDENT.repeat(depth);
    let m = p.m;
    for s in list {
        match s {
            Stmt::Set { target, expr } => {
                let value = match expr {
                    Expr::Const(c) => state_name(m, *target, c.bits),
                    _ => None,
                };
                let name = &m.signal(*target).name;
                let value = value.unwrap_or_else(|| rhs(p, expr, name, ind.len(), op));
                let _ = writeln!(out, "{ind}{name} {op} {value};");
            }
            Stmt::If { arms, otherwise } => {
                for (i, (c, b)) in arms.iter().enumerate() {
                    let c = cond(p, c);
                    if i == 0 {
                        let _ = writeln!(out, "{ind}if ({c}) begin");
                    } else {
                        let _ = writeln!(out, "{ind}end else if ({c}) begin");
                    }
                    stmts(p, b, depth + 1, op, out);
                }
                if !otherwise.is_empty() {
                    let _ = writeln!(out, "{ind}end else begin");
                    stmts(p, otherwise, depth + 1, op, out);
                }
                let _ = writeln!(out, "{ind}end");
            }
            Stmt::Switch {
                sel,
                cases,
                default,
            } => switch(p, sel, cases, default.as_deref(), depth, op, out),
        }
    }
}

fn switch(
    p: &mut Printer,
    sel: &Expr,
    cases: &[crate::ir::Case],
    default: Option<&[Stmt]>,
    depth: usize,
    op: &str,
    out: &mut String,
) {
    let ind = INDENT.repeat(depth);
    let m = p.m;
    let ty = p.ty(sel);
    let fsm_reg = match sel {
        Expr::Sig(s) if m.fsms.iter().any(|f| f.reg == *s) => Some(*s),
        _ => None,
    };
    let s = cond(p, sel);
    let _ = writeln!(out, "{ind}case ({s})");
    let arm = |p: &mut Printer, label: &str, body: &[Stmt], out: &mut String| {
        if body.is_empty() {
            let _ = writeln!(out, "{ind}{INDENT}{label}: ;");
        } else {
            let _ = writeln!(out, "{ind}{INDENT}{label}: begin");
            stmts(p, body, depth + 2, op, out);
            let _ = writeln!(out, "{ind}{INDENT}end");
        }
    };
    for c in cases {
        let labels: Vec<String> = c
            .values
            .iter()
            .map(|&v| {
                fsm_reg
                    .and_then(|r| state_name(m, r, v))
                    .unwrap_or_else(|| const_text(&Const { ty, bits: v }))
            })
            .collect();
        arm(p, &labels.join(", "), &c.body, out);
    }
    match default {
        Some(d) => arm(p, "default", d, out),
        // Verilator (CASEINCOMPLETE) wants every value covered; nothing changes.
        None if !switch_is_full(ty.width, cases) => arm(p, "default", &[], out),
        None => {}
    }
    let _ = writeln!(out, "{ind}endcase");
}
