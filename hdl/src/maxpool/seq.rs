//! The sequencer: decides, at every pipeline step, which token enters the
//! line-buffer stage, and tells the datapath what that token means.
//!
//! A token is an input pixel (taken from the input port), a *flush* column
//! (bottom padding: a stored window row is emitted after `in_last`, no input),
//! an *extra* (a window reaching into the right padding completes at the last
//! column together with others; they leave one per step), or a bubble. Input
//! is accepted only when neither extras nor flush columns are pending, which is
//! the only time `in_ready` is low apart from output backpressure.
//!
//! All window arithmetic is in counters, identical for rows and columns: for
//! each axis, `*e_cnt` counts cells to the next window end and `*e_slot` is that
//! window's slot; `*s_cnt`/`*s_slot` likewise for the next window start. Cell 0
//! is special (every window reaching into the top/left padding starts there:
//! the constant mask `start_mask0`); the last column is special (every window
//! reaching into the right padding ends there: [`Plan::last_windows`]). The
//! datapath stages hold no counters: every decision travels with its token,
//! which keeps the pipeline stages aligned by construction.

use crate::ir::{Expr, Module, SignalId, Ty};
use crate::process::Proc;
use crate::util::{bits_for, clog2};

use super::config::{MaxpoolConfig, Plan};
use super::lanes::{and, bit, count_down, is_zero, k, mux, named, next_slot, not, or, select};

