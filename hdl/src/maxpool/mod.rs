//! The streaming int8 max-pool unit: pools feature maps as they stream past
//! (one pixel of all channels per beat, raster order), with the rows it must
//! remember in block RAM. Built to sit behind a convolution and to be fused into
//! its write-back path later, so the unit is a plain valid/ready block.
//!
//! Architecture (one hardware level per file):
//! - [`seq`]: the token sequencer. All window arithmetic (which windows start
//!   or end at this row and column, bottom and right padding) is counters here,
//!   and every decision travels with its token down the pipeline.
//! - [`vpool`]: vertical pooling. For each column, the running maxima of the
//!   window rows still open, `ceil((K-1)/S)` slots, in one block RAM read one
//!   stage early and written back (read-modify-write, one column per step).
//! - [`hpool`]: horizontal pooling of the column maxima with the same slot
//!   scheme in registers, a hold register that finds the image's last pooled
//!   pixel (known only at `in_last`), and the output register.
//! - [`top`]: the contract; one pipeline enable `adv` stalls everything.
//!
//! Padding is never stored: a window's running maximum starts at its first
//! real cell, so padded cells never win. Since `P <= K/2 < K` and the image
//! has at least `K - 2P` rows, every window holds a real cell (the first
//! window starts at cell `-P > -K`; the last ends at most `P` cells past the
//! image, so it starts at most `P - K + 1 <= 0` cells past the last one). This is
//! exactly the golden model's rule (padded cells skipped). An image with fewer
//! than `K - 2P` rows has no pooled row: the unit emits nothing for it (no
//! `out_last`) and continues with the next image.
//!
//! Throughput and latency, with `out_ready` high: one input pixel per clock,
//! except that input waits while the unit emits what needs no input: after the
//! last column of a row that completes window rows, one cycle per further window
//! reaching into the right padding ([`MaxpoolDerived::extra_cycles_per_pooled_row`],
//! 0 for the usual 2x2/2 and 3x3/2 pad 1 on even widths), and after `in_last` one
//! row of `W` cycles per window row reaching into the bottom padding (at most
//! `ceil(P/S)`). So a shape that emits more pixels than it takes (e.g. 2x2/1
//! pad 1) is output-bound, as it must be. A pooled pixel is taken 4 clock edges
//! after the edge that took the input pixel completing its window; the last
//! pooled pixel of each row waits in the hold register until the next one is
//! computed or the image ends, because only then is it known whether it is the
//! image's last (`out_last`).
//!
//! Outside the contract: `in_last` on a pixel that does not end a row still ends
//! the row and the image (that image's output is unspecified and may lack
//! `out_last`); the next image is exact. A reset at any time leaves a clean unit.
//!
//! [`config`] holds the one configuration and its derived numbers; a token-level
//! model of the schedule (tests only) checks the arithmetic over every small shape.

pub mod config;
pub mod hpool;
mod lanes;
#[cfg(test)]
mod model;
pub mod seq;
pub mod top;
pub mod vpool;

pub use config::{MaxpoolConfig, MaxpoolDerived, Plan};

use crate::ir::Design;
use crate::{GenError, Generated};

/// Elaborate the unit described by `cfg` into a design (validating `cfg` first).
pub fn design(cfg: &MaxpoolConfig) -> Result<Design, GenError> {
    cfg.validate()?;
    let plan = cfg.plan();
    let seq = seq::build(cfg, &plan);
    let vpool = vpool::build(cfg, &plan);
    let hpool = hpool::build(cfg, &plan);
    let top = top::build(
        cfg,
        &plan,
        top::Blocks {
            seq: &seq,
            vpool: &vpool,
            hpool: &hpool,
        },
    )?;
    let mut d = Design::new(cfg.name.clone());
    d.include(top)?;
    d.include(seq)?;
    d.include(vpool)?;
    d.include(hpool)?;
    Ok(d)
}

/// Generate the unit: design, Verilog and manifest.
pub fn generate(cfg: &MaxpoolConfig) -> Result<Generated, GenError> {
    Generated::from_design("maxpool", cfg, &cfg.derived(), design(cfg)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shape of a spread generates a design that passes the IR checks.
    #[test]
    fn spread_of_shapes_passes_the_checks() {
        for k in 1..=8 {
            for s in 1..=k {
                for p in 0..=k / 2 {
                    for (w, c) in [(1, 1), (2, 3), (5, 2), (28, 8)] {
                        let cfg = MaxpoolConfig {
                            channels: c,
                            width: w,
                            window: k,
                            stride: s,
                            pad: p,
                            ..MaxpoolConfig::default()
                        };
                        if cfg.validate().is_err() {
                            continue;
                        }
                        if let Err(e) = generate(&cfg) {
                            panic!("K={k} S={s} P={p} W={w} C={c}: {e:?}");
                        }
                    }
                }
            }
        }
    }
}
