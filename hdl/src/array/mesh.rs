//! The mesh: rows x cols PEs wired as a grid, plus the per-column result collect.
//!
//! PE(i, j) finishes a tile exactly one step after PE(i-1, j) (the wavefront moves
//! down one row per step), so in each column at most one PE holds a fresh result
//! in any step, provided tiles close at least `rows` steps apart (the top enforces
//! it). The collect is therefore a plain OR of the masked results, row 0 first in
//! time, which is the order the output contract asks for.
//!
//! With `dsp_cell = ice40` the mesh also holds the `SB_MAC16` blocks that pairs
//! of neighbouring PEs share ([`super::ice40_mac16`]): a block sits between two
//! PEs of one row, so it is wired here, where both are.

use crate::ir::{Conn, Expr, Module, SignalId, Ty};
use crate::parts::Instantiate;
use crate::GenError;

use super::config::{ArrayConfig, ACC_BITS, OPERAND_BITS};
use super::ice40_mac16;
use super::pe::{self, PeConns};

/// Build the mesh of `pes` (the PE modules, found by [`super::pe::name`]).
pub fn build(cfg: &ArrayConfig, pes: &[Module]) -> Result<Module, GenError> {
    let (rows, cols) = (cfg.rows as usize, cfg.cols as usize);
    let mut m = Module::new(cfg.sub("mesh"));
    m.doc(format!(
        "{rows} x {cols} grid of PEs; a flows right, b flows down."
    ))
    .doc("c_j is the result of the PE in column j that finished last step (rows finish in order).");
    let op = Ty::s(OPERAND_BITS);
    let acc = Ty::s(ACC_BITS);
    let clk = m.input("clk", Ty::bit(), Some("Clock, reset, step enable"), "");
    let rst = m.input("rst", Ty::bit(), None, "");
    let adv = m.input("adv", Ty::bit(), None, "");
    let mut a = Vec::new();
    for i in 0..rows {
        let g = (i == 0).then_some("Row inputs (already skewed): A element, valid, last");
        a.push((
            m.input(&format!("a_{i}"), op, g, ""),
            m.input(&format!("a_valid_{i}"), Ty::bit(), None, ""),
            m.input(&format!("a_last_{i}"), Ty::bit(), None, ""),
        ));
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

    // Wires between PEs: what PE(i, j) sends right and down.
    let mut right = vec![vec![None; cols]; rows];
    let mut down = vec![vec![None; cols]; rows];
    let mut res = vec![vec![(SignalId(0), SignalId(0)); cols]; rows];
    for i in 0..rows {
        for j in 0..cols {
            if j + 1 < cols {
                right[i][j] = Some((
                    m.wire(&format!("a_r{i}_c{j}"), op, ""),
                    m.wire(&format!("av_r{i}_c{j}"), Ty::bit(), ""),
                    m.wire(&format!("al_r{i}_c{j}"), Ty::bit(), ""),
                ));
            }
            if i + 1 < rows {
                down[i][j] = Some(m.wire(&format!("b_r{i}_c{j}"), op, ""));
            }
            res[i][j] = (
                m.wire(&format!("c_r{i}_c{j}"), acc, ""),
                m.wire(&format!("cv_r{i}_c{j}"), Ty::bit(), ""),
            );
        }
    }
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
            let (a_in, av_in, al_in) = if j == 0 {
                a[i]
            } else {
                right[i][j - 1].unwrap_or(a[i])
            };
            let b_in = if i == 0 {
                b[j]
            } else {
                down[i - 1][j].unwrap_or(b[j])
            };
            let (a_out, av_out, al_out) = match right[i][j] {
                Some((x, v, l)) => (Conn::Out(x), Conn::Out(v), Conn::Out(l)),
                None => (
                    open("last column"),
                    open("last column"),
                    open("last column"),
                ),
            };
            let b_out = match down[i][j] {
                Some(x) => Conn::Out(x),
                None => open("last row"),
            };
            let conns = PeConns {
                clk,
                rst,
                adv,
                a_in,
                a_valid_in: av_in,
                a_last_in: al_in,
                b_in,
                a_out,
                a_valid_out: av_out,
                a_last_out: al_out,
                b_out,
                c_out: res[i][j].0,
                c_valid: res[i][j].1,
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
    for j in 0..cols {
        let terms = (0..rows)
            .map(|i| Expr::mux(res[i][j].1, res[i][j].0, Expr::zero(acc)))
            .collect();
        m.assign(c_outs[j], Expr::or_all(terms, acc));
    }
    let last_col = (0..rows).map(|i| Expr::from(res[i][cols - 1].1)).collect();
    m.assign(out_valid, Expr::or_all(last_col, Ty::bit()));
    m.assign(out_last, res[rows - 1][cols - 1].1);
    Ok(m)
}
