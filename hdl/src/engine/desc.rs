//! The engine's descriptor: its fields as wires sliced from the fetched
//! words (offsets from [`contracts::engine`]), and the checks of the
//! contract's error rules on them, combinational on the descriptor and the
//! derived sizes, so each check state of the generator reads one wire.

use contracts::engine::{self as ce, Limits, ProgrammingModel};

use crate::ir::{Expr, Module, SignalId, Ty};
use crate::parts::ops::{k, k64};
use crate::process::{DomainId, Proc};
use crate::GenError;

use super::top::z;

/// The descriptor fields the engine uses (`op` aside), as wires.
pub struct Desc {
    pub op: SignalId,
    pub in_addr: SignalId,
    pub in_h: SignalId,
    pub in_w: SignalId,
    pub in_c: SignalId,
    pub w_addr: SignalId,
    pub ch_addr: SignalId,
    pub out_addr: SignalId,
    pub out_c: SignalId,
    pub k_h: SignalId,
    pub k_w: SignalId,
    pub s_h: SignalId,
    pub s_w: SignalId,
    pub dl_h: SignalId,
    pub dl_w: SignalId,
    pub pad_t: SignalId,
    pub pad_b: SignalId,
    pub pad_l: SignalId,
    pub pad_r: SignalId,
    pub relu: SignalId,
    pub pool_k: SignalId,
    pub pool_s: SignalId,
    pub pool_pad: SignalId,
}

/// Slice the descriptor's fields out of its words (`all`, byte 0 first).
pub fn fields(m: &mut Module, pm: &ProgrammingModel, all: &Expr) -> Result<Desc, GenError> {
    let mut fld = |name: &str| -> Result<SignalId, GenError> {
        let f = pm
            .descriptor
            .field(name)
            .map_err(GenError::Internal)?
            .clone();
        Ok(m.wire_of(
            &format!("d_{name}"),
            all.clone().slice(8 * f.offset, 8 * f.bytes),
            &format!("descriptor field {name}"),
        ))
    };
    Ok(Desc {
        op: fld("op")?,
        in_addr: fld("in_addr")?,
        in_h: fld("in_h")?,
        in_w: fld("in_w")?,
        in_c: fld("in_c")?,
        w_addr: fld("w_addr")?,
        ch_addr: fld("ch_addr")?,
        out_addr: fld("out_addr")?,
        out_c: fld("out_c")?,
        k_h: fld("k_h")?,
        k_w: fld("k_w")?,
        s_h: fld("stride_h")?,
        s_w: fld("stride_w")?,
        dl_h: fld("dil_h")?,
        dl_w: fld("dil_w")?,
        pad_t: fld("pad_t")?,
        pad_b: fld("pad_b")?,
        pad_l: fld("pad_l")?,
        pad_r: fld("pad_r")?,
        relu: fld("relu")?,
        pool_k: fld("pool_k")?,
        pool_s: fld("pool_s")?,
        pool_pad: fld("pool_pad")?,
    })
}

/// Registers the checks read besides the descriptor: the derived sizes (set
/// by the check states in turn) and the list the start copied.
pub struct CheckState {
    /// The engine's clock domain (the spans are registers).
    pub sync: DomainId,
    pub hc: SignalId,
    pub wc: SignalId,
    pub run_addr: SignalId,
    pub run_count: SignalId,
}

/// The checks and the values the check states register.
pub struct Checks {
    pub zero_size: SignalId,
    pub too_large: SignalId,
    pub geo1_bad: SignalId,
    /// Numerators of the conv output size (`SETUP` divides them by the stride).
    pub conv_h: SignalId,
    pub conv_w: SignalId,
    pub pool_on: SignalId,
    /// The pooling geometry rule, on the conv output size `SETUP` computed.
    pub geo2_bad: SignalId,
    pub misaligned: SignalId,
    pub s_bad_count: SignalId,
    pub s_misaligned: SignalId,
    pub s_wrap: SignalId,
}

