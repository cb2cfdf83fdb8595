//! Static checks run on a [`Design`] before it is printed.
//!
//! A design that passes is one the printer can turn into Verilog whose meaning is
//! exactly the IR's: every name is a legal, unique Verilog identifier; every
//! expression is well typed; every wire, output and register has exactly one
//! driver and every input none; instances connect every port once with the
//! port's exact type; there is no combinational loop, across instance boundaries
//! included; and every signal is read in full unless a reason says why not (the
//! same rule Verilator's `-Wall` enforces, caught here with a better message).
//! Extern modules (vendor primitives) are checked by their declared ports and
//! parameters and are taken to have no combinational path through them.

use std::collections::HashMap as StdHashMap;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::fmt;

use crate::ir::{
    visit_reads, Conn, Design, Expr, ExternModule, Item, Module, ParamValue, PortDir, ProcKind,
    Process, SignalId, SignalKind, Stmt, Ty,
};

/// One broken rule, naming the module and the offending object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckError {
    pub module: String,
    pub message: String,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "module `{}`: {}", self.module, self.message)
    }
}

/// All rule violations found in a design.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckErrors(pub Vec<CheckError>);

impl fmt::Display for CheckErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "design check failed with {} error(s)", self.0.len())?;
        for e in self.0.iter().take(20) {
            write!(f, "\n  {e}")?;
        }
        if self.0.len() > 20 {
            write!(f, "\n  ... and {} more", self.0.len() - 20)?;
        }
        Ok(())
    }
}

impl std::error::Error for CheckErrors {}

/// Verilog-2005 and SystemVerilog keywords, sorted for binary search.
const KEYWORDS: &[&str] = &[
    "always",
    "and",
    "assign",
    "automatic",
    "begin",
    "bit",
    "buf",
    "byte",
    "case",
    "casex",
    "casez",
    "cell",
    "cmos",
    "config",
    "deassign",
    "default",
    "defparam",
    "design",
    "disable",
    "edge",
    "else",
    "end",
    "endcase",
    "endconfig",
    "endfunction",
    "endgenerate",
    "endmodule",
    "endprimitive",
    "endspecify",
    "endtable",
    "endtask",
    "event",
    "for",
    "force",
    "forever",
    "fork",
    "function",
    "generate",
    "genvar",
    "if",
    "incdir",
    "include",
    "initial",
    "inout",
    "input",
    "instance",
    "int",
    "integer",
    "join",
    "large",
    "liblist",
    "library",
    "localparam",
    "logic",
    "longint",
    "macromodule",
    "medium",
    "module",
    "nand",
    "negedge",
    "nmos",
    "nor",
    "not",
    "or",
    "output",
    "parameter",
    "pmos",
    "posedge",
    "primitive",
    "pull0",
    "pull1",
    "pulldown",
    "pullup",
    "rcmos",
    "real",
    "realtime",
    "reg",
    "release",
    "repeat",
    "rnmos",
    "rpmos",
    "rtran",
    "rtranif0",
    "rtranif1",
    "scalared",
    "shortint",
    "signed",
    "small",
    "specify",
    "specparam",
    "strong0",
    "strong1",
    "supply0",
    "supply1",
    "table",
    "task",
    "time",
    "tran",
    "tranif0",
    "tranif1",
    "tri",
    "tri0",
    "tri1",
    "triand",
    "trior",
    "trireg",
    "unsigned",
    "use",
    "vectored",
    "wait",
    "wand",
    "weak0",
    "weak1",
    "while",
    "wire",
    "wor",
    "xnor",
    "xor",
];

/// Is `name` a plain Verilog identifier that is not a keyword (Verilog or SystemVerilog)?
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let ok_first = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_');
    ok_first
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && KEYWORDS.binary_search(&name).is_err()
}

/// For each module, which inputs reach each output combinationally (by port name).
type CombDeps = StdHashMap<String, StdHashMap<String, Vec<String>>>;

/// Check a whole design; returns every violation found.
pub fn check(design: &Design) -> Result<(), CheckErrors> {
    let mut errs = Vec::new();
    let mut err = |module: &str, message: String| {
        errs.push(CheckError {
            module: module.to_string(),
            message,
        })
    };

    let mut by_name: HashMap<&str, &Module> = HashMap::default();
    for m in &design.modules {
        if !is_identifier(&m.name) {
            err(
                &m.name,
                format!("module name `{}` is not a legal Verilog identifier", m.name),
            );
        }
        if by_name.insert(m.name.as_str(), m).is_some() {
            err(&m.name, "module defined twice".into());
        }
    }
    let mut externs: HashMap<&str, &ExternModule> = HashMap::default();
    for e in &design.externs {
        for message in check_extern(e) {
            err(&e.name, message);
        }
        if by_name.contains_key(e.name.as_str()) || externs.insert(e.name.as_str(), e).is_some() {
            err(
                &e.name,
                "extern module name clashes with another module or extern".into(),
            );
        }
    }
    if !by_name.contains_key(design.top.as_str()) {
        err(
            &design.top,
            "top module is not defined in the design".into(),
        );
    }

    let order = match instantiation_order(design, &by_name) {
        Ok(o) => o,
        Err(e) => {
            err(&design.top, e);
            return Err(CheckErrors(errs));
        }
    };

    let mut deps: CombDeps = StdHashMap::new();
    for name in order {
        let Some(m) = by_name.get(name.as_str()) else {
            continue;
        };
        let mut local = Vec::new();
        let d = check_module(m, &by_name, &externs, &deps, &mut local);
        for message in local {
            err(&m.name, message);
        }
        deps.insert(m.name.clone(), d);
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(CheckErrors(errs))
    }
}