pub fn build(cfg: &MaxpoolConfig, plan: &Plan) -> Module {
    let (w, s, pad) = (cfg.width, cfg.stride, cfg.pad);
    // Running-maximum slots per axis, and windows completed at a row's last column.
    let n = plan.slots;
    let r = plan.last_windows;
    let mut m = Module::new(cfg.sub("seq"));
    m.doc("Token sequencer of the max-pool unit: input pixels, bottom-padding (flush)")
        .doc("columns after in_last, right-padding (extra) windows after the last column.")
        .doc("Row/column window counters; every decision travels with its token.");

    // A 1x1 window needs no state at all (and no clock): every pixel is a pooled pixel.
    let stateful = n > 0;
    let group = Some("Clock, synchronous reset, pipeline step");
    let clk = stateful.then(|| m.input("clk", bit(), group, ""));
    let rst = stateful.then(|| m.input("rst", bit(), None, ""));
    let adv = m.input(
        "adv",
        bit(),
        if stateful { None } else { group },
        "the pipeline steps at this edge",
    );
    let in_valid = m.input(
        "in_valid",
        bit(),
        Some("Input handshake (the pixel itself goes to the line-buffer stage)"),
        "",
    );
    let in_last = m.input("in_last", bit(), None, "last pixel of the image");
    let in_ready = m.output("in_ready", bit(), None, "");

    let tok_pix = m.output(
        "tok_pix",
        bit(),
        Some("The token entering the line-buffer stage at this edge"),
        "the input pixel",
    );
    let tok_flush = m.output(
        "tok_flush",
        bit(),
        None,
        "a bottom-padding column: emit a stored window",
    );
    let tok_extra = m.output(
        "tok_extra",
        bit(),
        None,
        "a right-padding window of the last column",
    );
    let tok_close = m.output("tok_close", bit(), None, "the image's last token");
    let xw = clog2(w.into());
    let slot_bits = clog2(n.into());
    let cols = n > 0 && w > 1;
    let rd_col = cols.then(|| {
        m.output(
            "rd_col",
            Ty::u(xw),
            None,
            "column of a pixel or flush token (line-buffer address)",
        )
    });
    let v_st = (n > 0).then(|| {
        m.output(
            "v_st",
            Ty::u(n),
            Some("Row roles: windows starting/ending at the token's row"),
            "slot j starts a window",
        )
    });
    let v_end = m.output("v_end", bit(), None, "a window ends");
    let v_slot = (n > 1).then(|| m.output("v_slot", Ty::u(slot_bits), None, "its slot"));
    let v_fresh = (n > 0).then(|| {
        m.output(
            "v_fresh",
            bit(),
            None,
            "row 0: the ending window has nothing stored",
        )
    });
    let h_st = (n > 0).then(|| {
        m.output(
            "h_st",
            Ty::u(n),
            Some("Column roles, likewise"),
            "slot j starts a window",
        )
    });
    let h_end = m.output("h_end", bit(), None, "a window ends");
    let h_slot = (n > 1).then(|| {
        m.output(
            "h_slot",
            Ty::u(slot_bits),
            None,
            "its slot (for an extra: the slot to emit)",
        )
    });
    let h_fresh = (n > 0).then(|| {
        m.output(
            "h_fresh",
            bit(),
            None,
            "the ending window's only real column is this one",
        )
    });
    let h_last = (n > 0).then(|| {
        m.output(
            "h_last",
            bit(),
            None,
            "the ending window is the row's last (for an extra too)",
        )
    });

    // Registers: all sequencer state is control state, reset to its initial value.
    let dom = clk.map(|c| m.domain("sync", c, rst));
    let reg = |m: &mut Module, name: &str, width: u32, init: u32, comment: &str| match dom {
        Some(d) => m.reg_reset(name, Ty::u(width), d, u128::from(init), comment),
        None => m.reg(name, Ty::u(width), comment),
    };
    let e_bits = bits_for(plan.end_init.max(s - 1).into());
    let s_bits = bits_for(plan.start_init.max(s - 1).into());
    let x = cols.then(|| {
        reg(
            &mut m,
            "x_reg",
            xw,
            0,
            "column of the next pixel or flush token",
        )
    });
    let first_row = (n > 0).then(|| reg(&mut m, "first_row_reg", 1, 1, "the next row is row 0"));
    // Row counters (none for a 1x1 window: every row is a window of its own).
    let vs_cnt = (n > 0).then(|| {
        reg(
            &mut m,
            "vs_cnt_reg",
            s_bits,
            plan.start_init,
            "rows to the next window start (after row 0)",
        )
    });
    let vs_slot = (n > 1).then(|| {
        reg(
            &mut m,
            "vs_slot_reg",
            slot_bits,
            plan.start_slot_init,
            "its slot",
        )
    });
    let ve_cnt = (n > 0).then(|| {
        reg(
            &mut m,
            "ve_cnt_reg",
            e_bits,
            plan.end_init,
            "rows to the next window end",
        )
    });
    let ve_slot = (n > 1).then(|| reg(&mut m, "ve_slot_reg", slot_bits, 0, "its slot"));
    // Column counters.
    let hs_cnt = cols.then(|| {
        reg(
            &mut m,
            "hs_cnt_reg",
            s_bits,
            plan.start_init,
            "columns to the next window start (after column 0)",
        )
    });
    let hs_slot = (cols && n > 1).then(|| {
        reg(
            &mut m,
            "hs_slot_reg",
            slot_bits,
            plan.start_slot_init,
            "its slot",
        )
    });
    let he_cnt = cols.then(|| {
        reg(
            &mut m,
            "he_cnt_reg",
            e_bits,
            plan.end_init,
            "columns to the next window end",
        )
    });
    let he_slot = (cols && n > 1).then(|| reg(&mut m, "he_slot_reg", slot_bits, 0, "its slot"));
    // Bottom padding.
    let p_bits = bits_for(pad.into());
    let flushing = (pad > 0).then(|| {
        reg(
            &mut m,
            "flushing_reg",
            1,
            0,
            "after in_last: stored windows still to emit",
        )
    });
    // With P <= S at most one window ends in the padding: no count needed.
    let pad_left = (pad > s).then(|| {
        reg(
            &mut m,
            "pad_left_reg",
            p_bits,
            0,
            "padding rows from this flush row to the end",
        )
    });
    // Right padding.
    let extra_bits = bits_for((r.max(2) - 1).into());
    let extra_left = (r >= 2).then(|| {
        reg(
            &mut m,
            "extra_left_reg",
            extra_bits,
            0,
            "extra windows still to emit",
        )
    });
    let extra_close = (r >= 2).then(|| {
        reg(
            &mut m,
            "extra_close_reg",
            1,
            0,
            "the last extra closes the image",
        )
    });

    // What enters this step.
    let extra_now = match extra_left {
        Some(e) => Expr::from(e).cmp_ne(k(extra_bits, 0)),
        None => Expr::bit(false),
    };
    let extra_now = named(
        &mut m,
        "extra_now",
        extra_now,
        "an extra window leaves this step",
    );
    let flush_now = match flushing {
        Some(f) => and(not(extra_now.clone()), f),
        None => Expr::bit(false),
    };
    let flush_now = named(
        &mut m,
        "flush_now",
        flush_now,
        "a flush column enters this step",
    );
    let can_take = and(
        not(extra_now.clone()),
        not(flushing.map_or(Expr::bit(false), Expr::from)),
    );
    let can_take = named(
        &mut m,
        "can_take",
        can_take,
        "input may enter (no extras or flush pending)",
    );
    m.assign(in_ready, and(adv, can_take.clone()));
    let pix = m.wire_of("pix", and(in_valid, can_take), "an input pixel enters");
    let col = named(
        &mut m,
        "col",
        or(pix, flush_now.clone()),
        "a pixel or flush column enters",
    );
    let (x_first, x_last) = match x {
        Some(x) => (
            Expr::from(x).cmp_eq(k(xw, 0)),
            Expr::from(x).cmp_eq(k(xw, w - 1)),
        ),
        None => (Expr::bit(true), Expr::bit(true)),
    };
    // Column 0 matters only where windows span columns.
    let x_first = (n > 0).then(|| named(&mut m, "x_first", x_first, "column 0"));
    let x_last = named(&mut m, "x_last", x_last, "column W-1");
    let row_end = m.wire_of(
        "row_end",
        or(and(col.clone(), x_last.clone()), and(pix, in_last)),
        "the token ends a row (in_last ends it early if it must)",
    );
    let v_end_now = match ve_cnt {
        Some(c) => or(flush_now.clone(), is_zero(&m, c)),
        None => Expr::bit(true),
    };
    let v_end_now = named(&mut m, "v_end_now", v_end_now, "a window ends at this row");
    // Rows to the next window end once this row is done.
    let ve_next = ve_cnt.map(|c| {
        let e = count_down(&m, c, s - 1);
        m.wire_of(
            "ve_next",
            e,
            "rows from the next row to the next window end",
        )
    });
    // After in_last: the next window end lies in the bottom padding (H..H+P-1).
    let (final_row, flush_needed) = match (flushing, ve_next) {
        (Some(_), Some(ve)) => {
            let cw = e_bits.max(p_bits);
            let need = m.wire_of(
                "flush_needed",
                Expr::from(ve).resize(cw).cmp_lt(k(cw, pad)),
                "after in_last, a window ends in the bottom padding",
            );
            let last_flush = match pad_left {
                Some(pl) => Expr::from(pl).cmp_le(k(p_bits, s)),
                None => Expr::bit(true),
            };
            let last_flush = named(
                &mut m,
                "last_flush_row",
                last_flush,
                "no window ends in the padding after this flush row",
            );
            let fin = mux(pix, and(in_last, not(need)), last_flush.clone());
            (
                m.wire_of("final_row", fin, "this row is the image's last"),
                Some((need, last_flush)),
            )
        }
        _ => (
            m.wire_of(
                "final_row",
                Expr::from(in_last),
                "this row is the image's last",
            ),
            None,
        ),
    };
    let has_extras = if r >= 2 {
        v_end_now.clone()
    } else {
        Expr::bit(false)
    };
    let has_extras = named(
        &mut m,
        "has_extras",
        has_extras,
        "right-padding windows follow this row's last column",
    );
    let close_col = and(and(row_end, final_row), not(has_extras.clone()));
    let close = match (extra_left, extra_close) {
        (Some(e), Some(c)) => mux(
            extra_now.clone(),
            Expr::from(c) & Expr::from(e).cmp_eq(k(extra_bits, 1)),
            close_col,
        ),
        _ => close_col,
    };

    // Token outputs.
    m.assign(tok_pix, pix);
    m.assign(tok_flush, flush_now.clone());
    m.assign(tok_extra, extra_now.clone());
    m.assign(tok_close, close);
    if let (Some(o), Some(x)) = (rd_col, x) {
        m.assign(o, x);
    }
    let mask0 = Expr::uconst(n.max(1), u128::from(plan.start_mask0));
    let onehot = |m: &Module, cnt: SignalId, slot: Option<SignalId>| -> Expr {
        let hit = is_zero(m, cnt);
        match slot {
            Some(sl) => Expr::mux(hit, Expr::uconst(n, 1) << sl, Expr::zero(Ty::u(n))),
            None => hit,
        }
    };
    if let (Some(o), Some(c), Some(fr)) = (v_st, vs_cnt, first_row) {
        let e = Expr::mux(fr, mask0.clone(), onehot(&m, c, vs_slot));
        m.assign(o, e);
    }
    m.assign(v_end, v_end_now.clone());
    if let (Some(o), Some(sl)) = (v_slot, ve_slot) {
        m.assign(o, sl);
    }
    if let (Some(o), Some(fr)) = (v_fresh, first_row) {
        m.assign(o, fr);
    }
    if let (Some(o), Some(xf)) = (h_st, x_first.clone()) {
        let e = match hs_cnt {
            Some(c) => mux(xf, mask0.clone(), onehot(&m, c, hs_slot)),
            None => mask0.clone(),
        };
        m.assign(o, e);
    }
    let h_end_mid = match he_cnt {
        Some(c) => is_zero(&m, c),
        None => Expr::bit(true),
    };
    m.assign(h_end, mux(x_last.clone(), Expr::bit(r >= 1), h_end_mid));
    if let Some(o) = h_slot {
        let mid = match he_slot {
            Some(sl) => Expr::from(sl),
            None => Expr::zero(Ty::u(slot_bits)),
        };
        let e = match extra_left {
            Some(el) => {
                // The extra with e left emits window last_first + r - e.
                let table: Vec<Expr> = (0..r)
                    .map(|e| k(slot_bits, plan.extra_slots[e as usize]))
                    .collect();
                let pick = if r == 2 {
                    table[1].clone()
                } else {
                    let sel = select(table, Some(el), extra_bits);
                    m.wire_of("extra_slot", sel, "slot of the leaving extra window")
                        .into()
                };
                mux(extra_now.clone(), pick, mid)
            }
            None => mid,
        };
        m.assign(o, e);
    }
    if let Some(o) = h_last {
        // Only a row's last pooled pixel can be the image's last; the hold register
        // lets every other one go at once.
        let col_last = match x {
            _ if r >= 2 => Expr::bit(false),
            Some(x) => Expr::from(x).cmp_eq(k(xw, plan.row_last_col)),
            None => Expr::bit(true),
        };
        let e = match extra_left {
            Some(el) => mux(
                extra_now.clone(),
                Expr::from(el).cmp_eq(k(extra_bits, 1)),
                col_last,
            ),
            None => col_last,
        };
        m.assign(o, e);
    }
    if let (Some(o), Some(xf)) = (h_fresh, x_first) {
        let e = if plan.last_fresh { or(xf, x_last) } else { xf };
        m.assign(o, e);
    }

    let Some(dom) = dom else {
        return m;
    };
    // State updates, all on pipeline steps; resets come from the declarations.
    let slot_step = |m: &Module, sl: SignalId, hit: Expr| Expr::mux(hit, next_slot(m, sl, n), sl);
    let cols_step: Vec<(SignalId, Expr, Expr)> = [
        x.map(|x| (x, k(xw, 0), Expr::from(x) + k(xw, 1))),
        hs_cnt.map(|c| (c, k(s_bits, plan.start_init), count_down(&m, c, s - 1))),
        he_cnt.map(|c| (c, k(e_bits, plan.end_init), count_down(&m, c, s - 1))),
        hs_slot.zip(hs_cnt).map(|(sl, c)| {
            let step = slot_step(&m, sl, is_zero(&m, c));
            (sl, k(slot_bits, plan.start_slot_init), step)
        }),
        he_slot.zip(he_cnt).map(|(sl, c)| {
            let step = slot_step(&m, sl, is_zero(&m, c));
            (sl, k(slot_bits, 0), step)
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    let rows_step: Vec<(SignalId, Expr, Expr)> = [
        vs_cnt.map(|c| (c, k(s_bits, plan.start_init), count_down(&m, c, s - 1))),
        vs_slot.zip(vs_cnt).map(|(sl, c)| {
            let step = slot_step(&m, sl, is_zero(&m, c));
            (sl, k(slot_bits, plan.start_slot_init), step)
        }),
        ve_cnt
            .zip(ve_next)
            .map(|(c, ve)| (c, k(e_bits, plan.end_init), Expr::from(ve))),
        ve_slot.map(|sl| {
            let step = slot_step(&m, sl, v_end_now.clone());
            (sl, k(slot_bits, 0), step)
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    let flush_next = flushing.zip(flush_needed).map(|(f, (need, last_flush))| {
        let next = or(
            and(and(pix, in_last), need),
            and(flush_now.clone(), not(last_flush)),
        );
        (f, next)
    });
    // From in_last: padding rows from the first flush row (the next window end) on.
    let pad_next = pad_left.zip(ve_next).map(|(pl, ve)| {
        let from_last = k(p_bits, pad) - Expr::from(ve).resize(p_bits);
        (pl, Expr::mux(pix, from_last, Expr::from(pl) - k(p_bits, s)))
    });
    let load = and(row_end, has_extras);
    let mut p = Proc::sync(dom).with_comment(
        "Window counters: columns with every pixel or flush column, rows with every row end.",
    );
    p.if_(adv, |p| {
        // Column counters restart with every row.
        p.if_(col, |p| {
            p.if_(row_end, |p| {
                for (r, reload, _) in &cols_step {
                    p.set(*r, reload.clone());
                }
            })
            .else_(|p| {
                for (r, _, step) in &cols_step {
                    p.set(*r, step.clone());
                }
            });
        });
        // Row counters advance at each row end and restart after the image's last row.
        p.if_(row_end, |p| {
            if let Some(fr) = first_row {
                p.set(fr, final_row);
            }
            p.if_(final_row, |p| {
                for (r, reload, _) in &rows_step {
                    p.set(*r, reload.clone());
                }
            })
            .else_(|p| {
                for (r, _, step) in &rows_step {
                    p.set(*r, step.clone());
                }
            });
            for (r, next) in flush_next.iter().chain(&pad_next) {
                p.set(*r, next.clone());
            }
        });
        if let (Some(e), Some(c)) = (extra_left, extra_close) {
            // Right-padding windows: loaded at the row end, one leaves per step.
            p.if_(extra_now.clone(), |p| {
                p.set(e, Expr::from(e) - k(extra_bits, 1));
            })
            .elif(load.clone(), |p| {
                p.set(e, k(extra_bits, r - 1));
            });
            p.if_(load, |p| {
                p.set(c, final_row);
            });
        }
    });
    m.process(p);
    m
}
