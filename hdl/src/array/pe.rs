//! The processing element: one int8 x int8 multiply-accumulate into a 32-bit
//! accumulator, output-stationary.
//!
//! `a` (with its valid and last flags) passes right and `b` passes down, each
//! through one register, so PE(i, j) sees A[i][k] and B[k][j] in the same step.
//! At depth 0 the flags stay in the mesh, one chain for all anti-diagonals, and
//! the PE gets its diagonal's `take` and `finish` instead
//! ([`ArrayConfig::diagonal_flags`]).
//! The accumulator wraps in two's complement, as int32 arithmetic does. On the
//! beat marked last, the finished sum goes to the result register (the shadow
//! accumulator) and the accumulator clears in the same step, so the next tile
//! computes while this one is drained. Every register advances only
//! when the array-wide `adv` is high, which is how output backpressure stalls the
//! whole array without losing a value.

use crate::ir::{Conn, Expr, Module, SignalId, Ty};
use crate::parts::ops::reset_to;
use crate::GenError;

use super::config::{ArrayConfig, DspCell, MulStyle, ACC_BITS, OPERAND_BITS};
use super::ecp5_mult;

/// Module name of the PE variant with (`dsp = true`) or without the `*` multiplier.
pub fn name(cfg: &ArrayConfig, dsp: bool) -> String {
    cfg.sub(if dsp { "pe" } else { "pe_lut" })
}

/// `a * b` for signed 8-bit operands as a sum of shifted partial products, so that
/// synthesis builds it from LUTs and carry chains and never from a DSP block.
/// Exact: with `a` sign-extended to 16 bits, `a*b = sum_{i<7} b_i (a << i) - b_7 (a << 7)`
/// modulo 2^16, and the true product fits in 16 signed bits. Returned as two
/// unsigned 16-bit halves of the sum (partial products 0..3, and 4..7 with the
/// subtraction), whose wrapping sum is the product: depth 4 registers them apart.
fn lut_partial_sums(m: &mut Module, a: SignalId, b: SignalId) -> (Expr, Expr) {
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
    let half = OPERAND_BITS / 2;
    let mut lo = pp(0);
    for i in 1..half {
        lo = lo + pp(i);
    }
    let mut hi = pp(half);
    for i in half + 1..OPERAND_BITS - 1 {
        hi = hi + pp(i);
    }
    (lo, hi - pp(OPERAND_BITS - 1))
}

/// The whole LUT product (see [`lut_partial_sums`]).
fn lut_product(m: &mut Module, a: SignalId, b: SignalId) -> Expr {
    let (lo, hi) = lut_partial_sums(m, a, b);
    (lo + hi).as_signed()
}

/// Does the DSP-style PE of `cfg` take its product from a `SB_MAC16` it shares
/// with a neighbour (`dsp_cell = ice40`)? Such a PE sends its multiplier operands
/// out (`mul_a`, `mul_b`) and takes the product in (`mul_p`); the mesh
/// instantiates the block (see [`super::ice40_mac16`]).
pub fn shares_block(cfg: &ArrayConfig, dsp: bool) -> bool {
    dsp && cfg.dsp_cell == DspCell::Ice40
}

/// The module's doc lines: what the PE does with this configuration.
fn describe(m: &mut Module, cfg: &ArrayConfig, dsp: bool, shared: bool) {
    m.doc("Output-stationary int8 MAC processing element.")
        .doc(if cfg.diagonal_flags() {
            "acc += a * b when take is high (32-bit, wraps); a passes right, b passes down."
        } else {
            "acc += a * b on each valid beat (32-bit, wraps); a, valid and last pass right, b passes down."
        })
        .doc(if cfg.diagonal_flags() {
            "On finish the finished sum moves to c_out, where it stays until the next tile finishes."
        } else {
            "On the last beat of a tile the finished sum moves to c_out for one step (c_valid high)."
        })
        .doc(format!(
            "Multiplier: {}; pipeline depth {} (results appear {} step(s) after the operands).",
            if shared {
                "the PE's half of a SB_MAC16 shared with a neighbour (mul_a, mul_b out, mul_p in)"
            } else if dsp {
                "`*` (DSP-mappable)"
            } else {
                "shift-and-add partial products (LUTs)"
            },
            cfg.pipeline,
            cfg.pipeline + 1
        ));
}

