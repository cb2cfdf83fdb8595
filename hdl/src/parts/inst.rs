//! The one way to instantiate and wire a submodule: a module of the design or
//! an extern (vendor) primitive.
//!
//! ```ignore
//! m.inst(&child, "u_fifo")
//!     .connect("clk", clk)
//!     .bundle("in", &producer)
//!     .out("count", fill)
//!     .finish()?;
//! m.inst(&pll::ehxplll(), "pll")
//!     .param("CLKOP_DIV", ParamValue::Int(12))
//!     .attr("FREQUENCY_PIN_CLKI", "25")
//!     .connect("CLKI", clk_in)
//!     .out("CLKOP", clk)
//!     .finish()?;
//! ```
//!
//! Every connection is checked against the child's ports when it is made:
//! a port the child lacks, a port connected twice, an input fed from an
//! expression of another type, an output into a signal of another type or into
//! one the parent may not drive, and (at [`Inst::finish`]) a port left
//! unconnected are all errors naming the instance, the port and both types. So
//! a wiring mistake fails at generation with one clear message instead of as a
//! check error far from its cause. An extern's ports are checked the same way
//! against its declaration ([`ExternModule`]); its parameters must be declared
//! and its parameter and attribute values printable (the rules of
//! [`crate::check`]); a module of the design takes neither.

use crate::ir::{
    Conn, Expr, ExternModule, Item, Module, ParamValue, PortDir, SignalId, SignalKind, Ty,
};
use crate::GenError;

use super::bundle::Bundle;

/// One port of an instantiable module, as the builder checks it.
#[derive(Clone, Debug)]
pub struct ChildPort {
    pub name: String,
    pub ty: Ty,
    pub input: bool,
    /// Comment of a wire [`Inst::rest_by_name`] declares for it.
    pub comment: String,
}

/// What can be instantiated: a [`Module`] of the design or an [`ExternModule`].
pub trait Child {
    /// The module name the instance prints.
    fn module_name(&self) -> &str;
    /// Ports in declaration order (the order the instance prints them).
    fn child_ports(&self) -> Vec<ChildPort>;
    /// The extern declaration, whose parameters an instance may set; `None`
    /// for a module of the design (no parameters or attributes).
    fn as_extern(&self) -> Option<&ExternModule> {
        None
    }
}

impl Child for Module {
    fn module_name(&self) -> &str {
        &self.name
    }
    fn child_ports(&self) -> Vec<ChildPort> {
        self.ports()
            .map(|(_, s)| ChildPort {
                name: s.name.clone(),
                ty: s.ty,
                input: s.kind == SignalKind::Input,
                comment: s.comment.clone(),
            })
            .collect()
    }
}

impl Child for ExternModule {
    fn module_name(&self) -> &str {
        &self.name
    }
    fn child_ports(&self) -> Vec<ChildPort> {
        self.ports
            .iter()
            .map(|p| ChildPort {
                name: p.name.clone(),
                ty: p.ty,
                input: p.dir == PortDir::Input,
                comment: String::new(),
            })
            .collect()
    }
    fn as_extern(&self) -> Option<&ExternModule> {
        Some(self)
    }
}

/// An instance under construction; see the module docs.
#[must_use = "an instance is only added by `finish`"]
pub struct Inst<'a> {
    parent: &'a mut Module,
    module: String,
    name: String,
    ports: Vec<ChildPort>,
    /// The extern's declaration; `None` for a module of the design.
    ext: Option<ExternModule>,
    conns: Vec<(String, Conn)>,
    params: Vec<(String, ParamValue)>,
    attrs: Vec<(String, String)>,
    errors: Vec<String>,
}

/// `Module::inst`: start an instance of `child` named `name` in this module.
pub trait Instantiate {
    fn inst<'a>(&'a mut self, child: &impl Child, name: &str) -> Inst<'a>;
}

impl Instantiate for Module {
    fn inst<'a>(&'a mut self, child: &impl Child, name: &str) -> Inst<'a> {
        Inst {
            parent: self,
            module: child.module_name().to_string(),
            name: name.to_string(),
            ports: child.child_ports(),
            ext: child.as_extern().cloned(),
            conns: Vec::new(),
            params: Vec::new(),
            attrs: Vec::new(),
            errors: Vec::new(),
        }
    }
}

