//! Printing of processes, clock domains and state machines ([`crate::process`]).
//!
//! A combinational process becomes one `always @*` block with blocking
//! assignments; its targets are declared `reg`. Every synchronous process of a
//! domain goes into that domain's one `always @(posedge clk)` block, followed by
//! the resets of the domain's registers (`if (rst) ..`), so the reset wins. FSM
//! states are `localparam`s, used in `case` labels, in the assignments to the
//! state register and in comparisons with it.
//!
//! Statements print as compactly as a careful engineer writes them, without
//! changing what they mean:
//! - an `if`/`else if`/`else` chain whose every branch is one assignment drops
//!   `begin`/`end`: `if (c) x <= y;` on one line per branch when every branch fits,
//!   else each assignment on the line below its branch. Only assignments are
//!   printed bare, never a nested `if`, so an `else` can never attach to the wrong
//!   `if` (the dangling-else trap);
//! - an `else` holding exactly one `if` prints as `else if`;
//! - a `case` arm of one assignment prints on one line (`STATE_IDLE: x <= y;`), an
//!   arm of one `if` starts on the label's line (`STATE_CMD: if (c) begin`), and arms
//!   whose bodies print identically are merged (`A, B: ..`): identical text is
//!   identical meaning, and case values are distinct, so no arm shadows another.

use std::fmt::Write;

use rustc_hash::FxHashSet as HashSet;

use super::{const_text, Printer, CONTINUE, LINE_WIDTH};
use crate::check::switch_is_full;
use crate::ir::{Const, Expr, Module, ProcKind, Process, SignalId, Stmt};
use crate::process::Arm;

const INDENT: &str = "    ";

/// `target op value;` for a statement whose first character is at column `col`,
/// continuation lines indented past `indent` (the statement's indentation).
/// Temporaries hoisted from the value are named after the target.
fn set_text(
    p: &mut Printer,
    target: SignalId,
    e: &Expr,
    col: usize,
    indent: usize,
    op: &str,
) -> String {
    let m = p.m;
    let name = &m.signal(target).name;
    let state = match e {
        Expr::Const(c) => state_name(m, target, c.bits),
        _ => None,
    };
    let value = state.unwrap_or_else(|| {
        let col = col + name.len() + op.len() + 2;
        if op == "<=" {
            p.set_ctx(&super::next_name(name));
            p.expr_nonblocking(e, col, indent)
        } else {
            p.set_ctx(name);
            p.expr_at(e, true, col, indent, 1)
        }
    });
    format!("{name} {op} {value};")
}

