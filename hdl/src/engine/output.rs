//! The output path: rows of results leaving the array are requantized
//! (`requant`, `--requant-lanes` units shared by the columns, one column
//! group a cycle), merged into the running max of the fused pooling window,
//! and a finished output pixel becomes a write job for the writer
//! (`writer`). With `--out-pipe` the requantization's product waits a cycle
//! in stage 2 ([`OutStage2`]). The tile info (the FIFO filled by the
//! generator) says what each row is: first/last pool window, inside mask,
//! live rows, group width, output address and group parity.

use crate::ir::{Expr, Module, SignalId, Ty};
use crate::parts::ops::{k, select};
use crate::process::{DomainId, Proc};
use crate::util::clog2;
use crate::GenError;

use super::config::EngineConfig;
use super::top::{info_bits, wjob_bits, z};

fn bit() -> Ty {
    Ty::u(1)
}

/// Stage 2 of the output path (`out_pipe`): one column group's products
/// (registered per lane beside this) and what the running max and the write
/// job need of its row, one cycle after stage 1 took them from the array.
pub(super) struct OutStage2 {
    valid: SignalId,
    row: SignalId,
    /// The column group (with more than one).
    grp: Option<SignalId>,
    first: SignalId,
    last_win: SignalId,
    inside: SignalId,
    live: SignalId,
    /// The row's last group (with more than one).
    last_grp: Option<SignalId>,
    gw: SignalId,
    addr: SignalId,
    /// Stage 2 holds a pixel's last group: it pushes a write job.
    push: SignalId,
    /// Stage 2 leaves (its job, if any, finds room in the write-job FIFO).
    go: SignalId,
    /// Stage 2 takes a group from stage 1 (it is empty or leaving).
    free: SignalId,
}

impl OutStage2 {
    /// The stage's registers and its handshake with the write-job FIFO.
    fn build(
        m: &mut Module,
        sync: crate::process::DomainId,
        grouped: bool,
        aw: u32,
        wjob_ready: SignalId,
    ) -> OutStage2 {
        let mut r = |n: &str, ty: Ty, c: &str| m.reg_in(&format!("s2_{n}_reg"), ty, sync, c);
        let row = r("row", Ty::u(8), "row of the tile");
        let grp = grouped.then(|| r("grp", Ty::u(8), "column group"));
        let first = r("first", Ty::bit(), "the tile's first pool-window offset");
        let last_win = r("last_win", Ty::bit(), "the tile's last pool-window offset");
        let inside = r("in", Ty::bit(), "the row's conv position is inside");
        let live = r("live", Ty::bit(), "the row's output pixel exists");
        let last_grp = grouped.then(|| r("last_grp", Ty::bit(), "the row's last column group"));
        let gw = r("gw", Ty::u(8), "live columns");
        let addr = r("addr", Ty::u(aw), "the pixel's output address");
        let valid = m.reg_reset("s2_valid_reg", Ty::bit(), sync, 0, "stage 2 holds a group");
        let last = last_grp.map_or_else(|| Expr::bit(true), Expr::from);
        let push = m.wire_of(
            "s2_push",
            last & last_win & live,
            "stage 2 holds a pixel's last group: a write job",
        );
        let go = m.wire_of(
            "s2_go",
            Expr::from(valid) & (!Expr::from(push) | wjob_ready),
            "stage 2 leaves (merges its group, pushes its job)",
        );
        let free = m.wire_of("s2_free", !Expr::from(valid) | go, "stage 2 takes a group");
        OutStage2 {
            valid,
            row,
            grp,
            first,
            last_win,
            inside,
            live,
            last_grp,
            gw,
            addr,
            push,
            go,
            free,
        }
    }

    /// Stage 2 holds its row's last group (always, with one group).
    fn is_last_grp(&self) -> Expr {
        self.last_grp.map_or_else(|| Expr::bit(true), Expr::from)
    }
}

