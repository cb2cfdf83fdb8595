use crate::ir::{Const, Expr, Module, Reset, SignalId, Ty};
use crate::parts::skid::{self, SkidConfig, SkidIo};
use crate::parts::Instantiate;
use crate::util::bits_for;
use crate::GenError;

use super::config::{ArrayConfig, ACC_BITS, OPERAND_BITS};
use super::skew::DelayLines;

pub struct Blocks<'a> {
    pub mesh: &'a Module,
    pub skew_a: &'a DelayLines,
    /// Absent with [`ArrayConfig::diagonal_flags`]: the mesh delays the flags.
    pub skew_flags: Option<&'a DelayLines>,
    pub skew_b: &'a DelayLines,
    pub deskew_c: &'a DelayLines,
}

/// Payload bits of the input skid buffer: `{in_last, in_b, in_a}`.
fn in_skid_bits(cfg: &ArrayConfig) -> u32 {
    let d = cfg.derived();
    d.in_a_bits + d.in_b_bits + 1
}

/// Payload bits of the output skid buffer: `{last, out_c}`.
fn out_skid_bits(cfg: &ArrayConfig) -> u32 {
    cfg.derived().out_c_bits + 1
}

pub fn build(cfg: &ArrayConfig, blocks: Blocks<'_>) -> Result<Module, GenError> {
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

    // The operand beat on offer from the input skid buffer.
    let beat_bits = in_skid_bits(cfg);
    let op_valid = m.wire("op_valid", Ty::bit(), "the input skid buffer holds a beat");
    let op_data = m.wire(
        "op_data",
        Ty::u(beat_bits),
        "{in_last, in_b, in_a} of that beat",
    );
    let op_last = m.wire_of("op_last", Expr::from(op_data).bit_at(beat_bits - 1), "");
    // The result row side: the output skid buffer's ready is the step enable.
    let adv = m.wire(
        "adv",
        Ty::bit(),
        "the pipeline steps: the output skid buffer can take a produced row",
    );
    // The same value again, from a register of its own in the skid buffer, for
    // the array-wide fan-out (every PE, skew and deskew register): the top's own
    // control keeps `adv` instead of sharing a net that spans the die.
    let step = m.wire("step", Ty::bit(), "copy of adv for the array-wide fan-out");

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
    // Kept as a register of its own (always equal to since_last_reg == ROWS-1), so
    // that the input skid buffer's out_ready is one gate of registers: the compare
    // would add a gate and a hop across the die.
    let last_ok = m.reg(
        "last_ok_reg",
        Ty::bit(),
        "a tile may close without two rows of a column finishing together",
    );
    let op_ready = m.wire_of(
        "op_ready",
        Expr::from(adv) & (!Expr::from(op_last) | last_ok),
        "the held beat enters the array if there is one",
    );
    let issue = m.wire_of(
        "issue",
        Expr::from(op_valid) & op_ready,
        "the input skid buffer's beat enters the array this step",
    );
    let issue_last = m.wire_of("issue_last", Expr::from(issue) & op_last, "");
    let in_beat = m.wire_of(
        "in_beat",
        Expr::concat(vec![in_a.into(), in_b.into(), in_last.into()]),
        "{in_last, in_b, in_a}",
    );
    // Inline, not an instance: the ECP5 flow keeps the hierarchy, and the input
    // register's enable `~op_valid | op_ready` must stay one LUT of registers.
    let in_skid = skid::add(
        &mut m,
        "in",
        &SkidConfig {
            name: "in_skid".into(),
            width: beat_bits,
            ready_copy: false,
        },
        SkidIo {
            clk,
            rst,
            in_valid: in_valid.into(),
            in_data: in_beat.into(),
            out_ready: op_ready.into(),
        },
    );
    m.assign(in_ready, in_skid.in_ready);
    m.assign(op_valid, in_skid.out_valid);
    m.assign(op_data, in_skid.out_data);

    let ctrl = |value: u128, ty: Ty| {
        Some(Reset {
            rst,
            value: Const { ty, bits: value },
        })
    };
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
    let f_sk: Vec<SignalId> = if blocks.skew_flags.is_some() {
        (0..rows)
            .map(|i| m.wire(&format!("flags_sk_{i}"), Ty::u(2), "{last, valid}"))
            .collect()
    } else {
        Vec::new()
    };
    let b_sk: Vec<SignalId> = (0..cols)
        .map(|j| m.wire(&format!("b_sk_{j}"), op, ""))
        .collect();
    let a_lanes = (0..rows)
        .map(|i| {
            Expr::from(op_data)
                .slice(i * OPERAND_BITS, OPERAND_BITS)
                .as_signed()
        })
        .collect();
    let flag_lanes = (0..rows)
        .map(|_| Expr::concat(vec![issue.into(), issue_last.into()]))
        .collect();
    let b_lanes = (0..cols)
        .map(|j| {
            Expr::from(op_data)
                .slice(d.in_a_bits + j * OPERAND_BITS, OPERAND_BITS)
                .as_signed()
        })
        .collect();
    for (name, sk, lanes, outs) in [
        ("skew_a", Some(blocks.skew_a), a_lanes, &a_sk),
        ("skew_flags", blocks.skew_flags, flag_lanes, &f_sk),
        ("skew_b", Some(blocks.skew_b), b_lanes, &b_sk),
    ] {
        let Some(sk) = sk else { continue };
        m.inst(&sk.module, name)
            .conns(sk.conns(clk, rst, step, lanes, outs))
            .finish()?;
    }

    // Mesh.
    let col: Vec<SignalId> = (0..cols)
        .map(|j| m.wire(&format!("col_c_{j}"), acc, ""))
        .collect();
    let mesh_valid = m.wire("mesh_valid", Ty::bit(), "a row leaves the last column");
    let mesh_last = m.wire("mesh_last", Ty::bit(), "it is row ROWS-1");
    let mut mesh = m
        .inst(blocks.mesh, "mesh")
        .connect("clk", clk)
        .connect("rst", rst)
        .connect("adv", step);
    if blocks.skew_flags.is_none() {
        mesh = mesh
            .connect("in_valid", issue)
            .connect("in_last", issue_last);
    }
    for (i, a) in a_sk.iter().enumerate() {
        mesh = mesh.connect(&format!("a_{i}"), *a);
        if let Some(f) = f_sk.get(i) {
            mesh = mesh
                .connect(&format!("a_valid_{i}"), Expr::from(*f).bit_at(0))
                .connect(&format!("a_last_{i}"), Expr::from(*f).bit_at(1));
        }
    }
    for (j, b) in b_sk.iter().enumerate() {
        mesh = mesh.connect(&format!("b_{j}"), *b);
    }
    for (j, c) in col.iter().enumerate() {
        mesh = mesh.out(&format!("c_{j}"), *c);
    }
    mesh.out("out_valid", mesh_valid)
        .out("out_last", mesh_last)
        .finish()?;
    // The edge stage on the way out: the status follows the results through the
    // deskew's extra stage.
    let (mesh_valid, mesh_last) = if cfg.edge_stages() > 0 {
        let v = m.reg("mesh_valid_reg", Ty::bit(), "mesh_valid, one step later");
        let l = m.reg("mesh_last_reg", Ty::bit(), "mesh_last, one step later");
        m.clocked(v, clk, mesh_valid, Some(step.into()), ctrl(0, Ty::bit()));
        m.clocked(l, clk, mesh_last, Some(step.into()), ctrl(0, Ty::bit()));
        (v, l)
    } else {
        (mesh_valid, mesh_last)
    };

    // Deskew and the output skid buffer, whose ready is the step enable: a
    // register, so neither the step nor in_ready depends combinationally on
    // out_ready.
    let c_dsk: Vec<SignalId> = (0..cols)
        .map(|j| m.wire(&format!("c_dsk_{j}"), acc, ""))
        .collect();
    let sk = blocks.deskew_c;
    let c_lanes = col.iter().map(|c| Expr::from(*c)).collect();
    m.inst(&sk.module, "deskew_c")
        .conns(sk.conns(clk, rst, step, c_lanes, &c_dsk))
        .finish()?;
    let row_bits = out_skid_bits(cfg);
    let row = m.wire("row_data", Ty::u(row_bits), "{last, C row} on offer");
    let mut row_in: Vec<Expr> = c_dsk.iter().map(|c| Expr::from(*c).as_unsigned()).collect();
    row_in.push(mesh_last.into());
    let row_in = m.wire_of(
        "row_in",
        Expr::concat(row_in),
        "{last, C row} leaving the deskew",
    );
    let out_skid = skid::add(
        &mut m,
        "out",
        &SkidConfig {
            name: "out_skid".into(),
            width: row_bits,
            ready_copy: true,
        },
        SkidIo {
            clk,
            rst,
            in_valid: mesh_valid.into(),
            in_data: row_in.into(),
            out_ready: out_ready.into(),
        },
    );
    m.assign(adv, out_skid.in_ready);
    m.assign(out_valid, out_skid.out_valid);
    m.assign(row, out_skid.out_data);
    let copy = out_skid
        .ready_copy
        .ok_or_else(|| GenError::Internal("output skid buffer without its ready copy".into()))?;
    m.assign(step, copy);
    m.assign(out_c, Expr::from(row).slice(0, d.out_c_bits));
    m.assign(out_last, Expr::from(row).bit_at(row_bits - 1));
    Ok(m)
}
