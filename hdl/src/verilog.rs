//! Deterministic Verilog-2005 printer for a checked [`Design`].
//!
//! The output reads like hand-written RTL in the verilog-axis style:
//! `default_nettype none`, a block comment per module, ports grouped under
//! comments, one always block per clock/enable pair with the reset applied last
//! (control registers only), and instances with named connections.
//!
//! Printing never changes meaning: the IR forbids implicit widening, so the only
//! places where Verilog's context-dependent sizing could bite are slices and
//! extensions of compound expressions and full-width products; those
//! sub-expressions are hoisted into declared wires of their exact width first.

use std::collections::HashMap;

use rustc_hash::FxHashSet as HashSet;
use std::fmt::Write;

use crate::check::{check, CheckErrors};

#[path = "verilog_proc.rs"]
mod procs;
use crate::ir::{
    Conn, Const, Design, Expr, Item, Module, ParamValue, PortDir, SignalKind, Ty, UnOp,
};

/// Check `design` and print it as one Verilog-2005 file.
pub fn print(design: &Design) -> Result<String, CheckErrors> {
    check(design)?;
    let mut out = String::with_capacity(1 << 16);
    for line in &design.header {
        let _ = writeln!(out, "{}", format!("// {line}").trim_end());
    }
    out.push_str("\n`resetall\n`timescale 1ns / 1ps\n`default_nettype none\n\n");
    if design.modules.len() > 1 {
        out.push_str(
            "// The whole hierarchy ships as one file, so module names cannot all match its name.\n\
             /* verilator lint_off DECLFILENAME */\n\n",
        );
    }
    if !design.externs.is_empty() {
        out.push_str("// Vendor primitives instantiated here, supplied by the synthesis tool:\n");
        for e in &design.externs {
            let _ = writeln!(out, "//   {}: {}", e.name, e.doc);
        }
        out.push('\n');
    }
    let top = design.modules.iter().filter(|m| m.name == design.top);
    let rest = design.modules.iter().filter(|m| m.name != design.top);
    for m in top.chain(rest) {
        print_module(m, &mut out);
        out.push('\n');
    }
    out.push_str("`resetall\n");
    Ok(out)
}

fn range(width: u32) -> String {
    if width > 1 {
        format!("[{}:0] ", width - 1)
    } else {
        String::new()
    }
}

fn push_ty(out: &mut String, ty: Ty) {
    if ty.signed {
        out.push_str("signed ");
    }
    if ty.width > 1 {
        let _ = write!(out, "[{}:0] ", ty.width - 1);
    }
}

fn decl_ty(ty: Ty) -> String {
    format!(
        "{}{}",
        if ty.signed { "signed " } else { "" },
        range(ty.width)
    )
}

fn const_text(c: &Const) -> String {
    let s = if c.ty.signed { "s" } else { "" };
    if c.ty.width <= 32 && !c.ty.signed {
        format!("{}'{}d{}", c.ty.width, s, c.bits)
    } else {
        format!("{}'{}h{:x}", c.ty.width, s, c.bits)
    }
}

fn param_text(v: &ParamValue) -> String {
    match v {
        ParamValue::Bits(c) => const_text(c),
        ParamValue::Int(i) => i.to_string(),
        ParamValue::Str(s) => format!("\"{s}\""),
    }
}

/// Empty stand-ins for the design's extern modules, for tools that must see every
/// module (`verilator --lint-only`, a yosys `hierarchy -check`): each declares the
/// ports and parameters the design uses, ties its outputs to zero and reads
/// nothing. They model nothing: never synthesize or simulate them.
pub fn print_extern_stubs(design: &Design) -> String {
    let mut out = String::new();
    if design.externs.is_empty() {
        return out;
    }
    out.push_str(
        "// Lint-only stubs of vendor primitives: ports and parameters only, outputs tied low.\n\
         /* verilator lint_off DECLFILENAME */\n/* verilator lint_off UNUSED */\n\n",
    );
    for e in &design.externs {
        let _ = writeln!(out, "// Stub of {}: {}", e.name, e.doc);
        if e.params.is_empty() {
            let _ = writeln!(out, "module {} (", e.name);
        } else {
            let _ = writeln!(out, "module {} #(", e.name);
            for (i, p) in e.params.iter().enumerate() {
                let comma = if i + 1 < e.params.len() { "," } else { "" };
                let _ = writeln!(out, "    parameter {p} = 0{comma}");
            }
            out.push_str(") (\n");
        }
        for (i, p) in e.ports.iter().enumerate() {
            let dir = match p.dir {
                PortDir::Input => "input ",
                PortDir::Output => "output",
            };
            let comma = if i + 1 < e.ports.len() { "," } else { "" };
            let _ = writeln!(out, "    {dir} wire {}{}{comma}", decl_ty(p.ty), p.name);
        }
        out.push_str(");\n");
        for p in e.ports.iter().filter(|p| p.dir == PortDir::Output) {
            let _ = writeln!(out, "assign {} = {}'d0;", p.name, p.ty.width);
        }
        out.push_str("endmodule\n\n");
    }
    out.push_str("/* verilator lint_on UNUSED */\n");
    out
}

