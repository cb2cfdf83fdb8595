//! The max-pool top: the valid/ready contract around sequencer, line-buffer
//! stage and window stage.
//!
//! Every register of the unit advances on one enable, `adv`, which is low only
//! while the output register holds a pooled pixel the consumer has not taken.
//! So backpressure freezes the whole pipeline (the block-RAM read included,
//! whose enable is `adv`) and nothing is lost or duplicated; the input is taken
//! exactly on the steps where the sequencer issues a pixel token.

use crate::ir::{Expr, Module, Ty};
use crate::parts::Instantiate;
use crate::GenError;

use super::config::{MaxpoolConfig, Plan};
use super::lanes::bit;

pub struct Blocks<'a> {
    pub seq: &'a Module,
    pub vpool: &'a Module,
    pub hpool: &'a Module,
}

pub fn build(cfg: &MaxpoolConfig, plan: &Plan, blocks: Blocks<'_>) -> Result<Module, GenError> {
    let (c, w, k, s, p) = (cfg.channels, cfg.width, cfg.window, cfg.stride, cfg.pad);
    let d = cfg.data_bits();
    let der = cfg.derived();
    let mut m = Module::new(cfg.name.clone());
    m.doc(format!(
        "Streaming int8 max pooling: {k}x{k} window, stride {s}, padding {p}; {c} channel(s), images {w} pixels wide."
    ))
    .doc("Input: one pixel (all channels) per beat in raster order; in_last marks the image's last pixel.")
    .doc(format!(
        "Output: ((H {}) / {s} + 1) x {} pooled pixels per image of H >= {} rows, raster order; out_last marks the last.",
        match i64::from(2 * p) - i64::from(k) {
            0 => "+ 0".to_string(),
            x if x > 0 => format!("+ {x}"),
            x => format!("- {}", -x),
        },
        plan.w_out,
        der.min_height
    ))
    .doc("Each value is the signed max over the window's real cells; padded cells never win.")
    .doc("Both streams are valid/ready; a beat moves when valid and ready are high at a rising edge.")
    .doc(format!(
        "Throughput: one pixel per clock with out_ready high, except {} cycle(s) after each input row that",
        der.extra_cycles_per_pooled_row
    ))
    .doc(format!(
        "completes pooled pixels, and up to {} padding row(s) emitted after in_last (input not taken meanwhile).",
        der.max_flush_rows
    ));

    m.input(
        "clk",
        bit(),
        Some("Clock and synchronous active-high reset"),
        "",
    );
    m.input("rst", bit(), None, "");
    m.input("in_valid", bit(), Some("Input pixel stream"), "");
    m.output("in_ready", bit(), None, "");
    m.input("in_data", Ty::u(d), None, "channel c at [8*c +: 8], signed");
    m.input("in_last", bit(), None, "last pixel of the image");
    let out_valid = m.output("out_valid", bit(), Some("Pooled pixel stream"), "");
    let out_ready = m.input("out_ready", bit(), None, "");
    m.output(
        "out_data",
        Ty::u(d),
        None,
        "channel c at [8*c +: 8], signed",
    );
    m.output("out_last", bit(), None, "last pooled pixel of the image");

    let adv = m.wire(
        "adv",
        bit(),
        "the pipeline steps: output register empty or being taken",
    );
    m.assign(adv, !Expr::from(out_valid) | out_ready);
    // The stages share port names: each port joins the top's signal of its name.
    for (child, name) in [
        (blocks.seq, "seq"),
        (blocks.vpool, "vpool"),
        (blocks.hpool, "hpool"),
    ] {
        m.inst(child, name).rest_by_name().finish()?;
    }
    Ok(m)
}