/// The PE's ports, in the order they are declared (and printed).
struct Ports {
    clk: SignalId,
    rst: SignalId,
    adv: SignalId,
    /// With [`ArrayConfig::diagonal_flags`]: the mesh's flags of this PE's diagonal.
    diagonal: Option<DiagonalIn>,
    a_in: SignalId,
    /// Otherwise `a_valid_in`, `a_last_in` ...
    flags_in: Option<(SignalId, SignalId)>,
    b_in: SignalId,
    a_out: SignalId,
    /// ... `a_valid_out`, `a_last_out` ...
    flags_out: Option<(SignalId, SignalId)>,
    b_out: SignalId,
    c_out: SignalId,
    /// ... and `c_valid`.
    c_valid: Option<SignalId>,
    /// A PE sharing a SB_MAC16: `mul_a`, `mul_b` out, `mul_p` in.
    block: Option<(SignalId, SignalId, SignalId)>,
}

fn ports(m: &mut Module, cfg: &ArrayConfig, shared: bool) -> Ports {
    let op = Ty::s(OPERAND_BITS);
    // With diagonal flags the mesh says when to take a product and when a tile
    // closes; otherwise the flags travel with `a` through this PE.
    let diagonal = cfg.diagonal_flags();
    let pingpong = cfg.dsp_cell == DspCell::Ice40;
    // Fields are evaluated in the order written: the ports' order.
    Ports {
        clk: m.input(
            "clk",
            Ty::bit(),
            Some("Clock and synchronous reset"),
            "rising-edge clock",
        ),
        rst: m.input(
            "rst",
            Ty::bit(),
            None,
            "active-high synchronous reset (control state only)",
        ),
        adv: m.input(
            "adv",
            Ty::bit(),
            Some("Array-wide step enable"),
            "all registers advance when high",
        ),
        diagonal: diagonal.then(|| DiagonalIn {
            take: m.input(
                "take",
                Ty::bit(),
                Some("This PE's anti-diagonal, from the mesh"),
                "a valid product is accumulated this step",
            ),
            finish: m.input("finish", Ty::bit(), None, "this product closes the tile"),
            read: pingpong
                .then(|| m.input("read", Ty::bit(), None, "the finished sum leaves this step")),
        }),
        a_in: m.input("a_in", op, Some("From the left neighbour"), "A element"),
        flags_in: (!diagonal).then(|| {
            (
                m.input("a_valid_in", Ty::bit(), None, "a_in carries a beat"),
                m.input("a_last_in", Ty::bit(), None, "beat is k = K-1 of its tile"),
            )
        }),
        b_in: m.input("b_in", op, Some("From the neighbour above"), "B element"),
        a_out: m.output(
            "a_out",
            op,
            Some("To the right neighbour"),
            "a_in, one step later",
        ),
        flags_out: (!diagonal).then(|| {
            (
                m.output("a_valid_out", Ty::bit(), None, "a_valid_in, one step later"),
                m.output("a_last_out", Ty::bit(), None, "a_last_in, one step later"),
            )
        }),
        b_out: m.output(
            "b_out",
            op,
            Some("To the neighbour below"),
            "b_in, one step later",
        ),
        c_out: m.output(
            "c_out",
            Ty::s(ACC_BITS),
            Some("Finished result"),
            "C element of the tile that just closed",
        ),
        c_valid: (!diagonal).then(|| {
            m.output(
                "c_valid",
                Ty::bit(),
                None,
                "c_out holds a finished result this step",
            )
        }),
        // The shared block's side: depth 0 and 1 send the inputs, 2 and up the
        // pass-through registers; the product comes back through the block's
        // product register from depth 1 on (and its input registers from depth 3 on).
        block: shared.then(|| {
            (
                m.output(
                    "mul_a",
                    op,
                    Some("To and from the shared SB_MAC16"),
                    "multiplier operand a",
                ),
                m.output("mul_b", op, None, "multiplier operand b"),
                m.input(
                    "mul_p",
                    Ty::s(2 * OPERAND_BITS),
                    None,
                    "mul_a * mul_b, pipeline-depth steps later (at most 2)",
                ),
            )
        }),
    }
}

