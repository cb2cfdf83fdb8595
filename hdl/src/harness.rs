//! Timing harness: a block wrapped so that it can be placed and routed on its own
//! and its Fmax measured without the board around it.
//!
//! Why: an 8x8 array has 390 data ports, more than any of the boards' packages
//! has pins, and inside the board top the UART bridge's paths mix with the
//! array's. The harness has four ports (`clk`, `rst_in`, `sin`, `sout`):
//!
//! ```text
//! sin -> chain_reg (shift register, one bit per block input bit) -> block inputs
//! block outputs -> fold0_reg -> XOR of 4 bits -> fold1_reg -> ... -> sout
//! rst_in -> rst_meta_reg -> rst_reg -> block rst
//! ```
//!
//! Every block input comes straight from a flip-flop and every block output goes
//! straight into one, each of those with fan-out 1 and no logic, so the paths the
//! timing report names are the block's own. Every output bit reaches `sout`
//! through the XOR tree, so synthesis can drop none of the block's logic.

use serde::Serialize;

use crate::ir::{Conn, Design, Expr, Module, SignalKind, Ty};
use crate::parts::Instantiate;
use crate::GenError;

/// Bits folded into one per stage of the output XOR tree (one LUT4 each).
pub const FOLD: u32 = 4;

/// What the harness adds, for the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HarnessDerived {
    /// Bits of the input shift chain (the block's input bits, clock and reset excluded).
    pub chain_bits: u32,
    /// Block output bits folded into `sout`.
    pub folded_bits: u32,
    /// Register stages of the XOR tree, the capture register included.
    pub fold_stages: u32,
}

fn with_ty(e: Expr, ty: Ty) -> Expr {
    if ty.signed {
        e.as_signed()
    } else {
        e
    }
}