impl<'a> Inst<'a> {
    fn port(&mut self, port: &str) -> Option<(Ty, bool)> {
        let Some(&ChildPort { ty, input, .. }) = self.ports.iter().find(|p| p.name == port) else {
            self.errors.push(format!(
                "instance `{}` connects `{port}`, which is not a port of `{}`",
                self.name, self.module
            ));
            return None;
        };
        if self.conns.iter().any(|(p, _)| p == port) {
            self.errors.push(format!(
                "instance `{}` connects port `{port}` twice",
                self.name
            ));
            return None;
        }
        Some((ty, input))
    }

    /// Feed input `port` from `expr`, which must have the port's exact type.
    pub fn connect(mut self, port: &str, expr: impl Into<Expr>) -> Self {
        let expr = expr.into();
        let Some((ty, input)) = self.port(port) else {
            return self;
        };
        if !input {
            self.errors.push(format!(
                "instance `{}` feeds `{port}` from an expression, but it is an output of `{}` (use `out`)",
                self.name, self.module
            ));
            return self;
        }
        match self.parent.ty_of(&expr) {
            Ok(t) if t == ty => self.conns.push((port.to_string(), Conn::In(expr))),
            Ok(t) => self.errors.push(format!(
                "instance `{}` port `{port}` is {ty}, fed from an expression of type {t}",
                self.name
            )),
            Err(e) => self.errors.push(format!(
                "instance `{}` port `{port}` is fed from an ill-typed expression: {e}",
                self.name
            )),
        }
        self
    }

    /// Let output `port` drive `sig` (a wire or output of the parent, same type).
    pub fn out(mut self, port: &str, sig: SignalId) -> Self {
        let Some((ty, input)) = self.port(port) else {
            return self;
        };
        if input {
            self.errors.push(format!(
                "instance `{}` drives a signal from `{port}`, but it is an input of `{}` (use `connect`)",
                self.name, self.module
            ));
            return self;
        }
        let Some(s) = self.parent.signals.get(sig.index()) else {
            self.errors.push(format!(
                "instance `{}` port `{port}` drives signal #{}, which does not exist",
                self.name, sig.0
            ));
            return self;
        };
        if !matches!(s.kind, SignalKind::Wire | SignalKind::Output) {
            self.errors.push(format!(
                "instance `{}` port `{port}` drives `{}`, which is not a wire or output",
                self.name, s.name
            ));
        } else if s.ty != ty {
            self.errors.push(format!(
                "instance `{}` port `{port}` is {ty}, drives `{}` of type {}",
                self.name, s.name, s.ty
            ));
        } else {
            self.conns.push((port.to_string(), Conn::Out(sig)));
        }
        self
    }

    /// Leave output `port` open, for the reason printed beside it.
    pub fn open(mut self, port: &str, reason: &str) -> Self {
        if let Some((_, input)) = self.port(port) {
            if input {
                self.errors.push(format!(
                    "instance `{}` leaves input `{port}` open (rule: only outputs may be open)",
                    self.name
                ));
            } else {
                self.conns
                    .push((port.to_string(), Conn::Open(reason.to_string())));
            }
        }
        self
    }

    /// Connect `sig` to `port` in the port's direction: an input reads it, an
    /// output drives it.
    pub fn wire(self, port: &str, sig: SignalId) -> Self {
        match self.ports.iter().find(|p| p.name == port) {
            Some(p) if !p.input => self.out(port, sig),
            _ => self.connect(port, sig),
        }
    }

    /// Connect the child's ports `<prefix>_<field>` to the fields of `bundle`,
    /// each in the child port's direction (so one bundle of wires joins a
    /// master to a slave).
    pub fn bundle(mut self, prefix: &str, bundle: &impl Bundle) -> Self {
        for (field, sig) in bundle.fields() {
            self = self.wire(&format!("{prefix}_{field}"), sig);
        }
        self
    }

    /// Connections given as a list (from a block's own connection helper).
    pub fn conns(mut self, list: Vec<(String, Conn)>) -> Self {
        for (port, conn) in list {
            self = match conn {
                Conn::In(e) => self.connect(&port, e),
                Conn::Out(s) => self.out(&port, s),
                Conn::Open(why) => self.open(&port, &why),
            };
        }
        self
    }

    /// The extern's declaration, or an error (for `what`) when the child is a
    /// module of the design, which takes no parameters or attributes.
    fn extern_for(&mut self, what: &str) -> bool {
        if self.ext.is_none() {
            self.errors.push(format!(
                "instance `{}` sets {what}, but `{}` is a module of the design (rule: only extern instances take parameters and attributes)",
                self.name, self.module
            ));
        }
        self.ext.is_some()
    }