/// Build the PE module; `dsp` picks the multiplier style (see [`name`]).
pub fn build(cfg: &ArrayConfig, dsp: bool) -> Result<Module, GenError> {
    let shared = shares_block(cfg, dsp);
    let mut m = Module::new(name(cfg, dsp));
    describe(&mut m, cfg, dsp, shared);
    let op = Ty::s(OPERAND_BITS);
    let acc_ty = Ty::s(ACC_BITS);
    let prod_ty = Ty::s(2 * OPERAND_BITS);
    let Ports {
        clk,
        rst,
        adv,
        diagonal,
        a_in,
        flags_in,
        b_in,
        a_out,
        flags_out,
        b_out,
        c_out,
        c_valid,
        block,
    } = ports(&mut m, cfg, shared);

    let a_reg = m.reg("a_reg", op, "");
    let b_reg = m.reg("b_reg", op, "");
    let flags_reg = diagonal.is_none().then(|| {
        (
            m.reg("a_valid_reg", Ty::bit(), ""),
            m.reg("a_last_reg", Ty::bit(), ""),
        )
    });
    // On iCE40 (`dsp_cell = ice40`) two accumulators take tiles in turn
    // (see `accumulate_pingpong`); elsewhere it has a shadow register.
    // With diagonal flags, the accumulator's reset is declared with it (see the
    // accumulate step below).
    let sync = diagonal.is_some().then(|| m.domain("sync", clk, Some(rst)));
    let shadow = (cfg.dsp_cell != DspCell::Ice40).then(|| {
        let acc_doc = "running sum of the tile in progress (0 between tiles)";
        (
            match sync {
                Some(sync) => m.reg_reset("acc_reg", acc_ty, sync, 0, acc_doc),
                None => m.reg("acc_reg", acc_ty, acc_doc),
            },
            m.reg("c_reg", acc_ty, "shadow accumulator: last finished sum"),
        )
    });
    let c_valid_reg = diagonal
        .is_none()
        .then(|| m.reg("c_valid_reg", Ty::bit(), ""));

    let ctrl0 = |rst: SignalId| reset_to(rst, Ty::bit(), 0);
    let adv_e = || Some(Expr::from(adv));

    // Depth 2 multiplies the pass-through registers (free input registers); depth 0
    // and 1 multiply the inputs. Depth 3 gives the multiplier operand registers of
    // its own, one step behind the pass-through ones: they feed nothing but the
    // multiplier, so placement can put them beside it (ECP5 DSP blocks sit in a
    // few rows, far from where the mesh neighbours are) and iCE40 synthesis packs
    // them into the SB_MAC16. They load only valid beats: with the same input and
    // enable as the neighbour's pass-through register, synthesis would merge the
    // two back into one (a stale operand is harmless, its product is not taken).
    // With the ECP5 block the operand and product registers are the block's own
    // (see `ecp5_mult`); config validation guarantees depth >= 3 then.
    let prim = dsp && cfg.dsp_cell == DspCell::Ecp5;
    // A block of its own registers the operands (ECP5), or one shared with the
    // neighbour (iCE40) does.
    let block_regs = prim || shared;
    // Only depth 0 has diagonal flags; every deeper PE keeps its own.
    let no_flags = || {
        GenError::Internal(format!(
            "PE at pipeline depth {}: no flags of its own or from the mesh",
            cfg.pipeline
        ))
    };
    let own = |flags: Option<(SignalId, SignalId)>| flags.ok_or_else(no_flags);
    let (ma, mb, mflags) = match cfg.pipeline {
        0 | 1 => (a_in, b_in, flags_in),
        2 => (a_reg, b_reg, flags_reg),
        _ => {
            let (a_valid_reg, a_last_reg) = own(flags_reg)?;
            let mv = m.reg("mul_valid_reg", Ty::bit(), "");
            let ml = m.reg("mul_last_reg", Ty::bit(), "");
            m.clocked(mv, clk, a_valid_reg, adv_e(), ctrl0(rst));
            m.clocked(ml, clk, a_last_reg, adv_e(), ctrl0(rst));
            if block_regs {
                (a_reg, b_reg, Some((mv, ml)))
            } else {
                let load = m.wire_of(
                    "mul_load",
                    Expr::from(adv) & a_valid_reg,
                    "a valid beat moves into the multiplier operands",
                );
                let ma = m.reg("mul_a_reg", op, "multiplier operand a");
                let mb = m.reg("mul_b_reg", op, "multiplier operand b");
                m.clocked(ma, clk, a_reg, Some(load.into()), None);
                m.clocked(mb, clk, b_reg, Some(load.into()), None);
                (ma, mb, Some((mv, ml)))
            }
        }
    };
    let prod_note = if dsp {
        "full 16-bit product"
    } else {
        "full 16-bit product, from partial products"
    };
    if let Some((mul_a, mul_b, _)) = block {
        m.assign(mul_a, ma);
        m.assign(mul_b, mb);
    }
    let product = |m: &mut Module| {
        if let Some((_, _, mul_p)) = block {
            Expr::from(mul_p)
        } else if dsp {
            Expr::from(ma).mul_wide(mb)
        } else {
            lut_product(m, ma, mb)
        }
    };
    // Depth >= 1 registers the product with its flags.
    let (prod, flags) = if cfg.pipeline >= 1 {
        let (mv, ml) = own(mflags)?;
        let prod_reg = if let Some((_, _, mul_p)) = block {
            // The block's product register.
            mul_p
        } else if prim {
            // The block's input registers cannot merge with fabric ones, so they
            // take the step enable itself, a register's output that nextpnr can
            // put on a global net, with no gate between it and the block.
            ecp5_mult::instantiate(&mut m, clk, adv.into(), adv.into(), ma, mb)?
        } else if !dsp && cfg.pipeline >= 4 {
            // At depth 4 a LUT multiplier registers its two half sums, and the
            // second product stage adds them: its adder tree is cut in two.
            let (lo, hi) = lut_partial_sums(&mut m, ma, mb);
            let half_ty = Ty::u(2 * OPERAND_BITS);
            let lo_reg = m.reg("prod_lo_reg", half_ty, "partial products 0..3");
            let hi_reg = m.reg("prod_hi_reg", half_ty, "partial products 4..7");
            m.clocked(lo_reg, clk, lo, adv_e(), None);
            m.clocked(hi_reg, clk, hi, adv_e(), None);
            m.wire_of(
                "prod_sum",
                (Expr::from(lo_reg) + hi_reg).as_signed(),
                "the product, from the two registered half sums",
            )
        } else {
            let p = product(&mut m);
            let p = m.wire_of("prod", p, prod_note);
            let r = m.reg("prod_reg", prod_ty, "pipelined product");
            m.clocked(r, clk, p, adv_e(), None);
            r
        };
        let pv = m.reg("prod_valid_reg", Ty::bit(), "");
        let pl = m.reg("prod_last_reg", Ty::bit(), "");
        m.clocked(pv, clk, mv, adv_e(), ctrl0(rst));
        m.clocked(pl, clk, ml, adv_e(), ctrl0(rst));
        if cfg.pipeline >= 4 {
            // A second product register: the first sits beside the multiplier, this
            // one beside the accumulator, so neither the multiplier's output nor the
            // adder's input has to cross the die within one clock.
            let prod2_reg = m.reg("prod2_reg", prod_ty, "product, second stage");
            let pv2 = m.reg("prod2_valid_reg", Ty::bit(), "");
            let pl2 = m.reg("prod2_last_reg", Ty::bit(), "");
            m.clocked(prod2_reg, clk, prod_reg, adv_e(), None);
            m.clocked(pv2, clk, pv, adv_e(), ctrl0(rst));
            m.clocked(pl2, clk, pl, adv_e(), ctrl0(rst));
            (prod2_reg, Some((pv2, pl2)))
        } else {
            (prod_reg, Some((pv, pl)))
        }
    } else if dsp && block.is_none() && cfg.mul == MulStyle::Dsp {
        // Written at the accumulator's width (`a * b` in a 32-bit context, the
        // sign-extended 16-bit product), the product costs a simulator one 32-bit
        // multiply instead of a 16-bit one masked and extended again: Verilator
        // runs the 16x16 array in 8.1k instead of 11.8k instructions per cycle.
        // Synthesis sees the same 8x8 multiply (ECP5: the same MULT18X18D and
        // LUTs), except that yosys 0.23's `synth_ice40 -dsp` no longer folds the
        // accumulator into the SB_MAC16 (its one `wreduce` leaves the adder's
        // input 32 bits wide). `mul = auto`, what `flow` picks for a board with
        // few DSP blocks such as the iCE40UP5K, keeps the 16-bit product below.
        let p = Expr::from(ma).mul_wide(mb).resize(ACC_BITS);
        (
            m.wire_of("prod", p, "the full product, at the accumulator's width"),
            mflags,
        )
    } else {
        let p = product(&mut m);
        (m.wire_of("prod", p, prod_note), mflags)
    };

    let pass_through = |m: &mut Module| {
        m.clocked(a_reg, clk, a_in, adv_e(), None);
        m.clocked(b_reg, clk, b_in, adv_e(), None);
        if let (Some((a_valid_reg, a_last_reg)), Some((a_valid_in, a_last_in))) =
            (flags_reg, flags_in)
        {
            m.clocked(a_valid_reg, clk, a_valid_in, adv_e(), ctrl0(rst));
            m.clocked(a_last_reg, clk, a_last_in, adv_e(), ctrl0(rst));
        }
    };
    let take_of = |m: &mut Module, v: SignalId| {
        m.wire_of(
            "take",
            Expr::from(adv) & v,
            "a valid product is accumulated this step",
        )
    };
    let c = if let Some((acc_reg, c_reg)) = shadow {
        let sum = m.wire_of(
            "sum",
            Expr::from(acc_reg) + Expr::from(prod).resize(ACC_BITS),
            "acc + a*b, wrapping",
        );
        let (take, finish) = match (flags, &diagonal) {
            (Some((v, l)), _) => {
                let take = take_of(&mut m, v);
                let finish = m.wire_of(
                    "finish",
                    Expr::from(take) & l,
                    "this product closes the tile",
                );
                (take, finish)
            }
            (None, Some(d)) => (d.take, d.finish),
            (None, None) => return Err(no_flags()),
        };
        pass_through(&mut m);
        // The accumulator restarts by clearing as the tile closes (and on reset), not
        // by a mux in front of the adder: the clear is the flip-flops' synchronous
        // reset (one condition, so synthesis maps it to the slice's LSR pin), and the
        // adder's output goes straight into the register packed beside it. (The
        // flags that would drive a mux in the loop are shared by every PE on an
        // anti-diagonal, which sees identical flags, so synthesis merges them into one
        // register far from most of its PEs.)
        if let Some(sync) = sync {
            // The same two clears as statements of their own, not `rst | finish`:
            // synthesis merges them into the same synchronous reset (yosys, ECP5
            // and iCE40: the same cells), while a simulator tests the shared reset
            // once instead of computing an OR per anti-diagonal on every
            // evaluation (Verilator, 16x16: 3% of the instructions).
            m.sync(sync, "", |p| {
                p.if_(take, |p| {
                    p.set(acc_reg, sum);
                });
                p.if_(finish, |p| {
                    p.set(acc_reg, Expr::zero(acc_ty));
                });
            });
        } else {
            let clear = m.wire_of(
                "acc_clear",
                Expr::from(rst) | finish,
                "reset, or the tile closes: the accumulator restarts at 0",
            );
            m.clocked(
                acc_reg,
                clk,
                sum,
                Some(take.into()),
                reset_to(clear, acc_ty, 0),
            );
        }
        m.clocked(c_reg, clk, sum, Some(finish.into()), None);
        c_reg
    } else {
        let (take, closing) = match (flags, c_valid_reg, &diagonal) {
            (Some((v, last)), Some(c_valid), _) => {
                (take_of(&mut m, v), Closing::Own { last, c_valid })
            }
            (
                None,
                _,
                Some(DiagonalIn {
                    take,
                    finish,
                    read: Some(read),
                }),
            ) => (
                *take,
                Closing::Diagonal {
                    finish: *finish,
                    read: *read,
                },
            ),
            _ => return Err(no_flags()),
        };
        pass_through(&mut m);
        accumulate_pingpong(
            &mut m,
            Acc {
                clk,
                rst,
                adv,
                take,
                closing,
                prod,
            },
        )
    };
    if let (Some(c_valid_reg), Some((v, l))) = (c_valid_reg, flags) {
        m.clocked(c_valid_reg, clk, Expr::from(v) & l, adv_e(), ctrl0(rst));
    }

    m.assign(a_out, a_reg);
    if let (Some((a_valid_out, a_last_out)), Some((a_valid_reg, a_last_reg))) =
        (flags_out, flags_reg)
    {
        m.assign(a_valid_out, a_valid_reg);
        m.assign(a_last_out, a_last_reg);
    }
    m.assign(b_out, b_reg);
    m.assign(c_out, c);
    if let (Some(c_valid), Some(c_valid_reg)) = (c_valid, c_valid_reg) {
        m.assign(c_valid, c_valid_reg);
    }
    Ok(m)
}

