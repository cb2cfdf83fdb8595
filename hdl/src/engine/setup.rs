//! The per-layer products, computed once per descriptor by one sequential
//! multiplier in the generator's `SETUP` state, instead of a full multiplier
//! per product (the sizes the address-wrap check and the buffers need, and the
//! strides the im2col walker adds instead of multiplying).
//!
//! The multiplier takes [`RADIX_BITS`] bits of the narrow operand a cycle
//! (`acc += a * b[R-1:0]; a <<= R; b >>= R`), one product after the other,
//! each as many cycles as its narrow operand's bound needs; the program is a
//! fixed list, so `SETUP` lasts the same [`cycles`] for every descriptor and
//! the cycle model only adds that constant. The operands' widths come from the
//! contract's limits, which the check states before `SETUP` have enforced, so
//! every product is exact.
//!
//! Beside the multiplier, two bit-serial dividers (one for the height, one
//! for the width) compute the output sizes `(x / stride) + 1` in the same
//! state: the conv output size, then the pooled size, a quotient bit a cycle
//! (restoring division by 1..=4, a 2-bit remainder), instead of a
//! multiply-by-reciprocal per divider in the check states. The program reads
//! the sizes only in its last steps, after the dividers are done (checked by
//! [`build`]), so `SETUP` is no longer for them.

use contracts::engine::Limits;

use crate::ir::{Expr, Module, SignalId, Ty};
use crate::parts::ops::k;
use crate::process::{DomainId, Proc};
use crate::util::clog2;
use crate::GenError;

use super::top::z;

/// Bits of the narrow operand the multiplier consumes per cycle.
pub const RADIX_BITS: u32 = 4;

/// Bits needed to hold `max`.
fn bits(max: u64) -> u32 {
    64 - max.leading_zeros()
}

/// Upper bounds of the operands, from the contract's limits (valid after the
/// `too_large` and geometry checks).
struct Bounds {
    in_h: u64,
    in_w: u64,
    in_c: u64,
    out_c: u64,
    k: u64,
    small: u64,
    /// `pool_pad*stride + pad`: the rows (columns) before the first input
    /// row (column) the walker's first window reaches.
    lead: u64,
    /// Conv (and pooled) output height or width.
    out_hw: u64,
}

fn bounds(lim: &Limits) -> Bounds {
    let kmax = u64::from(lim.k_h.max(lim.k_w));
    let span = u64::from(lim.dil) * (kmax - 1);
    let pool_pad = u64::from(lim.pool_k.saturating_sub(1));
    let in_hw = u64::from(lim.in_h.max(lim.in_w));
    Bounds {
        in_h: u64::from(lim.in_h),
        in_w: u64::from(lim.in_w),
        in_c: u64::from(lim.in_c),
        out_c: u64::from(lim.out_c),
        k: kmax,
        small: u64::from(lim.stride.max(lim.dil).max(lim.pool_s)),
        lead: pool_pad * u64::from(lim.stride) + span,
        // pad <= span on both sides: H_c <= H + span; pooling pads 2*pool_pad.
        out_hw: in_hw + span + 2 * pool_pad,
    }
}

/// A value the program reads: a descriptor field, a register of the check
/// states, or an earlier product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Val {
    InH,
    InW,
    InC,
    OutC,
    Kh,
    Kw,
    Sh,
    Sw,
    Dh,
    Dw,
    Ho,
    Wo,
    Ps,
    LeadH,
    LeadW,
    Rowb,
    InSize,
    Khkw,
    Kk,
    Wsize,
    Howo,
    Osize,
    Awj,
    Awi,
    Akx,
    Aky,
    Axs,
    Ays,
    Lead,
}

/// One product `dest = a * b` (`+ dest` of the step before when `acc`);
/// `b` is the narrow operand, `RADIX_BITS` of it a cycle.
struct Step {
    dest: Val,
    a: Val,
    b: Val,
    acc: bool,
}

const fn st(dest: Val, a: Val, b: Val) -> Step {
    Step {
        dest,
        a,
        b,
        acc: false,
    }
}

