//! Skew and deskew: per-lane delay lines that turn a vector arriving all at once
//! into the diagonal wavefront the mesh needs (lane i delayed by i steps), and
//! turn the mesh's diagonal results back into whole rows (column j delayed by
//! cols-1-j steps).
//!
//! One builder serves both directions: it takes the delay of every lane. Lanes
//! with delay 0 are wires. Control lanes (valid/last flags) get a reset, data
//! lanes do not, following the rule of resetting control state only.

use crate::ir::{Conn, Const, Expr, Module, Reset, SignalId, Ty};

/// A delay-line block and how to connect it.
pub struct DelayLines {
    pub module: Module,
    /// Whether the block has registers (and so clock, reset and step-enable ports).
    pub clocked: bool,
    pub lanes: usize,
    pub reset: bool,
}

/// Build a block of `delays.len()` lanes of type `ty`, lane i delayed by `delays[i]`
/// steps of `adv`. With `reset`, every register clears to zero on `rst`.
pub fn build(name: &str, doc: &str, ty: Ty, delays: &[u32], reset: bool) -> DelayLines {
    let mut m = Module::new(name);
    m.doc(doc).doc(format!(
        "{} lanes; lane delays in steps: {:?}{}",
        delays.len(),
        delays,
        if reset {
            "; registers reset to zero"
        } else {
            "; data only, no reset"
        }
    ));
    let clocked = delays.iter().any(|&d| d > 0);
    let ctl = if clocked {
        let clk = m.input(
            "clk",
            Ty::bit(),
            Some("Clock and step enable"),
            "rising-edge clock",
        );
        let rst = reset.then(|| m.input("rst", Ty::bit(), None, "synchronous reset"));
        let adv = m.input("adv", Ty::bit(), None, "lanes shift when high");
        Some((clk, rst, adv))
    } else {
        None
    };
    let ins: Vec<SignalId> = (0..delays.len())
        .map(|i| m.input(&format!("in_{i}"), ty, (i == 0).then_some("Lanes in"), ""))
        .collect();
    let outs: Vec<SignalId> = (0..delays.len())
        .map(|i| m.output(&format!("out_{i}"), ty, (i == 0).then_some("Lanes out"), ""))
        .collect();
    for (i, &d) in delays.iter().enumerate() {
        let mut prev = ins[i];
        for k in 0..d {
            let r = m.reg(&format!("lane{i}_d{k}_reg"), ty, "");
            if let Some((clk, rst, adv)) = ctl {
                let rs = rst.map(|rst| Reset {
                    rst,
                    value: Const { ty, bits: 0 },
                });
                m.clocked(r, clk, prev, Some(Expr::from(adv)), rs);
            }
            prev = r;
        }
        m.assign(outs[i], prev);
    }
    DelayLines {
        module: m,
        clocked,
        lanes: delays.len(),
        reset,
    }
}

impl DelayLines {
    /// Connections for an instance: lane inputs are expressions, lane outputs signals.
    pub fn conns(
        &self,
        clk: SignalId,
        rst: SignalId,
        adv: SignalId,
        ins: Vec<Expr>,
        outs: &[SignalId],
    ) -> Vec<(String, Conn)> {
        let mut c = Vec::new();
        if self.clocked {
            c.push(("clk".to_string(), Conn::In(clk.into())));
            if self.reset {
                c.push(("rst".to_string(), Conn::In(rst.into())));
            }
            c.push(("adv".to_string(), Conn::In(adv.into())));
        }
        for (i, e) in ins.into_iter().enumerate() {
            c.push((format!("in_{i}"), Conn::In(e)));
        }
        for (i, s) in outs.iter().enumerate() {
            c.push((format!("out_{i}"), Conn::Out(*s)));
        }
        c
    }
}