/// Registers sharing one always block: (clock, enable text).
type GroupKey = (String, Option<String>);
/// One register of such a block: (name, next-value text, optional (reset, value text)).
type RegLine = (String, String, Option<(String, String)>);

struct Printer<'a> {
    m: &'a Module,
    /// All names of the module, built the first time a temporary is hoisted.
    names: Option<HashSet<&'a str>>,
    temps: Vec<(String, Ty, String)>,
    next_temp: usize,
}

impl<'a> Printer<'a> {
    fn ty(&self, e: &Expr) -> Ty {
        // The design was checked before printing, so every expression has a type.
        self.m.ty_of(e).unwrap_or(Ty::bit())
    }

    fn name(&self, e: &Expr) -> Option<&'a str> {
        match e {
            Expr::Sig(s) => Some(self.m.signals[s.index()].name.as_str()),
            _ => None,
        }
    }

    /// A name holding the value of `e`: the signal itself, or a hoisted wire.
    fn named(&mut self, e: &Expr) -> String {
        if let Some(n) = self.name(e) {
            return n.to_string();
        }
        let ty = self.ty(e);
        let text = self.expr(e, true);
        let name = loop {
            let candidate = format!("expr_{}", self.next_temp);
            self.next_temp += 1;
            let m = self.m;
            let names = self.names.get_or_insert_with(|| {
                m.signals
                    .iter()
                    .map(|s| s.name.as_str())
                    .chain(m.memories.iter().map(|x| x.name.as_str()))
                    .collect()
            });
            if !names.contains(candidate.as_str()) {
                break candidate;
            }
        };
        self.temps.push((name.clone(), ty, text));
        name
    }

    fn select(name: &str, ty: Ty, lo: u32, width: u32) -> String {
        if lo == 0 && width == ty.width {
            if ty.signed {
                format!("$unsigned({name})")
            } else {
                name.to_string()
            }
        } else if width == 1 {
            format!("{name}[{lo}]")
        } else {
            format!("{name}[{}:{lo}]", lo + width - 1)
        }
    }

    /// Print `e`. `top` is true where the surrounding context has exactly the
    /// expression's width (the right-hand side of an assignment).
    fn expr(&mut self, e: &Expr, top: bool) -> String {
        match e {
            Expr::Sig(_) => self.name(e).unwrap_or_default().to_string(),
            Expr::Const(c) => const_text(c),
            Expr::Slice { e, lo, width } => {
                let t = self.ty(e);
                let n = self.named(e);
                Self::select(&n, t, *lo, *width)
            }
            Expr::Unary(op, a) => {
                let a = self.expr(a, false);
                let op = match op {
                    UnOp::Not => "~",
                    UnOp::Neg => "-",
                    UnOp::ReduceOr => "|",
                    UnOp::ReduceAnd => "&",
                    UnOp::ReduceXor => "^",
                };
                format!("({op}{a})")
            }
            Expr::Binary(op, a, b) => {
                let a = self.expr(a, false);
                // Shift amounts are self-determined in Verilog; hoist compound ones for clarity.
                let b = if op.is_shift() {
                    match b.as_ref() {
                        Expr::Const(c) => c.bits.to_string(),
                        other => self.named(other),
                    }
                } else {
                    self.expr(b, false)
                };
                format!("({a} {} {b})", op.verilog())
            }
            Expr::Mux { sel, t, f } => {
                let s = self.expr(sel, false);
                let t = self.expr(t, false);
                let f = self.expr(f, false);
                format!("({s} ? {t} : {f})")
            }
            Expr::Concat(parts) => {
                if parts.len() == 1 {
                    let t = self.ty(&parts[0]);
                    let n = self.named(&parts[0]);
                    return Self::select(&n, t, 0, t.width);
                }
                let texts: Vec<String> = parts.iter().rev().map(|p| self.expr(p, false)).collect();
                format!("{{{}}}", texts.join(", "))
            }
            Expr::Resize { e, width } => {
                let t = self.ty(e);
                if *width == t.width {
                    return self.expr(e, top);
                }
                let n = self.named(e);
                let body = if *width < t.width {
                    Self::select(&n, Ty::u(t.width), 0, *width)
                } else {
                    let ext = width - t.width;
                    let fill = if !t.signed {
                        "1'b0".to_string()
                    } else if t.width == 1 {
                        n.clone()
                    } else {
                        format!("{n}[{}]", t.width - 1)
                    };
                    format!("{{{{{ext}{{{fill}}}}}, {n}}}")
                };
                if t.signed {
                    format!("$signed({body})")
                } else {
                    body
                }
            }
            Expr::Cast { e, signed } => {
                let t = self.ty(e);
                let inner = self.expr(e, top);
                if t.signed == *signed {
                    inner
                } else if *signed {
                    format!("$signed({inner})")
                } else {
                    format!("$unsigned({inner})")
                }
            }
            Expr::MulWide(a, b) => {
                if !top {
                    return self.named(e);
                }
                // In a context of exactly wa+wb bits, Verilog extends both (same-signed)
                // operands to that width first, which is the full-width product.
                let an = match a.as_ref() {
                    Expr::Const(c) => const_text(c),
                    other => self.named(other),
                };
                let bn = match b.as_ref() {
                    Expr::Const(c) => const_text(c),
                    other => self.named(other),
                };
                format!("{an} * {bn}")
            }
        }
    }
}