/// Modules in an order where every module comes after the modules it instantiates.
fn instantiation_order(
    design: &Design,
    by_name: &HashMap<&str, &Module>,
) -> Result<Vec<String>, String> {
    let mut order = Vec::new();
    let mut state: HashMap<&str, u8> = HashMap::default(); // 1 = in progress, 2 = done
    for root in &design.modules {
        // Iterative DFS: (module, index of the next item to look at).
        let mut stack: Vec<(&str, usize)> = vec![(root.name.as_str(), 0)];
        while let Some((name, idx)) = stack.pop() {
            if idx == 0 {
                match state.get(name) {
                    Some(2) => continue,
                    Some(1) => return Err(format!("module `{name}` instantiates itself")),
                    _ => {}
                }
                state.insert(name, 1);
            }
            let Some(m) = by_name.get(name) else { continue };
            let mut next_child = None;
            let mut i = idx;
            while i < m.items.len() {
                if let Item::Instance { module, .. } = &m.items[i] {
                    if by_name.contains_key(module.as_str())
                        && state.get(module.as_str()) != Some(&2)
                    {
                        next_child = Some((i, module.as_str()));
                        break;
                    }
                }
                i += 1;
            }
            match next_child {
                Some((i, child)) => {
                    if state.get(child) == Some(&1) {
                        return Err(format!("module `{child}` instantiates itself"));
                    }
                    stack.push((name, i + 1));
                    stack.push((child, 0));
                }
                None => {
                    state.insert(name, 2);
                    order.push(name.to_string());
                }
            }
        }
    }
    Ok(order)
}

/// One port of a child module or extern, as an instance sees it.
struct PortRef<'m> {
    name: &'m str,
    ty: Ty,
    kind: SignalKind,
}

/// A child module's ports, looked up once per module rather than per instance.
struct PortTable<'m> {
    ports: Vec<PortRef<'m>>,
    index: HashMap<&'m str, usize>,
    /// For each port (outputs only), the indices of inputs reaching it combinationally.
    comb_inputs: Vec<Vec<usize>>,
}

