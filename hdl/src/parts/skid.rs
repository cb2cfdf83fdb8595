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

use crate::ir::{Expr, Module, SignalId, Ty};
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

/// The signals of a skid buffer added into a module with [`add`].
#[derive(Clone, Copy, Debug)]
pub struct Skid {
    /// `in_ready`: a register, `~skid_valid_reg` at every edge.
    pub in_ready: SignalId,
    /// The output register: it holds a beat.
    pub out_valid: SignalId,
    pub out_data: SignalId,
    /// A second register equal to `in_ready`, if asked.
    pub ready_copy: Option<SignalId>,
}

/// What a skid buffer added with [`add`] reads.
pub struct SkidIo {
    pub clk: SignalId,
    pub rst: SignalId,
    pub in_valid: Expr,
    /// Read twice: pass a signal, not a large expression.
    pub in_data: Expr,
    pub out_ready: Expr,
}

/// Add a skid buffer's registers into `m`, named `<p>_valid_reg`, `<p>_data_reg`
/// (the output register), `<p>_skid_valid_reg`, `<p>_skid_data_reg`,
/// `<p>_skid_free_reg` (`in_ready`) and `<p>_skid_free_copy_reg`.
///
/// Inline rather than instantiated where a hierarchy boundary would cost a
/// logic level: the array's ECP5 flow keeps the hierarchy (`-noflatten`), and
/// there the output register's enable `~out_valid | out_ready` must merge with
/// the consumer's ready logic into one LUT (8x8: 160.6 MHz as an instance,
/// the path `out_ready` logic -> skid -> enable; 172.5 MHz inline, as before
/// the skid buffers became a part).
pub fn add(m: &mut Module, p: &str, cfg: &SkidConfig, io: SkidIo) -> Skid {
    let ty = Ty::u(cfg.width);
    let out_valid_reg = m.reg(
        &format!("{p}_valid_reg"),
        bit(),
        "output register holds a beat",
    );
    let out_data_reg = m.reg(&format!("{p}_data_reg"), ty, "");
    let skid_valid_reg = m.reg(
        &format!("{p}_skid_valid_reg"),
        bit(),
        "skid register holds a beat the stalled output could not take",
    );
    let skid_data_reg = m.reg(&format!("{p}_skid_data_reg"), ty, "");
    let in_fire = m.wire_of(
        &format!("{p}_fire"),
        io.in_valid & !Expr::from(skid_valid_reg),
        "a beat is taken this edge",
    );
    let out_free = m.wire_of(
        &format!("{p}_free"),
        !Expr::from(out_valid_reg) | io.out_ready,
        "output register is empty or being taken",
    );
    let skid_valid_next = m.wire_of(
        &format!("{p}_skid_valid_next"),
        !Expr::from(out_free) & (Expr::from(skid_valid_reg) | in_fire),
        "",
    );
    let (clk, rst) = (io.clk, io.rst);
    let ctrl = |v: u128| reset_to(rst, bit(), v);
    // The output register refills from the skid register first, else from the input.
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
        Expr::mux(skid_valid_reg, skid_data_reg, io.in_data.clone()),
        Some(out_free.into()),
        None,
    );
    m.clocked(skid_valid_reg, clk, skid_valid_next, None, ctrl(0));
    m.clocked(
        skid_data_reg,
        clk,
        io.in_data,
        Some(!Expr::from(skid_valid_reg)),
        None,
    );
    let free = |m: &mut Module, name: &str| {
        let r = m.reg(
            name,
            bit(),
            "equal to ~skid_valid_reg at every edge: in_ready",
        );
        m.clocked(r, clk, !Expr::from(skid_valid_next), None, ctrl(1));
        r
    };
    let in_ready = free(m, &format!("{p}_skid_free_reg"));
    let ready_copy = cfg
        .ready_copy
        .then(|| free(m, &format!("{p}_skid_free_copy_reg")));
    Skid {
        in_ready,
        out_valid: out_valid_reg,
        out_data: out_data_reg,
        ready_copy,
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
    let copy_port = cfg.ready_copy.then(|| {
        m.output(
            "in_ready_copy",
            bit(),
            Some("Fan-out copy"),
            "always equal to in_ready",
        )
    });
    let io = SkidIo {
        clk,
        rst,
        in_valid: s_in.valid.into(),
        in_data: s_in.data.into(),
        out_ready: s_out.ready.into(),
    };
    let skid = add(&mut m, "out", cfg, io);
    m.assign(s_in.ready, skid.in_ready);
    m.assign(s_out.valid, skid.out_valid);
    m.assign(s_out.data, skid.out_data);
    if let (Some(port), Some(r)) = (copy_port, skid.ready_copy) {
        m.assign(port, r);
    }
    Ok(m)
}