fn print_module(m: &Module, out: &mut String) {
    let mut p = Printer {
        m,
        names: None,
        temps: Vec::new(),
        next_temp: 0,
    };

    // Body first: printing expressions may hoist temporaries that must be declared above.
    // Sized up front: a 256x256 mesh prints tens of megabytes, and growing by doubling
    // would copy them several times.
    let estimate: usize = m
        .items
        .iter()
        .map(|i| match i {
            Item::Instance { conns, .. } => 48 + 28 * conns.len(),
            _ => 64,
        })
        .sum();
    let mut body = String::with_capacity(estimate);
    let mut clocked_groups: Vec<(String, String, Option<String>)> = Vec::new(); // (clk, enable text, _)
    let mut group_regs: HashMap<GroupKey, Vec<RegLine>> = HashMap::new();
    let mut domain_procs = Vec::new();
    // A blank line between runs of different kinds of item, and around every block.
    let mut last_kind = "";
    for item in &m.items {
        let kind = match item {
            Item::Assign { .. } => "assign",
            Item::Clocked { .. } => "clocked",
            Item::Process(pr) if pr.kind != crate::ir::ProcKind::Comb => "clocked",
            _ => "block",
        };
        if kind != "clocked" && !body.is_empty() && (kind == "block" || kind != last_kind) {
            body.push('\n');
        }
        if kind != "clocked" {
            last_kind = kind;
        }
        match item {
            Item::Assign { target, expr } => {
                let rhs = p.expr(expr, true);
                let _ = writeln!(body, "assign {} = {rhs};", m.signals[target.index()].name);
            }
            Item::Clocked {
                target,
                clk,
                next,
                enable,
                reset,
            } => {
                let clk = m.signals[clk.index()].name.clone();
                let en = enable.as_ref().map(|e| p.expr(e, false));
                let key = (clk.clone(), en.clone());
                if !group_regs.contains_key(&key) {
                    clocked_groups.push((clk, en.clone().unwrap_or_default(), en));
                }
                let rhs = p.expr(next, true);
                let rst = reset
                    .as_ref()
                    .map(|r| (m.signals[r.rst.index()].name.clone(), const_text(&r.value)));
                group_regs.entry(key).or_default().push((
                    m.signals[target.index()].name.clone(),
                    rhs,
                    rst,
                ));
            }
            Item::Process(pr) => procs::item(&mut p, pr, &mut body, &mut domain_procs),
            Item::MemWrite {
                mem,
                clk,
                enable,
                addr,
                data,
            } => {
                let en = p.expr(enable, false);
                let a = p.expr(addr, false);
                let d = p.expr(data, true);
                let _ = writeln!(
                    body,
                    "always @(posedge {}) begin\n    if ({en}) begin\n        {}[{a}] <= {d};\n    end\nend",
                    m.signals[clk.index()].name,
                    m.memories[mem.0 as usize].name
                );
            }
            Item::MemRead {
                mem,
                clk,
                enable,
                addr,
                target,
            } => {
                let en = p.expr(enable, false);
                let a = p.expr(addr, false);
                let _ = writeln!(
                    body,
                    "always @(posedge {}) begin\n    if ({en}) begin\n        {} <= {}[{a}];\n    end\nend",
                    m.signals[clk.index()].name,
                    m.signals[target.index()].name,
                    m.memories[mem.0 as usize].name
                );
            }
            Item::Instance {
                module,
                name,
                params,
                attrs,
                conns,
            } => {
                let has_open = conns.iter().any(|(_, c)| matches!(c, Conn::Open(_)));
                if has_open {
                    body.push_str("/* verilator lint_off PINCONNECTEMPTY */\n");
                }
                for (a, v) in attrs {
                    let _ = writeln!(body, "(* {a} = \"{v}\" *)");
                }
                if params.is_empty() {
                    let _ = writeln!(body, "{module} {name} (");
                } else {
                    let _ = writeln!(body, "{module} #(");
                    for (i, (p, v)) in params.iter().enumerate() {
                        let comma = if i + 1 < params.len() { "," } else { "" };
                        let _ = writeln!(body, "    .{p}({}){comma}", param_text(v));
                    }
                    let _ = writeln!(body, ") {name} (");
                }
                let n = conns.len();
                for (i, (port, c)) in conns.iter().enumerate() {
                    let comma = if i + 1 < n { "," } else { "" };
                    match c {
                        Conn::In(e) => {
                            // Yosys 0.23 asserts on `$signed(...)` in a port connection, and
                            // named nets read better: connect names and plain bit selects only.
                            let simple = match e {
                                Expr::Sig(_) | Expr::Const(_) => true,
                                Expr::Slice {
                                    e: inner,
                                    lo,
                                    width,
                                } => {
                                    matches!(inner.as_ref(), Expr::Sig(_))
                                        && (*lo != 0
                                            || *width != p.ty(inner).width
                                            || !p.ty(inner).signed)
                                }
                                _ => false,
                            };
                            body.push_str("    .");
                            body.push_str(port);
                            body.push('(');
                            match e {
                                Expr::Sig(s) => body.push_str(&m.signals[s.index()].name),
                                _ if simple => body.push_str(&p.expr(e, true)),
                                _ => body.push_str(&p.named(e)),
                            }
                            body.push(')');
                            body.push_str(comma);
                            body.push('\n');
                        }
                        Conn::Out(s) => {
                            body.push_str("    .");
                            body.push_str(port);
                            body.push('(');
                            body.push_str(&m.signals[s.index()].name);
                            body.push(')');
                            body.push_str(comma);
                            body.push('\n');
                        }
                        Conn::Open(reason) => {
                            let _ = writeln!(body, "    .{port}(){comma}  // open: {reason}");
                        }
                    }
                }
                body.push_str(");\n");
                if has_open {
                    body.push_str("/* verilator lint_on PINCONNECTEMPTY */\n");
                }
            }
        }
    }
    for (clk, _, en) in &clocked_groups {
        if !body.is_empty() {
            body.push('\n');
        }
        let regs = &group_regs[&(clk.clone(), en.clone())];
        let _ = writeln!(body, "always @(posedge {clk}) begin");
        let indent = if let Some(e) = en {
            let _ = writeln!(body, "    if ({e}) begin");
            "        "
        } else {
            "    "
        };
        for (name, rhs, _) in regs {
            let _ = writeln!(body, "{indent}{name} <= {rhs};");
        }
        if en.is_some() {
            body.push_str("    end\n");
        }
        let mut rsts: Vec<&String> = Vec::new();
        for (_, _, r) in regs {
            if let Some((rst, _)) = r {
                if !rsts.contains(&rst) {
                    rsts.push(rst);
                }
            }
        }
        for rst in rsts {
            let _ = writeln!(body, "    if ({rst}) begin");
            for (name, _, r) in regs {
                if let Some((rn, v)) = r {
                    if rn == rst {
                        let _ = writeln!(body, "        {name} <= {v};");
                    }
                }
            }
            body.push_str("    end\n");
        }
        body.push_str("end\n");
    }
    procs::domain_blocks(&mut p, &domain_procs, &mut body);
    let comb_regs = procs::comb_targets(m);

    out.reserve(body.len() + 64 * m.signals.len() + 64 * p.temps.len() + 4096);
    // Header and ports.
    out.push_str("/*\n");
    for line in &m.doc {
        let _ = writeln!(out, "{}", format!(" * {line}").trim_end());
    }
    out.push_str(" */\n");
    let _ = writeln!(out, "module {} (", m.name);
    let ports: Vec<_> = m.ports().collect();
    for (i, (id, s)) in ports.iter().enumerate() {
        if let Some(g) = &s.group {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "    // {g}");
        }
        let dir = if s.kind == SignalKind::Input {
            "input "
        } else {
            "output"
        };
        let comma = if i + 1 < ports.len() { "," } else { "" };
        let unused = s
            .unused_reason
            .as_ref()
            .filter(|_| s.kind == SignalKind::Input);
        if let Some(r) = unused {
            let _ = writeln!(out, "    // {r}\n    /* verilator lint_off UNUSED */");
        }
        let net = match comb_regs.contains(id) {
            true => "reg ",
            false => "wire",
        };
        let decl = format!("    {dir} {net} {}{}{comma}", decl_ty(s.ty), s.name);
        if s.comment.is_empty() {
            let _ = writeln!(out, "{decl}");
        } else {
            let _ = writeln!(out, "{decl:<48} // {}", s.comment);
        }
        if unused.is_some() {
            out.push_str("    /* verilator lint_on UNUSED */\n");
        }
    }
    out.push_str(");\n\n");

    // Declarations.
    procs::state_params(m, out);
    let mut any = false;
    for (i, s) in m.signals.iter().enumerate() {
        let kw = match s.kind {
            SignalKind::Wire if comb_regs.contains(&crate::ir::SignalId(i as u32)) => "reg ",
            SignalKind::Wire => "wire",
            SignalKind::Reg => "reg ",
            _ => continue,
        };
        any = true;
        if let Some(r) = &s.unused_reason {
            let _ = writeln!(out, "// {r}\n/* verilator lint_off UNUSED */");
        }
        let start = out.len();
        out.push_str(kw);
        out.push(' ');
        push_ty(out, s.ty);
        out.push_str(&s.name);
        out.push(';');
        if !s.comment.is_empty() {
            let used = out.len() - start;
            out.extend(std::iter::repeat_n(' ', 44usize.saturating_sub(used)));
            out.push_str(" // ");
            out.push_str(&s.comment);
        }
        out.push('\n');
        if s.unused_reason.is_some() {
            out.push_str("/* verilator lint_on UNUSED */\n");
        }
    }
    for mem in &m.memories {
        any = true;
        let mut attrs = Vec::new();
        if mem.hints.block_ram {
            attrs.push("ram_style = \"block\"");
        }
        if mem.hints.no_rw_collision {
            attrs.push("no_rw_check");
        }
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!("(* {} *)\n", attrs.join(", "))
        };
        let _ = writeln!(
            out,
            "// {}\n{attrs}reg {}{} [0:{}];",
            mem.comment,
            range(mem.width),
            mem.name,
            mem.depth - 1
        );
    }
    if !p.temps.is_empty() {
        any = true;
        out.push_str(
            "\n// Sub-expressions held at their exact width; some are only partly selected.\n\
             /* verilator lint_off UNUSED */\n",
        );
        for (name, ty, _) in &p.temps {
            let _ = writeln!(out, "wire {}{name};", decl_ty(*ty));
        }
        out.push_str("/* verilator lint_on UNUSED */\n");
        for (name, _, text) in &p.temps {
            let _ = writeln!(out, "assign {name} = {text};");
        }
    }
    if any {
        out.push('\n');
    }
    out.push_str(&body);
    out.push_str("\nendmodule\n");
}