impl<'m> PortTable<'m> {
    fn new(child: &'m Module, deps: Option<&StdHashMap<String, Vec<String>>>) -> Self {
        let ports: Vec<PortRef<'m>> = child
            .ports()
            .map(|(_, s)| PortRef {
                name: s.name.as_str(),
                ty: s.ty,
                kind: s.kind,
            })
            .collect();
        let index: HashMap<&str, usize> =
            ports.iter().enumerate().map(|(i, s)| (s.name, i)).collect();
        let comb_inputs = ports
            .iter()
            .map(|p| {
                deps.and_then(|d| d.get(p.name))
                    .map(|ins| {
                        ins.iter()
                            .filter_map(|n| index.get(n.as_str()).copied())
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect();
        PortTable {
            ports,
            index,
            comb_inputs,
        }
    }

    /// An extern's ports: no combinational path from any input to any output.
    fn from_extern(e: &'m ExternModule) -> Self {
        let ports: Vec<PortRef<'m>> = e
            .ports
            .iter()
            .map(|p| PortRef {
                name: p.name.as_str(),
                ty: p.ty,
                kind: match p.dir {
                    PortDir::Input => SignalKind::Input,
                    PortDir::Output => SignalKind::Output,
                },
            })
            .collect();
        let index = ports.iter().enumerate().map(|(i, p)| (p.name, i)).collect();
        let comb_inputs = vec![Vec::new(); ports.len()];
        PortTable {
            ports,
            index,
            comb_inputs,
        }
    }
}

/// The rules of an extern declaration: legal, unique names and non-zero widths.
fn check_extern(e: &ExternModule) -> Vec<String> {
    let mut errs = Vec::new();
    if !is_identifier(&e.name) {
        errs.push(format!(
            "extern module name `{}` is not a legal Verilog identifier",
            e.name
        ));
    }
    let mut names: HashSet<&str> = HashSet::default();
    for p in &e.ports {
        if !is_identifier(&p.name) || !names.insert(&p.name) {
            errs.push(format!(
                "extern port name `{}` is illegal or declared twice",
                p.name
            ));
        }
        if p.ty.width == 0 {
            errs.push(format!("extern port `{}` has width 0", p.name));
        }
    }
    let mut params: HashSet<&str> = HashSet::default();
    for p in &e.params {
        if !is_identifier(p) || !params.insert(p) {
            errs.push(format!(
                "extern parameter name `{p}` is illegal or declared twice"
            ));
        }
    }
    errs
}

/// The rules of an extern instance's attributes: identifier names, each once,
/// values printable inside double quotes.
pub(crate) fn check_attrs(name: &str, attrs: &[(String, String)]) -> Vec<String> {
    let mut errs = Vec::new();
    let mut seen: HashSet<&str> = HashSet::default();
    for (a, v) in attrs {
        if !is_identifier(a) || !seen.insert(a) {
            errs.push(format!(
                "instance `{name}` attribute `{a}` is illegal or set twice"
            ));
        }
        if v.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
            errs.push(format!(
                "instance `{name}` attribute `{a}`: value {v:?} holds a quote, backslash or control character"
            ));
        }
    }
    errs
}

/// The rules of the parameters set on an instance of `e`.
pub(crate) fn check_params(
    name: &str,
    e: &ExternModule,
    params: &[(String, ParamValue)],
) -> Vec<String> {
    let mut errs = Vec::new();
    let mut seen: HashSet<&str> = HashSet::default();
    for (p, v) in params {
        if !e.params.iter().any(|q| q == p) {
            errs.push(format!(
                "instance `{name}` sets parameter `{p}`, which `{}` does not declare",
                e.name
            ));
        }
        if !seen.insert(p) {
            errs.push(format!("instance `{name}` sets parameter `{p}` twice"));
        }
        match v {
            ParamValue::Bits(c) => {
                if c.ty.width == 0 || (c.ty.width < 128 && c.bits >> c.ty.width != 0) {
                    errs.push(format!(
                        "instance `{name}` parameter `{p}`: constant {:#x} does not fit in {} bits",
                        c.bits, c.ty.width
                    ));
                }
            }
            ParamValue::Int(_) => {}
            ParamValue::Str(text) => {
                if text
                    .chars()
                    .any(|c| c == '"' || c == '\\' || c.is_control())
                {
                    errs.push(format!(
                        "instance `{name}` parameter `{p}`: string {text:?} holds a quote, backslash or control character"
                    ));
                }
            }
        }
    }
    errs
}

struct Usage {
    full: Vec<bool>,
    partial: Vec<Vec<(u32, u32)>>,
}

impl Usage {
    fn read(&mut self, s: SignalId, range: Option<(u32, u32)>) {
        let i = s.index();
        if i >= self.full.len() {
            return;
        }
        match range {
            None => self.full[i] = true,
            Some(r) if !self.full[i] => self.partial[i].push(r),
            Some(_) => {}
        }
    }
    fn read_expr(&mut self, e: &Expr) {
        visit_reads(e, &mut |s, r| self.read(s, r));
    }
    /// Bits never read, as (lo, hi) inclusive ranges.
    fn unread(&mut self, i: usize, width: u32) -> Vec<(u32, u32)> {
        if self.full[i] {
            return Vec::new();
        }
        let ranges = &mut self.partial[i];
        ranges.sort_unstable();
        let mut gaps = Vec::new();
        let mut next = 0u32;
        for &(lo, w) in ranges.iter() {
            if lo > next {
                gaps.push((next, lo - 1));
            }
            next = next.max(lo + w);
        }
        if next < width {
            gaps.push((next, width - 1));
        }
        gaps
    }
}

fn check_module(
    m: &Module,
    by_name: &HashMap<&str, &Module>,
    externs: &HashMap<&str, &ExternModule>,
    deps: &CombDeps,
    errs: &mut Vec<String>,
) -> StdHashMap<String, Vec<String>> {
    let n = m.signals.len();
    let sig_name = |s: SignalId| -> String {
        m.signals
            .get(s.index())
            .map(|x| x.name.clone())
            .unwrap_or_else(|| format!("#{}", s.0))
    };

    // Names.
    let mut names: HashSet<&str> = HashSet::default();
    names.reserve(m.signals.len() + m.items.len() + m.memories.len());
    for s in &m.signals {
        if !is_identifier(&s.name) {
            errs.push(format!(
                "signal name `{}` is not a legal Verilog identifier",
                s.name
            ));
        }
        if s.ty.width == 0 {
            errs.push(format!("signal `{}` has width 0", s.name));
        }
        if !names.insert(&s.name) {
            errs.push(format!("signal name `{}` is declared twice", s.name));
        }
    }
    for mem in &m.memories {
        if !is_identifier(&mem.name) || !names.insert(&mem.name) {
            errs.push(format!(
                "memory name `{}` is illegal or clashes with another name",
                mem.name
            ));
        }
        if mem.width == 0 || mem.depth == 0 {
            errs.push(format!("memory `{}` has width or depth 0", mem.name));
        }
    }
    let state_names: Vec<String> = m
        .fsms
        .iter()
        .flat_map(|f| (0..f.states.len()).map(|i| f.param_name(i)))
        .collect();
    for name in &state_names {
        if !is_identifier(name) || !names.insert(name) {
            errs.push(format!(
                "FSM state name `{name}` is illegal or clashes with another name (rule: unique Verilog identifiers)"
            ));
        }
    }
    for item in &m.items {
        if let Item::Instance { name, .. } = item {
            if !is_identifier(name) || !names.insert(name) {
                errs.push(format!(
                    "instance name `{name}` is illegal or clashes with another name"
                ));
            }
        }
    }

    let mut drivers = vec![0u32; n];
    let mut usage = Usage {
        full: vec![false; n],
        partial: vec![Vec::new(); n],
    };
    let mut fwd: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut mem_writes = vec![0u32; m.memories.len()];
    let mut tables: HashMap<&str, PortTable> = HashMap::default();
    let mut mem_reads = vec![0u32; m.memories.len()];

    let ty = |e: &Expr, what: &dyn Fn() -> String, errs: &mut Vec<String>| -> Option<Ty> {
        match m.ty_of(e) {
            Ok(t) => Some(t),
            Err(rule) => {
                errs.push(format!("{}: {rule}", what()));
                None
            }
        }
    };
    let expect_kind =
        |s: SignalId, kinds: &[SignalKind], what: &str, errs: &mut Vec<String>| match m
            .signals
            .get(s.index())
        {
            None => errs.push(format!(
                "{what} refers to signal #{} which does not exist",
                s.0
            )),
            Some(sig) if !kinds.contains(&sig.kind) => errs.push(format!(
                "{what} `{}` is a {:?}, expected one of {kinds:?}",
                sig.name, sig.kind
            )),
            _ => {}
        };
    let expect_bit = |s: SignalId, what: &str, errs: &mut Vec<String>| {
        if let Some(sig) = m.signals.get(s.index()) {
            if sig.ty.width != 1 {
                errs.push(format!(
                    "{what} `{}` must be 1 bit, is {}",
                    sig.name, sig.ty
                ));
            }
        }
    };
    let expect_not_in_domain = |s: SignalId, errs: &mut Vec<String>| {
        if let Some(sig) = m.signals.get(s.index()).filter(|x| x.domain.is_some()) {
            errs.push(format!(
                "register `{}` is declared in a clock domain; drive it from a synchronous process of that domain (rule: one driver per register)",
                sig.name
            ));
        }
    };
    check_domains(m, &mut usage, errs);
    for e in &m.build_errors {
        errs.push(e.clone());
    }
    let add_edges = |e: &Expr, target: SignalId, fwd: &mut Vec<Vec<u32>>| {
        visit_reads(e, &mut |s, _| {
            if s.index() < n {
                fwd[s.index()].push(target.0);
            }
        });
    };

    for item in &m.items {
        match item {
            Item::Assign { target, expr } => {
                expect_kind(
                    *target,
                    &[SignalKind::Wire, SignalKind::Output],
                    "assign target",
                    errs,
                );
                if let Some(d) = drivers.get_mut(target.index()) {
                    *d += 1;
                }
                let what = || format!("assignment to `{}`", sig_name(*target));
                if let (Some(t), Some(sig)) = (ty(expr, &what, errs), m.signals.get(target.index()))
                {
                    if t != sig.ty {
                        errs.push(format!(
                            "assignment to `{}` ({}) from an expression of type {t} (rule: widths and signedness agree)",
                            sig.name, sig.ty
                        ));
                    }
                }
                usage.read_expr(expr);
                add_edges(expr, *target, &mut fwd);
            }
            Item::Clocked {
                target,
                clk,
                next,
                enable,
                reset,
            } => {
                expect_kind(*target, &[SignalKind::Reg], "register target", errs);
                expect_not_in_domain(*target, errs);
                expect_kind(*clk, &[SignalKind::Input], "clock", errs);
                expect_bit(*clk, "clock", errs);
                usage.read(*clk, None);
                if let Some(d) = drivers.get_mut(target.index()) {
                    *d += 1;
                }
                let tname = sig_name(*target);
                let what = || format!("register `{tname}` next value");
                if let (Some(t), Some(sig)) = (ty(next, &what, errs), m.signals.get(target.index()))
                {
                    if t != sig.ty {
                        errs.push(format!(
                            "register `{}` ({}) gets a next value of type {t} (rule: widths and signedness agree)",
                            sig.name, sig.ty
                        ));
                    }
                    if let Some(r) = reset {
                        if r.value.ty != sig.ty {
                            errs.push(format!(
                                "register `{}` ({}) has a reset value of type {}",
                                sig.name, sig.ty, r.value.ty
                            ));
                        }
                    }
                }
                usage.read_expr(next);
                if let Some(en) = enable {
                    let what = || format!("register `{tname}` enable");
                    if let Some(t) = ty(en, &what, errs) {
                        if t.width != 1 {
                            errs.push(format!("register `{tname}` enable must be 1 bit, is {t}"));
                        }
                    }
                    usage.read_expr(en);
                }
                if let Some(r) = reset {
                    expect_bit(r.rst, "reset", errs);
                    usage.read(r.rst, None);
                }
            }
            Item::Process(pr) => {
                check_process(m, pr, &mut drivers, &mut usage, &mut fwd, errs);
            }
            Item::MemWrite {
                mem,
                clk,
                enable,
                addr,
                data,
            } => {
                let Some(mm) = m.memories.get(mem.0 as usize) else {
                    errs.push(format!("write to memory #{} which does not exist", mem.0));
                    continue;
                };
                mem_writes[mem.0 as usize] += 1;
                expect_kind(*clk, &[SignalKind::Input], "clock", errs);
                usage.read(*clk, None);
                check_mem_port(m, mm, enable, addr, errs);
                if let Ok(t) = m.ty_of(data) {
                    if t.width != mm.width {
                        errs.push(format!(
                            "memory `{}` is {} bits wide, written with {t}",
                            mm.name, mm.width
                        ));
                    }
                }
                for e in [enable, addr, data] {
                    usage.read_expr(e);
                }
            }
            Item::MemRead {
                mem,
                clk,
                enable,
                addr,
                target,
            } => {
                let Some(mm) = m.memories.get(mem.0 as usize) else {
                    errs.push(format!("read of memory #{} which does not exist", mem.0));
                    continue;
                };
                mem_reads[mem.0 as usize] += 1;
                expect_kind(*target, &[SignalKind::Reg], "memory read target", errs);
                expect_not_in_domain(*target, errs);
                expect_kind(*clk, &[SignalKind::Input], "clock", errs);
                usage.read(*clk, None);
                if let Some(d) = drivers.get_mut(target.index()) {
                    *d += 1;
                }
                check_mem_port(m, mm, enable, addr, errs);
                if let Some(sig) = m.signals.get(target.index()) {
                    if sig.ty.width != mm.width {
                        errs.push(format!(
                            "memory `{}` is {} bits wide, read into `{}` ({})",
                            mm.name, mm.width, sig.name, sig.ty
                        ));
                    }
                }
                for e in [enable, addr] {
                    usage.read_expr(e);
                }
            }
            Item::Instance {
                module,
                name,
                params,
                attrs,
                conns,
            } => {
                let table = if let Some(child) = by_name.get(module.as_str()) {
                    if !params.is_empty() || !attrs.is_empty() {
                        errs.push(format!(
                            "instance `{name}` sets parameters or attributes, but `{module}` is a module of the design (rule: only extern instances take parameters and attributes)"
                        ));
                    }
                    tables
                        .entry(module.as_str())
                        .or_insert_with(|| PortTable::new(child, deps.get(module.as_str())))
                } else if let Some(ext) = externs.get(module.as_str()) {
                    errs.extend(check_params(name, ext, params));
                    errs.extend(check_attrs(name, attrs));
                    tables
                        .entry(module.as_str())
                        .or_insert_with(|| PortTable::from_extern(ext))
                } else {
                    errs.push(format!("instance `{name}` of undefined module `{module}`"));
                    continue;
                };
                // Which connection feeds each child port.
                let mut by_port: Vec<Option<usize>> = vec![None; table.ports.len()];
                for (ci, (port, _)) in conns.iter().enumerate() {
                    match table.index.get(port.as_str()) {
                        None => errs.push(format!(
                            "instance `{name}` connects `{port}`, which is not a port of `{module}`"
                        )),
                        Some(&pi) if by_port[pi].is_some() => {
                            errs.push(format!("instance `{name}` connects port `{port}` twice"))
                        }
                        Some(&pi) => by_port[pi] = Some(ci),
                    }
                }
                for (pi, p) in table.ports.iter().enumerate() {
                    let Some(ci) = by_port[pi] else {
                        errs.push(format!(
                            "instance `{name}` of `{module}` leaves port `{}` unconnected (rule: connect every port; open outputs need a reason)",
                            p.name
                        ));
                        continue;
                    };
                    match (&conns[ci].1, p.kind) {
                        (Conn::In(e), SignalKind::Input) => {
                            if let Expr::Sig(s) = e {
                                // Fast path for the common case: a plain net.
                                match m.signals.get(s.index()) {
                                    Some(sig) if sig.ty == p.ty => {}
                                    Some(sig) => errs.push(format!(
                                        "instance `{name}` port `{}` is {}, connected to `{}` of type {}",
                                        p.name, p.ty, sig.name, sig.ty
                                    )),
                                    None => errs.push(format!(
                                        "instance `{name}` port `{}` refers to signal #{} which does not exist",
                                        p.name, s.0
                                    )),
                                }
                                usage.read(*s, None);
                                continue;
                            }
                            let what = || format!("instance `{name}` port `{}`", p.name);
                            if let Some(t) = ty(e, &what, errs) {
                                if t != p.ty {
                                    errs.push(format!(
                                        "instance `{name}` port `{}` is {}, connected to an expression of type {t}",
                                        p.name, p.ty
                                    ));
                                }
                            }
                            usage.read_expr(e);
                        }
                        (Conn::Out(s), SignalKind::Output) => {
                            expect_kind(
                                *s,
                                &[SignalKind::Wire, SignalKind::Output],
                                "instance output target",
                                errs,
                            );
                            if let Some(sig) = m.signals.get(s.index()) {
                                if sig.ty != p.ty {
                                    errs.push(format!(
                                        "instance `{name}` port `{}` is {}, drives `{}` of type {}",
                                        p.name, p.ty, sig.name, sig.ty
                                    ));
                                }
                                drivers[s.index()] += 1;
                            }
                            // Combinational paths through the child.
                            for &ii in &table.comb_inputs[pi] {
                                if let Some(ci) = by_port[ii] {
                                    if let Conn::In(e) = &conns[ci].1 {
                                        add_edges(e, *s, &mut fwd);
                                    }
                                }
                            }
                        }
                        (Conn::Open(reason), SignalKind::Output) => {
                            if reason.trim().is_empty() {
                                errs.push(format!(
                                    "instance `{name}` leaves output `{}` open without a reason",
                                    p.name
                                ));
                            }
                        }
                        (_, SignalKind::Input) => errs.push(format!(
                            "instance `{name}` input `{}` must be fed by an expression (rule: no undriven input)",
                            p.name
                        )),
                        _ => errs.push(format!(
                            "instance `{name}` output `{}` must drive a signal or be left open with a reason",
                            p.name
                        )),
                    }
                }
            }
        }
    }

    for (i, s) in m.signals.iter().enumerate() {
        let d = drivers[i];
        match s.kind {
            SignalKind::Input if d > 0 => {
                errs.push(format!("input `{}` is driven inside the module", s.name))
            }
            SignalKind::Input => {}
            _ if d == 0 => errs.push(format!(
                "`{}` has no driver (rule: every signal driven exactly once)",
                s.name
            )),
            _ if d > 1 => errs.push(format!(
                "`{}` has {d} drivers (rule: every signal driven exactly once)",
                s.name
            )),
            _ => {}
        }
        if s.kind != SignalKind::Output && s.unused_reason.is_none() {
            let gaps = usage.unread(i, s.ty.width);
            if !gaps.is_empty() {
                let bits: Vec<String> = gaps
                    .iter()
                    .map(|(lo, hi)| {
                        if lo == hi {
                            format!("[{lo}]")
                        } else {
                            format!("[{hi}:{lo}]")
                        }
                    })
                    .collect();
                errs.push(format!(
                    "`{}` bits {} are never read (rule: no dangling signal without a stated reason)",
                    s.name,
                    bits.join(", ")
                ));
            }
        }
    }
    for (i, mm) in m.memories.iter().enumerate() {
        match &mm.init {
            None if mem_writes[i] == 0 || mem_reads[i] == 0 => errs.push(format!(
                "memory `{}` needs at least one write and one read port",
                mm.name
            )),
            None => {}
            Some(words) => {
                if mem_reads[i] == 0 {
                    errs.push(format!("ROM `{}` needs a read port", mm.name));
                }
                if words.is_empty() || mm.width == 0 || mm.width > 128 {
                    errs.push(format!(
                        "ROM `{}`: needs 1.. words of 1..=128 bits, has {} of {}",
                        mm.name,
                        words.len(),
                        mm.width
                    ));
                } else if let Some((a, w)) = words
                    .iter()
                    .enumerate()
                    .find(|(_, &w)| mm.width < 128 && w >> mm.width != 0)
                {
                    errs.push(format!(
                        "ROM `{}`: word {a} ({w:#x}) does not fit {} bits",
                        mm.name, mm.width
                    ));
                }
            }
        }
    }

    if let Some(cycle) = find_cycle(&fwd) {
        let names: Vec<String> = cycle.iter().map(|&i| sig_name(SignalId(i))).collect();
        errs.push(format!("combinational loop: {}", names.join(" -> ")));
        return StdHashMap::new();
    }

    // Which inputs reach each output combinationally.
    let mut rev: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (s, targets) in fwd.iter().enumerate() {
        for &t in targets {
            rev[t as usize].push(s as u32);
        }
    }
    let mut out = StdHashMap::new();
    let mut mark = vec![0u32; n];
    let mut stamp = 0u32;
    for (oid, o) in m.ports() {
        if o.kind != SignalKind::Output {
            continue;
        }
        stamp += 1;
        let mut ins = Vec::new();
        let mut stack = vec![oid.0];
        mark[oid.index()] = stamp;
        while let Some(v) = stack.pop() {
            let sig = &m.signals[v as usize];
            if sig.kind == SignalKind::Input {
                ins.push(sig.name.clone());
            }
            for &u in &rev[v as usize] {
                if mark[u as usize] != stamp {
                    mark[u as usize] = stamp;
                    stack.push(u);
                }
            }
        }
        ins.sort();
        out.insert(o.name.clone(), ins);
    }
    out
}

fn check_mem_port(
    m: &Module,
    mm: &crate::ir::Memory,
    enable: &Expr,
    addr: &Expr,
    errs: &mut Vec<String>,
) {
    match m.ty_of(enable) {
        Ok(t) if t.width == 1 => {}
        Ok(t) => errs.push(format!(
            "memory `{}` port enable must be 1 bit, is {t}",
            mm.name
        )),
        Err(e) => errs.push(format!("memory `{}` port enable: {e}", mm.name)),
    }
    let need = crate::util::clog2(mm.depth as u64).max(1);
    match m.ty_of(addr) {
        Ok(t) if !t.signed && t.width == need => {}
        Ok(t) => errs.push(format!(
            "memory `{}` of depth {} needs an unsigned {need}-bit address, got {t}",
            mm.name, mm.depth
        )),
        Err(e) => errs.push(format!("memory `{}` address: {e}", mm.name)),
    }
}

/// A cycle in the graph, if any (iterative DFS; designs have up to millions of nets).
fn find_cycle(fwd: &[Vec<u32>]) -> Option<Vec<u32>> {
    let n = fwd.len();
    let mut color = vec![0u8; n]; // 0 white, 1 on stack, 2 done
    let mut parent = vec![u32::MAX; n];
    for root in 0..n {
        if color[root] != 0 || fwd[root].is_empty() {
            continue;
        }
        let mut stack: Vec<(u32, usize)> = vec![(root as u32, 0)];
        color[root] = 1;
        while let Some(&mut (v, ref mut i)) = stack.last_mut() {
            let edges = &fwd[v as usize];
            if *i < edges.len() {
                let u = edges[*i];
                *i += 1;
                match color[u as usize] {
                    0 => {
                        color[u as usize] = 1;
                        parent[u as usize] = v;
                        stack.push((u, 0));
                    }
                    1 => {
                        let mut cycle = vec![u];
                        let mut w = v;
                        while w != u && w != u32::MAX {
                            cycle.push(w);
                            w = parent[w as usize];
                        }
                        cycle.push(u);
                        cycle.reverse();
                        return Some(cycle);
                    }
                    _ => {}
                }
            } else {
                color[v as usize] = 2;
                stack.pop();
            }
        }
    }
    None
}

/// The rules of clock domains and the registers declared in them.
fn check_domains(m: &Module, usage: &mut Usage, errs: &mut Vec<String>) {
    let name = |s: SignalId| m.signals.get(s.index()).map(|x| x.name.as_str());
    for d in &m.domains {
        match m.signals.get(d.clk.index()) {
            Some(c) if c.kind == SignalKind::Input && c.ty.width == 1 => {}
            _ => errs.push(format!(
                "domain `{}`: clock `{}` must be a 1-bit input",
                d.name,
                name(d.clk).unwrap_or("?")
            )),
        }
        if let Some(r) = d.rst {
            match m.signals.get(r.index()) {
                Some(s) if s.ty.width == 1 => {}
                _ => errs.push(format!(
                    "domain `{}`: reset `{}` must be 1 bit",
                    d.name,
                    name(r).unwrap_or("?")
                )),
            }
        }
    }
    for s in &m.signals {
        let Some(d) = s.domain else { continue };
        let Some(dom) = m.domains.get(d.0 as usize) else {
            errs.push(format!(
                "register `{}` is declared in domain #{} which does not exist",
                s.name, d.0
            ));
            continue;
        };
        let Some(value) = s.reset else { continue };
        if value.ty != s.ty || (value.ty.width < 128 && value.bits >> value.ty.width != 0) {
            errs.push(format!(
                "register `{}` ({}) has reset value {:#x}, which is not a {} pattern",
                s.name, s.ty, value.bits, s.ty
            ));
        }
        match dom.rst {
            Some(r) => usage.read(r, None),
            None => errs.push(format!(
                "register `{}` has a reset value but domain `{}` has no reset (rule: resets come from the domain)",
                s.name, dom.name
            )),
        }
    }
}

/// The rules of one process: targets of the right kind and domain, one driver
/// each, well-typed statements, combinational edges, and no latch.
fn check_process(
    m: &Module,
    pr: &Process,
    drivers: &mut [u32],
    usage: &mut Usage,
    fwd: &mut [Vec<u32>],
    errs: &mut Vec<String>,
) {
    let targets = Stmt::targets(&pr.body);
    let sig_name = |s: SignalId| {
        m.signals
            .get(s.index())
            .map_or_else(|| format!("#{}", s.0), |x| x.name.clone())
    };
    let first = targets
        .first()
        .map_or_else(|| "nothing".to_string(), |&t| sig_name(t));
    let what = match pr.kind {
        ProcKind::Sync(d) => match m.domains.get(d.0 as usize) {
            Some(dom) => {
                usage.read(dom.clk, None);
                format!("synchronous process of domain `{}`", dom.name)
            }
            None => {
                errs.push(format!(
                    "process driving `{first}` is in domain #{} which does not exist",
                    d.0
                ));
                return;
            }
        },
        ProcKind::Comb => "combinational process".to_string(),
    };
    for &t in &targets {
        if let Some(d) = drivers.get_mut(t.index()) {
            *d += 1;
        }
        if !m.proc_target_ok(pr.kind, t) {
            let rule = match pr.kind {
                ProcKind::Sync(_) => {
                    "rule: a synchronous process assigns registers of its own domain"
                }
                ProcKind::Comb => "rule: a combinational process assigns wires and outputs",
            };
            errs.push(format!(
                "`{}` is assigned in a {what} ({rule})",
                sig_name(t)
            ));
        }
    }
    let mut path: Vec<&Expr> = Vec::new();
    check_stmts(
        m,
        &pr.body,
        &what,
        &first,
        &mut path,
        pr.kind == ProcKind::Comb,
        usage,
        fwd,
        errs,
    );
    if pr.kind == ProcKind::Comb {
        let assigned = assigned_on_every_path(m, &pr.body);
        for &t in &targets {
            if !assigned.contains(&t) {
                errs.push(format!(
                    "latch: `{}` is not assigned on every path of its combinational process (rule: no latch; assign a default at the top)",
                    sig_name(t)
                ));
            }
        }
    }
}

/// Types, usage and (combinational processes) loop edges of a statement tree;
/// `path` holds the conditions and selectors the statements sit under.
#[allow(clippy::too_many_arguments)]
fn check_stmts<'a>(
    m: &Module,
    stmts: &'a [Stmt],
    what: &str,
    first: &str,
    path: &mut Vec<&'a Expr>,
    comb: bool,
    usage: &mut Usage,
    fwd: &mut [Vec<u32>],
    errs: &mut Vec<String>,
) {
    let n = fwd.len();
    let edges = |e: &Expr, t: SignalId, fwd: &mut [Vec<u32>]| {
        visit_reads(e, &mut |s, _| {
            if s.index() < n && t.index() < n {
                fwd[s.index()].push(t.0);
            }
        })
    };
    for s in stmts {
        match s {
            Stmt::Set { target, expr } => {
                usage.read_expr(expr);
                let Some(sig) = m.signals.get(target.index()) else {
                    errs.push(format!(
                        "{what} assigns signal #{} which does not exist",
                        target.0
                    ));
                    continue;
                };
                match m.ty_of(expr) {
                    Ok(t) if t == sig.ty => {}
                    Ok(t) => errs.push(format!(
                        "assignment to `{}` ({}) from an expression of type {t} (rule: widths and signedness agree)",
                        sig.name, sig.ty
                    )),
                    Err(rule) => errs.push(format!("assignment to `{}`: {rule}", sig.name)),
                }
                if comb {
                    edges(expr, *target, fwd);
                    for c in path.iter() {
                        edges(c, *target, fwd);
                    }
                }
            }
            Stmt::If { arms, otherwise } => {
                let depth = path.len();
                for (cond, body) in arms {
                    usage.read_expr(cond);
                    match m.ty_of(cond) {
                        Ok(t) if t.width == 1 => {}
                        Ok(t) => errs.push(format!(
                            "`if` condition in the {what} driving `{first}` must be 1 bit, is {t}"
                        )),
                        Err(rule) => errs.push(format!(
                            "`if` condition in the {what} driving `{first}`: {rule}"
                        )),
                    }
                    path.push(cond);
                    check_stmts(m, body, what, first, path, comb, usage, fwd, errs);
                }
                check_stmts(m, otherwise, what, first, path, comb, usage, fwd, errs);
                path.truncate(depth);
            }
            Stmt::Switch {
                sel,
                cases,
                default,
            } => {
                usage.read_expr(sel);
                let ty = match m.ty_of(sel) {
                    Ok(t) => t,
                    Err(rule) => {
                        errs.push(format!(
                            "`case` selector in the {what} driving `{first}`: {rule}"
                        ));
                        continue;
                    }
                };
                let mut seen: Vec<u128> = Vec::new();
                for c in cases {
                    if c.values.is_empty() {
                        errs.push(format!(
                            "`case` arm without values in the {what} driving `{first}`"
                        ));
                    }
                    for &v in &c.values {
                        if ty.width < 128 && v >> ty.width != 0 {
                            errs.push(format!(
                                "case value {v} does not fit the {ty} selector in the {what} driving `{first}` (rule: case values fit the selector)"
                            ));
                        }
                        if seen.contains(&v) {
                            errs.push(format!(
                                "case value {v} appears twice in the {what} driving `{first}`"
                            ));
                        }
                        seen.push(v);
                    }
                }
                path.push(sel);
                for c in cases {
                    check_stmts(m, &c.body, what, first, path, comb, usage, fwd, errs);
                }
                if let Some(d) = default {
                    check_stmts(m, d, what, first, path, comb, usage, fwd, errs);
                }
                path.pop();
            }
        }
    }
}

/// Does a `case` on a selector of `width` bits list every value?
pub(crate) fn switch_is_full(width: u32, cases: &[crate::ir::Case]) -> bool {
    if width >= 16 {
        return false;
    }
    let mut values: Vec<u128> = cases
        .iter()
        .flat_map(|c| c.values.iter().copied())
        .collect();
    values.sort_unstable();
    values.dedup();
    values.len() as u128 == 1u128 << width && values.iter().all(|v| v >> width == 0)
}

/// The signals a statement tree assigns on every path through it.
fn assigned_on_every_path(m: &Module, stmts: &[Stmt]) -> HashSet<SignalId> {
    let mut out: HashSet<SignalId> = HashSet::default();
    for s in stmts {
        match s {
            Stmt::Set { target, .. } => {
                out.insert(*target);
            }
            Stmt::If { arms, otherwise } => {
                let mut all = assigned_on_every_path(m, otherwise);
                for (_, b) in arms {
                    let here = assigned_on_every_path(m, b);
                    all.retain(|s| here.contains(s));
                }
                out.extend(all);
            }
            Stmt::Switch {
                sel,
                cases,
                default,
            } => {
                let width = m.ty_of(sel).map_or(128, |t| t.width);
                let mut all = match default {
                    Some(d) => assigned_on_every_path(m, d),
                    None if switch_is_full(width, cases) && !cases.is_empty() => {
                        assigned_on_every_path(m, &cases[0].body)
                    }
                    None => HashSet::default(),
                };
                for c in cases {
                    let here = assigned_on_every_path(m, &c.body);
                    all.retain(|s| here.contains(s));
                }
                out.extend(all);
            }
        }
    }
    out
}
