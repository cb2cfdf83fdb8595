//! The processing element: one int8 x int8 multiply-accumulate into a 32-bit
//! accumulator, output-stationary.
//!
//! `a` (with its valid and last flags) passes right and `b` passes down, each
//! through one register, so PE(i, j) sees A[i][k] and B[k][j] in the same step.
//! The accumulator wraps in two's complement, as int32 arithmetic does. On the
//! beat marked last, the finished sum goes to the result register (the shadow
//! accumulator) and the accumulator restarts from zero on the next valid beat, so
//! the next tile computes while this one is drained. Every register advances only
//! when the array-wide `adv` is high, which is how output backpressure stalls the
//! whole array without losing a value.

use crate::ir::{Conn, Const, Expr, Module, Reset, SignalId, Ty};

use super::config::{ArrayConfig, ACC_BITS, OPERAND_BITS};

/// Module name of the PE variant with (`dsp = true`) or without the `*` multiplier.
pub fn name(cfg: &ArrayConfig, dsp: bool) -> String {
    cfg.sub(if dsp { "pe" } else { "pe_lut" })
}

/// `a * b` for signed 8-bit operands as a sum of shifted partial products, so that
/// synthesis builds it from LUTs and carry chains and never from a DSP block.
/// Exact: with `a` sign-extended to 16 bits, `a*b = sum_{i<7} b_i (a << i) - b_7 (a << 7)`
/// modulo 2^16, and the true product fits in 16 signed bits.
fn lut_product(m: &mut Module, a: SignalId, b: SignalId) -> Expr {
    let w = 2 * OPERAND_BITS;
    let a16 = m.wire_of(
        "a_ext",
        Expr::from(a).resize(w).as_unsigned(),
        "a sign-extended to 16 bits",
    );
    let zero = Expr::zero(Ty::u(w));
    let pp = |i: u32| {
        Expr::mux(
            Expr::from(b).bit_at(i),
            Expr::from(a16) << Expr::uconst(3, i.into()),
            zero.clone(),
        )
    };
    let mut sum = pp(0);
    for i in 1..OPERAND_BITS - 1 {
        sum = sum + pp(i);
    }
    (sum - pp(OPERAND_BITS - 1)).as_signed()
}