/// The program, in order (a step reads only fields and earlier products;
/// the output sizes, which the dividers compute meanwhile, only at the end).
const PROGRAM: [Step; 15] = [
    st(Val::Rowb, Val::InC, Val::InW),
    st(Val::InSize, Val::Rowb, Val::InH),
    st(Val::Khkw, Val::Kw, Val::Kh),
    st(Val::Kk, Val::InC, Val::Khkw),
    st(Val::Wsize, Val::Kk, Val::OutC),
    st(Val::Awj, Val::InC, Val::Sw),
    st(Val::Awi, Val::Rowb, Val::Sh),
    st(Val::Akx, Val::InC, Val::Dw),
    st(Val::Aky, Val::Rowb, Val::Dh),
    st(Val::Axs, Val::Awj, Val::Ps),
    st(Val::Ays, Val::Awi, Val::Ps),
    st(Val::Lead, Val::Rowb, Val::LeadH),
    Step {
        dest: Val::Lead,
        a: Val::InC,
        b: Val::LeadW,
        acc: true,
    },
    st(Val::Howo, Val::Wo, Val::Ho),
    st(Val::Osize, Val::Howo, Val::OutC),
];

/// Upper bound of a value under the contract's limits.
fn max_of(v: Val, b: &Bounds) -> u64 {
    let prod = |x: Val, y: Val| max_of(x, b) * max_of(y, b);
    match v {
        Val::InH => b.in_h,
        Val::InW => b.in_w,
        Val::InC => b.in_c,
        Val::OutC => b.out_c,
        Val::Kh | Val::Kw => b.k,
        Val::Sh | Val::Sw | Val::Dh | Val::Dw | Val::Ps => b.small,
        Val::Ho | Val::Wo => b.out_hw,
        Val::LeadH | Val::LeadW => b.lead,
        Val::Rowb => prod(Val::InC, Val::InW),
        Val::InSize => prod(Val::Rowb, Val::InH),
        Val::Khkw => prod(Val::Kw, Val::Kh),
        Val::Kk => prod(Val::InC, Val::Khkw),
        Val::Wsize => prod(Val::Kk, Val::OutC),
        Val::Howo => prod(Val::Wo, Val::Ho),
        Val::Osize => prod(Val::Howo, Val::OutC),
        Val::Awj => prod(Val::InC, Val::Sw),
        Val::Awi => prod(Val::Rowb, Val::Sh),
        Val::Akx => prod(Val::InC, Val::Dw),
        Val::Aky => prod(Val::Rowb, Val::Dh),
        Val::Axs => prod(Val::Awj, Val::Ps),
        Val::Ays => prod(Val::Awi, Val::Ps),
        Val::Lead => prod(Val::Rowb, Val::LeadH) + prod(Val::InC, Val::LeadW),
    }
}

/// Is `v` only ever added to addresses (a walker step or the start
/// offset)? Those are kept modulo the address space: their registers are at
/// most `limits.addr_bits` wide. The sizes stay whole (the wrap checks read
/// them).
fn address_only(v: Val) -> bool {
    matches!(
        v,
        Val::Awj | Val::Awi | Val::Akx | Val::Aky | Val::Axs | Val::Ays | Val::Lead
    )
}

/// Bits of the register that holds `v`: its bound's, at most the address
/// space's for an address step.
fn width_of(v: Val, b: &Bounds, lim: &Limits) -> u32 {
    let w = bits(max_of(v, b));
    if address_only(v) {
        w.min(lim.addr_bits)
    } else {
        w
    }
}

/// Cycles of one step.
fn step_cycles(s: &Step, b: &Bounds) -> u32 {
    bits(max_of(s.b, b)).div_ceil(RADIX_BITS)
}

/// Cycles `SETUP` lasts: the same for every descriptor.
pub fn cycles(lim: &Limits) -> u32 {
    let b = bounds(lim);
    PROGRAM.iter().map(|s| step_cycles(s, &b)).sum()
}