/// What the output path reads from the rest of the engine.
pub(super) struct OutputIn<'a> {
    pub sync: DomainId,
    pub clk: SignalId,
    /// The array's result stream (a row of C, COLS x 32 bits, `last` with a
    /// tile's last row); `arr_out_ready` is a wire this path drives.
    pub arr_out_valid: SignalId,
    pub arr_out_ready: SignalId,
    pub arr_out_c: SignalId,
    pub arr_out_last: SignalId,
    /// Channel records `[parity][column]`: bias, mult, shift.
    pub bias: &'a [Vec<SignalId>],
    pub mult: &'a [Vec<SignalId>],
    pub shift: &'a [Vec<SignalId>],
    /// Descriptor fields.
    pub relu: SignalId,
    pub out_c: SignalId,
    /// Array tiles in flight per group parity (counted here).
    pub inflight: &'a [SignalId],
    /// The generator pushes a tile's info (`gpar`: its parity).
    pub info_valid: SignalId,
    pub info_ready: SignalId,
    pub gpar: SignalId,
}

/// What the output path gives the rest of the engine: the tile-info FIFO's
/// read side and the write-job FIFO's write side (connected by the FIFO
/// instances), the writer's ports, and stage 2 (for `out_idle`).
pub(super) struct OutputOut {
    pub info_head: SignalId,
    pub info_hvalid: SignalId,
    pub info_pop: SignalId,
    pub info_empty: SignalId,
    pub wjob_ready: SignalId,
    pub wjob_valid: SignalId,
    pub wjob_data: SignalId,
    pub wj_valid: SignalId,
    pub wj_data: SignalId,
    pub wj_pop: SignalId,
    pub wjob_empty: SignalId,
    pub wr_push_ready: SignalId,
    pub wr_push: SignalId,
    pub wr_data: SignalId,
    /// With `out_pipe`: stage 2 holds a column group.
    pub s2_valid: Option<SignalId>,
}

impl OutputOut {
    /// Nothing in the output path or its FIFOs (the tile-info FIFO covers the
    /// array: a tile's info leaves with its last row), the write FIFO empty
    /// (`wr_empty`) and no write in the port's register (`wr_pending`).
    pub fn idle(&self, wr_empty: SignalId, wr_pending: Expr) -> Expr {
        let e = Expr::from(self.info_empty)
            & self.wjob_empty
            & wr_empty
            & !wr_pending
            & !Expr::from(self.wj_valid);
        match self.s2_valid {
            Some(v) => e & !Expr::from(v),
            None => e,
        }
    }
}

