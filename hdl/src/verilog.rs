//! Deterministic Verilog-2005 printer for a checked [`Design`].
//!
//! The output reads like hand-written RTL in the verilog-axis style:
//! `default_nettype none`, a block comment per module, ports grouped under
//! comments, one always block per clock/enable pair with the reset applied last
//! (control registers only), and instances with named connections. An internal wire is
//! defined where it is declared (`wire x = e;`) when `e` reads only ports and signals
//! declared above it, so no name is used before its declaration (which some tools
//! reject); the rest keep `wire x;` and an `assign`. Processes print as described in
//! `verilog_proc.rs`: `begin`/`end` only where a branch holds more than one assignment.
//!
//! Expressions carry parentheses only where Verilog's precedence needs them, plus
//! between different bitwise operators and around comparisons and shifts inside other
//! operators, as readers expect. Lines longer than [`LINE_WIDTH`] break before an
//! operator (or a `:` of a mux chain, or between concatenation parts) with continuation
//! indentation; the same design always prints the same lines.
//!
//! Printing never changes meaning. Parentheses do not change Verilog's widths, only
//! grouping, and the IR forbids implicit widening, so the only places where Verilog's
//! context-dependent sizing could bite are slices and extensions of compound
//! expressions and full-width products. Those sub-expressions are hoisted into declared
//! wires of their exact width, named after where they are used (`<target>_<role>`, e.g.
//! `sum_next_prod_wide`), each distinct one once.

use std::collections::HashMap;

use rustc_hash::FxHashSet as HashSet;
use std::fmt::Write;

use crate::check::{check, CheckErrors};

#[path = "verilog_proc.rs"]
mod procs;
use crate::ir::{
    BinOp, Conn, Const, Design, Expr, Item, Module, ParamValue, PortDir, SignalId, SignalKind, Ty,
    UnOp,
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

/// Lines longer than this are wrapped at operators (names and constants are never split).
const LINE_WIDTH: usize = 100;
/// Extra indentation of a continuation line.
const CONTINUE: usize = 4;
/// Expressions this short are never broken over lines.
const MIN_BREAK: usize = 24;

/// Binding strength of a binary operator in Verilog-2005 (IEEE 1364-2005, table 5-4);
/// higher binds tighter. Unary operators bind tighter than all of these.
fn prec(op: BinOp) -> u8 {
    match op {
        BinOp::Mul => 11,
        BinOp::Add | BinOp::Sub => 10,
        BinOp::Shl | BinOp::Shr | BinOp::Sra => 9,
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 8,
        BinOp::Eq | BinOp::Ne => 7,
        BinOp::And => 6,
        BinOp::Xor => 5,
        BinOp::Or => 4,
    }
}

/// How a printed expression looks from outside, which decides its parentheses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// A name, constant, bit select, concatenation or `$signed(...)`: self-determined,
    /// so it keeps its own width and signedness wherever it stands.
    Atom,
    /// A parenthesized expression: binds like an atom, but its operators still take the
    /// width of the context around it.
    Group,
    /// `~x` or `-x`.
    Unary,
    /// `|x`, `&x` or `^x`.
    Reduce,
    /// Binary operators of one precedence level, `a + b - c`.
    Chain(u8),
    /// `s ? a : b`, possibly a chain `s ? a : t ? b : c`.
    Mux,
}

/// How a printed expression may be broken over lines.
#[derive(Debug)]
enum Body {
    /// Never broken.
    Text,
    /// `first op1 item1 op2 item2 ...`: a break goes before each operator.
    Chain(Vec<(Option<BinOp>, Doc)>),
    /// `s0 ? v0 : s1 ? v1 : default`: a break goes before each `:`.
    Mux(Vec<(Doc, Doc)>, Box<Doc>),
    /// `{p0, p1}` (parts most-significant first): one part per line, or as many
    /// per line as fit when every part is unbreakable.
    Concat(Vec<Doc>),
    /// `prefix inner suffix`, e.g. `$signed(` .. `)` or `~` ..
    Wrap(&'static str, Box<Doc>, &'static str),
}

/// A printed expression: its one-line text and its structure for wrapping.
#[derive(Debug)]
struct Doc {
    flat: String,
    shape: Shape,
    body: Body,
}

impl Doc {
    fn text(flat: String, shape: Shape) -> Doc {
        Doc {
            flat,
            shape,
            body: Body::Text,
        }
    }

    fn wrap(prefix: &'static str, inner: Doc, suffix: &'static str, shape: Shape) -> Doc {
        if matches!(inner.body, Body::Text) {
            return Doc::text(format!("{prefix}{}{suffix}", inner.flat), shape);
        }
        Doc {
            flat: format!("{prefix}{}{suffix}", inner.flat),
            shape,
            body: Body::Wrap(prefix, Box::new(inner), suffix),
        }
    }

    fn paren(inner: Doc) -> Doc {
        Doc::wrap("(", inner, ")", Shape::Group)
    }

