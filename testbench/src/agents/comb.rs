//! [`NoCombPath`]: checks every cycle that some outputs do not depend
//! combinationally on an input (e.g. a `ready` that must come from a register,
//! so that the design can be chained without a combinational loop).
//!
//! In its drive phase, after the agents before it drove, it reads the outputs,
//! flips the input, reads them again and restores the input, so the edge sees
//! exactly what the other agents drove. Put it last in the agent slice. Each
//! check costs two extra evaluations per cycle.

use super::Agent;
use crate::verilator::{Model, Port};

/// Fails when flipping `input` changes any of `outputs` within the cycle.
pub struct NoCombPath {
    name: String,
    input: (Port, String),
    outputs: Vec<(Port, String)>,
    before: Vec<u64>,
    broken: Option<String>,
}

impl NoCombPath {
    /// Check that none of `outputs` (ports of at most 64 bits) follows `input`
    /// (1 bit) combinationally.
    pub fn new(m: &Model, input: &str, outputs: &[&str]) -> Result<NoCombPath, super::BenchError> {
        let resolve = |n: &str| m.port(n).map(|p| (p, n.to_string()));
        Ok(NoCombPath {
            name: format!("no combinational path from `{input}`"),
            input: resolve(input)?,
            outputs: outputs
                .iter()
                .map(|n| resolve(n))
                .collect::<Result<_, _>>()?,
            before: Vec::with_capacity(outputs.len()),
            broken: None,
        })
    }
}

impl Agent for NoCombPath {
    fn name(&self) -> &str {
        &self.name
    }

    fn drive(&mut self, m: &mut Model, _cycle: u64) {
        let (input, _) = self.input;
        let v = m.get(input);
        self.before.clear();
        self.before
            .extend(self.outputs.iter().map(|(p, _)| m.get(*p)));
        m.set(input, v ^ 1);
        let changed = self
            .outputs
            .iter()
            .zip(&self.before)
            .position(|((p, _), &b)| m.get(*p) != b);
        m.set(input, v);
        self.broken = changed.map(|i| {
            format!(
                "`{}` changed when `{}` was flipped within the cycle",
                self.outputs[i].1, self.input.1
            )
        });
    }

    fn observe(&mut self, _m: &Model, cycle: u64) -> Result<(), String> {
        match self.broken.take() {
            Some(what) => Err(format!("{what} (cycle {cycle})")),
            None => Ok(()),
        }
    }

    fn commit(&mut self, _cycle: u64) {}
}