/// Build the checks (wires named `chk_*` after the contract's rules).
pub fn checks(m: &mut Module, d: &Desc, st: &CheckState, lim: &Limits, mbb: u32) -> Checks {
    // Checks (combinational on the descriptor and derived registers).
    let lt = |a: Expr, lim: u32, w: u32| z(a, w).cmp_gt(k(w, lim));
    let is0 = |s: SignalId, w: u32| Expr::from(s).cmp_eq(k(w, 0));
    let zero_size = is0(d.in_h, 16)
        | is0(d.in_w, 16)
        | is0(d.in_c, 16)
        | is0(d.out_c, 16)
        | is0(d.k_h, 8)
        | is0(d.k_w, 8)
        | is0(d.s_h, 8)
        | is0(d.s_w, 8)
        | is0(d.dl_h, 8)
        | is0(d.dl_w, 8);
    let zero_size = m.wire_of("chk_zero_size", zero_size, "rule zero_size");
    // A span is used only once too_large is known (it is part of that rule,
    // OR-ed with the dil and k limits), so its operands need only the bits of
    // their limits.
    let narrow_e = |e: Expr, max: u32| e.slice(0, bit_len(max));
    let narrow = |s: SignalId, max: u32| narrow_e(Expr::from(s), max);
    // Registers loaded every cycle: the descriptor's words are in place a
    // cycle before CHKA (DWAIT waits for the last response to leave), and a
    // product through a DSP block was the engine's longest path into CHKA's
    // decision on the ULX3S.
    let span_h = m.reg_in("span_h_reg", Ty::u(16), st.sync, "dil_h*(k_h-1)");
    let span_w = m.reg_in("span_w_reg", Ty::u(16), st.sync, "dil_w*(k_w-1)");
    let mut p = Proc::sync(st.sync).with_comment("The kernel spans of the descriptor.");
    p.set(
        span_h,
        z(
            narrow(d.dl_h, lim.dil).mul_wide(narrow_e(Expr::from(d.k_h) - k(8, 1), lim.k_h - 1)),
            16,
        ),
    );
    p.set(
        span_w,
        z(
            narrow(d.dl_w, lim.dil).mul_wide(narrow_e(Expr::from(d.k_w) - k(8, 1), lim.k_w - 1)),
            16,
        ),
    );
    m.process(p);
    let too_large = lt(Expr::from(d.in_h), lim.in_h, 16)
        | lt(Expr::from(d.in_w), lim.in_w, 16)
        | lt(Expr::from(d.in_c), lim.in_c, 16)
        | lt(Expr::from(d.out_c), lim.out_c, 16)
        | lt(Expr::from(d.k_h), lim.k_h, 8)
        | lt(Expr::from(d.k_w), lim.k_w, 8)
        | lt(Expr::from(d.s_h), lim.stride, 8)
        | lt(Expr::from(d.s_w), lim.stride, 8)
        | lt(Expr::from(d.dl_h), lim.dil, 8)
        | lt(Expr::from(d.dl_w), lim.dil, 8)
        | z(d.pad_t, 16).cmp_gt(Expr::from(span_h))
        | z(d.pad_b, 16).cmp_gt(Expr::from(span_h))
        | z(d.pad_l, 16).cmp_gt(Expr::from(span_w))
        | z(d.pad_r, 16).cmp_gt(Expr::from(span_w))
        | lt(Expr::from(d.relu), lim.relu, 8)
        | lt(Expr::from(d.pool_k), lim.pool_k, 8)
        | lt(Expr::from(d.pool_s), lim.pool_s, 8);
    let too_large = m.wire_of("chk_too_large", too_large, "rule too_large");
    let nh = m.wire_of(
        "geo_nh",
        z(d.in_h, 17) + z(d.pad_t, 17) + z(d.pad_b, 17),
        "padded input height",
    );
    let nw = m.wire_of(
        "geo_nw",
        z(d.in_w, 17) + z(d.pad_l, 17) + z(d.pad_r, 17),
        "",
    );
    let geo1_bad = m.wire_of(
        "chk_geo_conv",
        Expr::from(nh).cmp_lt(z(span_h, 17) + k(17, 1))
            | Expr::from(nw).cmp_lt(z(span_w, 17) + k(17, 1)),
        "rule bad_geometry: no conv output",
    );
    let pool_on = m.wire_of("pool_on", Expr::from(d.pool_k).cmp_ne(k(8, 0)), "");
    let hpad = m.wire_of(
        "geo_hp",
        z(st.hc, 17) + z(Expr::from(d.pool_pad).mul_wide(k(2, 2)), 17),
        "",
    );
    let wpad = m.wire_of(
        "geo_wp",
        z(st.wc, 17) + z(Expr::from(d.pool_pad).mul_wide(k(2, 2)), 17),
        "",
    );
    let geo2_bad = m.wire_of(
        "chk_geo_pool",
        Expr::mux(
            pool_on,
            Expr::from(d.pool_s).cmp_eq(k(8, 0))
                | Expr::from(d.pool_pad).cmp_ge(Expr::from(d.pool_k))
                | Expr::from(hpad).cmp_lt(z(d.pool_k, 17))
                | Expr::from(wpad).cmp_lt(z(d.pool_k, 17)),
            Expr::from(d.pool_pad).cmp_ne(k(8, 0)),
        ),
        "rule bad_geometry: pooling",
    );
    // The numerators of the output sizes; `SETUP`'s dividers divide them.
    let conv_h = m.wire_of(
        "geo_ch",
        z(Expr::from(nh) - z(span_h, 17) - k(17, 1), 16),
        "(H_c - 1) * stride_h",
    );
    let conv_w = m.wire_of(
        "geo_cw",
        z(Expr::from(nw) - z(span_w, 17) - k(17, 1), 16),
        "(W_c - 1) * stride_w",
    );
    let low = |s: SignalId| Expr::from(s).slice(0, mbb).cmp_ne(k(mbb, 0));
    let misaligned = m.wire_of(
        "chk_misaligned",
        low(d.in_addr) | low(d.w_addr) | low(d.ch_addr) | low(d.out_addr),
        "rule misaligned",
    );
    let s_bad_count = m.wire_of(
        "chk_count",
        Expr::from(st.run_count).cmp_gt(k(32, lim.desc_count)),
        "start rule too_large",
    );
    let s_misaligned = m.wire_of("chk_desc_align", low(st.run_addr), "start rule misaligned");
    let s_wrap = m.wire_of(
        "chk_desc_wrap",
        past_end(
            st.run_addr.into(),
            Expr::from(st.run_count).mul_wide(k(8, ce::DESCRIPTOR_BYTES)),
            lim,
        ),
        "start rule address_wrap",
    );

    Checks {
        zero_size,
        too_large,
        geo1_bad,
        conv_h,
        conv_w,
        pool_on,
        geo2_bad,
        misaligned,
        s_bad_count,
        s_misaligned,
        s_wrap,
    }
}

