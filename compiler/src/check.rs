//! The engine's descriptor checks, exactly as the RTL applies them, so the
//! compiler refuses what the engine would refuse and the executor
//! ([`crate::exec`]) stops where the engine stops.
//!
//! A descriptor breaking several rules reports the first, in this order:
//!
//! 1. `bad_op`: `op != 0`.
//! 2. `zero_size`: a zero in `in_h, in_w, in_c, out_c, k_h, k_w, stride_h,
//!    stride_w, dil_h, dil_w`.
//! 3. `too_large`: a size, kernel, stride, dilation or pool field past
//!    `limits`; `pad_t`/`pad_b > dil_h*(k_h-1)`, `pad_l`/`pad_r >
//!    dil_w*(k_w-1)`; `relu > limits.relu`.
//! 4. `bad_geometry`: no conv output (`in_h + pad_t + pad_b < dil_h*(k_h-1)+1`,
//!    or the width); with `pool_k > 0`: `pool_s == 0`, `pool_pad >= pool_k`,
//!    `H_c + 2*pool_pad < pool_k` or the width; with `pool_k == 0`: `pool_pad
//!    != 0` (`pool_s` is ignored without a window).
//! 5. `misaligned`: `in_addr`, `w_addr`, `ch_addr` or `out_addr` not a
//!    multiple of `limits.align`.
//! 6. `address_wrap`: a tensor (input, weights, records, output) running past
//!    `2^limits.addr_bits` (2^32 unless the build narrows its address space).
//! 7. `bad_requant`: a channel record of a live channel with `mult == 0`,
//!    `mult > 65535` or `shift > 31` (after the records are fetched).
//!
//! Before the first descriptor is fetched, the start itself is checked
//! ([`check_start`], reported with index 0): `desc_count > limits.desc_count`
//! (`too_large`), `desc_addr` misaligned (`misaligned`), the list running past
//! `2^limits.addr_bits` (`address_wrap`). `desc_count == 0` is done at once, before these
//! checks and without any memory access (as the RTL's start state does).
//!
//! Rule *names* are the contract's (`errors` in the manifest); the codes, the
//! limits, and every field offset and record size come from the
//! [`ProgrammingModel`], never from a constant here.

use std::collections::BTreeMap;

use contracts::engine::ProgrammingModel;

/// Error names, as in the manifest's `errors` map.
pub const BAD_OP: &str = "bad_op";
pub const ZERO_SIZE: &str = "zero_size";
pub const TOO_LARGE: &str = "too_large";
pub const BAD_GEOMETRY: &str = "bad_geometry";
pub const MISALIGNED: &str = "misaligned";
pub const ADDRESS_WRAP: &str = "address_wrap";
pub const BAD_REQUANT: &str = "bad_requant";

/// Every rule, in the order the engine checks a descriptor.
pub const RULES: [&str; 7] = [
    BAD_OP,
    ZERO_SIZE,
    TOO_LARGE,
    BAD_GEOMETRY,
    MISALIGNED,
    ADDRESS_WRAP,
    BAD_REQUANT,
];

/// Largest value of a channel record's `mult`.
const MULT_MAX: u64 = contracts::engine::MULT_MAX as u64;
/// Largest value of a channel record's `shift`.
const SHIFT_MAX: u64 = contracts::engine::SHIFT_MAX as u64;

/// A broken rule: its name (the manifest's `errors` key) and the values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {detail}")]
pub struct Violation {
    pub rule: &'static str,
    pub detail: String,
}

impl Violation {
    fn new(rule: &'static str, detail: String) -> Violation {
        Violation { rule, detail }
    }

    /// The `status.code` the engine reports for this rule.
    pub fn code(&self, pm: &ProgrammingModel) -> Result<u32, String> {
        pm.error_code(self.rule)
    }
}

/// The descriptor's field names, in layout order; every one must be in the
/// manifest's descriptor layout.
pub const FIELDS: [&str; 23] = [
    "op", "in_addr", "in_h", "in_w", "in_c", "w_addr", "ch_addr", "out_addr", "out_c", "k_h",
    "k_w", "stride_h", "stride_w", "dil_h", "dil_w", "pad_t", "pad_b", "pad_l", "pad_r", "relu",
    "pool_k", "pool_s", "pool_pad",
];

