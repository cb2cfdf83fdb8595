//! The line-buffer stage: vertical (column-wise) running maxima in block RAM.
//!
//! The line buffer holds, for every column, one word of `slots` vectors: the
//! running maximum of each window row still open (window `o` in slot
//! `o mod slots`). A pixel token reads its column's word, updates every slot
//! (a window starting at this row takes the pixel, the others take the lane-wise
//! max) and writes the word back; if a window row ends at this row, the max of
//! its slot and the pixel leaves as the column's vertical maximum. A flush
//! token (bottom padding, after `in_last`) only reads: the stored slot is the
//! whole window. This needs `ceil((K-1)/S)` rows of storage, never a row of
//! raw pixels per window row.
//!
//! The read is synchronous with enable `adv`, issued by the sequencer one stage
//! early (`rd_col`), so the word arrives with its token. Consecutive tokens
//! have different columns when W >= 2 (the column advances by one per token,
//! flush and extra tokens included), so a read never meets the write of the
//! same address at one edge and no bypass is needed. With W = 1 the buffer is a
//! plain register (one word) written at the end of the step.

use crate::ir::{Expr, MemHints, Module, Ty};
use crate::util::clog2;

use super::config::{MaxpoolConfig, Plan};
use super::lanes::{bit, lane_max, part, select};