    /// The operators of a chain (empty for anything else).
    fn chain_ops(&self) -> impl Iterator<Item = BinOp> + '_ {
        let items: &[(Option<BinOp>, Doc)] = match &self.body {
            Body::Chain(items) => items,
            _ => &[],
        };
        items.iter().filter_map(|(op, _)| *op)
    }

    fn into_chain(self) -> Vec<(Option<BinOp>, Doc)> {
        match self.body {
            Body::Chain(items) => items,
            body => vec![(
                None,
                Doc {
                    flat: self.flat,
                    shape: self.shape,
                    body,
                },
            )],
        }
    }

    /// Lay the expression out starting at column `w.col()`: on one line if it fits with
    /// `tail` more characters after it, else broken at its outermost operators, continuation
    /// lines indented to `indent`. Deterministic: the same input gives the same lines.
    fn layout(&self, w: &mut Lines, indent: usize, tail: usize) {
        // Short pieces stay whole even past the margin: `{\n    a, b\n}` reads worse.
        if w.col() + self.flat.len() + tail <= LINE_WIDTH || self.flat.len() <= MIN_BREAK {
            w.out.push_str(&self.flat);
            return;
        }
        match &self.body {
            Body::Text => w.out.push_str(&self.flat),
            Body::Wrap(prefix, inner, suffix) => {
                w.out.push_str(prefix);
                inner.layout(w, indent, tail + suffix.len());
                w.out.push_str(suffix);
            }
            Body::Chain(items) => {
                for (i, (op, d)) in items.iter().enumerate() {
                    if let Some(op) = op {
                        w.newline(indent);
                        w.out.push_str(op.verilog());
                        w.out.push(' ');
                    }
                    let t = if i + 1 == items.len() { tail } else { 0 };
                    d.layout(w, indent + CONTINUE, t);
                }
            }
            Body::Mux(arms, default) => {
                for (i, (s, v)) in arms.iter().enumerate() {
                    if i > 0 {
                        w.newline(indent);
                        w.out.push_str(": ");
                    }
                    s.layout(w, indent + CONTINUE, 2);
                    // A value that does not fit after its select starts a line of its own.
                    if w.col() + " ? ".len() + v.flat.len() > LINE_WIDTH {
                        w.newline(indent + CONTINUE);
                        w.out.push_str("? ");
                    } else {
                        w.out.push_str(" ? ");
                    }
                    v.layout(w, indent + 2 * CONTINUE, 0);
                }
                w.newline(indent);
                w.out.push_str(": ");
                default.layout(w, indent + CONTINUE, tail);
            }
            Body::Concat(parts) => {
                w.out.push('{');
                let fill = parts.iter().all(|p| matches!(p.body, Body::Text));
                for (i, p) in parts.iter().enumerate() {
                    let last = i + 1 == parts.len();
                    let t = usize::from(!last);
                    if i == 0 || !fill || w.col() + 1 + p.flat.len() + t > LINE_WIDTH {
                        w.newline(indent);
                    } else {
                        w.out.push(' ');
                    }
                    p.layout(w, indent + CONTINUE, t);
                    if !last {
                        w.out.push(',');
                    }
                }
                w.newline(indent.saturating_sub(CONTINUE));
                w.out.push('}');
            }
        }
    }
}

/// Text being laid out, which starts at column `col0` of its first line.
struct Lines {
    out: String,
    col0: usize,
}

impl Lines {
    fn col(&self) -> usize {
        match self.out.rfind('\n') {
            Some(p) => self.out.len() - p - 1,
            None => self.col0 + self.out.len(),
        }
    }
    fn newline(&mut self, indent: usize) {
        self.out.push('\n');
        self.out.extend(std::iter::repeat_n(' ', indent));
    }
}

/// Does `child` need parentheses as the left (`right == false`) or right operand of `op`?
///
/// Where Verilog's precedence would parse the text as intended, parentheses are still
/// added between different bitwise operators, around comparisons and shifts inside other
/// operators and around arithmetic inside bitwise ones, as lint and readers expect.
fn needs_parens(op: BinOp, right: bool, child: &Doc) -> bool {
    let cp = match child.shape {
        Shape::Atom | Shape::Group | Shape::Unary => return false,
        Shape::Reduce | Shape::Mux => return true,
        Shape::Chain(p) => p,
    };
    let pp = prec(op);
    if op.is_shift() || cp == prec(BinOp::Shl) {
        return true;
    }
    match op {
        // Bitwise: only a chain of the same operator joins without parentheses (`&`, `|`
        // and `^` are associative, so `a | (b | c)` may print as `a | b | c`).
        BinOp::And | BinOp::Or | BinOp::Xor => child.chain_ops().any(|o| o != op),
        // Comparisons: arithmetic operands read naturally, `a + 1 == b`.
        _ if op.is_compare() => cp < prec(BinOp::Add),
        // Arithmetic: a tighter operator, or the same level on the left, needs none. On the
        // right, `a + (b - c)` equals `a + b - c` in fixed-width two's complement (all
        // operands have one width), and `a * (b * c)` equals `a * b * c`; `a - (b + c)` does not.
        _ => {
            if cp != pp {
                cp < pp
            } else {
                right && op == BinOp::Sub
            }
        }
    }
}

/// A hoisted sub-expression: a declared wire of the expression's exact type.
struct Temp {
    name: String,
    ty: Ty,
    doc: Doc,
    /// Read in full somewhere; a temporary only ever selected in part is declared
    /// inside a lint waiver.
    whole: bool,
}

struct Printer<'a> {
    m: &'a Module,
    /// Every name a temporary must not take (signals, memories, instances, FSM state
    /// parameters, temporaries), built the first time a temporary is hoisted.
    names: Option<HashSet<String>>,
    temps: Vec<Temp>,
    /// Hoisted expressions by (text, type), so each distinct one is declared once.
    temp_index: HashMap<(String, Ty), usize>,
    /// Base of the names of temporaries hoisted now: the item being printed, e.g. the
    /// assigned wire or `<register>_next`.
    ctx: String,
    /// Set whenever a printed expression reads a temporary.
    read_temp: bool,
}

impl<'a> Printer<'a> {
    fn new(m: &'a Module) -> Printer<'a> {
        Printer {
            m,
            names: None,
            temps: Vec::new(),
            temp_index: HashMap::new(),
            ctx: "expr".to_string(),
            read_temp: false,
        }
    }

    /// Name temporaries hoisted from now on after `base` (`<base>_<role>`).
    fn set_ctx(&mut self, base: &str) {
        base.clone_into(&mut self.ctx);
    }

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
        self.hoist(e, true)
    }

    /// [`Printer::named`], recording whether the caller reads all bits of a temporary.
    fn hoist(&mut self, e: &Expr, whole: bool) -> String {
        if let Some(n) = self.name(e) {
            return n.to_string();
        }
        let base = format!("{}_{}", self.ctx, self.role(e));
        self.hoist_as(e, base, whole)
    }

