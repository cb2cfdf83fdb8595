//! The mesh: rows x cols PEs wired as a grid, plus the per-column result collect.
//!
//! PE(i, j) finishes a tile exactly one step after PE(i-1, j) (the wavefront moves
//! down one row per step), so in each column at most one PE holds a fresh result
//! in any step, provided tiles close at least `rows` steps apart (the top enforces
//! it). The collect is therefore a plain OR of the masked results, row 0 first in
//! time, which is the order the output contract asks for.
//!
//! At depth 0 the valid/last flags do not travel through the PEs: every PE on
//! anti-diagonal k = i + j sees the same flags, k steps after the beat entered,
//! so the mesh keeps one chain of flag registers and gives each diagonal its
//! `take` and `finish` ([`ArrayConfig::diagonal_flags`]). Its results are
//! collected by the chain's `done` registers instead of a `c_valid` per PE.
//!
//! With `dsp_cell = ice40` the mesh also holds the `SB_MAC16` blocks that pairs
//! of neighbouring PEs share ([`super::ice40_mac16`]): a block sits between two
//! PEs of one row, so it is wired here, where both are.

use crate::ir::{Conn, Expr, Module, SignalId, Ty};
use crate::parts::ops::reset_to;
use crate::parts::Instantiate;
use crate::GenError;

use super::config::{ArrayConfig, DspCell, ACC_BITS, OPERAND_BITS};
use super::ice40_mac16;
use super::pe::{self, PeConns, PeFlags};

/// The flags of one anti-diagonal, for its PEs.
struct Diagonal {
    take: SignalId,
    finish: SignalId,
    read: Option<SignalId>,
}

/// The anti-diagonal flag chain: register n holds the flags of the beat that
/// entered n steps ago, so diagonal k reads tap `edge + k`; `done` tap n is high
/// while the PEs of diagonal n - 1 - edge hold a finished sum.
struct Chain {
    diagonals: Vec<Diagonal>,
    /// `done[n]` for n > edge (the entries below are unused placeholders).
    done: Vec<SignalId>,
}

fn flag_chain(
    m: &mut Module,
    cfg: &ArrayConfig,
    (clk, rst, adv): (SignalId, SignalId, SignalId),
    (in_valid, in_last): (SignalId, SignalId),
) -> Chain {
    let edge = cfg.edge_stages() as usize;
    let count = (cfg.rows + cfg.cols - 1) as usize;
    let taps = edge + count;
    let (mut valid, mut last, mut done) = (vec![in_valid], vec![in_last], vec![in_valid]);
    for n in 1..=taps {
        let (v, l) = (valid[n - 1], last[n - 1]);
        if n < taps {
            let vr = m.reg(
                &format!("valid_{n}_reg"),
                Ty::bit(),
                &format!("in_valid, {n} step{} later", if n == 1 { "" } else { "s" }),
            );
            let lr = m.reg(&format!("last_{n}_reg"), Ty::bit(), "");
            m.clocked(vr, clk, v, Some(adv.into()), reset_to(rst, Ty::bit(), 0));
            m.clocked(lr, clk, l, Some(adv.into()), reset_to(rst, Ty::bit(), 0));
            valid.push(vr);
            last.push(lr);
        }
        if n <= edge {
            // No diagonal's sum is done yet.
            done.push(in_valid);
            continue;
        }
        let dr = m.reg(
            &format!("done_{n}_reg"),
            Ty::bit(),
            &format!("diagonal {} holds finished sums", n - edge - 1),
        );
        m.clocked(
            dr,
            clk,
            Expr::from(v) & l,
            Some(adv.into()),
            reset_to(rst, Ty::bit(), 0),
        );
        done.push(dr);
    }
    let pingpong = cfg.dsp_cell == DspCell::Ice40;
    let diagonals = (0..count)
        .map(|k| {
            let take = m.wire_of(
                &format!("take_{k}"),
                Expr::from(adv) & valid[edge + k],
                &format!("diagonal {k} accumulates a product"),
            );
            let finish = m.wire_of(
                &format!("finish_{k}"),
                Expr::from(take) & last[edge + k],
                "and it closes the tile",
            );
            let read = pingpong.then(|| {
                m.wire_of(
                    &format!("read_{k}"),
                    Expr::from(adv) & done[edge + k + 1],
                    "its finished sums leave",
                )
            });
            Diagonal { take, finish, read }
        })
        .collect();
    Chain { diagonals, done }
}