/// The operands `SETUP` multiplies (descriptor fields and the registers the
/// check states set before it).
pub struct Inputs {
    pub in_h: SignalId,
    pub in_w: SignalId,
    pub in_c: SignalId,
    pub out_c: SignalId,
    pub k_h: SignalId,
    pub k_w: SignalId,
    pub s_h: SignalId,
    pub s_w: SignalId,
    pub dl_h: SignalId,
    pub dl_w: SignalId,
    pub ho: SignalId,
    pub wo: SignalId,
    /// Pool stride (1 without pooling).
    pub ps: SignalId,
    /// `pp*s_h + pad_t`: input rows above the first window.
    pub lead_h: SignalId,
    /// `pp*s_w + pad_l`.
    pub lead_w: SignalId,
    /// The dividers' numerators: `H + pad_t + pad_b - dil_h*(k_h-1) - 1`
    /// (conv output height less one, times the stride) and the same across.
    pub conv_h: SignalId,
    pub conv_w: SignalId,
    /// `H_c + 2*pool_pad - pool_k` (`H_c - 1` without pooling: the pool
    /// registers then hold k 1, pad 0, stride 1), read once `H_c` is set.
    pub pool_h: SignalId,
    pub pool_w: SignalId,
    /// The conv output size registers the dividers set (`ho`, `wo` above
    /// are the pooled ones, set after them).
    pub hc: SignalId,
    pub wc: SignalId,
}

/// The products, registers valid from the cycle after `SETUP`; each as wide
/// as its bound (an address step at most `limits.addr_bits`).
pub struct Products {
    /// `in_w*in_c`: bytes of an input row.
    pub rowb: SignalId,
    /// `in_h*in_w*in_c`: bytes of the input tensor.
    pub in_size: SignalId,
    /// `k_h*k_w*in_c` (K).
    pub kk: SignalId,
    /// `K*out_c`: bytes of the weights.
    pub wsize: SignalId,
    /// `H_o*W_o`: output pixels.
    pub howo: SignalId,
    /// `H_o*W_o*out_c`: bytes of the output.
    pub osize: SignalId,
    /// `s_w*in_c`, `s_h*in_w*in_c`: address step of a pool window column, row.
    pub awj: SignalId,
    pub awi: SignalId,
    /// `dil_w*in_c`, `dil_h*in_w*in_c`: address step of a kernel column, row.
    pub akx: SignalId,
    pub aky: SignalId,
    /// `ps*s_w*in_c`, `ps*s_h*in_w*in_c`: address step of an output column, row.
    pub axs: SignalId,
    pub ays: SignalId,
    /// `lead_h*in_w*in_c + lead_w*in_c`: bytes from the first window's first
    /// (padded) input position to `in_addr`.
    pub lead: SignalId,
}

/// Cycles of `SETUP` before the program first reads `H_o`/`W_o`.
fn sizes_read_at(b: &Bounds) -> u32 {
    PROGRAM
        .iter()
        .take_while(|s| ![s.a, s.b].iter().any(|v| matches!(v, Val::Ho | Val::Wo)))
        .map(|s| step_cycles(s, b))
        .sum()
}

/// Quotient bits of a divider: enough for both numerators under the limits.
fn div_bits(b: &Bounds) -> u32 {
    bits(b.out_hw)
}