/// Build the PE module; `dsp` picks the multiplier style (see [`name`]).
pub fn build(cfg: &ArrayConfig, dsp: bool) -> Module {
    let mut m = Module::new(name(cfg, dsp));
    m.doc("Output-stationary int8 MAC processing element.")
        .doc("acc += a * b on each valid beat (32-bit, wraps); a, valid and last pass right, b passes down.")
        .doc("On the last beat of a tile the finished sum moves to c_out for one step (c_valid high).")
        .doc(format!(
            "Multiplier: {}; pipeline depth {} (results appear {} step(s) after the operands).",
            if dsp { "`*` (DSP-mappable)" } else { "shift-and-add partial products (LUTs)" },
            cfg.pipeline,
            cfg.pipeline + 1
        ));
    let op = Ty::s(OPERAND_BITS);
    let acc_ty = Ty::s(ACC_BITS);
    let prod_ty = Ty::s(2 * OPERAND_BITS);

    let clk = m.input(
        "clk",
        Ty::bit(),
        Some("Clock and synchronous reset"),
        "rising-edge clock",
    );
    let rst = m.input(
        "rst",
        Ty::bit(),
        None,
        "active-high synchronous reset (control state only)",
    );
    let adv = m.input(
        "adv",
        Ty::bit(),
        Some("Array-wide step enable"),
        "all registers advance when high",
    );
    let a_in = m.input("a_in", op, Some("From the left neighbour"), "A element");
    let a_valid_in = m.input("a_valid_in", Ty::bit(), None, "a_in carries a beat");
    let a_last_in = m.input("a_last_in", Ty::bit(), None, "beat is k = K-1 of its tile");
    let b_in = m.input("b_in", op, Some("From the neighbour above"), "B element");
    let a_out = m.output(
        "a_out",
        op,
        Some("To the right neighbour"),
        "a_in, one step later",
    );
    let a_valid_out = m.output("a_valid_out", Ty::bit(), None, "a_valid_in, one step later");
    let a_last_out = m.output("a_last_out", Ty::bit(), None, "a_last_in, one step later");
    let b_out = m.output(
        "b_out",
        op,
        Some("To the neighbour below"),
        "b_in, one step later",
    );
    let c_out = m.output(
        "c_out",
        acc_ty,
        Some("Finished result"),
        "C element of the tile that just closed",
    );
    let c_valid = m.output(
        "c_valid",
        Ty::bit(),
        None,
        "c_out holds a finished result this step",
    );

    let a_reg = m.reg("a_reg", op, "");
    let b_reg = m.reg("b_reg", op, "");
    let a_valid_reg = m.reg("a_valid_reg", Ty::bit(), "");
    let a_last_reg = m.reg("a_last_reg", Ty::bit(), "");
    let acc_reg = m.reg("acc_reg", acc_ty, "running sum of the tile in progress");
    let clear_reg = m.reg("clear_reg", Ty::bit(), "next valid beat starts a new tile");
    let c_reg = m.reg("c_reg", acc_ty, "shadow accumulator: last finished sum");
    let c_valid_reg = m.reg("c_valid_reg", Ty::bit(), "");

    let ctrl0 = |rst: SignalId| {
        Some(Reset {
            rst,
            value: Const {
                ty: Ty::bit(),
                bits: 0,
            },
        })
    };
    let adv_e = || Some(Expr::from(adv));

    // Depth 2 multiplies the pass-through registers (free input registers); depth 0
    // and 1 multiply the inputs.
    let (ma, mb, mv, ml) = if cfg.pipeline >= 2 {
        (a_reg, b_reg, a_valid_reg, a_last_reg)
    } else {
        (a_in, b_in, a_valid_in, a_last_in)
    };
    let product = if dsp {
        Expr::from(ma).mul_wide(mb)
    } else {
        lut_product(&mut m, ma, mb)
    };
    let prod_note = if dsp {
        "full 16-bit product"
    } else {
        "full 16-bit product, from partial products"
    };
    // Depth >= 1 registers the product with its flags.
    let (prod, v, l) = if cfg.pipeline >= 1 {
        let p = m.wire_of("prod", product, prod_note);
        let prod_reg = m.reg("prod_reg", prod_ty, "pipelined product");
        let pv = m.reg("prod_valid_reg", Ty::bit(), "");
        let pl = m.reg("prod_last_reg", Ty::bit(), "");
        m.clocked(prod_reg, clk, p, adv_e(), None);
        m.clocked(pv, clk, mv, adv_e(), ctrl0(rst));
        m.clocked(pl, clk, ml, adv_e(), ctrl0(rst));
        (prod_reg, pv, pl)
    } else {
        (m.wire_of("prod", product, prod_note), mv, ml)
    };

    let base = Expr::mux(clear_reg, Expr::zero(acc_ty), acc_reg);
    let sum = m.wire_of(
        "sum",
        base + Expr::from(prod).resize(ACC_BITS),
        "acc + a*b, wrapping",
    );
    let take = m.wire_of(
        "take",
        Expr::from(adv) & v,
        "a valid product is accumulated this step",
    );
    let finish = m.wire_of(
        "finish",
        Expr::from(take) & l,
        "this product closes the tile",
    );

    m.clocked(a_reg, clk, a_in, adv_e(), None);
    m.clocked(b_reg, clk, b_in, adv_e(), None);
    m.clocked(a_valid_reg, clk, a_valid_in, adv_e(), ctrl0(rst));
    m.clocked(a_last_reg, clk, a_last_in, adv_e(), ctrl0(rst));
    m.clocked(acc_reg, clk, sum, Some(take.into()), None);
    m.clocked(
        clear_reg,
        clk,
        l,
        Some(take.into()),
        Some(Reset {
            rst,
            value: Const {
                ty: Ty::bit(),
                bits: 1,
            },
        }),
    );
    m.clocked(c_reg, clk, sum, Some(finish.into()), None);
    m.clocked(c_valid_reg, clk, Expr::from(v) & l, adv_e(), ctrl0(rst));

    m.assign(a_out, a_reg);
    m.assign(a_valid_out, a_valid_reg);
    m.assign(a_last_out, a_last_reg);
    m.assign(b_out, b_reg);
    m.assign(c_out, c_reg);
    m.assign(c_valid, c_valid_reg);
    m
}

/// Connections of one PE instance (names of the PE ports in the order above).
pub struct PeConns {
    pub clk: SignalId,
    pub rst: SignalId,
    pub adv: SignalId,
    pub a_in: SignalId,
    pub a_valid_in: SignalId,
    pub a_last_in: SignalId,
    pub b_in: SignalId,
    pub a_out: Conn,
    pub a_valid_out: Conn,
    pub a_last_out: Conn,
    pub b_out: Conn,
    pub c_out: SignalId,
    pub c_valid: SignalId,
}

impl PeConns {
    pub fn into_list(self) -> Vec<(String, Conn)> {
        let i = |s: SignalId| Conn::In(s.into());
        vec![
            ("clk".into(), i(self.clk)),
            ("rst".into(), i(self.rst)),
            ("adv".into(), i(self.adv)),
            ("a_in".into(), i(self.a_in)),
            ("a_valid_in".into(), i(self.a_valid_in)),
            ("a_last_in".into(), i(self.a_last_in)),
            ("b_in".into(), i(self.b_in)),
            ("a_out".into(), self.a_out),
            ("a_valid_out".into(), self.a_valid_out),
            ("a_last_out".into(), self.a_last_out),
            ("b_out".into(), self.b_out),
            ("c_out".into(), Conn::Out(self.c_out)),
            ("c_valid".into(), Conn::Out(self.c_valid)),
        ]
    }
}
