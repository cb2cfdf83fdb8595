//! The window stage: horizontal running maxima over the column maxima, the
//! hold register that finds the image's last pooled pixel, and the output
//! register.
//!
//! Horizontally the same slot scheme as the line buffer runs on registers:
//! `slots` vectors of running maxima, updated by every column maximum of a row
//! in which a window row ends. A window ending at this column leaves as the
//! max of its slot and the column (or the column alone when it is the window's
//! only real column); an extra token emits a slot as it is.
//!
//! Why a hold register: `out_last` must mark the last pooled pixel, but
//! whether a pooled pixel is the last is known only at `in_last`, which may come
//! rows later (input rows past the last window) or after the bottom-padding
//! rows. So the last pooled pixel of each row waits in the hold register until
//! the next pooled pixel exists (then it was not the image's last) or the
//! image's closing token passes (then it was); every other pooled pixel leaves
//! it on the next step. This costs one register stage and no throughput; the
//! price is latency for a row's last pooled pixel, which waits for the next
//! pooled row (up to S input rows) or for `in_last`.

use crate::ir::{Const, Expr, Module, Reset, SignalId, Ty};
use crate::util::clog2;

use super::config::{MaxpoolConfig, Plan};
use super::lanes::{bit, lane_max, select};

pub fn build(cfg: &MaxpoolConfig, plan: &Plan) -> Module {
    let c = cfg.channels;
    let d = cfg.data_bits();
    let n = plan.slots;
    let slot_bits = clog2(n.into());
    let mut m = Module::new(cfg.sub("hpool"));
    m.doc("Window stage of the max-pool unit: horizontal running maxima,")
        .doc("a hold register that marks the last pooled pixel, the output register.")
        .doc(format!(
            "{n} horizontal slot(s) of {c} int8 lanes; an output beat moves when out_valid and out_ready are high."
        ));

    let clk = m.input("clk", bit(), Some("Clock, reset, pipeline step"), "");
    let rst = m.input("rst", bit(), None, "");
    let adv = m.input(
        "adv",
        bit(),
        None,
        "low only while the output register holds an untaken pixel",
    );
    let col_valid = m.input(
        "col_valid",
        bit(),
        Some("From the line-buffer stage"),
        "a column's vertical maximum",
    );
    let col_data = m.input("col_data", Ty::u(d), None, "");
    let col_extra = m.input(
        "col_extra",
        bit(),
        None,
        "emit a stored right-padding window",
    );
    let col_close = m.input("col_close", bit(), None, "the image's last token");
    let col_h_st = (n > 0).then(|| m.input("col_h_st", Ty::u(n), None, ""));
    let col_h_end = m.input("col_h_end", bit(), None, "");
    let col_h_slot = (n > 1).then(|| m.input("col_h_slot", Ty::u(slot_bits), None, ""));
    let col_h_fresh = (n > 0).then(|| m.input("col_h_fresh", bit(), None, ""));
    let col_h_last = (n > 0).then(|| m.input("col_h_last", bit(), None, ""));
    let out_valid = m.output("out_valid", bit(), Some("Pooled pixel stream"), "");
    let out_data = m.output("out_data", Ty::u(d), None, "");
    let out_last = m.output("out_last", bit(), None, "");

    let reset0 = |ty: Ty| {
        Some(Reset {
            rst,
            value: Const { ty, bits: 0 },
        })
    };
    let on = |e: Expr| Some(Expr::from(adv) & e);
    let step = || Some(Expr::from(adv));
    let ctl = |m: &mut Module, name: &str, comment: &str| m.reg(name, bit(), comment);

    // Stage registers.
    let c_col = ctl(&mut m, "c_col_reg", "stage holds a column maximum");
    let c_extra = ctl(&mut m, "c_extra_reg", "stage holds an extra token");
    let c_close = ctl(&mut m, "c_close_reg", "the token closes its image");
    for (r, from) in [
        (c_col, col_valid),
        (c_extra, col_extra),
        (c_close, col_close),
    ] {
        m.clocked(r, clk, from, step(), reset0(bit()));
    }
    let data = |m: &mut Module, name: &str, from: SignalId| {
        let r = m.reg(name, m.signal(from).ty, "");
        m.clocked(r, clk, from, step(), None);
        r
    };
    let c_v = data(&mut m, "c_v_reg", col_data);
    let c_h_end = data(&mut m, "c_h_end_reg", col_h_end);
    let c_h_st = col_h_st.map(|s| data(&mut m, "c_h_st_reg", s));
    let c_h_slot = col_h_slot.map(|s| data(&mut m, "c_h_slot_reg", s));
    let c_h_fresh = col_h_fresh.map(|s| data(&mut m, "c_h_fresh_reg", s));
    let c_h_last = col_h_last.map(|s| data(&mut m, "c_h_last_reg", s));

    // Horizontal running maxima and the pooled pixel of this step.
    let pooled = match (c_h_st, c_h_fresh) {
        (Some(st), Some(fresh)) => {
            let hp: Vec<SignalId> = (0..n)
                .map(|j| m.reg(&format!("hp_{j}_reg"), Ty::u(d), "running window maximum"))
                .collect();
            let mut hmax = Vec::new();
            for (j, &h) in hp.iter().enumerate() {
                let e = lane_max(h, 0, c_v, 0, c);
                let hm = m.wire_of(&format!("hmax_{j}"), e, "");
                let next = Expr::mux(Expr::from(st).bit_at(j as u32), c_v, hm);
                m.clocked(h, clk, next, on(c_col.into()), None);
                hmax.push(hm);
            }
            let hp_sel = select(hp.iter().map(|&x| x.into()).collect(), c_h_slot, slot_bits);
            let hp_sel = m.wire_of("hp_sel", hp_sel, "stored maximum of the ending window");
            let hmax_sel = select(
                hmax.iter().map(|&x| x.into()).collect(),
                c_h_slot,
                slot_bits,
            );
            let hmax_sel = m.wire_of("hmax_sel", hmax_sel, "ending window with this column");
            Expr::mux(c_extra, hp_sel, Expr::mux(fresh, c_v, hmax_sel))
        }
        // 1x1 window: every column maximum is a pooled pixel.
        _ => c_v.into(),
    };
    let p = m.wire_of("pooled", pooled, "the pooled pixel completed this step");
    let p_valid = m.wire_of(
        "pooled_valid",
        Expr::from(c_extra) | (Expr::from(c_col) & c_h_end),
        "",
    );

    // Hold register, then output register.
    let hold_valid = m.reg("hold_valid_reg", bit(), "a pooled pixel waits");
    let hold_final = m.reg(
        "hold_final_reg",
        bit(),
        "and it is known to be the image's last",
    );
    // Without the flag (1x1 window) a pooled pixel comes every step anyway.
    let hold_early = c_h_last.map(|_| {
        m.reg(
            "hold_early_reg",
            bit(),
            "or known not to be: not its row's last",
        )
    });
    let hold_data = m.reg("hold_data_reg", Ty::u(d), "");
    let out_valid_reg = m.reg("out_valid_reg", bit(), "");
    let out_last_reg = m.reg("out_last_reg", bit(), "");
    let out_data_reg = m.reg("out_data_reg", Ty::u(d), "");
    let known = match hold_early {
        Some(e) => Expr::from(hold_final) | e,
        None => hold_final.into(),
    };
    let push = m.wire_of(
        "push",
        Expr::from(hold_valid) & (known | p_valid | c_close),
        "the held pixel moves to the output register",
    );
    let push_last = m.wire_of(
        "push_last",
        Expr::from(hold_final) | (Expr::from(c_close) & !Expr::from(p_valid)),
        "and it is the image's last",
    );
    m.clocked(
        hold_valid,
        clk,
        Expr::from(p_valid) | (Expr::from(hold_valid) & !Expr::from(push)),
        step(),
        reset0(bit()),
    );
    m.clocked(
        hold_final,
        clk,
        Expr::from(p_valid) & c_close,
        step(),
        reset0(bit()),
    );
    if let (Some(e), Some(l)) = (hold_early, c_h_last) {
        m.clocked(
            e,
            clk,
            Expr::from(p_valid) & !Expr::from(l),
            step(),
            reset0(bit()),
        );
    }
    m.clocked(hold_data, clk, p, on(p_valid.into()), None);
    m.clocked(out_valid_reg, clk, push, step(), reset0(bit()));
    m.clocked(out_last_reg, clk, push_last, on(push.into()), None);
    m.clocked(out_data_reg, clk, hold_data, on(push.into()), None);
    m.assign(out_valid, out_valid_reg);
    m.assign(out_last, out_last_reg);
    m.assign(out_data, out_data_reg);
    m
}
