//! The one way to instantiate and wire a submodule.
//!
//! ```ignore
//! m.inst(&child, "u_fifo")
//!     .connect("clk", clk)
//!     .bundle("in", &producer)
//!     .out("count", fill)
//!     .finish()?;
//! ```
//!
//! Every connection is checked against the child's ports when it is made:
//! a port the child lacks, a port connected twice, an input fed from an
//! expression of another type, an output into a signal of another type or into
//! one the parent may not drive, and (at [`Inst::finish`]) a port left
//! unconnected are all errors naming the instance, the port and both types. So
//! a wiring mistake fails at generation with one clear message instead of as a
//! check error far from its cause.

use crate::ir::{Conn, Expr, Item, Module, SignalId, SignalKind, Ty};
use crate::GenError;

use super::bundle::Bundle;

/// An instance under construction; see the module docs.
#[must_use = "an instance is only added by `finish`"]
pub struct Inst<'a> {
    parent: &'a mut Module,
    module: String,
    name: String,
    /// The child's ports: name, type, whether it is an input, comment.
    ports: Vec<(String, Ty, bool, String)>,
    conns: Vec<(String, Conn)>,
    errors: Vec<String>,
}

/// `Module::inst`: start an instance of `child` named `name` in this module.
pub trait Instantiate {
    fn inst<'a>(&'a mut self, child: &Module, name: &str) -> Inst<'a>;
}

impl Instantiate for Module {
    fn inst<'a>(&'a mut self, child: &Module, name: &str) -> Inst<'a> {
        Inst {
            parent: self,
            module: child.name.clone(),
            name: name.to_string(),
            ports: child
                .ports()
                .map(|(_, s)| {
                    (
                        s.name.clone(),
                        s.ty,
                        s.kind == SignalKind::Input,
                        s.comment.clone(),
                    )
                })
                .collect(),
            conns: Vec::new(),
            errors: Vec::new(),
        }
    }
}

impl<'a> Inst<'a> {
    fn port(&mut self, port: &str) -> Option<(Ty, bool)> {
        let Some(&(_, ty, input, _)) = self.ports.iter().find(|p| p.0 == port) else {
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
        match self.ports.iter().find(|p| p.0 == port) {
            Some((_, _, false, _)) => self.out(port, sig),
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

    /// Connect every port not connected yet to the parent's signal of the same
    /// name, declaring a wire (with the port's type) where the parent has none.
    pub fn rest_by_name(mut self) -> Self {
        let rest: Vec<(String, Ty, String)> = self
            .ports
            .iter()
            .filter(|p| !self.conns.iter().any(|(c, _)| *c == p.0))
            .map(|p| (p.0.clone(), p.1, p.3.clone()))
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
        for (port, ..) in &self.ports {
            if !self.conns.iter().any(|(c, _)| c == port) {
                self.errors.push(format!(
                    "instance `{}` of `{}` leaves port `{port}` unconnected",
                    self.name, self.module
                ));
            }
        }
        if !self.errors.is_empty() {
            return Err(GenError::Internal(self.errors.join("; ")));
        }
        // Child port order, so the printed instance reads like the child's header.
        let mut conns = Vec::with_capacity(self.conns.len());
        for (port, ..) in &self.ports {
            if let Some(i) = self.conns.iter().position(|(c, _)| c == port) {
                conns.push(self.conns.swap_remove(i));
            }
        }
        self.parent.items.push(Item::Instance {
            module: self.module,
            name: self.name,
            params: Vec::new(),
            attrs: Vec::new(),
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