/// `base + size > 2^addr_bits` for a 32-bit `base` and a `size` below 2^48.
/// At 32 bits, the 48-bit sum. Narrower (A bits), the sum of the low bits
/// only: `base` at or past 2^A, or `size` at or past 2^(A+1), is past
/// already; otherwise the sum is below 3 * 2^A and A + 2 bits hold it.
fn past_end(base: Expr, size: Expr, lim: &Limits) -> Expr {
    let a = lim.addr_bits;
    if a >= ce::PORT_ADDR_BITS {
        return (z(base, 48) + z(size, 48)).cmp_gt(k64(48, lim.addr_end()));
    }
    let size = z(size, 48);
    let base_past = base.clone().slice(a, ce::PORT_ADDR_BITS - a).reduce_or();
    let size_past = size.clone().slice(a + 1, 48 - a - 1).reduce_or();
    let low = z(base.slice(0, a), a + 2) + z(size.slice(0, a + 1), a + 2);
    base_past | size_past | low.cmp_gt(k64(a + 2, lim.addr_end()))
}

/// Bits needed to hold `max`.
fn bit_len(max: u32) -> u32 {
    (32 - max.leading_zeros()).max(1)
}

/// The address-wrap rule on the sizes `SETUP` computed (`docs/engine.md`):
/// no tensor may run past the top of the `2^addr_bits` address space.
pub fn wrap(m: &mut Module, d: &Desc, p: &super::setup::Products, lim: &Limits) -> SignalId {
    let end = |base: SignalId, size: Expr| past_end(base.into(), size, lim);
    m.wire_of(
        "chk_wrap",
        end(d.in_addr, p.in_size.into())
            | end(d.w_addr, p.wsize.into())
            | end(d.ch_addr, Expr::from(d.out_c).mul_wide(k(4, 8)))
            | end(d.out_addr, p.osize.into()),
        "rule address_wrap",
    )
}