/// One descriptor's fields as numbers (wide enough for any field width).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Descriptor {
    pub op: u64,
    pub in_addr: u64,
    pub in_h: u64,
    pub in_w: u64,
    pub in_c: u64,
    pub w_addr: u64,
    pub ch_addr: u64,
    pub out_addr: u64,
    pub out_c: u64,
    pub k_h: u64,
    pub k_w: u64,
    pub stride_h: u64,
    pub stride_w: u64,
    pub dil_h: u64,
    pub dil_w: u64,
    pub pad_t: u64,
    pub pad_b: u64,
    pub pad_l: u64,
    pub pad_r: u64,
    pub relu: u64,
    pub pool_k: u64,
    pub pool_s: u64,
    pub pool_pad: u64,
}

/// Sizes a descriptor implies, valid once it passed rules 1-4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub h_c: u64,
    pub w_c: u64,
    pub h_o: u64,
    pub w_o: u64,
}

impl Descriptor {
    fn slots(&mut self) -> [(&'static str, &mut u64); 23] {
        [
            ("op", &mut self.op),
            ("in_addr", &mut self.in_addr),
            ("in_h", &mut self.in_h),
            ("in_w", &mut self.in_w),
            ("in_c", &mut self.in_c),
            ("w_addr", &mut self.w_addr),
            ("ch_addr", &mut self.ch_addr),
            ("out_addr", &mut self.out_addr),
            ("out_c", &mut self.out_c),
            ("k_h", &mut self.k_h),
            ("k_w", &mut self.k_w),
            ("stride_h", &mut self.stride_h),
            ("stride_w", &mut self.stride_w),
            ("dil_h", &mut self.dil_h),
            ("dil_w", &mut self.dil_w),
            ("pad_t", &mut self.pad_t),
            ("pad_b", &mut self.pad_b),
            ("pad_l", &mut self.pad_l),
            ("pad_r", &mut self.pad_r),
            ("relu", &mut self.relu),
            ("pool_k", &mut self.pool_k),
            ("pool_s", &mut self.pool_s),
            ("pool_pad", &mut self.pool_pad),
        ]
    }

    /// `(name, value)` of every field, in [`FIELDS`] order.
    pub fn fields(&self) -> Vec<(&'static str, u64)> {
        let mut copy = *self;
        copy.slots().into_iter().map(|(n, v)| (n, *v)).collect()
    }

    /// Field `name`, if it is one.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.fields()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// Set field `name`; `false` if there is no such field.
    pub fn set(&mut self, name: &str, value: u64) -> bool {
        match self.slots().into_iter().find(|(n, _)| *n == name) {
            Some((_, slot)) => {
                *slot = value;
                true
            }
            None => false,
        }
    }

    /// The fields by name.
    pub fn to_map(&self) -> BTreeMap<String, u64> {
        self.fields()
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect()
    }

    /// Decode a descriptor from its bytes, every field looked up by name in
    /// the programming model's layout.
    pub fn decode(pm: &ProgrammingModel, bytes: &[u8]) -> Result<Descriptor, String> {
        let mut d = Descriptor::default();
        for (name, slot) in d.slots() {
            *slot = pm.descriptor.get(bytes, name)?;
        }
        Ok(d)
    }

    /// Encode into a `descriptor.bytes` record (reserved bytes zero); a value
    /// that does not fit its field is an error naming it.
    pub fn encode(&self, pm: &ProgrammingModel) -> Result<Vec<u8>, String> {
        let mut buf = vec![0u8; pm.descriptor.bytes as usize];
        for (name, v) in self.fields() {
            pm.descriptor.put(&mut buf, name, v)?;
        }
        Ok(buf)
    }

    /// Conv and output sizes; meaningful once rules 1-4 hold (saturating
    /// arithmetic otherwise, never a panic).
    pub fn geometry(&self) -> Geometry {
        let out = |size: u64, pa: u64, pb: u64, k: u64, dil: u64, s: u64| -> u64 {
            let span = dil.saturating_mul(k.saturating_sub(1)).saturating_add(1);
            match (size.saturating_add(pa).saturating_add(pb)).checked_sub(span) {
                Some(room) if s > 0 => room / s + 1,
                _ => 0,
            }
        };
        let h_c = out(
            self.in_h,
            self.pad_t,
            self.pad_b,
            self.k_h,
            self.dil_h,
            self.stride_h,
        );
        let w_c = out(
            self.in_w,
            self.pad_l,
            self.pad_r,
            self.k_w,
            self.dil_w,
            self.stride_w,
        );
        let (h_o, w_o) = if self.pool_k == 0 {
            (h_c, w_c)
        } else {
            let p = self.pool_pad;
            (
                out(h_c, p, p, self.pool_k, 1, self.pool_s),
                out(w_c, p, p, self.pool_k, 1, self.pool_s),
            )
        };
        Geometry { h_c, w_c, h_o, w_o }
    }

    /// Bytes of the input tensor.
    pub fn in_bytes(&self) -> u64 {
        self.in_h
            .saturating_mul(self.in_w)
            .saturating_mul(self.in_c)
    }

    /// Bytes of the HWIO weights.
    pub fn w_bytes(&self) -> u64 {
        self.k_h
            .saturating_mul(self.k_w)
            .saturating_mul(self.in_c)
            .saturating_mul(self.out_c)
    }

    /// Bytes of the channel records.
    pub fn records_bytes(&self, pm: &ProgrammingModel) -> u64 {
        u64::from(pm.channel_record.bytes).saturating_mul(self.out_c)
    }

    /// Bytes of the output tensor.
    pub fn out_bytes(&self) -> u64 {
        let g = self.geometry();
        g.h_o.saturating_mul(g.w_o).saturating_mul(self.out_c)
    }
}

/// The start-level checks (index 0, before any descriptor is fetched); an
/// empty list (`desc_count == 0`) passes whatever `desc_addr` is.
pub fn check_start(
    pm: &ProgrammingModel,
    desc_addr: u64,
    desc_count: u64,
) -> Result<(), Violation> {
    let lim = &pm.limits;
    if desc_count == 0 {
        return Ok(());
    }
    if desc_count > u64::from(lim.desc_count) {
        return Err(Violation::new(
            TOO_LARGE,
            format!(
                "desc_count = {desc_count} > limits.desc_count = {}",
                lim.desc_count
            ),
        ));
    }
    if lim.align == 0 || desc_addr % u64::from(lim.align) != 0 {
        return Err(Violation::new(
            MISALIGNED,
            format!(
                "desc_addr = {desc_addr:#x} is not a multiple of limits.align = {}",
                lim.align
            ),
        ));
    }
    let end = desc_addr.saturating_add(u64::from(pm.descriptor.bytes).saturating_mul(desc_count));
    if end > lim.addr_end() {
        return Err(Violation::new(
            ADDRESS_WRAP,
            format!(
                "the descriptor list at {desc_addr:#x} ({desc_count} x {} bytes) ends at {end:#x}, past 2^{} (limits.addr_bits)",
                pm.descriptor.bytes, lim.addr_bits
            ),
        ));
    }
    Ok(())
}

/// Rules 1-6 on one descriptor (everything but the channel records).
pub fn check_descriptor(pm: &ProgrammingModel, d: &Descriptor) -> Result<(), Violation> {
    let lim = &pm.limits;
    if d.op != 0 {
        return Err(Violation::new(
            BAD_OP,
            format!("op = {} (only 0 = conv)", d.op),
        ));
    }
    for (name, v) in [
        ("in_h", d.in_h),
        ("in_w", d.in_w),
        ("in_c", d.in_c),
        ("out_c", d.out_c),
        ("k_h", d.k_h),
        ("k_w", d.k_w),
        ("stride_h", d.stride_h),
        ("stride_w", d.stride_w),
        ("dil_h", d.dil_h),
        ("dil_w", d.dil_w),
    ] {
        if v == 0 {
            return Err(Violation::new(ZERO_SIZE, format!("{name} = 0")));
        }
    }
    let span_h = d.dil_h.saturating_mul(d.k_h - 1);
    let span_w = d.dil_w.saturating_mul(d.k_w - 1);
    for (name, v, lname, l) in [
        ("in_h", d.in_h, "in_h", lim.in_h),
        ("in_w", d.in_w, "in_w", lim.in_w),
        ("in_c", d.in_c, "in_c", lim.in_c),
        ("out_c", d.out_c, "out_c", lim.out_c),
        ("k_h", d.k_h, "k_h", lim.k_h),
        ("k_w", d.k_w, "k_w", lim.k_w),
        ("stride_h", d.stride_h, "stride", lim.stride),
        ("stride_w", d.stride_w, "stride", lim.stride),
        ("dil_h", d.dil_h, "dil", lim.dil),
        ("dil_w", d.dil_w, "dil", lim.dil),
    ] {
        if v > u64::from(l) {
            return Err(Violation::new(
                TOO_LARGE,
                format!("{name} = {v} > limits.{lname} = {l}"),
            ));
        }
    }
    for (name, v, rule, l) in [
        ("pad_t", d.pad_t, "dil_h*(k_h-1)", span_h),
        ("pad_b", d.pad_b, "dil_h*(k_h-1)", span_h),
        ("pad_l", d.pad_l, "dil_w*(k_w-1)", span_w),
        ("pad_r", d.pad_r, "dil_w*(k_w-1)", span_w),
    ] {
        if v > l {
            return Err(Violation::new(
                TOO_LARGE,
                format!("{name} = {v} > {rule} = {l}"),
            ));
        }
    }
    for (name, v, l) in [
        ("relu", d.relu, lim.relu),
        ("pool_k", d.pool_k, lim.pool_k),
        ("pool_s", d.pool_s, lim.pool_s),
    ] {
        if v > u64::from(l) {
            return Err(Violation::new(
                TOO_LARGE,
                format!("{name} = {v} > limits.{name} = {l}"),
            ));
        }
    }

    if d.in_h + d.pad_t + d.pad_b < span_h + 1 {
        return Err(Violation::new(
            BAD_GEOMETRY,
            format!(
                "no output row: in_h + pad_t + pad_b = {} < dil_h*(k_h-1)+1 = {}",
                d.in_h + d.pad_t + d.pad_b,
                span_h + 1
            ),
        ));
    }
    if d.in_w + d.pad_l + d.pad_r < span_w + 1 {
        return Err(Violation::new(
            BAD_GEOMETRY,
            format!(
                "no output column: in_w + pad_l + pad_r = {} < dil_w*(k_w-1)+1 = {}",
                d.in_w + d.pad_l + d.pad_r,
                span_w + 1
            ),
        ));
    }
    let g = d.geometry();
    if d.pool_k > 0 {
        let (k, p) = (d.pool_k, d.pool_pad);
        if d.pool_s == 0 {
            return Err(Violation::new(
                BAD_GEOMETRY,
                format!("pool_s = 0 with pool_k = {k}"),
            ));
        }
        if p >= k {
            return Err(Violation::new(
                BAD_GEOMETRY,
                format!("pool_pad = {p} >= pool_k = {k}"),
            ));
        }
        for (name, size) in [("H_c", g.h_c), ("W_c", g.w_c)] {
            if size + 2 * p < k {
                return Err(Violation::new(
                    BAD_GEOMETRY,
                    format!("{name} + 2*pool_pad = {} < pool_k = {k}", size + 2 * p),
                ));
            }
        }
    } else if d.pool_pad != 0 {
        return Err(Violation::new(
            BAD_GEOMETRY,
            format!("pool_pad = {} without pooling (pool_k = 0)", d.pool_pad),
        ));
    }

    let align = u64::from(lim.align);
    for (name, a) in [
        ("in_addr", d.in_addr),
        ("w_addr", d.w_addr),
        ("ch_addr", d.ch_addr),
        ("out_addr", d.out_addr),
    ] {
        if align == 0 || a % align != 0 {
            return Err(Violation::new(
                MISALIGNED,
                format!("{name} = {a:#x} is not a multiple of limits.align = {align}"),
            ));
        }
    }

    for (name, a, bytes) in [
        ("input", d.in_addr, d.in_bytes()),
        ("weights", d.w_addr, d.w_bytes()),
        ("channel records", d.ch_addr, d.records_bytes(pm)),
        ("output", d.out_addr, d.out_bytes()),
    ] {
        let end = a.saturating_add(bytes);
        if end > lim.addr_end() {
            return Err(Violation::new(
                ADDRESS_WRAP,
                format!(
                    "the {name} at {a:#x} ({bytes} bytes) ends at {end:#x}, past 2^{} (limits.addr_bits)",
                    lim.addr_bits
                ),
            ));
        }
    }
    Ok(())
}

/// Rule 7 on the channel records of `d`: `records` holds at least
/// `out_c * channel_record.bytes` bytes from `ch_addr`.
pub fn check_records(
    pm: &ProgrammingModel,
    d: &Descriptor,
    records: &[u8],
) -> Result<(), Violation> {
    let rb = pm.channel_record.bytes as usize;
    for co in 0..d.out_c as usize {
        let rec = records.get(co * rb..(co + 1) * rb).unwrap_or(&[]);
        let field = |name: &str| {
            pm.channel_record
                .get(rec, name)
                .map_err(|e| Violation::new(BAD_REQUANT, format!("channel record {co}: {e}")))
        };
        let (mult, shift) = (field("mult")?, field("shift")?);
        if mult == 0 || mult > MULT_MAX {
            return Err(Violation::new(
                BAD_REQUANT,
                format!("channel record {co}: mult = {mult} is outside 1..={MULT_MAX}"),
            ));
        }
        if shift > SHIFT_MAX {
            return Err(Violation::new(
                BAD_REQUANT,
                format!("channel record {co}: shift = {shift} > {SHIFT_MAX}"),
            ));
        }
    }
    Ok(())
}