/// Wrap the top of `design` in a harness module named `name`, which becomes the
/// new top. The block must have a 1-bit input `clk`; a 1-bit input `rst`, if
/// any, is driven from the synchronized `rst_in`.
pub fn wrap(mut design: Design, name: &str) -> Result<(Design, HarnessDerived), GenError> {
    let block = design
        .top_module()
        .ok_or_else(|| GenError::Internal(format!("design has no top module {}", design.top)))?;
    let block = block.clone();
    let block_name = block.name.clone();
    let ports: Vec<(String, Ty, bool)> = block
        .ports()
        .map(|(_, s)| (s.name.clone(), s.ty, matches!(s.kind, SignalKind::Input)))
        .collect();
    if !ports
        .iter()
        .any(|(n, t, i)| n == "clk" && *i && t.width == 1)
    {
        return Err(GenError::Internal(format!(
            "harness: block {block_name} has no 1-bit input clk"
        )));
    }

    let mut m = Module::new(name);
    m.doc(format!(
        "Timing harness around {block_name}: inputs from a shift chain, outputs folded by a registered XOR tree."
    ))
    .doc("For place-and-route measurements only: it computes nothing useful.");
    let clk = m.input("clk", Ty::bit(), Some("Clock"), "");
    let rst_in = m.input(
        "rst_in",
        Ty::bit(),
        Some("Reset pin (asynchronous, synchronized here)"),
        "",
    );
    let sin = m.input(
        "sin",
        Ty::bit(),
        Some("Serial stimulus and its fold"),
        "shifted into the input chain",
    );
    let sout = m.output("sout", Ty::bit(), None, "XOR of every block output bit");

    let rst_meta = m.reg("rst_meta_reg", Ty::bit(), "first synchronizer stage");
    let rst = m.reg("rst_reg", Ty::bit(), "synchronous reset to the block");
    m.clocked(rst_meta, clk, rst_in, None, None);
    m.clocked(rst, clk, rst_meta, None, None);

    let chain_bits: u32 = ports
        .iter()
        .filter(|(n, _, i)| *i && n != "clk" && n != "rst")
        .map(|(_, t, _)| t.width)
        .sum();
    let chain = (chain_bits > 0).then(|| {
        let r = m.reg("chain_reg", Ty::u(chain_bits), "input shift chain");
        let next = if chain_bits == 1 {
            Expr::from(sin)
        } else {
            Expr::concat(vec![sin.into(), Expr::from(r).slice(0, chain_bits - 1)])
        };
        m.clocked(r, clk, next, None, None);
        r
    });
    if chain.is_none() {
        m.allow_unused(sin, "the block has no data inputs");
    }

    let mut conns = Vec::new();
    let mut outs = Vec::new();
    let mut offset = 0;
    for (pname, ty, input) in &ports {
        if *input {
            let e = match (pname.as_str(), chain) {
                ("clk", _) => Expr::from(clk),
                ("rst", _) => Expr::from(rst),
                (_, Some(c)) => {
                    let e = with_ty(Expr::from(c).slice(offset, ty.width), *ty);
                    offset += ty.width;
                    e
                }
                (_, None) => {
                    return Err(GenError::Internal(format!(
                        "harness: input {pname} of {block_name} has no chain bits"
                    )))
                }
            };
            conns.push((pname.clone(), Conn::In(e)));
        } else {
            let w = m.wire(&format!("blk_{pname}"), *ty, "");
            conns.push((pname.clone(), Conn::Out(w)));
            outs.push(Expr::from(w).as_unsigned());
        }
    }
    if !ports.iter().any(|(n, _, _)| n == "rst") {
        m.allow_unused(rst, "the block has no reset");
    }
    m.inst(&block, "dut").conns(conns).finish()?;

    let folded_bits: u32 = ports
        .iter()
        .filter(|(_, _, i)| !*i)
        .map(|(_, t, _)| t.width)
        .sum();
    let mut stages = 0;
    if folded_bits == 0 {
        m.assign(sout, Expr::bit(false));
    } else {
        let mut cur = m.reg("fold0_reg", Ty::u(folded_bits), "every block output bit");
        m.clocked(cur, clk, Expr::concat(outs), None, None);
        stages = 1;
        let mut width = folded_bits;
        while width > 1 {
            let next_width = width.div_ceil(FOLD);
            let bits = (0..next_width)
                .map(|j| {
                    let lo = j * FOLD;
                    (lo..(lo + FOLD).min(width))
                        .map(|b| Expr::from(cur).bit_at(b))
                        .reduce(|x, y| x ^ y)
                        .unwrap_or_else(|| Expr::bit(false))
                })
                .collect();
            let r = m.reg(
                &format!("fold{stages}_reg"),
                Ty::u(next_width),
                &format!("XOR of groups of {FOLD}"),
            );
            m.clocked(r, clk, Expr::concat(bits), None, None);
            cur = r;
            width = next_width;
            stages += 1;
        }
        m.assign(sout, cur);
    }

    design.top = name.to_string();
    design.include(m)?;
    Ok((
        design,
        HarnessDerived {
            chain_bits,
            folded_bits,
            fold_stages: stages,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::ArrayConfig;

    #[test]
    fn array_harness_checks_and_prints() {
        let cfg = ArrayConfig {
            rows: 3,
            cols: 2,
            ..ArrayConfig::default()
        };
        let d = crate::array::design(&cfg).unwrap_or_else(|e| panic!("{e}"));
        let (d, h) = wrap(d, "array_harness").unwrap_or_else(|e| panic!("{e}"));
        // in_valid + in_a (3x8) + in_b (2x8) + in_last + out_ready
        assert_eq!(h.chain_bits, 1 + 24 + 16 + 1 + 1);
        // in_ready + out_valid + out_c (2x32) + out_last
        assert_eq!(h.folded_bits, 1 + 1 + 64 + 1);
        // 67 -> 17 -> 5 -> 2 -> 1
        assert_eq!(h.fold_stages, 5);
        let v = crate::verilog::print(&d).unwrap_or_else(|e| panic!("{e}"));
        assert!(v.contains("module array_harness"));
    }
}