    /// Hoist `e` into a wire named `base` (or `base_2`, ... where that is taken); an
    /// expression already hoisted with the same text and type reuses its wire.
    fn hoist_as(&mut self, e: &Expr, base: String, whole: bool) -> String {
        self.read_temp = true;
        let ty = self.ty(e);
        let doc = self.doc(e, true);
        let key = (doc.flat.clone(), ty);
        if let Some(&i) = self.temp_index.get(&key) {
            self.temps[i].whole |= whole;
            return self.temps[i].name.clone();
        }
        let m = self.m;
        let names = self.names.get_or_insert_with(|| {
            let instances = m.items.iter().filter_map(|i| match i {
                Item::Instance { name, .. } => Some(name.clone()),
                _ => None,
            });
            let states = m
                .fsms
                .iter()
                .flat_map(|f| (0..f.states.len()).map(|i| f.param_name(i)));
            m.signals
                .iter()
                .map(|s| s.name.clone())
                .chain(m.memories.iter().map(|x| x.name.clone()))
                .chain(instances)
                .chain(states)
                .collect()
        });
        // Built from checked identifiers, so only a keyword can be illegal, and no keyword
        // ends in `_<n>`.
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) || (n == 2 && !crate::check::is_identifier(&name)) {
            name = format!("{base}_{n}");
            n += 1;
        }
        names.insert(name.clone());
        self.temp_index.insert(key, self.temps.len());
        self.temps.push(Temp {
            name: name.clone(),
            ty,
            doc,
            whole,
        });
        name
    }

    /// What a hoisted expression holds, for its name.
    fn role(&self, e: &Expr) -> &'static str {
        match e {
            Expr::Sig(_) => "copy",
            Expr::Const(_) => "const",
            Expr::Slice { .. } => "bits",
            Expr::Unary(op, _) => match op {
                UnOp::Not => "inv",
                UnOp::Neg => "neg",
                UnOp::ReduceOr => "any",
                UnOp::ReduceAnd => "all",
                UnOp::ReduceXor => "parity",
            },
            Expr::Binary(op, _, _) => match op {
                BinOp::Add => "sum",
                BinOp::Sub => "diff",
                BinOp::Mul => "prod",
                BinOp::And => "and",
                BinOp::Or => "or",
                BinOp::Xor => "xor",
                BinOp::Eq => "eq",
                BinOp::Ne => "ne",
                BinOp::Lt => "lt",
                BinOp::Le => "le",
                BinOp::Gt => "gt",
                BinOp::Ge => "ge",
                BinOp::Shl => "shl",
                BinOp::Shr => "shr",
                BinOp::Sra => "sra",
            },
            Expr::Mux { .. } => "mux",
            Expr::Concat(_) => "cat",
            Expr::Resize { e: inner, width } => {
                if *width > self.ty(inner).width {
                    "ext"
                } else {
                    "trunc"
                }
            }
            Expr::Cast { signed: true, .. } => "signed",
            Expr::Cast { signed: false, .. } => "unsigned",
            Expr::MulWide(..) => "prod_wide",
        }
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

    /// Where the bits of `e` are bits `[lo +: width]` of a signal (through slices,
    /// truncations and casts): `(signal, lo, width)`.
    fn bits_of(&self, e: &Expr) -> Option<(SignalId, u32, u32)> {
        match e {
            Expr::Sig(s) => Some((*s, 0, self.ty(e).width)),
            Expr::Slice { e, lo, width } => {
                let (s, lo0, _) = self.bits_of(e)?;
                Some((s, lo0 + lo, *width))
            }
            Expr::Cast { e, .. } => self.bits_of(e),
            Expr::Resize { e, width } if *width <= self.ty(e).width => {
                let (s, lo0, _) = self.bits_of(e)?;
                Some((s, lo0, *width))
            }
            _ => None,
        }
    }

    /// Text of bits `[lo +: width]` of signal `s`, with the signal's own signedness where
    /// it is whole: only for places where signedness does not matter (concatenation
    /// parts, port connections, arguments of `$signed`).
    fn bits_text(&self, (s, lo, width): (SignalId, u32, u32)) -> String {
        let sig = &self.m.signals[s.index()];
        Self::select(&sig.name, Ty::u(sig.ty.width), lo, width)
    }

    /// The value of `e` if it is a constant (through slices, resizes and casts).
    fn const_of(&self, e: &Expr) -> Option<Const> {
        let mask = |w: u32| {
            if w >= 128 {
                u128::MAX
            } else {
                (1u128 << w) - 1
            }
        };
        match e {
            Expr::Const(c) => Some(*c),
            Expr::Slice { e, lo, width } => {
                let c = self.const_of(e)?;
                let bits = if *lo >= 128 { 0 } else { c.bits >> lo };
                Some(Const {
                    ty: Ty::u(*width),
                    bits: bits & mask(*width),
                })
            }
            Expr::Cast { e, signed } => {
                let c = self.const_of(e)?;
                Some(Const {
                    ty: Ty {
                        width: c.ty.width,
                        signed: *signed,
                    },
                    bits: c.bits,
                })
            }
            Expr::Resize { e, width } => {
                let c = self.const_of(e)?;
                let ty = Ty {
                    width: *width,
                    signed: c.ty.signed,
                };
                let negative =
                    c.ty.signed && c.ty.width <= 128 && (c.bits >> (c.ty.width - 1)) & 1 == 1;
                let bits = if *width <= c.ty.width {
                    c.bits & mask(*width)
                } else if !negative {
                    c.bits
                } else if *width <= 128 {
                    (c.bits | !mask(c.ty.width)) & mask(*width)
                } else {
                    // Wider than the 128-bit patterns a constant holds: print as an extension.
                    return None;
                };
                Some(Const { ty, bits })
            }
            _ => None,
        }
    }

    /// Is `e` zero: a zero constant, or `|` or `^` of zeros? (Never `s ? 0 : 0`: dropping
    /// `s` could leave a signal unread in the text, which lint reports.)
    fn is_zero(&self, e: &Expr) -> bool {
        match e {
            Expr::Binary(BinOp::Or | BinOp::Xor, a, b) => self.is_zero(a) && self.is_zero(b),
            _ => self.const_of(e).is_some_and(|c| c.bits == 0),
        }
    }

    /// Print `e` on one line. `top` is true where the surrounding context has exactly the
    /// expression's width (the right-hand side of an assignment).
    fn expr(&mut self, e: &Expr, top: bool) -> String {
        self.doc(e, top).flat
    }

    /// Print `e` starting at column `col`, wrapped over lines if it does not fit in
    /// [`LINE_WIDTH`] with `tail` characters after it; continuation lines are indented
    /// one step past `indent`, the indentation of the statement.
    fn expr_at(&mut self, e: &Expr, top: bool, col: usize, indent: usize, tail: usize) -> String {
        let d = self.doc(e, top);
        Self::render(&d, col, indent, tail)
    }

    /// [`Printer::expr_at`] for the right-hand side of a nonblocking assignment `x <= e;`
    /// starting at column `col`: a comparison there is parenthesized, `x <= (a <= b);`,
    /// so that it does not read as a second assignment.
    fn expr_nonblocking(&mut self, e: &Expr, col: usize, indent: usize) -> String {
        let d = self.doc(e, true);
        let d = match d.shape {
            Shape::Chain(p) if p == prec(BinOp::Eq) || p == prec(BinOp::Lt) => Doc::paren(d),
            _ => d,
        };
        Self::render(&d, col, indent, 1)
    }

    /// A condition or `case` selector (self-determined) starting at column `col`, wrapped
    /// like any long expression with continuation lines indented past `indent`. One pair
    /// of outer parentheses is dropped: `if ((a & b))` reads badly.
    fn cond_at(&mut self, e: &Expr, col: usize, indent: usize, tail: usize) -> String {
        let d = self.doc(e, false);
        let d = match d.body {
            Body::Wrap("(", inner, ")") if d.shape == Shape::Group => *inner,
            Body::Text if d.shape == Shape::Group => {
                let inner = &d.flat[1..d.flat.len() - 1];
                Doc::text(inner.to_string(), Shape::Atom)
            }
            body => Doc {
                flat: d.flat,
                shape: d.shape,
                body,
            },
        };
        Self::render(&d, col, indent, tail)
    }

    /// The `localparam` name to print for constant `c` compared with `other`, where
    /// `other` is an FSM's state register and `c` one of its states (same type).
    fn state_of(&self, other: &Expr, c: &Expr) -> Option<String> {
        match (other, c) {
            (Expr::Sig(r), Expr::Const(c)) if c.ty == self.m.signal(*r).ty && !c.ty.signed => {
                procs::state_name(self.m, *r, c.bits)
            }
            _ => None,
        }
    }

    fn render(d: &Doc, col: usize, indent: usize, tail: usize) -> String {
        let mut w = Lines {
            out: String::with_capacity(d.flat.len()),
            col0: col,
        };
        d.layout(&mut w, indent + CONTINUE, tail);
        w.out
    }

    /// `e` as the operand of a product in a context of the product's full width: only a
    /// self-determined operand keeps its own width there, anything else is hoisted.
    fn mul_operand(&mut self, e: &Expr) -> String {
        if let Some(c) = self.const_of(e) {
            return const_text(&c);
        }
        let d = self.doc(e, false);
        if d.shape == Shape::Atom {
            d.flat
        } else {
            self.named(e)
        }
    }

    fn doc(&mut self, e: &Expr, top: bool) -> Doc {
        if !matches!(e, Expr::Const(_) | Expr::Sig(_)) {
            if let Some(c) = self.const_of(e) {
                return Doc::text(const_text(&c), Shape::Atom);
            }
        }
        match e {
            Expr::Sig(_) => Doc::text(self.name(e).unwrap_or_default().to_string(), Shape::Atom),
            Expr::Const(c) => Doc::text(const_text(c), Shape::Atom),
            Expr::Slice {
                e: inner,
                lo,
                width,
            } => {
                if let Some((s, lo0, _)) = self.bits_of(inner) {
                    let sig = &self.m.signals[s.index()];
                    return Doc::text(
                        Self::select(&sig.name, sig.ty, lo0 + lo, *width),
                        Shape::Atom,
                    );
                }
                let t = self.ty(inner);
                let n = self.hoist(inner, *lo == 0 && *width == t.width);
                Doc::text(Self::select(&n, t, *lo, *width), Shape::Atom)
            }
            Expr::Unary(op, a) => {
                // `~(a == b)` is `a != b`: an equality is one bit wide, and the IR never
                // widens it implicitly (an extension is hoisted), so inverting it is
                // negating it.
                if let (UnOp::Not, Expr::Binary(cmp, x, y)) = (op, a.as_ref()) {
                    if let Some(neg) = negated(*cmp) {
                        return self.doc(&Expr::Binary(neg, x.clone(), y.clone()), top);
                    }
                }
                let inner = self.doc(a, false);
                let inner = match inner.shape {
                    Shape::Atom | Shape::Group => inner,
                    // Always parenthesized: `~|x` and `^~x` are other operators, `--x` is
                    // SystemVerilog's decrement.
                    _ => Doc::paren(inner),
                };
                let (text, shape) = match op {
                    UnOp::Not => ("~", Shape::Unary),
                    UnOp::Neg => ("-", Shape::Unary),
                    UnOp::ReduceOr => ("|", Shape::Reduce),
                    UnOp::ReduceAnd => ("&", Shape::Reduce),
                    UnOp::ReduceXor => ("^", Shape::Reduce),
                };
                Doc::wrap(text, inner, "", shape)
            }
            Expr::Binary(op, a, b) => {
                let op = *op;
                // `x | 0` and `x ^ 0` are `x` (both operands have one type); no signal
                // read disappears.
                if matches!(op, BinOp::Or | BinOp::Xor) {
                    if self.is_zero(b) {
                        return self.doc(a, top);
                    }
                    if self.is_zero(a) {
                        return self.doc(b, top);
                    }
                }
                // A state register compared with a state: the state's name.
                let names = match op.is_compare() {
                    true => (self.state_of(b, a), self.state_of(a, b)),
                    false => (None, None),
                };
                let ad = match names.0 {
                    Some(n) => Doc::text(n, Shape::Atom),
                    None => self.doc(a, false),
                };
                let ad = if needs_parens(op, false, &ad) {
                    Doc::paren(ad)
                } else {
                    ad
                };
                let bd = match (names.1, b.as_ref()) {
                    (Some(n), _) => Doc::text(n, Shape::Atom),
                    // A shift amount reads best as a plain number, `x << 3`.
                    (None, Expr::Const(c)) if op.is_shift() && c.bits < 1 << 31 => {
                        Doc::text(c.bits.to_string(), Shape::Atom)
                    }
                    (None, _) => self.doc(b, false),
                };
                let bd = if needs_parens(op, true, &bd) {
                    Doc::paren(bd)
                } else {
                    bd
                };
                let level = Shape::Chain(prec(op));
                let flat = format!("{} {} {}", ad.flat, op.verilog(), bd.flat);
                let mut items = if ad.shape == level {
                    ad.into_chain()
                } else {
                    vec![(None, ad)]
                };
                if bd.shape == level {
                    let mut rest = bd.into_chain();
                    rest[0].0 = Some(op);
                    items.extend(rest);
                } else {
                    items.push((Some(op), bd));
                }
                Doc {
                    flat,
                    shape: level,
                    body: Body::Chain(items),
                }
            }
            Expr::Mux { sel, t, f } => {
                let paren_mux = |d: Doc| {
                    if d.shape == Shape::Mux {
                        Doc::paren(d)
                    } else {
                        d
                    }
                };
                let s = paren_mux(self.doc(sel, false));
                let t = paren_mux(self.doc(t, false));
                let f = self.doc(f, false);
                let flat = format!("{} ? {} : {}", s.flat, t.flat, f.flat);
                let mut arms = vec![(s, t)];
                let default = match f.body {
                    Body::Mux(more, default) if f.shape == Shape::Mux => {
                        arms.extend(more);
                        default
                    }
                    body => Box::new(Doc {
                        flat: f.flat,
                        shape: f.shape,
                        body,
                    }),
                };
                Doc {
                    flat,
                    shape: Shape::Mux,
                    body: Body::Mux(arms, default),
                }
            }
            Expr::Concat(parts) => {
                if parts.len() == 1 {
                    let t = self.ty(&parts[0]);
                    if !t.signed {
                        return self.doc(&parts[0], top);
                    }
                    if let Some(bits) = self.bits_of(&parts[0]) {
                        let sig = &self.m.signals[bits.0.index()];
                        return Doc::text(
                            Self::select(&sig.name, sig.ty, bits.1, bits.2),
                            Shape::Atom,
                        );
                    }
                    let inner = self.doc(&parts[0], false);
                    return Doc::wrap("$unsigned(", inner, ")", Shape::Atom);
                }
                let docs: Vec<Doc> = parts.iter().rev().map(|p| self.part(p)).collect();
                Self::concat(docs)
            }
            Expr::Resize { e: inner, width } => {
                let t = self.ty(inner);
                if *width == t.width {
                    return self.doc(inner, top);
                }
                // A full-width product extended further: in a context of `width` bits,
                // Verilog extends both (same-signed) operands to that width first, and
                // their product there is the extended full product.
                if let (true, true, Expr::MulWide(a, b)) = (top, *width > t.width, inner.as_ref()) {
                    return self.mul_doc(a, b);
                }
                let body = if *width < t.width {
                    match self.bits_of(e) {
                        Some(bits) => Doc::text(self.bits_text(bits), Shape::Atom),
                        None => {
                            let n = self.hoist(inner, false);
                            Doc::text(Self::select(&n, Ty::u(t.width), 0, *width), Shape::Atom)
                        }
                    }
                } else {
                    let ext = width - t.width;
                    if !t.signed {
                        // Zero extension: the operand of a concatenation is self-determined,
                        // so even a compound one keeps its own width.
                        let fill = Doc::text(format!("{ext}'d0"), Shape::Atom);
                        let part = self.part(inner);
                        return Self::concat(vec![fill, part]);
                    }
                    let (bits, msb) = match self.bits_of(inner) {
                        Some((s, lo, w)) => (
                            self.bits_text((s, lo, w)),
                            self.bits_text((s, lo + w - 1, 1)),
                        ),
                        None => {
                            let n = self.hoist(inner, true);
                            let msb = Self::select(&n, Ty::u(t.width), t.width - 1, 1);
                            (n, msb)
                        }
                    };
                    let fill = if ext == 1 {
                        msb
                    } else {
                        format!("{{{ext}{{{msb}}}}}")
                    };
                    Doc::text(format!("{{{fill}, {bits}}}"), Shape::Atom)
                };
                if t.signed {
                    Doc::wrap("$signed(", body, ")", Shape::Atom)
                } else {
                    body
                }
            }
            Expr::Cast { e: inner, signed } => {
                // Casts only reinterpret bits: of nested ones, the outermost decides.
                let mut inner = inner.as_ref();
                while let Expr::Cast { e, .. } = inner {
                    inner = e;
                }
                let t = self.ty(inner);
                if t.signed == *signed {
                    return self.doc(inner, top);
                }
                // The argument of `$signed`/`$unsigned` is self-determined: never `top`.
                let d = self.doc(inner, false);
                let f = if *signed { "$signed(" } else { "$unsigned(" };
                Doc::wrap(f, d, ")", Shape::Atom)
            }
            Expr::MulWide(a, b) => {
                if !top {
                    return Doc::text(self.named(e), Shape::Atom);
                }
                // In a context of exactly wa+wb bits, Verilog extends both (same-signed)
                // operands to that width first, which is the full-width product.
                self.mul_doc(a, b)
            }
        }
    }

    /// `a * b`, for a context at least as wide as the full product.
    fn mul_doc(&mut self, a: &Expr, b: &Expr) -> Doc {
        let an = self.mul_operand(a);
        let bn = self.mul_operand(b);
        let items = vec![
            (None, Doc::text(an.clone(), Shape::Atom)),
            (Some(BinOp::Mul), Doc::text(bn.clone(), Shape::Atom)),
        ];
        Doc {
            flat: format!("{an} * {bn}"),
            shape: Shape::Chain(prec(BinOp::Mul)),
            body: Body::Chain(items),
        }
    }

    /// A part of a concatenation: self-determined, and its signedness does not matter,
    /// so casts are dropped; a mux is parenthesized for the reader.
    fn part(&mut self, p: &Expr) -> Doc {
        let mut p = p;
        while let Expr::Cast { e, .. } = p {
            p = e;
        }
        let d = self.doc(p, false);
        if d.shape == Shape::Mux {
            Doc::paren(d)
        } else {
            d
        }
    }

    /// `{p0, p1, ...}` from parts most-significant first.
    fn concat(parts: Vec<Doc>) -> Doc {
        let texts: Vec<&str> = parts.iter().map(|p| p.flat.as_str()).collect();
        Doc {
            flat: format!("{{{}}}", texts.join(", ")),
            shape: Shape::Atom,
            body: Body::Concat(parts),
        }
    }

    /// What to write in the connection of input `port` of instance `inst`: a name, a
    /// constant, a bit select or a concatenation of those, else a hoisted wire named after
    /// the port. Casts are dropped: the port takes the bits, at its own (equal) width, and
    /// Yosys 0.23 asserts on `$signed(...)` in a port connection.
    fn connection(&mut self, inst: &str, port: &str, e: &Expr) -> String {
        let mut bare = e;
        loop {
            match bare {
                Expr::Cast { e, .. } => bare = e,
                Expr::Resize { e, width } if self.ty(e).width == *width => bare = e,
                _ => break,
            }
        }
        let simple = |p: &Printer<'_>, x: &Expr| {
            let mut x = x;
            while let Expr::Cast { e, .. } = x {
                x = e;
            }
            if let Some(c) = p.const_of(x) {
                Some(const_text(&c))
            } else {
                p.bits_of(x).map(|b| p.bits_text(b))
            }
        };
        if let Some(t) = simple(self, bare) {
            return t;
        }
        if let Expr::Concat(parts) = bare {
            let texts: Option<Vec<String>> = parts.iter().rev().map(|x| simple(self, x)).collect();
            if let Some(texts) = texts {
                return format!("{{{}}}", texts.join(", "));
            }
        }
        let base = format!("{inst}_{port}");
        let saved = std::mem::replace(&mut self.ctx, base.clone());
        let n = self.hoist_as(e, base, true);
        self.ctx = saved;
        n
    }
}