pub(super) fn build(
    m: &mut Module,
    cfg: &EngineConfig,
    io: &OutputIn<'_>,
) -> Result<OutputOut, GenError> {
    let OutputIn {
        sync,
        clk,
        arr_out_valid,
        arr_out_ready,
        arr_out_c,
        arr_out_last,
        bias,
        mult,
        shift,
        relu,
        out_c,
        inflight,
        info_valid,
        info_ready,
        gpar,
    } = *io;
    let (rows, cols) = (cfg.rows, cfg.cols);
    let pm = cfg.programming_model();
    let lim = &pm.limits;
    let aw = lim.addr_bits;
    let ty8 = Ty::u(8);
    let ib = info_bits(cfg);
    let info_head = m.wire(
        "info_head",
        Ty::u(ib),
        "tile info of the rows leaving the array",
    );
    let info_hvalid = m.wire("info_hvalid", bit(), "");
    let info_pop = m.wire("info_pop", bit(), "");
    let info_empty = m.wire("info_empty", bit(), "");
    let ih = Expr::from(info_head);
    let i_first = ih.clone().slice(0, 1);
    let i_last = ih.clone().slice(1, 1);
    let i_mask = ih.clone().slice(2, rows);
    let i_nvalid = ih.clone().slice(2 + rows, 8);
    let i_gw = ih.clone().slice(10 + rows, 8);
    let i_oaddr = ih.clone().slice(18 + rows, aw);
    let i_par = ih.slice(18 + rows + aw, 1);
    let orow = m.reg_reset(
        "orow_reg",
        ty8,
        sync,
        0,
        "row of the tile leaving the array",
    );
    let wjob_ready = m.wire("wjob_ready", bit(), "");
    // With fewer requant lanes than columns the row stays at the array's
    // output for `groups` cycles, one column group of `lanes` a cycle; it
    // leaves with its last group.
    let (lanes, groups) = (cfg.lanes(), cfg.requant_groups());
    let ogrp = (groups > 1).then(|| {
        m.reg_reset(
            "ogrp_reg",
            ty8,
            sync,
            0,
            "column group of the row being requantized",
        )
    });
    let ogrp_last = ogrp.map(|g| {
        m.wire_of(
            "ogrp_last",
            Expr::from(g).cmp_eq(k(8, groups - 1)),
            "the row's last column group",
        )
    });
    // With `out_pipe` a column group's products wait a cycle in stage 2
    // (`s2_*`), where the rounding, shift, clamp, running max and write job
    // are; stage 1 moves when stage 2 is empty or leaving.
    let s2 = cfg
        .out_pipe
        .then(|| OutStage2::build(m, sync, groups > 1, aw, wjob_ready));
    let out_ok = Expr::from(s2.as_ref().map_or(wjob_ready, |st| st.free));
    let ostep = ogrp.map(|_| {
        m.wire_of(
            "out_step",
            Expr::from(arr_out_valid) & out_ok.clone() & info_hvalid,
            "a column group of the row is requantized",
        )
    });
    match ogrp_last {
        None => m.assign(arr_out_ready, out_ok & info_hvalid),
        Some(gl) => m.assign(arr_out_ready, out_ok & info_hvalid & gl),
    }
    let ofire = m.wire_of(
        "out_fire",
        Expr::from(arr_out_valid) & arr_out_ready,
        "a row of results moves",
    );
    let row_live = m.wire_of("orow_live", Expr::from(orow).cmp_lt(i_nvalid), "");
    let row_in = m.wire_of(
        "orow_in",
        select(
            (0..rows).map(|r| i_mask.clone().bit_at(r)).collect(),
            Some(orow),
            8,
        ),
        "the row's conv position is inside",
    );
    let relu_on = Expr::from(relu).bit_at(0);
    let oc = Expr::from(arr_out_c);
    let pool_rows: Vec<Vec<SignalId>> = (0..rows)
        .map(|r| {
            (0..cols)
                .map(|j| m.reg_in(&format!("pool{r}_{j}_reg"), ty8, sync, "running max"))
                .collect()
        })
        .collect();
    let pv: Vec<SignalId> = (0..rows)
        .map(|r| {
            m.reg_reset(
                &format!("pv{r}_reg"),
                bit(),
                sync,
                0,
                "the running max holds a value",
            )
        })
        .collect();
    // The row and group the running max merges: stage 1's, or stage 2's.
    let (mrow, mgrp) = match &s2 {
        Some(st) => (st.row, st.grp),
        None => (orow, ogrp),
    };
    let cur_pv = m.wire_of(
        "cur_pv",
        select(pv.iter().map(|&s| Expr::from(s)).collect(), Some(mrow), 8),
        "",
    );
    // Column `g*lanes + l` of the row goes through lane `l` in group `g`.
    let by_grp_at = |grp: Option<SignalId>, l: usize, f: &dyn Fn(usize) -> Expr| -> Expr {
        select(
            (0..groups as usize)
                .map(|g| f(g * lanes as usize + l))
                .collect(),
            grp,
            8,
        )
    };
    let by_grp = |l: usize, f: &dyn Fn(usize) -> Expr| by_grp_at(ogrp, l, f);
    let pool_old = |j: usize| -> Expr {
        select(
            (0..rows as usize)
                .map(|r| Expr::from(pool_rows[r][j]))
                .collect(),
            Some(mrow),
            8,
        )
    };
    let rq_product = if cfg.requant_on_mac16() {
        super::requant::Product::Ice40 { clk }
    } else {
        super::requant::Product::Infer
    };
    let mut newvals = Vec::new();
    // Stage 2's per-lane registers and what stage 1 loads into them.
    let mut s2_lanes: Vec<(SignalId, SignalId, Expr, Expr)> = Vec::new();
    let (mfirst, minside) = match &s2 {
        Some(st) => (Expr::from(st.first), Expr::from(st.inside)),
        None => (i_first.clone().bit_at(0), Expr::from(row_in)),
    };
    for l in 0..lanes as usize {
        let acc = by_grp(l, &|j| oc.clone().slice(32 * j as u32, 32));
        let by_par = |v: &[Vec<SignalId>]| -> Expr {
            by_grp(l, &|j| {
                Expr::mux(
                    i_par.clone().bit_at(0),
                    Expr::from(v[1][j]),
                    Expr::from(v[0][j]),
                )
            })
        };
        let (bias_j, mult_j, shift_j) = (by_par(bias), by_par(mult), by_par(shift));
        let tag = l.to_string();
        let prod = super::requant::scaled(m, &tag, rq_product, acc, bias_j, mult_j)?;
        let r8 = if s2.is_some() {
            // The whole of `finish` is stage 2's: moving the shift's top
            // bit into stage 1 made stage 1 the ULX3S's longest path (45.6
            // against 48.3 MHz at 4x4).
            let pr = m.reg_in(
                &format!("s2_prod{l}_reg"),
                Ty::s(super::requant::PROD_BITS),
                sync,
                "(acc + bias) * mult",
            );
            let sr = m.reg_in(
                &format!("s2_shift{l}_reg"),
                Ty::u(super::requant::SHIFT_BITS),
                sync,
                "the record's shift",
            );
            s2_lanes.push((pr, sr, prod, shift_j));
            super::requant::finish(m, &tag, pr.into(), sr.into(), relu_on.clone())
        } else {
            super::requant::finish(m, &tag, prod, shift_j, relu_on.clone())
        };
        let old = by_grp_at(mgrp, l, &pool_old);
        let bigger = Expr::from(r8).as_signed().cmp_gt(old.clone().as_signed());
        let nv = Expr::mux(
            mfirst.clone() | !Expr::from(cur_pv),
            Expr::from(r8),
            Expr::mux(bigger, Expr::from(r8), old.clone()),
        );
        let nv = Expr::mux(minside.clone(), nv, old);
        newvals.push(m.wire_of(&format!("pool_next{l}"), nv, "running max with this row"));
    }
    let mut so = Proc::sync(sync).with_comment("Output rows: running max per row, row counter.");
    if let (Some(g), Some(gl), Some(step)) = (ogrp, ogrp_last, ostep) {
        so.if_(step, |p| {
            p.set(g, Expr::from(g) + k(8, 1));
            p.if_(gl, |p| {
                p.set(g, k(8, 0));
            });
        });
    }
    so.if_(ofire, |p| {
        p.set(orow, Expr::from(orow) + k(8, 1));
        p.if_(arr_out_last, |p| {
            p.set(orow, k(8, 0));
        });
    });
    // The merge of a group into row r's running max: when stage 1 moves it
    // (`hit` with the row's last group), or with `out_pipe` when stage 2
    // leaves.
    let merge_step = s2.as_ref().map(|st| (st.go, st.grp, st.is_last_grp()));
    for r in 0..rows as usize {
        let (hit, step_grp) = match &merge_step {
            Some((go, grp, last)) => (
                Expr::from(*go) & last.clone() & Expr::from(mrow).cmp_eq(k(8, r as u32)),
                grp.map(|g| (g, *go)),
            ),
            None => (
                Expr::from(ofire) & Expr::from(orow).cmp_eq(k(8, r as u32)),
                ogrp.zip(ostep),
            ),
        };
        let regs = pool_rows[r].clone();
        let nv = newvals.clone();
        let pvr = pv[r];
        let first = mfirst.clone();
        let inside = minside.clone();
        let (g_reg, step) = match step_grp {
            Some(gs) => gs,
            None => {
                so.if_(hit, move |p| {
                    for (j, &reg) in regs.iter().enumerate() {
                        p.set(reg, nv[j]);
                    }
                    p.set(
                        pvr,
                        Expr::mux(first, inside.clone(), Expr::from(pvr) | inside),
                    );
                });
                continue;
            }
        };
        // A group's lanes update its columns' registers; the row's "holds
        // a value" flag changes with its last group, so every group of the
        // row sees the flag as it was before the row.
        for g in 0..groups {
            let ghit = Expr::from(step)
                & Expr::from(mrow).cmp_eq(k(8, r as u32))
                & Expr::from(g_reg).cmp_eq(k(8, g));
            let regs = regs.clone();
            let nv = nv.clone();
            so.if_(ghit, move |p| {
                for (l, &v) in nv.iter().enumerate() {
                    p.set(regs[(g * lanes) as usize + l], v);
                }
            });
        }
        so.if_(hit, move |p| {
            p.set(
                pvr,
                Expr::mux(first, inside.clone(), Expr::from(pvr) | inside),
            );
        });
    }
    m.process(so);
    // The output address of the row's pixel.
    let pixel_addr = i_oaddr
        + z(
            Expr::from(orow)
                .slice(0, clog2(u64::from(rows)).max(1))
                .mul_wide(Expr::from(out_c).slice(0, clog2(u64::from(lim.out_c) + 1))),
            aw,
        );
    if let Some(st) = &s2 {
        let step1 = ostep.map_or_else(|| Expr::from(ofire), Expr::from);
        let mut sp = Proc::sync(sync)
            .with_comment("Output stage 2: a column group's products and its row's fields.");
        let (row_live_e, row_in_e) = (Expr::from(row_live), Expr::from(row_in));
        sp.if_(step1, |p| {
            p.set(st.valid, Expr::bit(true));
            p.set(st.row, orow);
            if let (Some(d), Some(g)) = (st.grp, ogrp) {
                p.set(d, g);
            }
            if let (Some(d), Some(gl)) = (st.last_grp, ogrp_last) {
                p.set(d, gl);
            }
            p.set(st.first, i_first.clone());
            p.set(st.last_win, i_last.clone());
            p.set(st.inside, row_in_e.clone());
            p.set(st.live, row_live_e.clone());
            p.set(st.gw, i_gw.clone());
            p.set(st.addr, pixel_addr.clone());
            for (pr, sr, prod, sh) in &s2_lanes {
                p.set(*pr, prod.clone());
                p.set(*sr, sh.clone());
            }
        })
        .elif(st.go, |p| {
            p.set(st.valid, Expr::bit(false));
        });
        m.process(sp);
    }
    m.assign(info_pop, Expr::from(ofire) & arr_out_last);
    let mut sif = Proc::sync(sync).with_comment("Array tiles in flight per group parity.");
    for (s, &cnt) in inflight.iter().enumerate() {
        let sk = k(1, s as u32);
        let inc = Expr::from(info_valid) & info_ready & Expr::from(gpar).cmp_eq(sk.clone());
        let dec = Expr::from(info_pop) & i_par.clone().cmp_eq(sk);
        sif.if_(inc.clone() & !dec.clone(), |p| {
            p.set(cnt, Expr::from(cnt) + k(3, 1));
        })
        .elif(dec & !inc, |p| {
            p.set(cnt, Expr::from(cnt) - k(3, 1));
        });
    }
    m.process(sif);
    let (job_valid, job_addr, job_gw) = match &s2 {
        Some(st) => (
            Expr::from(st.go) & st.push,
            Expr::from(st.addr),
            Expr::from(st.gw),
        ),
        None => (
            Expr::from(ofire) & i_last.bit_at(0) & row_live,
            pixel_addr,
            i_gw,
        ),
    };
    let wjob_valid = m.wire_of("wjob_valid", job_valid, "a finished output pixel");
    let wjob_data = m.wire_of(
        "wjob_data",
        Expr::concat(vec![
            job_addr,
            // The last group's bytes are this cycle's lanes; the earlier
            // groups' are already in the row's registers.
            Expr::concat(
                (0..cols as usize)
                    .map(|j| match j.checked_sub(((groups - 1) * lanes) as usize) {
                        Some(l) => Expr::from(newvals[l]),
                        None => pool_old(j),
                    })
                    .collect(),
            ),
            job_gw,
        ]),
        "{gw, bytes, address} of the pixel",
    );

    // Writer: a pixel's gw bytes as word writes with strobes.
    let wj_valid = m.wire("wj_valid", bit(), "a write job is at the FIFO head");
    let wj_data = m.wire("wj_data", Ty::u(wjob_bits(cfg)), "");
    let wj_pop = m.wire("wj_pop", bit(), "");
    let wjob_empty = m.wire("wjob_empty", bit(), "");
    let wr_push_ready = m.wire("wr_push_ready", bit(), "");
    let (wr_push, wr_data) = super::writer::build(
        m,
        cfg,
        sync,
        super::writer::WriterIo {
            job_valid: wj_valid,
            job_data: wj_data,
            job_pop: wj_pop,
            push_ready: wr_push_ready,
        },
    );

    Ok(OutputOut {
        info_head,
        info_hvalid,
        info_pop,
        info_empty,
        wjob_ready,
        wjob_valid,
        wjob_data,
        wj_valid,
        wj_data,
        wj_pop,
        wjob_empty,
        wr_push_ready,
        wr_push,
        wr_data,
        s2_valid: s2.map(|st| st.valid),
    })
}