    /// Set parameter `param` of an extern instance; the extern must declare it.
    /// Parameters print in the order they are set.
    pub fn param(mut self, param: &str, value: ParamValue) -> Self {
        if self.extern_for(&format!("parameter `{param}`")) {
            self.params.push((param.to_string(), value));
        }
        self
    }

    /// Set each parameter of `list`, in order.
    pub fn params(mut self, list: Vec<(String, ParamValue)>) -> Self {
        for (p, v) in list {
            self = self.param(&p, v);
        }
        self
    }

    /// Set string attribute `attr` of an extern instance, printed as
    /// `(* attr = "value" *)` above it (what vendor tools read).
    pub fn attr(mut self, attr: &str, value: &str) -> Self {
        if self.extern_for(&format!("attribute `{attr}`")) {
            self.attrs.push((attr.to_string(), value.to_string()));
        }
        self
    }

    /// Set each attribute of `list`, in order.
    pub fn attrs(mut self, list: Vec<(String, String)>) -> Self {
        for (a, v) in list {
            self = self.attr(&a, &v);
        }
        self
    }

    /// Connect every port not connected yet to the parent's signal of the same
    /// name, declaring a wire (with the port's type) where the parent has none.
    pub fn rest_by_name(mut self) -> Self {
        let rest: Vec<(String, Ty, String)> = self
            .ports
            .iter()
            .filter(|p| !self.conns.iter().any(|(c, _)| *c == p.name))
            .map(|p| (p.name.clone(), p.ty, p.comment.clone()))
            .collect();
        for (port, ty, comment) in rest {
            let sig = match self.parent.find(&port) {
                Some(s) => s,
                None => self.parent.wire(&port, ty, &comment),
            };
            self = self.wire(&port, sig);
        }
        self
    }