/// The inverse of an (in)equality. Orderings stay as written: `~(0 > x)` as `0 <= x`
/// would be a comparison Verilator reports as constant (UNSIGNED) where the IR has none.
fn negated(op: BinOp) -> Option<BinOp> {
    match op {
        BinOp::Eq => Some(BinOp::Ne),
        BinOp::Ne => Some(BinOp::Eq),
        _ => None,
    }
}

/// Base of the names of temporaries hoisted from the next value of register `name`:
/// `acc_reg` -> `acc_next`.
fn next_name(name: &str) -> String {
    format!("{}_next", name.strip_suffix("_reg").unwrap_or(name))
}

fn print_module(m: &Module, out: &mut String) {
    let mut p = Printer::new(m);

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
    // `wire x = e;` where `e` reads only ports and signals declared above `x` (no forward
    // reference, which some tools reject) and no temporary (declared further down).
    let comb_regs = procs::comb_targets(m);
    let mut defined: Vec<Option<String>> = vec![None; m.signals.len()];
    for item in &m.items {
        if let Item::Assign { target, expr } = item {
            let sig = &m.signals[target.index()];
            if sig.kind != SignalKind::Wire || comb_regs.contains(target) {
                continue;
            }
            let mut backward = true;
            crate::ir::visit_reads(expr, &mut |s, _| {
                let r = &m.signals[s.index()];
                let port = matches!(r.kind, SignalKind::Input | SignalKind::Output);
                backward &= port || s.index() < target.index();
            });
            if !backward {
                continue;
            }
            p.set_ctx(&sig.name);
            p.read_temp = false;
            let col = format!("wire {}{} = ", decl_ty(sig.ty), sig.name).len();
            let rhs = p.expr_at(expr, true, col, 0, 1);
            if !p.read_temp {
                defined[target.index()] = Some(rhs);
            }
        }
    }
    for item in &m.items {
        if let Item::Assign { target, .. } = item {
            if defined[target.index()].is_some() {
                continue;
            }
        }
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
                let name = &m.signals[target.index()].name;
                p.set_ctx(name);
                let rhs = p.expr_at(expr, true, "assign  = ".len() + name.len(), 0, 1);
                let _ = writeln!(body, "assign {name} = {rhs};");
            }
            Item::Clocked {
                target,
                clk,
                next,
                enable,
                reset,
            } => {
                let clk = m.signals[clk.index()].name.clone();
                let name = &m.signals[target.index()].name;
                let base = next_name(name);
                p.set_ctx(&format!("{base}_en"));
                let en = enable
                    .as_ref()
                    .map(|e| p.expr_at(e, false, "    if (".len(), 4, ") begin".len()));
                let key = (clk.clone(), en.clone());
                if !group_regs.contains_key(&key) {
                    clocked_groups.push((clk, en.clone().unwrap_or_default(), en));
                }
                p.set_ctx(&base);
                let indent = if enable.is_some() { 8 } else { 4 };
                let rhs = p.expr_nonblocking(next, indent + name.len() + " <= ".len(), indent);
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
                let mem_name = &m.memories[mem.0 as usize].name;
                p.set_ctx(&format!("{mem_name}_we"));
                let en = p.expr_at(enable, false, "    if (".len(), 4, ") begin".len());
                p.set_ctx(&format!("{mem_name}_waddr"));
                let a = p.expr(addr, false);
                p.set_ctx(&format!("{mem_name}_wdata"));
                let col = 8 + mem_name.len() + a.len() + "[] <= ".len();
                let d = p.expr_at(data, true, col, 8, 1);
                let _ = writeln!(
                    body,
                    "always @(posedge {}) begin",
                    m.signals[clk.index()].name
                );
                procs::guarded(
                    &en,
                    &[format!("{mem_name}[{a}] <= {d};")],
                    "    ",
                    &mut body,
                );
                body.push_str("end\n");
            }
            Item::MemRead {
                mem,
                clk,
                enable,
                addr,
                target,
            } => {
                let mem_name = &m.memories[mem.0 as usize].name;
                p.set_ctx(&format!("{mem_name}_re"));
                let en = p.expr_at(enable, false, "    if (".len(), 4, ") begin".len());
                p.set_ctx(&format!("{mem_name}_raddr"));
                let a = p.expr(addr, false);
                let _ = writeln!(
                    body,
                    "always @(posedge {}) begin",
                    m.signals[clk.index()].name
                );
                let read = format!("{} <= {mem_name}[{a}];", m.signals[target.index()].name);
                procs::guarded(&en, &[read], "    ", &mut body);
                body.push_str("end\n");
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
                            let text = p.connection(name, port, e);
                            let _ = writeln!(body, "    .{port}({text}){comma}");
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
        let sets: Vec<String> = regs
            .iter()
            .map(|(name, rhs, _)| format!("{name} <= {rhs};"))
            .collect();
        match en {
            Some(e) => procs::guarded(e, &sets, "    ", &mut body),
            None => {
                for s in &sets {
                    let _ = writeln!(body, "    {s}");
                }
            }
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
            let resets: Vec<String> = regs
                .iter()
                .filter_map(|(name, _, r)| match r {
                    Some((rn, v)) if rn == rst => Some(format!("{name} <= {v};")),
                    _ => None,
                })
                .collect();
            procs::guarded(rst, &resets, "    ", &mut body);
        }
        body.push_str("end\n");
    }
    procs::domain_blocks(&mut p, &domain_procs, &mut body);

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
        if let Some(rhs) = &defined[i] {
            let _ = write!(out, " = {rhs};");
            // A comment that does not fit after the definition goes above it.
            let fits = !rhs.contains('\n')
                && (out.len() - start).max(44) + 4 + s.comment.len() <= LINE_WIDTH;
            if !s.comment.is_empty() && !fits {
                out.insert_str(start, &format!("// {}\n", s.comment));
                out.push('\n');
                if s.unused_reason.is_some() {
                    out.push_str("/* verilator lint_on UNUSED */\n");
                }
                continue;
            }
        } else {
            out.push(';');
        }
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
        if let Some(words) = &mem.init {
            out.push_str("initial begin\n");
            let digits = mem.width.div_ceil(4) as usize;
            for (a, w) in words.iter().enumerate() {
                let _ = writeln!(out, "    {}[{a}] = {}'h{w:0digits$x};", mem.name, mem.width);
            }
            out.push_str("end\n");
        }
    }
    if !p.temps.is_empty() {
        any = true;
        out.push_str(
            "\n// Sub-expressions held at their exact width: Verilog selects bits of names only,\n\
             // and sizes an unnamed expression by its context.\n",
        );
        for t in p.temps.iter().filter(|t| t.whole) {
            let _ = writeln!(out, "wire {}{};", decl_ty(t.ty), t.name);
        }
        if p.temps.iter().any(|t| !t.whole) {
            out.push_str("// Only partly selected:\n/* verilator lint_off UNUSED */\n");
            for t in p.temps.iter().filter(|t| !t.whole) {
                let _ = writeln!(out, "wire {}{};", decl_ty(t.ty), t.name);
            }
            out.push_str("/* verilator lint_on UNUSED */\n");
        }
        for t in &p.temps {
            let text = Printer::render(&t.doc, "assign  = ".len() + t.name.len(), 0, 1);
            let _ = writeln!(out, "assign {} = {text};", t.name);
        }
    }
    if any {
        out.push('\n');
    }
    out.push_str(&body);
    out.push_str("\nendmodule\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The printed module `m` (alone in its design).
    fn printed(m: Module) -> String {
        let mut d = Design::new(m.name.clone());
        d.add(m);
        print(&d).unwrap_or_else(|e| panic!("{e}"))
    }

    fn has_line(v: &str, line: &str) -> bool {
        v.lines().any(|l| l == line)
    }

    /// Outputs `y0, y1, ...` of type `ty` assigned from `exprs`.
    fn outputs(m: &mut Module, ty: Ty, exprs: Vec<Expr>) {
        for (i, e) in exprs.into_iter().enumerate() {
            let y = m.output(&format!("y{i}"), ty, None, "");
            m.assign(y, e);
        }
    }

    #[test]
    fn parentheses_only_where_precedence_or_mixed_bitwise_operators_need_them() {
        let mut m = Module::new("prec");
        let a = m.input("a", Ty::u(8), None, "");
        let b = m.input("b", Ty::u(8), None, "");
        let c = m.input("c", Ty::u(8), None, "");
        let s = m.input("s", Ty::bit(), None, "");
        let t = m.input("t", Ty::bit(), None, "");
        let (a, b, c) = (Expr::from(a), Expr::from(b), Expr::from(c));
        let cases = vec![
            (a.clone() - (b.clone() - c.clone()), "a - (b - c)"),
            ((a.clone() - b.clone()) - c.clone(), "a - b - c"),
            (a.clone() + (b.clone() - c.clone()), "a + b - c"),
            (a.clone() * (b.clone() + c.clone()), "a * (b + c)"),
            (a.clone() * b.clone() + c.clone(), "a * b + c"),
            ((a.clone() & b.clone()) | c.clone(), "(a & b) | c"),
            (a.clone() & (b.clone() & c.clone()), "a & b & c"),
            ((a.clone() + b.clone()) & c.clone(), "(a + b) & c"),
            (
                (a.clone() + b.clone()) << Expr::uconst(2, 2),
                "(a + b) << 2",
            ),
            (a.clone() >> (b.clone() + c.clone()), "a >> (b + c)"),
            (a.clone() - -b.clone(), "a - -b"),
            (-(-a.clone()), "-(-a)"),
            (!(-a.clone()), "~(-a)"),
            (
                Expr::mux(
                    s,
                    Expr::mux(t, a.clone(), b.clone()),
                    Expr::mux(t, b.clone(), c.clone()),
                ),
                "s ? (t ? a : b) : t ? b : c",
            ),
        ];
        let (exprs, want): (Vec<Expr>, Vec<&str>) = cases.into_iter().unzip();
        outputs(&mut m, Ty::u(8), exprs);
        let bits = vec![
            (a.clone() + b.clone()).cmp_eq(c.clone()),
            a.clone().cmp_eq(b.clone()) & Expr::from(s),
            !(a.clone().reduce_or()),
            Expr::mux(a.clone().cmp_lt(b.clone()), s, t),
        ];
        let want_bits = ["a + b == c", "(a == b) & s", "~(|a)", "a < b ? s : t"];
        for (i, e) in bits.into_iter().enumerate() {
            let y = m.output(&format!("z{i}"), Ty::bit(), None, "");
            m.assign(y, e);
        }
        let v = printed(m);
        for (i, w) in want.iter().enumerate() {
            assert!(
                has_line(&v, &format!("assign y{i} = {w};")),
                "y{i} = {w}:\n{v}"
            );
        }
        for (i, w) in want_bits.iter().enumerate() {
            assert!(
                has_line(&v, &format!("assign z{i} = {w};")),
                "z{i} = {w}:\n{v}"
            );
        }
    }

    #[test]
    fn temporaries_are_named_after_their_use_declared_once_and_never_clash() {
        let mut m = Module::new("temps");
        let clk = m.input("clk", Ty::bit(), None, "");
        let a = m.input("a", Ty::u(8), None, "");
        let b = m.input("b", Ty::u(8), None, "");
        let lo = m.output("lo", Ty::u(4), None, "");
        let hi = m.output("hi", Ty::u(4), None, "");
        // A signal already holds the name the first temporary of `y` would take.
        let y = m.output("y", Ty::u(2), None, "");
        let taken = m.wire_of("y_diff", Expr::from(a) ^ b, "");
        m.allow_unused(taken, "only its low bits matter here");
        let r = m.reg("acc_reg", Ty::u(3), "");
        m.allow_unused(r, "only its next value matters here");
        let sum = Expr::from(a) + b;
        m.assign(lo, sum.clone().slice(0, 4));
        m.assign(hi, sum.clone().slice(4, 4));
        m.assign(
            y,
            (Expr::from(a) - b).slice(3, 1).resize(2) ^ Expr::from(taken).slice(0, 2),
        );
        m.clocked(r, clk, (Expr::from(a) * b).slice(2, 3), None, None);
        let v = printed(m);
        let temp_assigns: Vec<&str> = v
            .lines()
            .filter(|l| l.starts_with("assign") && l.contains("_sum =") || l.contains("_diff_2 ="))
            .collect();
        assert_eq!(
            temp_assigns,
            ["assign lo_sum = a + b;", "assign y_diff_2 = a - b;"],
            "{v}"
        );
        assert!(has_line(&v, "assign hi = lo_sum[7:4];"), "{v}");
        assert!(has_line(&v, "assign acc_next_prod = a * b;"), "{v}");
        assert!(has_line(&v, "    acc_reg <= acc_next_prod[4:2];"), "{v}");
        // Only partly read: declared inside the lint waiver.
        let waiver = v.find("lint_off UNUSED").expect("waiver");
        assert!(
            v.find("wire [7:0] lo_sum;").is_some_and(|p| p > waiver),
            "{v}"
        );
    }

    #[test]
    fn connections_take_selects_and_concatenations_directly_and_name_the_rest() {
        let mut child = Module::new("child");
        let i0 = child.input("i0", Ty::s(4), None, "");
        let i1 = child.input("i1", Ty::u(3), None, "");
        let i2 = child.input("i2", Ty::u(8), None, "");
        let i3 = child.input("i3", Ty::u(8), None, "");
        let o = child.output("o", Ty::u(8), None, "");
        child.assign(
            o,
            Expr::concat(vec![i0.into(), i1.into(), Expr::bit(false)]) ^ i2 ^ i3,
        );
        let mut top = Module::new("top");
        let a = top.input("a", Ty::u(8), None, "");
        let b = top.input("b", Ty::u(8), None, "");
        let y = top.output("y", Ty::u(8), None, "");
        let sum = Expr::from(a) + b;
        top.instance(
            "child",
            "u",
            vec![
                ("i0".into(), Conn::In(Expr::from(a).slice(4, 4).as_signed())),
                (
                    "i1".into(),
                    Conn::In(Expr::concat(vec![
                        Expr::from(b).bit_at(0),
                        Expr::uconst(2, 1),
                    ])),
                ),
                ("i2".into(), Conn::In(sum.clone())),
                ("i3".into(), Conn::In(sum)),
                ("o".into(), Conn::Out(y)),
            ],
        );
        let mut d = Design::new("top");
        d.add(top);
        d.add(child);
        let v = print(&d).unwrap_or_else(|e| panic!("{e}"));
        for line in [
            "    .i0(a[7:4]),",
            "    .i1({2'd1, b[0]}),",
            "    .i2(u_i2),",
            "    .i3(u_i2),",
        ] {
            assert!(has_line(&v, line), "{line}:\n{v}");
        }
        assert!(has_line(&v, "assign u_i2 = a + b;"), "{v}");
        assert_eq!(v.matches("assign u_i").count(), 1, "{v}");
    }

    #[test]
    fn long_expressions_wrap_before_operators() {
        let mut m = Module::new("wrap");
        let names: Vec<SignalId> = (0..12)
            .map(|i| m.input(&format!("request_from_client_{i}"), Ty::bit(), None, ""))
            .collect();
        let y = m.output("any_request", Ty::bit(), None, "");
        let terms = names.iter().map(|s| Expr::from(*s)).collect();
        m.assign(y, Expr::or_all(terms, Ty::bit()));
        let sel = m.output("picked", Ty::u(4), None, "");
        let mut e = Expr::uconst(4, 15);
        for (i, s) in names.iter().enumerate().rev() {
            e = Expr::mux(*s, Expr::uconst(4, i as u128), e);
        }
        m.assign(sel, e);
        let v = printed(m);
        assert!(v.lines().all(|l| l.len() <= LINE_WIDTH), "{v}");
        let or_lines: Vec<&str> = v
            .lines()
            .skip_while(|l| !l.starts_with("assign any_request = "))
            .take(12)
            .collect();
        assert_eq!(or_lines[0], "assign any_request = request_from_client_0");
        for (i, l) in or_lines.iter().enumerate().skip(1) {
            let end = if i == 11 { ";" } else { "" };
            assert_eq!(*l, format!("    | request_from_client_{i}{end}"), "{v}");
        }
        assert!(
            has_line(&v, "assign picked = request_from_client_0 ? 4'd0"),
            "{v}"
        );
        assert!(has_line(&v, "    : request_from_client_1 ? 4'd1"), "{v}");
        assert!(has_line(&v, "    : 4'd15;"), "{v}");
    }
}