/// A PE's inputs from its anti-diagonal's flags in the mesh
/// ([`ArrayConfig::diagonal_flags`]).
struct DiagonalIn {
    take: SignalId,
    finish: SignalId,
    /// With the iCE40 accumulator pair: its finished sum is read this step.
    read: Option<SignalId>,
}

/// How the accumulator learns that a tile closes and that its sum is read.
enum Closing {
    /// From the PE's own flags: the last flag of the product taken, and
    /// `c_valid` while the sum is out.
    Own { last: SignalId, c_valid: SignalId },
    /// From the mesh's anti-diagonal.
    Diagonal { finish: SignalId, read: SignalId },
}

/// The accumulator's inputs: the product taken on `take`, `last` if it closes
/// its tile.
struct Acc {
    clk: SignalId,
    rst: SignalId,
    adv: SignalId,
    take: SignalId,
    closing: Closing,
    prod: SignalId,
}

/// The iCE40 accumulator (`dsp_cell = ice40`): two accumulators taking tiles in
/// turn (`sel_reg` says which takes this tile's products). Returns the finished
/// sum, valid in the step after the tile's last product (while `c_valid` is
/// high); the accumulator it is read from clears at the end of that step, before
/// its next tile can start.
///
/// Why: on iCE40 a LUT's flip-flop packs into its logic cell only when the LUT
/// drives nothing else. The shadow-register PE's adder fed both the accumulator
/// and the shadow register, so neither packed, and the accumulator's flip-flops
/// were placed up to 10 columns from the carry chain (measured, 4x4 on the
/// UP5K: 7.6 of 22 ns routing). Reading the sum in place instead needs the old
/// sum gated out of the adder at a tile's first product, a gate driven by a
/// flag every PE of an anti-diagonal shares (synthesis merges it; 3.6 to 5.5 ns
/// of routing). Here each adder drives only its own accumulator, whose
/// flip-flops sit in the adder's logic cells, and the loop has no gate: the
/// restart is the flip-flops' synchronous reset, as in the shadow-register PE.
/// The cost is a second adder, paid for by the shadow register it replaces.
///
/// Each adder's 32-bit carry chain (12.2 ns on the UP5K) is now most of the
/// critical path. Splitting each accumulator into 16-bit halves with the carry
/// registered between them (resolved after the deskew) was measured: 59 to 62
/// MHz instead of 57 to 60 for a 4x4 at depth 4, for 350 more logic cells (10%)
/// and a 5x4 that no longer fits the part; not kept (docs/measurements.md).
fn accumulate_pingpong(m: &mut Module, acc: Acc) -> SignalId {
    let acc_ty = Ty::s(ACC_BITS);
    let sel = m.reg(
        "sel_reg",
        Ty::bit(),
        "which accumulator takes this tile (flips as a tile closes)",
    );
    // In the step the sum is read, sel_reg already names the next tile's
    // accumulator; the other one holds the finished sum.
    let (finish, read) = match acc.closing {
        Closing::Own { last, c_valid } => (
            m.wire_of(
                "finish",
                Expr::from(acc.take) & last,
                "this product closes the tile",
            ),
            m.wire_of(
                "read",
                Expr::from(acc.adv) & c_valid,
                "the finished sum leaves this step",
            ),
        ),
        Closing::Diagonal { finish, read } => (finish, read),
    };
    let mut accs = Vec::new();
    for x in 0..2u32 {
        let mine = if x == 1 {
            Expr::from(sel)
        } else {
            !Expr::from(sel)
        };
        let a = m.reg(
            &format!("acc{x}_reg"),
            acc_ty,
            &format!("running sum of the tiles taken while sel_reg = {x}"),
        );
        let sum = m.wire_of(
            &format!("sum{x}"),
            Expr::from(a) + Expr::from(acc.prod).resize(ACC_BITS),
            "acc + a*b, wrapping",
        );
        let take = m.wire_of(
            &format!("take{x}"),
            Expr::from(acc.take) & mine.clone(),
            "a product for this accumulator's tile",
        );
        let clear = m.wire_of(
            &format!("clear{x}"),
            Expr::from(acc.rst) | (Expr::from(read) & !mine),
            "reset, or its finished sum is read: it restarts at 0",
        );
        m.clocked(
            a,
            acc.clk,
            sum,
            Some(take.into()),
            reset_to(clear, acc_ty, 0),
        );
        accs.push(a);
    }
    m.clocked(
        sel,
        acc.clk,
        !Expr::from(sel),
        Some(finish.into()),
        reset_to(acc.rst, Ty::bit(), 0),
    );
    m.wire_of(
        "acc_done",
        Expr::mux(sel, accs[0], accs[1]),
        "the finished sum: the accumulator not taking the next tile",
    )
}