/// The two dividers: `hc = conv_h / s_h + 1` (and across) in the first
/// [`div_bits`] cycles of `SETUP`, then `ho = pool_h / ps + 1` in as many
/// more; a restoring division, MSB first, one quotient bit a cycle.
fn dividers(m: &mut Module, sync: DomainId, active: Expr, inp: &Inputs, bd: &Bounds) {
    let w = div_bits(bd);
    for num in [inp.conv_h, inp.conv_w, inp.pool_h, inp.pool_w] {
        m.allow_unused(
            num,
            "a numerator is below the output size bound under the limits: the divider reads its low bits",
        );
    }
    let cb = bits(u64::from(2 * w));
    let cnt = m.reg_reset(
        "dv_cnt_reg",
        Ty::u(cb),
        sync,
        0,
        "SETUP: divider cycle (conv size, then pooled size)",
    );
    let conv = m.wire_of(
        "dv_conv",
        Expr::from(cnt).cmp_lt(k(cb, w)),
        "the dividers compute the conv output size",
    );
    let first = m.wire_of(
        "dv_first",
        Expr::from(cnt).cmp_eq(k(cb, 0)) | Expr::from(cnt).cmp_eq(k(cb, w)),
        "first cycle of a division: load the numerator",
    );
    let run = m.wire_of(
        "dv_run",
        active.clone() & Expr::from(cnt).cmp_lt(k(cb, 2 * w)),
        "",
    );
    let last_conv = Expr::from(cnt).cmp_eq(k(cb, w - 1));
    let last_pool = Expr::from(cnt).cmp_eq(k(cb, 2 * w - 1));
    let mut p = Proc::sync(sync).with_comment("SETUP: the stride dividers.");
    let one = |m: &mut Module,
               p: &mut Proc,
               dim: &str,
               conv_num: SignalId,
               pool_num: SignalId,
               stride: SignalId,
               size_c: SignalId,
               size_o: SignalId| {
        let x = m.reg_in(
            &format!("dv_{dim}_x_reg"),
            Ty::u(w),
            sync,
            "numerator shifting out, quotient shifting in",
        );
        let r = m.reg_in(&format!("dv_{dim}_r_reg"), Ty::u(2), sync, "remainder");
        let num = Expr::mux(
            conv,
            z(Expr::from(conv_num).slice(0, w), w),
            z(Expr::from(pool_num).slice(0, w), w),
        );
        // Strides and pool strides are at most 4 after the checks.
        let dv = m.wire_of(
            &format!("dv_{dim}_d"),
            Expr::mux(
                conv,
                Expr::from(stride).slice(0, 3),
                Expr::from(inp.ps).slice(0, 3),
            ),
            "divisor",
        );
        let x_cur = Expr::mux(first, num, Expr::from(x));
        let r_cur = Expr::mux(first, k(2, 0), Expr::from(r));
        let t = m.wire_of(
            &format!("dv_{dim}_t"),
            Expr::concat(vec![x_cur.clone().slice(w - 1, 1), r_cur]),
            "remainder with the next numerator bit",
        );
        let ge = m.wire_of(
            &format!("dv_{dim}_ge"),
            Expr::from(t).cmp_ge(dv),
            "quotient bit",
        );
        let q = m.wire_of(
            &format!("dv_{dim}_q"),
            Expr::concat(vec![Expr::from(ge), x_cur.slice(0, w - 1)]),
            "the quotient so far",
        );
        p.if_(run, |p| {
            p.set(x, q);
            p.set(
                r,
                Expr::mux(ge, Expr::from(t) - Expr::from(dv), Expr::from(t)).slice(0, 2),
            );
            p.if_(last_conv.clone(), |p| {
                p.set(size_c, z(q, 16) + k(16, 1));
            });
            p.if_(last_pool.clone(), |p| {
                p.set(size_o, z(q, 16) + k(16, 1));
            });
        });
    };
    one(
        m, &mut p, "h", inp.conv_h, inp.pool_h, inp.s_h, inp.hc, inp.ho,
    );
    one(
        m, &mut p, "w", inp.conv_w, inp.pool_w, inp.s_w, inp.wc, inp.wo,
    );
    p.if_(run, |p| {
        p.set(cnt, Expr::from(cnt) + k(cb, 1));
    })
    .elif(!active, |p| {
        p.set(cnt, k(cb, 0));
    });
    m.process(p);
}

