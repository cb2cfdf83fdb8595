//! Skid buffer: a valid/ready register slice that cuts every combinational path
//! between its two sides at full throughput (verilog-axis `axis_register`,
//! `REG_TYPE = 2`).
//!
//! The output register holds the beat on offer; the skid register catches the
//! one beat that arrives in the cycle the consumer stalls, because `in_ready`
//! is a register (`in_ready_reg`, always `~skid_valid_reg`: a flip-flop of its
//! own, so the port needs no inverter when the hierarchy is kept) and so cannot
//! drop in that same cycle.
//! The output register refills from the skid register first, so order is kept.
//! With `ready_copy`, a second register holding the same value as `in_ready`
//! (`in_ready_copy`) drives a wide fan-out from a flip-flop of its own.

use crate::ir::{Expr, Module, Ty};
use crate::{check_name, check_range, GenError};

use super::bundle::{Role, Stream};
use super::ops::{bit, reset_to};

/// A skid buffer's parameters.
#[derive(Clone, Debug)]
pub struct SkidConfig {
    /// Module name.
    pub name: String,
    /// Payload bits.
    pub width: u32,
    /// Add the `in_ready_copy` output.
    pub ready_copy: bool,
}

impl SkidConfig {
    pub fn validate(&self) -> Result<(), GenError> {
        check_name("name", &self.name)?;
        check_range("width", u64::from(self.width), 1, 4096)?;
        Ok(())
    }
}

/// Build the skid buffer: ports `clk`, `rst`, stream `in` (slave), stream `out`
/// (master), each with `*_data` of `width` bits, and `in_ready_copy` if asked.
pub fn build(cfg: &SkidConfig) -> Result<Module, GenError> {
    cfg.validate()?;
    let ty = Ty::u(cfg.width);
    let mut m = Module::new(cfg.name.clone());
    m.doc(format!(
        "Skid buffer, {} bits: a full-throughput register slice with registered ready.",
        cfg.width
    ))
    .doc("in_ready and out_valid are registers: no combinational path between the two sides.");
    let (clk, rst) = super::clock_and_reset(&mut m);
    let s_in = Stream::ports(&mut m, "in", Role::Slave, ty, false, "Input stream");
    let s_out = Stream::ports(&mut m, "out", Role::Master, ty, false, "Output stream");
    let ready_copy = cfg.ready_copy.then(|| {
        m.output(
            "in_ready_copy",
            bit(),
            Some("Fan-out copy"),
            "always equal to in_ready",
        )
    });

    let out_valid_reg = m.reg("out_valid_reg", bit(), "output register holds a beat");
    let out_data_reg = m.reg("out_data_reg", ty, "");
    let skid_valid_reg = m.reg(
        "skid_valid_reg",
        bit(),
        "skid register holds a beat the stalled output could not take",
    );
    let skid_data_reg = m.reg("skid_data_reg", ty, "");

    let in_fire = m.wire_of(
        "in_fire",
        Expr::from(s_in.valid) & !Expr::from(skid_valid_reg),
        "a beat is taken this edge",
    );
    let out_free = m.wire_of(
        "out_free",
        !Expr::from(out_valid_reg) | s_out.ready,
        "output register is empty or being taken",
    );
    let skid_valid_next = m.wire_of(
        "skid_valid_next",
        !Expr::from(out_free) & (Expr::from(skid_valid_reg) | in_fire),
        "",
    );
    let ctrl = |v: u128| reset_to(rst, bit(), v);
    m.clocked(
        out_valid_reg,
        clk,
        Expr::from(skid_valid_reg) | in_fire,
        Some(out_free.into()),
        ctrl(0),
    );
    m.clocked(
        out_data_reg,
        clk,
        Expr::mux(skid_valid_reg, skid_data_reg, s_in.data),
        Some(out_free.into()),
        None,
    );
    m.clocked(skid_valid_reg, clk, skid_valid_next, None, ctrl(0));
    m.clocked(
        skid_data_reg,
        clk,
        s_in.data,
        Some(!Expr::from(skid_valid_reg)),
        None,
    );
    if let Some(copy) = ready_copy {
        let r = m.reg(
            "in_ready_copy_reg",
            bit(),
            "equal to ~skid_valid_reg at every edge",
        );
        m.clocked(r, clk, !Expr::from(skid_valid_next), None, ctrl(1));
        m.assign(copy, r);
    }
    let in_ready_reg = m.reg(
        "in_ready_reg",
        bit(),
        "equal to ~skid_valid_reg at every edge",
    );
    m.clocked(
        in_ready_reg,
        clk,
        !Expr::from(skid_valid_next),
        None,
        ctrl(1),
    );
    m.assign(s_in.ready, in_ready_reg);
    m.assign(s_out.valid, out_valid_reg);
    m.assign(s_out.data, out_data_reg);
    Ok(m)
}
