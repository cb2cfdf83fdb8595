//! The array top: the valid/ready contract around skew, mesh and deskew.
//!
//! Pipeline: input register -> skew -> mesh -> column collect -> deskew -> output
//! register, with a skid register beside the input and the output registers.
//! Everything between them advances together on `adv`, which is low only while
//! the output skid register holds a row (the consumer stalled twice in a row); so
//! backpressure freezes the whole pipeline and nothing is lost or duplicated.
//! Because `adv`, `in_ready` and `out_valid` are registers (or a NOT of one), no
//! combinational path runs from `out_ready` to `in_ready` or into the array: the
//! array can sit between any two valid/ready blocks, and the enable's fan-out to
//! every register starts at a flip-flop. Steps without an input beat carry
//! `valid = 0` through the array and are simply not accumulated.
//!
//! The one throttle: two tiles must close at least `rows` steps apart, or two rows
//! of one column would finish in the same step. With K >= rows it never engages.

use crate::ir::{Conn, Const, Expr, Module, Reset, SignalId, Ty};
use crate::util::bits_for;

use super::config::{ArrayConfig, ACC_BITS, OPERAND_BITS};
use super::skew::DelayLines;

pub struct Blocks<'a> {
    pub mesh: &'a str,
    pub skew_a: &'a DelayLines,
    pub skew_flags: &'a DelayLines,
    pub skew_b: &'a DelayLines,
    pub deskew_c: &'a DelayLines,
}