/// Build the mesh of `pes` (the PE modules, found by [`super::pe::name`]).
pub fn build(cfg: &ArrayConfig, pes: &[Module]) -> Result<Module, GenError> {
    let (rows, cols) = (cfg.rows as usize, cfg.cols as usize);
    let mut m = Module::new(cfg.sub("mesh"));
    m.doc(format!(
        "{rows} x {cols} grid of PEs; a flows right, b flows down."
    ))
    .doc("c_j is the result of the PE in column j that finished last step (rows finish in order).");
    let diagonal = cfg.diagonal_flags();
    if diagonal {
        m.doc("The valid/last flags run along one register chain; anti-diagonal k reads tap k.");
    }
    let op = Ty::s(OPERAND_BITS);
    let acc = Ty::s(ACC_BITS);
    let clk = m.input("clk", Ty::bit(), Some("Clock, reset, step enable"), "");
    let rst = m.input("rst", Ty::bit(), None, "");
    let adv = m.input("adv", Ty::bit(), None, "");
    let flags_in = diagonal.then(|| {
        (
            m.input(
                "in_valid",
                Ty::bit(),
                Some("Flags of the beat entering row 0 (not skewed)"),
                "",
            ),
            m.input("in_last", Ty::bit(), None, ""),
        )
    });
    // Row i's A element, with its valid and last flags unless they run diagonally.
    let mut a: Vec<(SignalId, Option<(SignalId, SignalId)>)> = Vec::new();
    for i in 0..rows {
        a.push(if diagonal {
            let g = (i == 0).then_some("Row inputs (already skewed)");
            (m.input(&format!("a_{i}"), op, g, ""), None)
        } else {
            let g = (i == 0).then_some("Row inputs (already skewed): A element, valid, last");
            (
                m.input(&format!("a_{i}"), op, g, ""),
                Some((
                    m.input(&format!("a_valid_{i}"), Ty::bit(), None, ""),
                    m.input(&format!("a_last_{i}"), Ty::bit(), None, ""),
                )),
            )
        });
    }
    let b: Vec<SignalId> = (0..cols)
        .map(|j| {
            m.input(
                &format!("b_{j}"),
                op,
                (j == 0).then_some("Column inputs (already skewed)"),
                "",
            )
        })
        .collect();
    let c_outs: Vec<SignalId> = (0..cols)
        .map(|j| {
            m.output(
                &format!("c_{j}"),
                acc,
                (j == 0).then_some("Column results (not yet deskewed)"),
                "",
            )
        })
        .collect();
    let out_valid = m.output(
        "out_valid",
        Ty::bit(),
        Some("Status of the last column"),
        "a row result is in c_(cols-1)",
    );
    let out_last = m.output("out_last", Ty::bit(), None, "that row is the last row");

    // Wires between PEs: what PE(i, j) sends right and down, and its result
    // (with its own valid flag unless the chain says when it is valid).
    let mut right = vec![vec![None; cols]; rows];
    let mut down = vec![vec![None; cols]; rows];
    let mut res = Vec::with_capacity(rows);
    for i in 0..rows {
        let mut res_row = Vec::with_capacity(cols);
        for j in 0..cols {
            if j + 1 < cols {
                right[i][j] = Some((
                    m.wire(&format!("a_r{i}_c{j}"), op, ""),
                    (!diagonal).then(|| {
                        (
                            m.wire(&format!("av_r{i}_c{j}"), Ty::bit(), ""),
                            m.wire(&format!("al_r{i}_c{j}"), Ty::bit(), ""),
                        )
                    }),
                ));
            }
            if i + 1 < rows {
                down[i][j] = Some(m.wire(&format!("b_r{i}_c{j}"), op, ""));
            }
            res_row.push((
                m.wire(&format!("c_r{i}_c{j}"), acc, ""),
                (!diagonal).then(|| m.wire(&format!("cv_r{i}_c{j}"), Ty::bit(), "")),
            ));
        }
        res.push(res_row);
    }
    let chain = flags_in.map(|f| flag_chain(&mut m, cfg, (clk, rst, adv), f));
    // The shared SB_MAC16 blocks: one per pair of PEs (or lone PE), instantiated
    // by its left PE's position; each PE gets its operand and product wires.
    let mut block = vec![vec![None; cols]; rows];
    for (i, row) in block.iter_mut().enumerate() {
        for j in 0..cols {
            let (iu, ju) = (i as u32, j as u32);
            let partner = cfg.dsp_partner(iu, ju).map(|p| p as usize);
            if !pe::shares_block(cfg, cfg.pe_uses_dsp(iu, ju)) || partner.is_some_and(|p| p < j) {
                continue;
            }
            let mut operands = |j: usize| {
                (
                    m.wire(&format!("ma_r{i}_c{j}"), op, ""),
                    m.wire(&format!("mb_r{i}_c{j}"), op, ""),
                )
            };
            let lo = operands(j);
            let hi = partner.map(|p| (p, operands(p)));
            let (p_lo, p_hi) = ice40_mac16::instantiate(
                &mut m,
                &format!("mac_r{i}_c{j}"),
                clk,
                adv.into(),
                (lo.0.into(), lo.1.into()),
                hi.map(|(_, (a, b))| (a.into(), b.into())),
                cfg.pipeline >= 3,
                cfg.pipeline >= 1,
            )?;
            row[j] = Some((lo.0, lo.1, p_lo));
            if let (Some((p, (a, b))), Some(p_hi)) = (hi, p_hi) {
                row[p] = Some((a, b, p_hi));
            }
        }
    }
    let open = |why: &str| Conn::Open(why.to_string());
    for i in 0..rows {
        for j in 0..cols {
            let (a_in, flags_in) = if j == 0 {
                a[i]
            } else {
                right[i][j - 1].unwrap_or(a[i])
            };
            let b_in = if i == 0 {
                b[j]
            } else {
                down[i - 1][j].unwrap_or(b[j])
            };
            let (a_out, flags_out) = match right[i][j] {
                Some((x, f)) => (Conn::Out(x), f),
                None => (open("last column"), None),
            };
            let b_out = match down[i][j] {
                Some(x) => Conn::Out(x),
                None => open("last row"),
            };
            let flags = match (&chain, flags_in, res[i][j].1) {
                (Some(chain), _, _) => {
                    let d = &chain.diagonals[i + j];
                    PeFlags::Diagonal {
                        take: d.take,
                        finish: d.finish,
                        read: d.read,
                    }
                }
                (None, Some((valid_in, last_in)), Some(c_valid)) => {
                    let (valid_out, last_out) = match flags_out {
                        Some((v, l)) => (Conn::Out(v), Conn::Out(l)),
                        None => (open("last column"), open("last column")),
                    };
                    PeFlags::Own {
                        valid_in,
                        last_in,
                        valid_out,
                        last_out,
                        c_valid,
                    }
                }
                _ => {
                    return Err(GenError::Internal(format!(
                        "mesh: PE ({i}, {j}) has neither diagonal nor own flags"
                    )))
                }
            };
            let conns = PeConns {
                clk,
                rst,
                adv,
                a_in,
                b_in,
                a_out,
                b_out,
                c_out: res[i][j].0,
                flags,
                block: block[i][j],
            };
            let pe_name = pe::name(cfg, cfg.pe_uses_dsp(i as u32, j as u32));
            let pe = pes.iter().find(|p| p.name == pe_name).ok_or_else(|| {
                GenError::Internal(format!("mesh: PE module `{pe_name}` was not built"))
            })?;
            m.inst(pe, &format!("pe_r{i}_c{j}"))
                .conns(conns.into_list())
                .finish()?;
        }
    }
    // PE (i, j)'s result is valid while its own c_valid, or the chain's done
    // register of its diagonal, is high.
    let edge = cfg.edge_stages() as usize;
    let valid = |i: usize, j: usize| -> Expr {
        match (&chain, res[i][j].1) {
            (_, Some(cv)) => cv.into(),
            (Some(chain), None) => chain.done[edge + i + j + 1].into(),
            (None, None) => Expr::bit(false),
        }
    };
    for j in 0..cols {
        let terms = (0..rows)
            .map(|i| Expr::mux(valid(i, j), res[i][j].0, Expr::zero(acc)))
            .collect();
        m.assign(c_outs[j], Expr::or_all(terms, acc));
    }
    let last_col = (0..rows).map(|i| valid(i, cols - 1)).collect();
    m.assign(out_valid, Expr::or_all(last_col, Ty::bit()));
    m.assign(out_last, valid(rows - 1, cols - 1));
    Ok(m)
}
