//! Delay line: `stages` registers in a row, all shifting on one optional enable.
//!
//! Control lines (valid flags) take `reset` so that they come out of reset
//! clear; data lines do not, following the rule of resetting control state only.

use crate::ir::{Expr, Module, Ty};
use crate::{check_name, check_range, GenError};

use super::ops::{bit, reset_to};

/// A delay line's parameters.
#[derive(Clone, Debug)]
pub struct DelayConfig {
    pub name: String,
    /// Bits per stage.
    pub width: u32,
    /// Register stages (the latency in enabled edges).
    pub stages: u32,
    /// Add an `en` input; without it the line shifts on every edge.
    pub enable: bool,
    /// Add an `rst` input that clears every stage to zero.
    pub reset: bool,
}

impl DelayConfig {
    pub fn validate(&self) -> Result<(), GenError> {
        check_name("name", &self.name)?;
        check_range("width", u64::from(self.width), 1, 4096)?;
        check_range("stages", u64::from(self.stages), 1, 1024)?;
        Ok(())
    }
}

/// Build the delay line: ports `clk`, [`rst`], [`en`], `in_data`, `out_data`.
pub fn build(cfg: &DelayConfig) -> Result<Module, GenError> {
    cfg.validate()?;
    let ty = Ty::u(cfg.width);
    let mut m = Module::new(cfg.name.clone());
    m.doc(format!(
        "Delay line: {} bits, {} register stage(s){}{}.",
        cfg.width,
        cfg.stages,
        if cfg.enable {
            ", shifting when en is high"
        } else {
            ""
        },
        if cfg.reset { ", cleared by rst" } else { "" }
    ));
    let clk = m.input("clk", bit(), Some("Clock, reset and shift enable"), "");
    let rst = cfg
        .reset
        .then(|| m.input("rst", bit(), None, "synchronous, clears every stage"));
    let en = cfg
        .enable
        .then(|| m.input("en", bit(), None, "stages shift when high"));
    let input = m.input("in_data", ty, Some("Data"), "");
    let output = m.output("out_data", ty, None, "in_data delayed by the stages");
    let mut prev = input;
    for k in 0..cfg.stages {
        let r = m.reg(&format!("stage{k}_reg"), ty, "");
        m.clocked(
            r,
            clk,
            prev,
            en.map(Expr::from),
            rst.and_then(|rst| reset_to(rst, ty, 0)),
        );
        prev = r;
    }
    m.assign(output, prev);
    Ok(m)
}