pub fn build(cfg: &ArrayConfig, blocks: Blocks<'_>) -> Module {
    let (rows, cols) = (cfg.rows, cfg.cols);
    let d = cfg.derived();
    let mut m = Module::new(cfg.name.clone());
    m.doc(format!("Output-stationary int8 systolic array, {rows} x {cols} PEs, C = A * B per tile."))
        .doc("Input beat k: column k of A (in_a) and row k of B (in_b); in_last marks k = K-1.")
        .doc("Output: one row of C per beat, row 0 first; out_last marks row ROWS-1.")
        .doc("int8 operands, 32-bit two's-complement accumulators that wrap on overflow.")
        .doc("Both streams are valid/ready; a beat moves when valid and ready are high at a rising edge.");
    let op = Ty::s(OPERAND_BITS);
    let acc = Ty::s(ACC_BITS);

    let clk = m.input(
        "clk",
        Ty::bit(),
        Some("Clock and synchronous active-high reset"),
        "",
    );
    let rst = m.input("rst", Ty::bit(), None, "");
    let in_valid = m.input(
        "in_valid",
        Ty::bit(),
        Some("Operand stream: one k per beat"),
        "",
    );
    let in_ready = m.output("in_ready", Ty::bit(), None, "");
    let in_a = m.input(
        "in_a",
        Ty::u(d.in_a_bits),
        None,
        "column k of A; A[i][k] at [8*i +: 8]",
    );
    let in_b = m.input(
        "in_b",
        Ty::u(d.in_b_bits),
        None,
        "row k of B; B[k][j] at [8*j +: 8]",
    );
    let in_last = m.input("in_last", Ty::bit(), None, "k = K-1: closes the tile");
    let out_valid = m.output(
        "out_valid",
        Ty::bit(),
        Some("Result stream: one row of C per beat"),
        "",
    );
    let out_ready = m.input("out_ready", Ty::bit(), None, "");
    let out_c = m.output(
        "out_c",
        Ty::u(d.out_c_bits),
        None,
        "C[i][j] at [32*j +: 32]",
    );
    let out_last = m.output("out_last", Ty::bit(), None, "row ROWS-1 of the tile");

    // Input register and its skid register.
    let in_valid_reg = m.reg("in_valid_reg", Ty::bit(), "input register holds a beat");
    let in_a_reg = m.reg("in_a_reg", Ty::u(d.in_a_bits), "");
    let in_b_reg = m.reg("in_b_reg", Ty::u(d.in_b_bits), "");
    let in_last_reg = m.reg("in_last_reg", Ty::bit(), "");
    let in_skid_valid_reg = m.reg(
        "in_skid_valid_reg",
        Ty::bit(),
        "skid register holds a beat taken while the input register could not move",
    );
    let in_skid_a_reg = m.reg("in_skid_a_reg", Ty::u(d.in_a_bits), "");
    let in_skid_b_reg = m.reg("in_skid_b_reg", Ty::u(d.in_b_bits), "");
    let in_skid_last_reg = m.reg("in_skid_last_reg", Ty::bit(), "");
    // Output register and its skid register.
    let out_valid_reg = m.reg("out_valid_reg", Ty::bit(), "output register holds a row");
    let out_last_reg = m.reg("out_last_reg", Ty::bit(), "");
    let out_c_regs: Vec<SignalId> = (0..cols)
        .map(|j| m.reg(&format!("out_c{j}_reg"), acc, ""))
        .collect();
    let out_skid_valid_reg = m.reg(
        "out_skid_valid_reg",
        Ty::bit(),
        "skid register holds a row the stalled output register could not take",
    );
    let out_skid_last_reg = m.reg("out_skid_last_reg", Ty::bit(), "");
    let out_skid_c_regs: Vec<SignalId> = (0..cols)
        .map(|j| m.reg(&format!("out_skid_c{j}_reg"), acc, ""))
        .collect();
    // Tile-close throttle.
    let gap_bits = bits_for(u64::from(rows - 1));
    let gap_max = Const {
        ty: Ty::u(gap_bits),
        bits: u128::from(rows - 1),
    };
    let since_last_reg = m.reg(
        "since_last_reg",
        Ty::u(gap_bits),
        "steps since a tile closed, saturating at ROWS-1",
    );

    // The array steps unless the output skid register is full: a register, so
    // neither the step enable nor in_ready depends combinationally on out_ready.
    let adv = m.wire_of(
        "adv",
        !Expr::from(out_skid_valid_reg),
        "the pipeline steps: a produced row has a free slot",
    );
    // The same value again, from a register of its own, for the array-wide fan-out
    // (every PE, skew and deskew register): the top's own control keeps `adv`, a
    // gate away from its source, instead of sharing a net that spans the die.
    // `step_reg` is `!out_skid_valid_reg` at every edge (reset: 1 = 0 skid rows).
    let step_reg = m.reg(
        "step_reg",
        Ty::bit(),
        "copy of adv for the array-wide fan-out",
    );

    // Kept as a register of its own (always equal to since_last_reg == ROWS-1), so
    // that `in_free`, the enable of every input register bit, is one gate of
    // registers: the compare would add a gate and a hop across the die.
    let last_ok = m.reg(
        "last_ok_reg",
        Ty::bit(),
        "a tile may close without two rows of a column finishing together",
    );
    let issue = m.wire_of(
        "issue",
        Expr::from(in_valid_reg) & adv & (!Expr::from(in_last_reg) | last_ok),
        "the input register's beat enters the array this step",
    );
    let issue_last = m.wire_of("issue_last", Expr::from(issue) & in_last_reg, "");
    let in_ready_int = m.wire_of(
        "in_ready_int",
        !Expr::from(in_skid_valid_reg),
        "the skid register is free, so a beat taken now has a place",
    );
    m.assign(in_ready, in_ready_int);
    let in_fire = m.wire_of(
        "in_fire",
        Expr::from(in_valid) & in_ready_int,
        "a beat is taken this edge",
    );
    // Written from the registers directly rather than from `issue`, so that it
    // maps to one LUT4: it enables every input register bit, spread wide.
    let in_free = m.wire_of(
        "in_free",
        !Expr::from(in_valid_reg)
            | (!Expr::from(out_skid_valid_reg) & (!Expr::from(in_last_reg) | last_ok)),
        "input register is empty or being emptied",
    );

    let ctrl = |value: u128, ty: Ty| {
        Some(Reset {
            rst,
            value: Const { ty, bits: value },
        })
    };
    // The input register refills from the skid register first, else from the port.
    let from_skid = |skid: SignalId, port: SignalId| Expr::mux(in_skid_valid_reg, skid, port);
    m.clocked(
        in_valid_reg,
        clk,
        Expr::from(in_skid_valid_reg) | in_fire,
        Some(in_free.into()),
        ctrl(0, Ty::bit()),
    );
    m.clocked(
        in_a_reg,
        clk,
        from_skid(in_skid_a_reg, in_a),
        Some(in_free.into()),
        None,
    );
    m.clocked(
        in_b_reg,
        clk,
        from_skid(in_skid_b_reg, in_b),
        Some(in_free.into()),
        None,
    );
    m.clocked(
        in_last_reg,
        clk,
        from_skid(in_skid_last_reg, in_last),
        Some(in_free.into()),
        None,
    );
    m.clocked(
        in_skid_valid_reg,
        clk,
        !Expr::from(in_free) & (Expr::from(in_skid_valid_reg) | in_fire),
        None,
        ctrl(0, Ty::bit()),
    );
    m.clocked(in_skid_a_reg, clk, in_a, Some(in_ready_int.into()), None);
    m.clocked(in_skid_b_reg, clk, in_b, Some(in_ready_int.into()), None);
    m.clocked(
        in_skid_last_reg,
        clk,
        in_last,
        Some(in_ready_int.into()),
        None,
    );
    let saturated = Expr::Const(gap_max);
    let since_next = m.wire_of(
        "since_next",
        Expr::mux(
            issue_last,
            Expr::zero(Ty::u(gap_bits)),
            Expr::mux(
                last_ok,
                saturated,
                Expr::from(since_last_reg) + Expr::uconst(gap_bits, 1),
            ),
        ),
        "since_last_reg after this step",
    );
    m.clocked(
        since_last_reg,
        clk,
        since_next,
        Some(adv.into()),
        Some(Reset {
            rst,
            value: gap_max,
        }),
    );
    m.clocked(
        last_ok,
        clk,
        Expr::from(since_next).cmp_eq(Expr::Const(gap_max)),
        Some(adv.into()),
        ctrl(1, Ty::bit()),
    );

    // Skew.
    let a_sk: Vec<SignalId> = (0..rows)
        .map(|i| m.wire(&format!("a_sk_{i}"), op, ""))
        .collect();
    let f_sk: Vec<SignalId> = (0..rows)
        .map(|i| m.wire(&format!("flags_sk_{i}"), Ty::u(2), "{last, valid}"))
        .collect();
    let b_sk: Vec<SignalId> = (0..cols)
        .map(|j| m.wire(&format!("b_sk_{j}"), op, ""))
        .collect();
    let a_lanes = (0..rows)
        .map(|i| {
            Expr::from(in_a_reg)
                .slice(i * OPERAND_BITS, OPERAND_BITS)
                .as_signed()
        })
        .collect();
    let flag_lanes = (0..rows)
        .map(|_| Expr::concat(vec![issue.into(), issue_last.into()]))
        .collect();
    let b_lanes = (0..cols)
        .map(|j| {
            Expr::from(in_b_reg)
                .slice(j * OPERAND_BITS, OPERAND_BITS)
                .as_signed()
        })
        .collect();
    let sk = blocks.skew_a;
    m.instance(
        &sk.module.name,
        "skew_a",
        sk.conns(clk, rst, step_reg, a_lanes, &a_sk),
    );
    let sk = blocks.skew_flags;
    m.instance(
        &sk.module.name,
        "skew_flags",
        sk.conns(clk, rst, step_reg, flag_lanes, &f_sk),
    );
    let sk = blocks.skew_b;
    m.instance(
        &sk.module.name,
        "skew_b",
        sk.conns(clk, rst, step_reg, b_lanes, &b_sk),
    );

    // Mesh.
    let col: Vec<SignalId> = (0..cols)
        .map(|j| m.wire(&format!("col_c_{j}"), acc, ""))
        .collect();
    let mesh_valid = m.wire("mesh_valid", Ty::bit(), "a row leaves the last column");
    let mesh_last = m.wire("mesh_last", Ty::bit(), "it is row ROWS-1");
    let mut conns = vec![
        ("clk".to_string(), Conn::In(clk.into())),
        ("rst".to_string(), Conn::In(rst.into())),
        ("adv".to_string(), Conn::In(step_reg.into())),
    ];
    for i in 0..rows as usize {
        conns.push((format!("a_{i}"), Conn::In(a_sk[i].into())));
        conns.push((
            format!("a_valid_{i}"),
            Conn::In(Expr::from(f_sk[i]).bit_at(0)),
        ));
        conns.push((
            format!("a_last_{i}"),
            Conn::In(Expr::from(f_sk[i]).bit_at(1)),
        ));
    }
    for (j, b) in b_sk.iter().enumerate() {
        conns.push((format!("b_{j}"), Conn::In((*b).into())));
    }
    for (j, c) in col.iter().enumerate() {
        conns.push((format!("c_{j}"), Conn::Out(*c)));
    }
    conns.push(("out_valid".into(), Conn::Out(mesh_valid)));
    conns.push(("out_last".into(), Conn::Out(mesh_last)));
    m.instance(blocks.mesh, "mesh", conns);
    // The edge stage on the way out: the status follows the results through the
    // deskew's extra stage.
    let (mesh_valid, mesh_last) = if cfg.edge_stages() > 0 {
        let v = m.reg("mesh_valid_reg", Ty::bit(), "mesh_valid, one step later");
        let l = m.reg("mesh_last_reg", Ty::bit(), "mesh_last, one step later");
        m.clocked(
            v,
            clk,
            mesh_valid,
            Some(step_reg.into()),
            ctrl(0, Ty::bit()),
        );
        m.clocked(l, clk, mesh_last, Some(step_reg.into()), ctrl(0, Ty::bit()));
        (v, l)
    } else {
        (mesh_valid, mesh_last)
    };

    // Deskew and output register.
    let c_dsk: Vec<SignalId> = (0..cols)
        .map(|j| m.wire(&format!("c_dsk_{j}"), acc, ""))
        .collect();
    let sk = blocks.deskew_c;
    let c_lanes = col.iter().map(|c| Expr::from(*c)).collect();
    m.instance(
        &sk.module.name,
        "deskew_c",
        sk.conns(clk, rst, step_reg, c_lanes, &c_dsk),
    );
    let push = m.wire_of(
        "push",
        Expr::from(adv) & mesh_valid,
        "a finished row leaves the deskew",
    );
    let out_free = m.wire_of(
        "out_free",
        !Expr::from(out_valid_reg) | out_ready,
        "output register is empty or being taken",
    );
    // The output register refills from the skid register first, else from the array.
    let from_skid = |skid: SignalId, row: SignalId| Expr::mux(out_skid_valid_reg, skid, row);
    m.clocked(
        out_valid_reg,
        clk,
        Expr::from(out_skid_valid_reg) | push,
        Some(out_free.into()),
        ctrl(0, Ty::bit()),
    );
    m.clocked(
        out_last_reg,
        clk,
        from_skid(out_skid_last_reg, mesh_last),
        Some(out_free.into()),
        None,
    );
    let skid_next = m.wire_of(
        "out_skid_valid_next",
        !Expr::from(out_free) & (Expr::from(out_skid_valid_reg) | push),
        "",
    );
    m.clocked(out_skid_valid_reg, clk, skid_next, None, ctrl(0, Ty::bit()));
    m.clocked(
        step_reg,
        clk,
        !Expr::from(skid_next),
        None,
        ctrl(1, Ty::bit()),
    );
    m.clocked(
        out_skid_last_reg,
        clk,
        mesh_last,
        Some(step_reg.into()),
        None,
    );
    for j in 0..cols as usize {
        m.clocked(
            out_c_regs[j],
            clk,
            from_skid(out_skid_c_regs[j], c_dsk[j]),
            Some(out_free.into()),
            None,
        );
        m.clocked(
            out_skid_c_regs[j],
            clk,
            c_dsk[j],
            Some(step_reg.into()),
            None,
        );
    }
    m.assign(out_valid, out_valid_reg);
    m.assign(out_last, out_last_reg);
    m.assign(
        out_c,
        Expr::concat(
            out_c_regs
                .iter()
                .map(|r| Expr::from(*r).as_unsigned())
                .collect(),
        ),
    );
    m
}