    /// Add the instance, or return every wiring error found.
    pub fn finish(mut self) -> Result<(), GenError> {
        for ChildPort { name: port, .. } in &self.ports {
            if !self.conns.iter().any(|(c, _)| c == port) {
                self.errors.push(format!(
                    "instance `{}` of `{}` leaves port `{port}` unconnected",
                    self.name, self.module
                ));
            }
        }
        if let Some(ext) = &self.ext {
            self.errors
                .extend(crate::check::check_params(&self.name, ext, &self.params));
            self.errors
                .extend(crate::check::check_attrs(&self.name, &self.attrs));
        }
        if !self.errors.is_empty() {
            return Err(GenError::Internal(self.errors.join("; ")));
        }
        // Child port order, so the printed instance reads like the child's header.
        let mut conns = Vec::with_capacity(self.conns.len());
        for ChildPort { name: port, .. } in &self.ports {
            if let Some(i) = self.conns.iter().position(|(c, _)| c == port) {
                conns.push(self.conns.swap_remove(i));
            }
        }
        self.parent.items.push(Item::Instance {
            module: self.module,
            name: self.name,
            params: self.params,
            attrs: self.attrs,
            conns,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child() -> Module {
        let mut c = Module::new("child");
        let a = c.input("a", Ty::u(4), None, "");
        let y = c.output("y", Ty::u(4), None, "");
        c.assign(y, a);
        c
    }

    fn err(r: Result<(), GenError>) -> String {
        match r {
            Err(e) => e.to_string(),
            Ok(()) => panic!("wiring error not caught"),
        }
    }

    #[test]
    fn wiring_errors_name_instance_and_port() {
        let c = child();
        let mut m = Module::new("p");
        let a = m.input("a", Ty::u(4), None, "");
        let b = m.input("b", Ty::u(3), None, "");
        let y = m.wire("y", Ty::u(4), "");
        let z = m.wire("z", Ty::u(5), "");
        let e = err(m.inst(&c, "u").connect("a", a).finish());
        assert!(e.contains("leaves port `y` unconnected"), "{e}");
        let e = err(m.inst(&c, "u").connect("a", b).out("y", y).finish());
        assert!(
            e.contains("port `a` is u4, fed from an expression of type u3"),
            "{e}"
        );
        let e = err(m.inst(&c, "u").connect("a", a).out("y", z).finish());
        assert!(e.contains("port `y` is u4, drives `z` of type u5"), "{e}");
        let e = err(m
            .inst(&c, "u")
            .connect("a", a)
            .out("y", y)
            .connect("q", a)
            .finish());
        assert!(
            e.contains("connects `q`, which is not a port of `child`"),
            "{e}"
        );
        let e = err(m
            .inst(&c, "u")
            .connect("a", a)
            .connect("a", a)
            .out("y", y)
            .finish());
        assert!(e.contains("connects port `a` twice"), "{e}");
        let e = err(m
            .inst(&c, "u")
            .connect("a", a)
            .out("a", y)
            .out("y", y)
            .finish());
        assert!(e.contains("twice"), "{e}");
        let e = err(m.inst(&c, "u").open("a", "x").out("y", y).finish());
        assert!(e.contains("leaves input `a` open"), "{e}");
        assert!(m.items.is_empty(), "a failed instance adds nothing");
        m.inst(&c, "u")
            .out("y", y)
            .connect("a", a)
            .finish()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.items.len(), 1);
    }

    /// A PLL-like primitive: clock in, a 2-bit select, clock and lock out.
    fn prim() -> ExternModule {
        ExternModule::new("VENDOR_PLL", "a test primitive")
            .port("CLKI", Ty::bit(), PortDir::Input)
            .port("SEL", Ty::u(2), PortDir::Input)
            .port("CLKOP", Ty::bit(), PortDir::Output)
            .port("LOCK", Ty::bit(), PortDir::Output)
            .params(&["DIV", "MODE"])
    }

    /// A parent with the signals to wire `prim`: clock in, a 2-bit and a 3-bit
    /// select, the output clock and lock wires.
    fn parent() -> (Module, [SignalId; 5]) {
        let mut m = Module::new("p");
        let clk = m.input("clk", Ty::bit(), None, "");
        let sel = m.input("sel", Ty::u(2), None, "");
        let sel3 = m.input("sel3", Ty::u(3), None, "");
        let out = m.wire("clk_out", Ty::bit(), "");
        let lock = m.wire("lock", Ty::bit(), "");
        (m, [clk, sel, sel3, out, lock])
    }

    #[test]
    fn extern_instances_are_checked_against_the_declaration() {
        let e = prim();
        let (mut m, [clk, sel, sel3, out, lock]) = parent();
        let full = |m: &mut Module, sel| {
            m.inst(&e, "pll")
                .connect("CLKI", clk)
                .connect("SEL", sel)
                .out("CLKOP", out)
                .out("LOCK", lock)
                .finish()
        };
        let msg = err(full(&mut m, sel3));
        assert!(
            msg.contains("instance `pll` port `SEL` is u2, fed from an expression of type u3"),
            "{msg}"
        );
        let msg = err(m
            .inst(&e, "pll")
            .connect("CLKI", clk)
            .connect("SEL", sel)
            .out("CLKOP", out)
            .finish());
        assert!(
            msg.contains("instance `pll` of `VENDOR_PLL` leaves port `LOCK` unconnected"),
            "{msg}"
        );
        let msg = err(m
            .inst(&e, "pll")
            .connect("CLKI", clk)
            .connect("SEL", sel)
            .connect("CLKX", clk)
            .out("CLKOP", out)
            .out("LOCK", lock)
            .finish());
        assert!(
            msg.contains("connects `CLKX`, which is not a port of `VENDOR_PLL`"),
            "{msg}"
        );
        let msg = err(m
            .inst(&e, "pll")
            .connect("CLKI", clk)
            .connect("SEL", sel)
            .connect("CLKOP", clk)
            .out("LOCK", lock)
            .finish());
        assert!(
            msg.contains("feeds `CLKOP` from an expression, but it is an output of `VENDOR_PLL`"),
            "{msg}"
        );
        let msg = err(m
            .inst(&e, "pll")
            .out("CLKI", out)
            .connect("SEL", sel)
            .out("CLKOP", out)
            .out("LOCK", lock)
            .finish());
        assert!(
            msg.contains("drives a signal from `CLKI`, but it is an input of `VENDOR_PLL`"),
            "{msg}"
        );
        let msg = err(m
            .inst(&e, "pll")
            .connect("CLKI", clk)
            .connect("SEL", sel)
            .out("CLKOP", sel)
            .out("LOCK", lock)
            .finish());
        assert!(
            msg.contains("port `CLKOP` drives `sel`, which is not a wire or output"),
            "{msg}"
        );
        assert!(m.items.is_empty(), "a failed instance adds nothing");
        full(&mut m, sel).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.items.len(), 1);
    }

    #[test]
    fn extern_parameters_and_attributes_are_checked() {
        let e = prim();
        let (mut m, [clk, sel, _, out, lock]) = parent();
        let with = |m: &mut Module, f: &dyn Fn(Inst) -> Inst| {
            f(m.inst(&e, "pll")
                .connect("CLKI", clk)
                .connect("SEL", sel)
                .out("CLKOP", out)
                .out("LOCK", lock))
            .finish()
        };
        let msg = err(with(&mut m, &|i| i.param("DIVV", ParamValue::Int(3))));
        assert!(
            msg.contains(
                "instance `pll` sets parameter `DIVV`, which `VENDOR_PLL` does not declare"
            ),
            "{msg}"
        );
        let msg = err(with(&mut m, &|i| {
            i.param("DIV", ParamValue::Int(3))
                .param("DIV", ParamValue::Int(4))
        }));
        assert!(msg.contains("sets parameter `DIV` twice"), "{msg}");
        let msg = err(with(&mut m, &|i| {
            i.param("MODE", ParamValue::Str("a\"b".into()))
        }));
        assert!(
            msg.contains("parameter `MODE`: string \"a\\\"b\" holds a quote"),
            "{msg}"
        );
        let msg = err(with(&mut m, &|i| i.attr("A", "1").attr("A", "2")));
        assert!(
            msg.contains("attribute `A` is illegal or set twice"),
            "{msg}"
        );
        let msg = err(with(&mut m, &|i| i.attr("B", "x\ny")));
        assert!(
            msg.contains(
                "attribute `B`: value \"x\\ny\" holds a quote, backslash or control character"
            ),
            "{msg}"
        );
        assert!(m.items.is_empty(), "a failed instance adds nothing");
        with(&mut m, &|i| {
            i.attr("FREQ", "25")
                .param("MODE", ParamValue::Str("SIMPLE".into()))
                .param("DIV", ParamValue::Int(3))
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let Some(Item::Instance {
            module,
            params,
            attrs,
            conns,
            ..
        }) = m.items.last()
        else {
            panic!("no instance added");
        };
        assert_eq!(module, "VENDOR_PLL");
        assert_eq!(
            params,
            &vec![
                ("MODE".to_string(), ParamValue::Str("SIMPLE".into())),
                ("DIV".to_string(), ParamValue::Int(3)),
            ],
            "parameters keep the order they were set in"
        );
        assert_eq!(attrs, &vec![("FREQ".to_string(), "25".to_string())]);
        let order: Vec<&str> = conns.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(order, ["CLKI", "SEL", "CLKOP", "LOCK"]);
    }

    #[test]
    fn modules_of_the_design_take_no_parameters_or_attributes() {
        let c = child();
        let mut m = Module::new("p");
        let a = m.input("a", Ty::u(4), None, "");
        let y = m.wire("y", Ty::u(4), "");
        let msg = err(m
            .inst(&c, "u")
            .param("W", ParamValue::Int(4))
            .attr("keep", "true")
            .connect("a", a)
            .out("y", y)
            .finish());
        assert!(
            msg.contains("instance `u` sets parameter `W`, but `child` is a module of the design (rule: only extern instances take parameters and attributes)"),
            "{msg}"
        );
        assert!(msg.contains("sets attribute `keep`, but `child`"), "{msg}");
    }

    #[test]
    fn extern_rest_by_name_and_open_outputs() {
        let e = prim();
        let mut m = Module::new("p");
        m.input("CLKI", Ty::bit(), None, "");
        let msg = err(m.inst(&e, "pll").open("SEL", "x").rest_by_name().finish());
        assert!(msg.contains("leaves input `SEL` open"), "{msg}");
        m.inst(&e, "pll")
            .connect("SEL", Expr::uconst(2, 1))
            .open("LOCK", "not used")
            .rest_by_name()
            .finish()
            .unwrap_or_else(|e| panic!("{e}"));
        let clkop = m
            .find("CLKOP")
            .unwrap_or_else(|| panic!("CLKOP not declared"));
        assert_eq!(m.signal(clkop).ty, Ty::bit());
    }

    #[test]
    fn rest_by_name_declares_missing_wires() {
        let c = child();
        let mut m = Module::new("p");
        m.input("a", Ty::u(4), None, "");
        m.inst(&c, "u")
            .rest_by_name()
            .finish()
            .unwrap_or_else(|e| panic!("{e}"));
        let y = m.find("y").unwrap_or_else(|| panic!("y not declared"));
        assert_eq!(m.signal(y).ty, Ty::u(4));
    }
}