/// Build the multiplier and its program, and the stride dividers; they run
/// while `active` and the returned wire is high in the last cycle.
pub fn build(
    m: &mut Module,
    sync: DomainId,
    active: Expr,
    inp: &Inputs,
    lim: &Limits,
) -> Result<(Products, SignalId), GenError> {
    let bd = bounds(lim);
    if 2 * div_bits(&bd) > sizes_read_at(&bd) {
        return Err(GenError::Internal(format!(
            "SETUP: the dividers need {} cycles, the program reads the sizes after {}",
            2 * div_bits(&bd),
            sizes_read_at(&bd)
        )));
    }
    dividers(m, sync, active.clone(), inp, &bd);
    let r = RADIX_BITS;
    let aw = PROGRAM
        .iter()
        .map(|s| bits(max_of(s.dest, &bd)))
        .max()
        .unwrap_or(1);
    let bw = PROGRAM
        .iter()
        .map(|s| bits(max_of(s.b, &bd)))
        .max()
        .unwrap_or(1)
        .max(r);
    let n = PROGRAM.len() as u32;
    let sb = clog2(u64::from(n)).max(1);
    let maxc = PROGRAM
        .iter()
        .map(|s| step_cycles(s, &bd))
        .max()
        .unwrap_or(1);
    let cbits = clog2(u64::from(maxc)).max(1);
    let mut dest: Vec<(Val, SignalId)> = Vec::new();
    for s in &PROGRAM {
        if dest.iter().any(|(v, _)| *v == s.dest) {
            continue;
        }
        let name = format!("su_{}_reg", format!("{:?}", s.dest).to_lowercase());
        let reg = m.reg_in(
            &name,
            Ty::u(width_of(s.dest, &bd, lim)),
            sync,
            "per-layer product (SETUP)",
        );
        dest.push((s.dest, reg));
    }
    let get = |v: Val| -> SignalId {
        dest.iter()
            .find(|(d, _)| *d == v)
            .map(|(_, s)| *s)
            .unwrap_or(match v {
                Val::InH => inp.in_h,
                Val::InW => inp.in_w,
                Val::InC => inp.in_c,
                Val::OutC => inp.out_c,
                Val::Kh => inp.k_h,
                Val::Kw => inp.k_w,
                Val::Sh => inp.s_h,
                Val::Sw => inp.s_w,
                Val::Dh => inp.dl_h,
                Val::Dw => inp.dl_w,
                Val::Ho => inp.ho,
                Val::Wo => inp.wo,
                Val::Ps => inp.ps,
                Val::LeadH => inp.lead_h,
                _ => inp.lead_w,
            })
    };
    // Bounded operand: its low bits (the checks guarantee the rest are zero).
    let operand = |v: Val, w: u32| z(Expr::from(get(v)).slice(0, width_of(v, &bd, lim)), w);

    let step = m.reg_reset(
        "su_step_reg",
        Ty::u(sb),
        sync,
        0,
        "SETUP: product being computed",
    );
    let cyc = m.reg_reset(
        "su_cyc_reg",
        Ty::u(cbits),
        sync,
        0,
        "SETUP: cycle of the product",
    );
    let a_reg = m.reg_in("su_a_reg", Ty::u(aw), sync, "SETUP: wide operand, shifted");
    let b_reg = m.reg_in(
        "su_b_reg",
        Ty::u(bw),
        sync,
        "SETUP: narrow operand, shifted",
    );
    let acc_reg = m.reg_in("su_acc_reg", Ty::u(aw), sync, "SETUP: partial product");

    let a_src = m.wire("su_a_src", Ty::u(aw), "wide operand of the step");
    let b_src = m.wire("su_b_src", Ty::u(bw), "narrow operand of the step");
    let last_c = m.wire("su_last_cyc", Ty::u(cbits), "last cycle of the step");
    let keep = m.wire("su_keep", Ty::bit(), "the step adds to the step before");
    let mut c = Proc::comb().with_comment("SETUP: the operands of each step of the program.");
    c.set(a_src, Expr::zero(Ty::u(aw)));
    c.set(b_src, Expr::zero(Ty::u(bw)));
    c.set(last_c, k(cbits, 0));
    c.set(keep, Expr::bit(false));
    {
        let mut sw = c.switch(step);
        for (i, s) in PROGRAM.iter().enumerate() {
            let (a, b) = (operand(s.a, aw), operand(s.b, bw));
            let lc = step_cycles(s, &bd) - 1;
            let acc = s.acc;
            sw = sw.case(&[i as u64], move |c| {
                c.set(a_src, a);
                c.set(b_src, b);
                c.set(last_c, k(cbits, lc));
                c.set(keep, Expr::bit(acc));
            });
        }
    }
    m.process(c);

    let first = m.wire_of("su_first", Expr::from(cyc).cmp_eq(k(cbits, 0)), "");
    let a_cur = m.wire_of(
        "su_a_cur",
        Expr::mux(first, Expr::from(a_src), Expr::from(a_reg)),
        "",
    );
    let b_cur = m.wire_of(
        "su_b_cur",
        Expr::mux(first, Expr::from(b_src), Expr::from(b_reg)),
        "",
    );
    let acc_cur = Expr::mux(
        Expr::from(first) & !Expr::from(keep),
        Expr::zero(Ty::u(aw)),
        Expr::from(acc_reg),
    );
    let mut sum = acc_cur;
    for i in 0..r {
        sum = sum
            + Expr::mux(
                Expr::from(b_cur).bit_at(i),
                Expr::from(a_cur) << k(4, i),
                Expr::zero(Ty::u(aw)),
            );
    }
    let acc_next = m.wire_of("su_acc_next", sum, "the partial product after this cycle");
    let last = m.wire_of(
        "su_last",
        Expr::from(cyc).cmp_eq(last_c),
        "the step's last cycle",
    );
    let done = m.wire_of(
        "su_done",
        active.clone() & last & Expr::from(step).cmp_eq(k(sb, n - 1)),
        "SETUP's last cycle",
    );
    let mut p = Proc::sync(sync).with_comment("SETUP: the sequential multiplier.");
    let dregs = dest.clone();
    p.if_(active, |p| {
        p.set(a_reg, Expr::from(a_cur) << k(4, r));
        p.set(b_reg, Expr::from(b_cur) >> k(4, r));
        p.set(acc_reg, acc_next);
        p.set(cyc, Expr::from(cyc) + k(cbits, 1));
        p.if_(last, |p| {
            p.set(cyc, k(cbits, 0));
            p.set(step, Expr::from(step) + k(sb, 1));
        });
        for (i, s) in PROGRAM.iter().enumerate() {
            let reg = dregs
                .iter()
                .find(|(d, _)| *d == s.dest)
                .map(|(_, r)| *r)
                .unwrap_or(a_reg);
            let w = width_of(s.dest, &bd, lim);
            p.if_(
                Expr::from(last) & Expr::from(step).cmp_eq(k(sb, i as u32)),
                |p| {
                    p.set(reg, z(acc_next, w));
                },
            );
        }
    })
    .else_(|p| {
        p.set(step, k(sb, 0));
        p.set(cyc, k(cbits, 0));
    });
    m.process(p);
    let g = |v: Val| get(v);
    Ok((
        Products {
            rowb: g(Val::Rowb),
            in_size: g(Val::InSize),
            kk: g(Val::Kk),
            wsize: g(Val::Wsize),
            howo: g(Val::Howo),
            osize: g(Val::Osize),
            awj: g(Val::Awj),
            awi: g(Val::Awi),
            akx: g(Val::Akx),
            aky: g(Val::Aky),
            axs: g(Val::Axs),
            ays: g(Val::Ays),
            lead: g(Val::Lead),
        },
        done,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dividers_finish_before_the_program_reads_the_sizes() {
        for mem_bits in [32, 64, 128] {
            let b = bounds(&contracts::engine::limits(mem_bits));
            // Two divisions (conv, then pooled size), a quotient bit a cycle;
            // the size register is written at the end of the last one.
            assert_eq!(div_bits(&b), 11, "sizes below 2048 under the limits");
            assert!(2 * div_bits(&b) <= sizes_read_at(&b));
            assert_eq!(sizes_read_at(&b), 23);
        }
    }
}