/// Connections of one PE instance (names of the PE ports in the order above).
pub struct PeConns {
    pub clk: SignalId,
    pub rst: SignalId,
    pub adv: SignalId,
    pub a_in: SignalId,
    pub b_in: SignalId,
    pub a_out: Conn,
    pub b_out: Conn,
    pub c_out: SignalId,
    pub flags: PeFlags,
    /// A PE sharing a `SB_MAC16` ([`shares_block`]): the wires its `mul_a` and
    /// `mul_b` drive and the one its `mul_p` reads.
    pub block: Option<(SignalId, SignalId, SignalId)>,
}

/// A PE's flag connections: its anti-diagonal's, or its own chain through its
/// row ([`ArrayConfig::diagonal_flags`]).
pub enum PeFlags {
    Diagonal {
        take: SignalId,
        finish: SignalId,
        /// Only for the iCE40 accumulator pair.
        read: Option<SignalId>,
    },
    Own {
        valid_in: SignalId,
        last_in: SignalId,
        valid_out: Conn,
        last_out: Conn,
        c_valid: SignalId,
    },
}

impl PeConns {
    pub fn into_list(self) -> Vec<(String, Conn)> {
        let i = |s: SignalId| Conn::In(s.into());
        let mut list: Vec<(String, Conn)> = vec![
            ("clk".into(), i(self.clk)),
            ("rst".into(), i(self.rst)),
            ("adv".into(), i(self.adv)),
        ];
        match self.flags {
            PeFlags::Diagonal { take, finish, read } => {
                list.push(("take".into(), i(take)));
                list.push(("finish".into(), i(finish)));
                if let Some(read) = read {
                    list.push(("read".into(), i(read)));
                }
                list.extend([
                    ("a_in".into(), i(self.a_in)),
                    ("b_in".into(), i(self.b_in)),
                    ("a_out".into(), self.a_out),
                    ("b_out".into(), self.b_out),
                    ("c_out".into(), Conn::Out(self.c_out)),
                ]);
            }
            PeFlags::Own {
                valid_in,
                last_in,
                valid_out,
                last_out,
                c_valid,
            } => list.extend([
                ("a_in".into(), i(self.a_in)),
                ("a_valid_in".into(), i(valid_in)),
                ("a_last_in".into(), i(last_in)),
                ("b_in".into(), i(self.b_in)),
                ("a_out".into(), self.a_out),
                ("a_valid_out".into(), valid_out),
                ("a_last_out".into(), last_out),
                ("b_out".into(), self.b_out),
                ("c_out".into(), Conn::Out(self.c_out)),
                ("c_valid".into(), Conn::Out(c_valid)),
            ]),
        }
        if let Some((a, b, p)) = self.block {
            list.push(("mul_a".into(), Conn::Out(a)));
            list.push(("mul_b".into(), Conn::Out(b)));
            list.push(("mul_p".into(), i(p)));
        }
        list
    }
}
