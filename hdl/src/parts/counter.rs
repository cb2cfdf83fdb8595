//! Nested loop counters with wrap and carry, and an optional address accumulator:
//! the loop nest `for l0 in 0..N0 { for l1 in 0..N1 { ... } }` of an address
//! generator (im2col walks `for x in 0..W { for c in 0..C }`), one step per
//! enabled edge.
//!
//! Level 0 is the outermost. On a step (`en`), the innermost level counts; a
//! level that is at its last value wraps to 0 and carries into the level above
//! (`last_i` = level i is at its last value, `carry_i` = this step wraps level i; `carry_0` ends the whole nest, which
//! then starts over). A one-level counter is the chainable building block: its
//! `carry_0` can drive another counter's `en`.
//!
//! With an accumulator, `addr = base + sum_i(count_i * stride_i)` is kept
//! without multipliers: each level keeps the offset at which its current
//! iteration started; a step that advances level i adds `stride_i` to that
//! offset and hands it to every level inside; `carry_0` clears all offsets.

use crate::ir::{Expr, Module, SignalId, Ty};
use crate::util::clog2;
use crate::{check_name, check_range, ConfigError, GenError};

use super::ops::{and, bit, k, named, not, priority, reset_to};

/// A counter nest's parameters.
#[derive(Clone, Debug)]
pub struct CounterConfig {
    pub name: String,
    /// Trip count of each level, outermost first.
    pub counts: Vec<u32>,
    /// Width of the address accumulator (`base`, `stride_i`, `addr`), if any.
    pub addr_bits: Option<u32>,
}

impl CounterConfig {
    pub fn validate(&self) -> Result<(), GenError> {
        check_name("name", &self.name)?;
        check_range("levels", self.counts.len() as u64, 1, 8)?;
        for (i, &n) in self.counts.iter().enumerate() {
            if !(1..=1 << 24).contains(&n) {
                return Err(ConfigError::new(
                    &format!("counts[{i}]"),
                    "must be in 1..=16777216",
                    n,
                )
                .into());
            }
        }
        if let Some(w) = self.addr_bits {
            check_range("addr_bits", u64::from(w), 1, 64)?;
        }
        Ok(())
    }
}

/// Build the nest: ports `clk`, `rst`, `en`, then per level `count_i` and
/// `last_i` (at the last value) and `carry_i`, then (with an accumulator) inputs `base`, `stride_i` and output
/// `addr`. `rst` clears every count (and offset).
pub fn build(cfg: &CounterConfig) -> Result<Module, GenError> {
    cfg.validate()?;
    let n = cfg.counts.len();
    let mut m = Module::new(cfg.name.clone());
    m.doc(format!(
        "Loop nest counter, trip counts {:?} (outermost first), one step per enabled edge.",
        cfg.counts
    ))
    .doc("carry_i: level i wraps this step; carry_0 ends the nest.");
    if cfg.addr_bits.is_some() {
        m.doc("addr = base + sum(count_i * stride_i), accumulated without multipliers.");
    }
    let (clk, rst) = super::clock_and_reset(&mut m);
    let en = m.input("en", bit(), None, "step the innermost level");
    let widths: Vec<u32> = cfg
        .counts
        .iter()
        .map(|&c| clog2(u64::from(c)).max(1))
        .collect();
    let mut counts = Vec::new();
    let mut carries = Vec::new();
    let mut lasts = Vec::new();
    for (i, &w) in widths.iter().enumerate() {
        let g = (i == 0).then_some("Counts (level 0 outermost) and carries");
        counts.push(m.output(&format!("count_{i}"), Ty::u(w), g, ""));
        lasts.push(m.output(
            &format!("last_{i}"),
            bit(),
            None,
            "count_i is at its last value",
        ));
        carries.push(m.output(&format!("carry_{i}"), bit(), None, "level wraps this step"));
    }
    let acc = cfg.addr_bits.map(|w| {
        let base = m.input(
            "base",
            Ty::u(w),
            Some("Address accumulator"),
            "address of the first step",
        );
        let strides: Vec<SignalId> = (0..n)
            .map(|i| m.input(&format!("stride_{i}"), Ty::u(w), None, ""))
            .collect();
        let addr = m.output("addr", Ty::u(w), None, "base + sum(count_i * stride_i)");
        (w, base, strides, addr)
    });

    // Level i steps when en is high and every level inside it is at its last value.
    let mut step = Expr::from(en);
    let mut steps = vec![Expr::bit(false); n];
    let mut at_last = vec![Expr::bit(false); n];
    for i in (0..n).rev() {
        let w = widths[i];
        let r = m.reg(&format!("count{i}_reg"), Ty::u(w), "");
        let last = if cfg.counts[i] == 1 {
            Expr::bit(true)
        } else {
            Expr::from(r).cmp_eq(k(w, cfg.counts[i] - 1))
        };
        let s = m.wire_of(
            &format!("step{i}"),
            step.clone(),
            &format!("level {i} counts"),
        );
        let carry = and(s, last.clone());
        m.assign(carries[i], carry.clone());
        m.assign(lasts[i], last.clone());
        let next = if cfg.counts[i] == 1 {
            k(w, 0)
        } else {
            Expr::mux(last.clone(), k(w, 0), Expr::from(r) + k(w, 1))
        };
        m.clocked(r, clk, next, Some(s.into()), reset_to(rst, Ty::u(w), 0));
        m.assign(counts[i], r);
        steps[i] = Expr::from(s);
        at_last[i] = last;
        step = carry;
    }
    if let Some((w, base, strides, addr)) = acc {
        // Level i advances (rather than wraps) on this step.
        let advance: Vec<Expr> = (0..n)
            .map(|i| {
                let e = and(steps[i].clone(), not(at_last[i].clone()));
                named(&mut m, &format!("advance{i}"), e, "")
            })
            .collect();
        let offs: Vec<SignalId> = (0..n)
            .map(|i| {
                m.reg(
                    &format!("offset{i}_reg"),
                    Ty::u(w),
                    &format!("sum of count_j * stride_j over levels j <= {i}"),
                )
            })
            .collect();
        let sums: Vec<Expr> = (0..n).map(|i| Expr::from(offs[i]) + strides[i]).collect();
        let wrap_all = m.wire_of(
            "wrap_all",
            Expr::from(carries[0]),
            "the nest ends: offsets restart",
        );
        for (i, &off) in offs.iter().enumerate() {
            // The one level that advances hands its new offset to every level inside.
            let arms = (0..=i)
                .rev()
                .map(|j| (advance[j].clone(), sums[j].clone()))
                .collect();
            let next = priority(arms, Expr::mux(wrap_all, Expr::zero(Ty::u(w)), off));
            m.clocked(off, clk, next, Some(en.into()), reset_to(rst, Ty::u(w), 0));
        }
        m.assign(addr, Expr::from(base) + offs[n - 1]);
        for (i, &c) in cfg.counts.iter().enumerate() {
            if c == 1 {
                m.allow_unused(strides[i], "a level of one iteration never advances");
            }
        }
    }
    Ok(m)
}