pub fn build(cfg: &MaxpoolConfig, plan: &Plan) -> Module {
    let (w, c) = (cfg.width, cfg.channels);
    let d = cfg.data_bits();
    let n = plan.slots;
    let slot_bits = clog2(n.into());
    let xw = clog2(w.into());
    let mut m = Module::new(cfg.sub("vpool"));
    m.doc("Line-buffer stage of the max-pool unit: vertical running maxima.")
        .doc(format!(
            "{n} slot(s) of {c} int8 lanes per column, {w} columns{}.",
            match (n, w) {
                (0, _) => ": no storage (1x1 window)",
                (_, 1) => ", held in a register",
                _ => ", in block RAM (synchronous read one stage early)",
            }
        ));

    let clk = m.input("clk", bit(), Some("Clock, reset, pipeline step"), "");
    let rst = m.input("rst", bit(), None, "");
    let adv = m.input("adv", bit(), None, "");
    let tok_pix = m.input(
        "tok_pix",
        bit(),
        Some("Token from the sequencer (see there)"),
        "",
    );
    let tok_flush = m.input("tok_flush", bit(), None, "");
    let tok_extra = m.input("tok_extra", bit(), None, "");
    let tok_close = m.input("tok_close", bit(), None, "");
    let rd_col = (w > 1 && n > 0).then(|| m.input("rd_col", Ty::u(xw), None, "read address"));
    let in_data = m.input("in_data", Ty::u(d), None, "the pixel of a pixel token");
    let v_st = (n > 0).then(|| m.input("v_st", Ty::u(n), None, ""));
    let v_end = m.input("v_end", bit(), None, "");
    let v_slot = (n > 1).then(|| m.input("v_slot", Ty::u(slot_bits), None, ""));
    let v_fresh = (n > 0).then(|| m.input("v_fresh", bit(), None, ""));
    let h_st = (n > 0).then(|| m.input("h_st", Ty::u(n), None, "column roles, passed on"));
    let h_end = m.input("h_end", bit(), None, "");
    let h_slot = (n > 1).then(|| m.input("h_slot", Ty::u(slot_bits), None, ""));
    let h_fresh = (n > 0).then(|| m.input("h_fresh", bit(), None, ""));
    let h_last = (n > 0).then(|| m.input("h_last", bit(), None, ""));

    let col_valid = m.output(
        "col_valid",
        bit(),
        Some("To the window stage: a column's vertical maximum"),
        "",
    );
    let col_data = m.output("col_data", Ty::u(d), None, "");
    let col_extra = m.output("col_extra", bit(), None, "");
    let col_close = m.output("col_close", bit(), None, "");
    let col_h_st = (n > 0).then(|| m.output("col_h_st", Ty::u(n), None, ""));
    let col_h_end = m.output("col_h_end", bit(), None, "");
    let col_h_slot = (n > 1).then(|| m.output("col_h_slot", Ty::u(slot_bits), None, ""));
    let col_h_fresh = (n > 0).then(|| m.output("col_h_fresh", bit(), None, ""));
    let col_h_last = (n > 0).then(|| m.output("col_h_last", bit(), None, ""));

    // Stage registers: the token and its roles.
    let on_adv = || Some(Expr::from(adv));
    let ctl = |m: &mut Module, name: &str, from, comment: &str| {
        let r = m.reg(name, bit(), comment);
        m.clocked(
            r,
            clk,
            from,
            on_adv(),
            Some(crate::ir::Reset {
                rst,
                value: crate::ir::Const { ty: bit(), bits: 0 },
            }),
        );
        r
    };
    let b_pix = ctl(&mut m, "b_pix_reg", tok_pix, "stage holds a pixel token");
    let b_flush = ctl(
        &mut m,
        "b_flush_reg",
        tok_flush,
        "stage holds a flush token",
    );
    let b_extra = ctl(
        &mut m,
        "b_extra_reg",
        tok_extra,
        "stage holds an extra token",
    );
    let b_close = ctl(
        &mut m,
        "b_close_reg",
        tok_close,
        "the token closes its image",
    );
    let data = |m: &mut Module, name: &str, from: crate::ir::SignalId, comment: &str| {
        let r = m.reg(name, m.signal(from).ty, comment);
        m.clocked(r, clk, from, on_adv(), None);
        r
    };
    let b_data = data(&mut m, "b_data_reg", in_data, "");
    let b_v_end = data(&mut m, "b_v_end_reg", v_end, "");
    let b_v_st = v_st.map(|s| data(&mut m, "b_v_st_reg", s, ""));
    let b_v_slot = v_slot.map(|s| data(&mut m, "b_v_slot_reg", s, ""));
    let b_v_fresh = v_fresh.map(|s| data(&mut m, "b_v_fresh_reg", s, ""));
    let pass = [
        (h_st, col_h_st, "b_h_st_reg"),
        (Some(h_end), Some(col_h_end), "b_h_end_reg"),
        (h_slot, col_h_slot, "b_h_slot_reg"),
        (h_fresh, col_h_fresh, "b_h_fresh_reg"),
        (h_last, col_h_last, "b_h_last_reg"),
    ];
    for (from, to, name) in pass {
        if let (Some(f), Some(t)) = (from, to) {
            let r = data(
                &mut m,
                name,
                f,
                "column role, on its way to the window stage",
            );
            m.assign(t, r);
        }
    }

    m.assign(
        col_valid,
        (Expr::from(b_pix) | b_flush) & Expr::from(b_v_end),
    );
    m.assign(col_extra, b_extra);
    m.assign(col_close, b_close);

    let (Some(b_v_st), Some(b_v_fresh)) = (b_v_st, b_v_fresh) else {
        // 1x1 window: every pixel is its own vertical window.
        m.assign(col_data, b_data);
        return m;
    };

    let word = Ty::u(n * d);
    let q = m.reg(
        "q_reg",
        word,
        if w > 1 {
            "the token's column word, read one stage early"
        } else {
            "the only column word"
        },
    );
    // Lane-wise max of each slot with the pixel; a starting window takes the pixel.
    let qmax: Vec<_> = (0..n)
        .map(|j| {
            let e = lane_max(q, j * d, b_data, 0, c);
            m.wire_of(
                &format!("qmax_{j}"),
                e,
                &format!("slot {j} updated by the pixel"),
            )
        })
        .collect();
    let mut slots: Vec<Expr> = qmax
        .iter()
        .enumerate()
        .map(|(j, &qm)| Expr::mux(Expr::from(b_v_st).bit_at(j as u32), b_data, qm))
        .collect();
    let new_word = if n == 1 {
        slots.remove(0)
    } else {
        Expr::concat(slots)
    };
    let new_word = m.wire_of("new_word", new_word, "the column word written back");
    let write = m.wire_of(
        "write",
        Expr::from(adv) & b_pix,
        "a pixel token updates its column",
    );
    match rd_col {
        Some(rd) => {
            let lb = m.memory(
                "line_buf",
                n * d,
                w,
                "running window-row maxima, one word per column (block RAM)",
            );
            // Block RAM even when small; the read and the write of one edge never share
            // an address (see the module docs), so no collision logic is needed.
            m.memory_hints(
                lb,
                MemHints {
                    block_ram: true,
                    no_rw_collision: true,
                },
            );
            let b_col = data(&mut m, "b_col_reg", rd, "the token's column: write address");
            m.mem_read(lb, clk, adv, rd, q);
            m.mem_write(lb, clk, write, b_col, new_word);
        }
        None => m.clocked(q, clk, new_word, Some(write.into()), None),
    }
    let q_end = select(
        (0..n).map(|j| part(q, j, d, n)).collect(),
        b_v_slot,
        slot_bits,
    );
    let q_end = m.wire_of("q_end", q_end, "stored maximum of the ending window");
    let qmax_end = select(
        qmax.iter().map(|&x| x.into()).collect(),
        b_v_slot,
        slot_bits,
    );
    let qmax_end = m.wire_of("qmax_end", qmax_end, "ending window with the pixel");
    // Flush: the stored rows are the whole window. Row 0: nothing stored yet.
    let col = Expr::mux(b_flush, q_end, Expr::mux(b_v_fresh, b_data, qmax_end));
    m.assign(col_data, col);
    m
}