/// Does `text` (possibly several lines) stay on one line starting at column `col`?
fn one_line(col: usize, text: &str) -> bool {
    !text.contains('\n') && col + text.len() <= LINE_WIDTH
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

/// `localparam` declarations of the module's FSM states, one statement per FSM:
/// `localparam [1:0] STATE_IDLE = 2'd0, STATE_RUN = 2'd1, ..;`, wrapped at
/// [`LINE_WIDTH`] with the names aligned.
pub(super) fn state_params(m: &Module, out: &mut String) {
    for f in &m.fsms {
        let sig = m.signal(f.reg);
        let _ = writeln!(out, "// States of {}", sig.name);
        let lead = format!("localparam {}", super::range(sig.ty.width));
        let mut line = lead.clone();
        let n = f.states.len();
        for i in 0..n {
            let value = const_text(&Const {
                ty: sig.ty,
                bits: i as u128,
            });
            let item = format!(
                "{} = {value}{}",
                f.param_name(i),
                if i + 1 < n { "," } else { ";" }
            );
            if line.len() > lead.len() && line.len() + 1 + item.len() > LINE_WIDTH {
                let _ = writeln!(out, "{line}");
                line = " ".repeat(lead.len());
            } else if line.len() > lead.len() {
                line.push(' ');
            }
            line.push_str(&item);
        }
        let _ = writeln!(out, "{line}");
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
        let resets: Vec<String> = m
            .signals
            .iter()
            .enumerate()
            .filter(|(_, s)| s.domain.map(|x| x.0 as usize) == Some(d))
            .filter_map(|(i, s)| {
                let v = s.reset?;
                let value =
                    state_name(m, SignalId(i as u32), v.bits).unwrap_or_else(|| const_text(&v));
                Some(format!("{} <= {value};", s.name))
            })
            .collect();
        if let (Some(rst), false) = (dom.rst, resets.is_empty()) {
            guarded(&m.signal(rst).name, &resets, INDENT, body);
        }
        body.push_str("end\n");
    }
}

/// `if (cond) stmt;` on one line for a single statement that fits, else a
/// `begin`/`end` block: for guards whose condition and statements are already printed
/// (resets, enables, memory ports), the statements laid out for the block's
/// indentation (`ind` plus one step).
pub(super) fn guarded(cond: &str, stmts: &[String], ind: &str, out: &mut String) {
    if let [s] = stmts {
        let line = format!("{ind}if ({cond}) {s}");
        if one_line(0, &line) {
            let _ = writeln!(out, "{line}");
            return;
        }
    }
    let _ = writeln!(out, "{ind}if ({cond}) begin");
    for s in stmts {
        let _ = writeln!(out, "{ind}{INDENT}{s}");
    }
    let _ = writeln!(out, "{ind}end");
}

fn comment(text: &str, indent: &str, body: &mut String) {
    for line in text.lines().filter(|l| !l.is_empty()) {
        let _ = writeln!(body, "{indent}// {line}");
    }
}

/// The `localparam` name of `value` when `reg` is an FSM state register.
pub(super) fn state_name(m: &Module, reg: SignalId, value: u128) -> Option<String> {
    let f = m.fsms.iter().find(|f| f.reg == reg)?;
    let i = usize::try_from(value)
        .ok()
        .filter(|&i| i < f.states.len())?;
    Some(f.param_name(i))
}

fn stmts(p: &mut Printer, list: &[Stmt], depth: usize, op: &str, out: &mut String) {
    let ind = INDENT.repeat(depth);
    for s in list {
        match s {
            Stmt::Set { target, expr } => {
                let t = set_text(p, *target, expr, ind.len(), ind.len(), op);
                let _ = writeln!(out, "{ind}{t}");
            }
            Stmt::If { arms, otherwise } => {
                if_stmt(p, arms, otherwise, &ind, depth, op, out);
            }
            Stmt::Switch {
                sel,
                cases,
                default,
            } => switch(p, sel, cases, default.as_deref(), depth, op, out),
        }
    }
}

/// One branch of an `if` chain: its condition (`None` for the `else`) and body.
type Branch<'s> = (Option<&'s Expr>, &'s [Stmt]);

/// Print an `if` chain at `depth`; its first line starts with `first` (the
/// indentation, or a `case` label). Returns true when it printed compactly, without
/// `begin`/`end`.
fn if_stmt(
    p: &mut Printer,
    arms: &[Arm],
    otherwise: &[Stmt],
    first: &str,
    depth: usize,
    op: &str,
    out: &mut String,
) -> bool {
    // An `else` holding one `if` is that `if`'s `else if`: same meaning, flat.
    let mut chain: Vec<Branch> = arms.iter().map(|(c, b)| (Some(c), b.as_slice())).collect();
    let mut rest = otherwise;
    while let [Stmt::If { arms, otherwise }] = rest {
        chain.extend(arms.iter().map(|(c, b)| (Some(c), b.as_slice())));
        rest = otherwise;
    }
    if !rest.is_empty() {
        chain.push((None, rest));
    }
    if let Some(text) = compact_if(p, &chain, first, depth, op) {
        out.push_str(&text);
        return true;
    }
    let ind = INDENT.repeat(depth);
    for (i, (c, body)) in chain.iter().enumerate() {
        match (i, c) {
            (0, Some(c)) => {
                let lead = format!("{first}if (");
                let c = p.cond_at(c, lead.len(), ind.len() + CONTINUE, ") begin".len());
                let _ = writeln!(out, "{lead}{c}) begin");
            }
            (_, Some(c)) => {
                let lead = format!("{ind}end else if (");
                let c = p.cond_at(c, lead.len(), ind.len() + CONTINUE, ") begin".len());
                let _ = writeln!(out, "{lead}{c}) begin");
            }
            (_, None) => {
                let _ = writeln!(out, "{ind}end else begin");
            }
        }
        stmts(p, body, depth + 1, op, out);
    }
    let _ = writeln!(out, "{ind}end");
    false
}

/// An `if` chain whose every branch is one assignment, without `begin`/`end`: each
/// branch on one line when all fit, else each assignment on the line below its
/// branch. `None` when some branch holds anything else.
fn compact_if(
    p: &mut Printer,
    chain: &[Branch],
    first: &str,
    depth: usize,
    op: &str,
) -> Option<String> {
    let sets: Vec<(SignalId, &Expr)> = chain
        .iter()
        .map(|(_, body)| match body {
            [Stmt::Set { target, expr }] => Some((*target, expr)),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let ind = INDENT.repeat(depth);
    let lead = |i: usize, c: Option<&Expr>| match (i, c) {
        (0, _) => format!("{first}if ("),
        (_, Some(_)) => format!("{ind}else if ("),
        (_, None) => format!("{ind}else"),
    };
    // Every branch on one line?
    let mut text = String::new();
    let mut fits = true;
    for (i, ((c, _), (t, e))) in chain.iter().zip(&sets).enumerate() {
        let mut line = lead(i, *c);
        if let Some(c) = c {
            line.push_str(&p.cond_at(c, line.len(), ind.len() + CONTINUE, 1));
            line.push(')');
        }
        line.push(' ');
        let col = line.len();
        line.push_str(&set_text(p, *t, e, col, ind.len(), op));
        if !one_line(0, &line) {
            fits = false;
            break;
        }
        let _ = writeln!(text, "{line}");
    }
    if fits {
        return Some(text);
    }
    text.clear();
    let inner = ind.len() + INDENT.len();
    for (i, ((c, _), (t, e))) in chain.iter().zip(&sets).enumerate() {
        let mut line = lead(i, *c);
        if let Some(c) = c {
            line.push_str(&p.cond_at(c, line.len(), ind.len() + CONTINUE, 1));
            line.push(')');
        }
        let s = set_text(p, *t, e, inner, inner, op);
        let _ = writeln!(text, "{line}\n{ind}{INDENT}{s}");
    }
    Some(text)
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
    let lead = format!("{ind}case (");
    let s = p.cond_at(sel, lead.len(), ind.len() + CONTINUE, 1);
    let _ = writeln!(out, "{lead}{s})");
    // Arms whose bodies print the same, merged at the first one's place.
    let mut groups: Vec<(Vec<String>, &[Stmt], String)> = Vec::new();
    for c in cases {
        let labels = c.values.iter().map(|&v| {
            fsm_reg
                .and_then(|r| state_name(m, r, v))
                .unwrap_or_else(|| const_text(&Const { ty, bits: v }))
        });
        let mut key = String::new();
        stmts(p, &c.body, depth + 2, op, &mut key);
        match groups.iter_mut().find(|g| g.2 == key) {
            Some(g) => g.0.extend(labels),
            None => groups.push((labels.collect(), &c.body, key)),
        }
    }
    for (labels, body, _) in &groups {
        arm(p, &labels_text(labels, depth + 1), body, depth, op, out);
    }
    match default {
        Some(d) => arm(p, "default", d, depth, op, out),
        // Verilator (CASEINCOMPLETE) wants every value covered; nothing changes.
        None if !switch_is_full(ty.width, cases) => arm(p, "default", &[], depth, op, out),
        None => {}
    }
    let _ = writeln!(out, "{ind}endcase");
}

/// `A, B, C` for the labels of one arm at `depth`, wrapped at [`LINE_WIDTH`] with
/// continuation lines aligned under the first label.
fn labels_text(labels: &[String], depth: usize) -> String {
    let col = depth * INDENT.len();
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for l in labels {
        if !line.is_empty() {
            line.push(',');
            // Room for this label and the `: ` (or `,`) after it.
            if col + line.len() + 1 + l.len() + 2 > LINE_WIDTH {
                lines.push(std::mem::take(&mut line));
            } else {
                line.push(' ');
            }
        }
        line.push_str(l);
    }
    lines.push(line);
    lines.join(&format!("\n{}", " ".repeat(col)))
}

/// One `case` arm: `label: stmt;`, `label: if (..) begin .. end`, or a block.
fn arm(p: &mut Printer, label: &str, body: &[Stmt], depth: usize, op: &str, out: &mut String) {
    let ind = INDENT.repeat(depth + 1);
    let first = format!("{ind}{label}: ");
    let col = first.rsplit('\n').next().map_or(0, str::len);
    match body {
        [] => {
            let _ = writeln!(out, "{ind}{label}: ;");
            return;
        }
        [Stmt::Set { target, expr }] => {
            let t = set_text(p, *target, expr, col, ind.len(), op);
            if one_line(col, &t) {
                let _ = writeln!(out, "{first}{t}");
                return;
            }
        }
        [Stmt::If { arms, otherwise }] if !label.contains('\n') => {
            // Starts on the label's line when it is a block (`end` under the label) or
            // one short line; a compact chain of several lines would hang under the label.
            let mut text = String::new();
            let compact = if_stmt(p, arms, otherwise, &first, depth + 1, op, &mut text);
            if !compact || text.matches('\n').count() == 1 {
                out.push_str(&text);
                return;
            }
        }
        _ => {}
    }
    let _ = writeln!(out, "{first}begin");
    stmts(p, body, depth + 2, op, out);
    let _ = writeln!(out, "{ind}end");
}

#[cfg(test)]
mod tests {
    use crate::ir::{Design, Expr, Module, SignalId, Ty};
    use crate::process::Proc;

    fn printed(m: Module) -> String {
        let mut d = Design::new(m.name.clone());
        d.add(m);
        super::super::print(&d).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The lines of `v` from the one equal to `first`, as many as `want` has, compared.
    fn assert_block(v: &str, want: &[&str]) {
        let lines: Vec<&str> = v.lines().collect();
        let at = lines.iter().position(|l| *l == want[0]);
        let got = at.map(|i| &lines[i..(i + want.len()).min(lines.len())]);
        assert_eq!(got, Some(want), "\n{v}");
    }

    /// A module with bit inputs `a`, `b`, `c`, a clock domain and an 8-bit register `x_reg`.
    fn base() -> (Module, Proc, [SignalId; 4]) {
        let mut m = Module::new("t");
        let clk = m.input("clk", Ty::bit(), None, "");
        let rst = m.input("rst", Ty::bit(), None, "");
        let [a, b, c] = ["a", "b", "c"].map(|n| m.input(n, Ty::bit(), None, ""));
        for s in [a, b, c] {
            m.allow_unused(s, "each test reads some of them");
        }
        let d = m.domain("sync", clk, Some(rst));
        let x = m.reg_reset("x_reg", Ty::u(8), d, 0, "");
        let y = m.output("y", Ty::u(8), None, "");
        m.assign(y, x);
        (m, Proc::sync(d), [a, b, c, x])
    }

    fn k(v: u128) -> Expr {
        Expr::uconst(8, v)
    }

    #[test]
    fn chains_of_lone_assignments_drop_begin_end_and_else_if_stays_flat() {
        let (mut m, mut p, [a, b, c, x]) = base();
        p.if_(a, |p| {
            p.set(x, k(1));
        })
        .elif(b, |p| {
            p.set(x, k(2));
        })
        .else_(|p| {
            // An `else` holding one `if` is an `else if`.
            p.if_(c, |p| {
                p.set(x, k(3));
            })
            .else_(|p| {
                p.set(x, k(4));
            });
        });
        m.process(p);
        let v = printed(m);
        assert_block(
            &v,
            &[
                "    if (a) x_reg <= 8'd1;",
                "    else if (b) x_reg <= 8'd2;",
                "    else if (c) x_reg <= 8'd3;",
                "    else x_reg <= 8'd4;",
                "    if (rst) x_reg <= 8'd0;",
                "end",
            ],
        );
    }

    /// `if (a) if (b) x <= 1; else x <= 2;` would give the `else` to `if (b)`: a lone
    /// `if` is never printed bare.
    #[test]
    fn a_lone_if_inside_an_if_with_else_keeps_begin_end() {
        let (mut m, mut p, [a, b, _, x]) = base();
        p.if_(a, |p| {
            p.if_(b, |p| {
                p.set(x, k(1));
            });
        })
        .else_(|p| {
            p.set(x, k(2));
        });
        m.process(p);
        let v = printed(m);
        assert_block(
            &v,
            &[
                "    if (a) begin",
                "        if (b) x_reg <= 8'd1;",
                "    end else begin",
                "        x_reg <= 8'd2;",
                "    end",
            ],
        );
    }

    #[test]
    fn long_conditions_wrap_and_long_branches_go_below_their_condition() {
        let mut m = Module::new("t");
        let clk = m.input("clk", Ty::bit(), None, "");
        let ins: Vec<SignalId> = (0..8)
            .map(|i| m.input(&format!("request_from_client_{i}"), Ty::bit(), None, ""))
            .collect();
        let d = m.domain("sync", clk, None);
        let x = m.reg_in("x_reg", Ty::u(8), d, "");
        let y = m.output("y", Ty::u(8), None, "");
        m.assign(y, x);
        let any = Expr::or_all(ins.iter().map(|s| Expr::from(*s)).collect(), Ty::bit());
        let mut p = Proc::sync(d);
        p.if_(any.clone(), |p| {
            p.set(x, k(1));
            p.set(x, k(2));
        });
        p.if_(ins[0], |p| {
            p.set(
                x,
                Expr::concat(ins.iter().map(|s| Expr::from(*s)).collect()),
            );
        })
        .else_(|p| {
            p.set(x, k(3));
        });
        m.process(p);
        let v = printed(m);
        assert!(v.lines().all(|l| l.len() <= super::LINE_WIDTH), "{v}");
        assert!(v.contains("    if (request_from_client_0\n"), "{v}");
        assert!(
            v.contains("            | request_from_client_7) begin\n"),
            "{v}"
        );
        assert_block(
            &v,
            &["    if (request_from_client_0)", "        x_reg <= {"],
        );
        assert_block(&v, &["    else", "        x_reg <= 8'd3;"]);
    }

    #[test]
    fn case_arms_print_on_their_label_line_and_identical_arms_merge() {
        let (mut m, mut p, [a, b, c, x]) = base();
        let sel = Expr::concat(vec![a.into(), b.into()]);
        p.switch(sel)
            .case(&[0], |p| {
                p.set(x, k(1));
            })
            .case(&[1], |p| {
                p.if_(c, |p| {
                    p.set(x, k(2));
                    p.set(x, k(3));
                });
            })
            .case(&[2], |p| {
                p.set(x, k(1));
            })
            .default(|p| {
                p.if_(c, |p| {
                    p.set(x, k(4));
                });
            });
        m.process(p);
        let v = printed(m);
        assert_block(
            &v,
            &[
                "    case ({b, a})",
                "        2'd0, 2'd2: x_reg <= 8'd1;",
                "        2'd1: if (c) begin",
                "            x_reg <= 8'd2;",
                "            x_reg <= 8'd3;",
                "        end",
                "        default: if (c) x_reg <= 8'd4;",
                "    endcase",
            ],
        );
    }

    #[test]
    fn merged_labels_wrap_aligned() {
        let (mut m, mut p, [a, b, c, x]) = base();
        let sel = Expr::concat(vec![
            a.into(),
            b.into(),
            c.into(),
            a.into(),
            b.into(),
            c.into(),
        ]);
        let mut sw = p.switch(sel);
        for v in 0..40 {
            sw = sw.case(&[v], |p| {
                p.set(x, k(u128::from(v % 2)));
            });
        }
        sw.default(|p| {
            p.set(x, k(7));
        });
        m.process(p);
        let v = printed(m);
        assert!(v.lines().all(|l| l.len() <= super::LINE_WIDTH), "{v}");
        let first = "        6'd0, 6'd2, 6'd4, 6'd6,";
        let at = v.find(first).unwrap_or_else(|| panic!("{v}"));
        let next = v[at..].lines().nth(1).unwrap_or_default();
        assert!(next.starts_with("        6'd"), "{v}");
        assert!(v.contains("6'd38: x_reg <= 8'd0;\n"), "{v}");
        assert!(v.contains("6'd39: x_reg <= 8'd1;\n"), "{v}");
        assert_eq!(v.matches(": x_reg <= 8'd").count(), 3, "{v}");
    }

    #[test]
    fn states_are_one_localparam_wrapped_and_named_in_comparisons() {
        let mut m = Module::new("t");
        let clk = m.input("clk", Ty::bit(), None, "");
        let rst = m.input("rst", Ty::bit(), None, "");
        let a = m.input("a", Ty::bit(), None, "");
        let names: Vec<String> = (0..20).map(|i| format!("STEP_NUMBER_{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let d = m.domain("sync", clk, Some(rst));
        let f = m.fsm("phase_reg", d, &names, "");
        let mut p = Proc::sync(d);
        p.if_(a, |p| {
            p.set(f.reg, Expr::uconst(5, 3));
        });
        m.process(p);
        let busy = m.output("busy", Ty::bit(), None, "");
        let idle = Expr::from(f.reg).cmp_eq(Expr::uconst(5, 0));
        m.assign(busy, !idle);
        let v = printed(m);
        assert_eq!(v.matches("localparam").count(), 1, "{v}");
        assert!(
            v.contains("localparam [4:0] PHASE_STEP_NUMBER_0 = 5'd0,"),
            "{v}"
        );
        assert!(v.lines().all(|l| l.len() <= super::LINE_WIDTH), "{v}");
        assert!(
            v.contains("assign busy = phase_reg != PHASE_STEP_NUMBER_0;"),
            "{v}"
        );
        assert!(
            v.contains("if (a) phase_reg <= PHASE_STEP_NUMBER_3;"),
            "{v}"
        );
    }

    #[test]
    fn wires_are_defined_where_declared_unless_they_read_a_later_one() {
        let mut m = Module::new("t");
        let a = m.input("a", Ty::u(4), None, "");
        let first = m.wire("first", Ty::u(4), "reads a later wire");
        let second = m.wire("second", Ty::u(4), "");
        let y = m.output("y", Ty::u(4), None, "");
        m.assign(first, Expr::from(second) + Expr::uconst(4, 1));
        m.assign(second, Expr::from(a) ^ Expr::uconst(4, 0));
        m.assign(y, first);
        let v = printed(m);
        assert!(v.contains("\nwire [3:0] first;"), "{v}");
        assert!(v.contains("\nwire [3:0] second = a;\n"), "{v}");
        assert!(v.contains("\nassign first = second + 4'd1;\n"), "{v}");
    }
}
