//! The area-first engine's microprogram: the contract's checks (start, rules
//! 1-7, in the contract's order) and the layer schedule, as sequencer code.
//! Loops over array rows and record lanes unroll here in Rust; everything
//! that depends on the descriptor is computed at run time.
//!
//! Schedule of one descriptor (`CB` = the chunk, one memory word of
//! channels):
//!
//! ```text
//! for each group of COLS output channels:
//!     wait for the output path; load the group's channel records into the record lanes
//!     for each tile of ROWS output pixels (raster order):
//!         for each pool-window offset (wi, wj):
//!             row masks: conv position inside, pixel live
//!             for each kernel tap (ky, kx), for each chunk ci0 = 0, CB, ..:
//!                 A lane of row i: n = min(CB, C_in - ci0) bytes of its input pixel, or zeros
//!                 B lane b < n: the group's gw weights of reduction index (ky, kx, ci0 + b)
//!                 fire n beats (the tile's last chunk: the array's `last`)
//!             tile info to the output path (mask, output address, first/last offset)
//! wait for the output path (the next layer reads this one's output)
//! ```
//!
//! The walker keeps, per row, the pixel's output column, its conv position
//! and input position for window (0, 0) and tap (0, 0), and that position's
//! byte address; stepping a pixel adds per-layer constants (a wrap to the
//! next output row adds others), so the only products are per layer, made
//! by a shift-and-add subroutine. Padded input positions wrap below zero to
//! large unsigned values, so "inside" is one unsigned compare per axis; a
//! row outside gets an address with bit 31 set, which the lane loader turns
//! into zeros.

use contracts::engine::ProgrammingModel;

use crate::asm::{Asm, AsmError, Label, Program, Reg, ZERO};
use crate::isa::{Set, Special};

/// The build parameters the program depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UConfig {
    pub rows: u32,
    pub cols: u32,
    pub mem_bits: u32,
    /// The address space (`limits.addr_bits`), at most 31: bit 31 of a lane
    /// address means "zeros".
    pub addr_bits: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("rows = {0}: the area-first engine takes 1..=8 rows")]
    Rows(u32),
    #[error("cols = {0}: the area-first engine takes 1..=8 columns")]
    Cols(u32),
    #[error("mem_bits = {0}: must be 32, 64 or 128")]
    MemBits(u32),
    #[error("addr_bits = {0}: the area-first engine takes 12..=31 (bit 31 marks a zero lane)")]
    AddrBits(u32),
    #[error("the microprogram does not assemble: {0}")]
    Asm(#[from] AsmError),
}

impl UConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=8).contains(&self.rows) {
            return Err(ConfigError::Rows(self.rows));
        }
        if !(1..=8).contains(&self.cols) {
            return Err(ConfigError::Cols(self.cols));
        }
        if ![32, 64, 128].contains(&self.mem_bits) {
            return Err(ConfigError::MemBits(self.mem_bits));
        }
        if !(12..=31).contains(&self.addr_bits) {
            return Err(ConfigError::AddrBits(self.addr_bits));
        }
        Ok(())
    }

    /// Bytes per memory word.
    pub fn mb(&self) -> u32 {
        self.mem_bits / 8
    }

    /// Channels per chunk (A lane bytes, B lanes).
    pub fn chunk(&self) -> u32 {
        self.mb()
    }

    pub fn lane_a(&self, row: u32) -> u16 {
        row as u16
    }

    pub fn lane_b(&self, beat: u32) -> u16 {
        (self.rows + beat) as u16
    }

    pub fn lane_rec(&self, col: u32) -> u16 {
        (self.rows + self.chunk() + col) as u16
    }

    /// Lanes in all: A rows, B beats, records.
    pub fn lanes(&self) -> u32 {
        self.rows + self.chunk() + self.cols
    }

    pub fn programming_model(&self) -> ProgrammingModel {
        ProgrammingModel::in_space(self.mem_bits, self.addr_bits)
    }
}

/// Per-row walker registers.
#[derive(Clone, Copy)]
struct RowRegs {
    /// Output column of the pixel.
    px: Reg,
    /// Conv position of window (0, 0): `py*PS - PP`, `px*PS - PP`.
    cy: Reg,
    cx: Reg,
    /// Input position of window (0, 0), tap (0, 0).
    iy: Reg,
    ix: Reg,
    /// Its byte address `in + iy*W*C + ix*C` (wrapping).
    ab: Reg,
    /// This window's mask bit, then this tap's lane address.
    m: Reg,
    a: Reg,
}

/// Registers of the layer: descriptor fields and per-layer constants.
struct Layer {
    in_addr: Reg,
    h: Reg,
    w: Reg,
    c: Reg,
    w_addr: Reg,
    ch_addr: Reg,
    out_addr: Reg,
    co: Reg,
    kh: Reg,
    kw: Reg,
    sh: Reg,
    sw: Reg,
    dh: Reg,
    dw: Reg,
    pt: Reg,
    pb: Reg,
    pl: Reg,
    pr: Reg,
    relu: Reg,
    pk: Reg,
    ps: Reg,
    pp: Reg,
}

/// The subroutines' registers: `mul` computes `mr = ma * mb` (saturating;
/// clobbers `ma`, `mb`), `div` computes `dq = dx / dd` (clobbers `dx`).
struct Subs {
    link: Reg,
    ma: Reg,
    mb: Reg,
    mr: Reg,
    dx: Reg,
    dd: Reg,
    dq: Reg,
    t: Reg,
    mul: Label,
    div: Label,
}

impl Subs {
    fn mul(&self, a: &mut Asm, rd: Reg, x: Reg, y: impl Into<crate::asm::B>) {
        a.mov(self.ma, x);
        a.add(self.mb, ZERO, y);
        a.jal(self.link, self.mul);
        a.mov(rd, self.mr);
    }

    fn div(&self, a: &mut Asm, rd: Reg, x: Reg, d: Reg) {
        a.mov(self.dx, x);
        a.mov(self.dd, d);
        a.jal(self.link, self.div);
        a.mov(rd, self.dq);
    }

    fn emit(&self, a: &mut Asm) {
        // mul: shift and add, saturating (the checks' sizes never wrap).
        let (lp, skip, ret) = (a.label(), a.label(), a.label());
        a.place(self.mul);
        a.li(self.mr, 0);
        a.place(lp);
        a.beq(self.mb, 0, ret);
        a.and(self.t, self.mb, 1);
        a.beq(self.t, 0, skip);
        a.adds(self.mr, self.mr, self.ma);
        a.place(skip);
        a.shr1(self.mb, self.mb);
        a.shl1s(self.ma, self.ma);
        a.jmp(lp);
        a.place(ret);
        a.jr(self.link);
        // div: repeated subtraction; the divisors are strides (1..=4) and
        // the dividends sizes of at most a few thousand.
        let (lp, ret) = (a.label(), a.label());
        a.place(self.div);
        a.li(self.dq, 0);
        a.place(lp);
        a.bltu(self.dx, self.dd, ret);
        a.sub(self.dx, self.dx, self.dd);
        a.add(self.dq, self.dq, 1);
        a.jmp(lp);
        a.place(ret);
        a.jr(self.link);
    }
}

/// The engine's microprogram for `cfg`.
pub fn program(cfg: &UConfig) -> Result<Program, ConfigError> {
    cfg.validate()?;
    let pm = cfg.programming_model();
    let lim = pm.limits.clone();
    let code = |n: &str| pm.error_code(n).expect("contracts list every error");
    let (e_op, e_zero, e_large, e_geo, e_mis, e_wrap, e_req) = (
        code("bad_op"),
        code("zero_size"),
        code("too_large"),
        code("bad_geometry"),
        code("misaligned"),
        code("address_wrap"),
        code("bad_requant"),
    );
    let db = pm.descriptor.bytes;
    let rb = pm.channel_record.bytes;
    let addr_end = 1u32 << lim.addr_bits;

    let mut a = Asm::new();
    let r = |a: &mut Asm, n: &str| a.reg(n);
    let s = Subs {
        link: r(&mut a, "link"),
        ma: r(&mut a, "mul_a"),
        mb: r(&mut a, "mul_b"),
        mr: r(&mut a, "mul_r"),
        dx: r(&mut a, "div_x"),
        dd: r(&mut a, "div_d"),
        dq: r(&mut a, "div_q"),
        t: r(&mut a, "sub_t"),
        mul: a.label(),
        div: a.label(),
    };
    let (t0, t1, t2) = (r(&mut a, "t0"), r(&mut a, "t1"), r(&mut a, "t2"));
    let idx = r(&mut a, "index");
    let cnt = r(&mut a, "count");
    let dptr = r(&mut a, "desc_ptr");
    let lend = r(&mut a, "addr_end");

    // Errors, with the descriptor's index (0 for the start-level checks).
    let mut errs: Vec<(Label, u32, Reg)> = Vec::new();
    let mut on = |a: &mut Asm, code: u32, index: Reg| -> Label {
        let l = a.label();
        errs.push((l, code, index));
        l
    };
    let d_op = on(&mut a, e_op, idx);
    let d_zero = on(&mut a, e_zero, idx);
    let d_large = on(&mut a, e_large, idx);
    let d_geo = on(&mut a, e_geo, idx);
    let d_mis = on(&mut a, e_mis, idx);
    let d_wrap = on(&mut a, e_wrap, idx);
    let d_req = on(&mut a, e_req, idx);
    let finish = a.label();

    // Start-level checks.
    a.li(idx, 0);
    a.li(lend, addr_end);
    a.mfs(cnt, Special::DescCount);
    a.beq(cnt, 0, finish);
    a.bgeu(cnt, lim.desc_count + 1, d_large);
    a.mfs(dptr, Special::DescAddr);
    a.and(t0, dptr, lim.align - 1);
    a.bne(t0, 0, d_mis);
    s.mul(&mut a, t0, cnt, db);
    a.adds(t0, t0, dptr);
    a.bltu(lend, t0, d_wrap);

    // One descriptor.
    let l = Layer {
        in_addr: r(&mut a, "in_addr"),
        h: r(&mut a, "in_h"),
        w: r(&mut a, "in_w"),
        c: r(&mut a, "in_c"),
        w_addr: r(&mut a, "w_addr"),
        ch_addr: r(&mut a, "ch_addr"),
        out_addr: r(&mut a, "out_addr"),
        co: r(&mut a, "out_c"),
        kh: r(&mut a, "k_h"),
        kw: r(&mut a, "k_w"),
        sh: r(&mut a, "stride_h"),
        sw: r(&mut a, "stride_w"),
        dh: r(&mut a, "dil_h"),
        dw: r(&mut a, "dil_w"),
        pt: r(&mut a, "pad_t"),
        pb: r(&mut a, "pad_b"),
        pl: r(&mut a, "pad_l"),
        pr: r(&mut a, "pad_r"),
        relu: r(&mut a, "relu"),
        pk: r(&mut a, "pool_k"),
        ps: r(&mut a, "pool_s"),
        pp: r(&mut a, "pool_pad"),
    };
    let desc_loop = a.label();
    a.place(desc_loop);
    let fld = |n: &str| pm.descriptor.field(n).expect("contracts list every field");
    let load = |a: &mut Asm, rd: Reg, n: &str| {
        let f = fld(n);
        a.ldr(rd, dptr, f.offset, f.bytes);
    };
    // Rule 1.
    load(&mut a, t0, "op");
    a.bne(t0, 0, d_op);
    let named: [(&str, Reg); 22] = [
        ("in_addr", l.in_addr),
        ("in_h", l.h),
        ("in_w", l.w),
        ("in_c", l.c),
        ("w_addr", l.w_addr),
        ("ch_addr", l.ch_addr),
        ("out_addr", l.out_addr),
        ("out_c", l.co),
        ("k_h", l.kh),
        ("k_w", l.kw),
        ("stride_h", l.sh),
        ("stride_w", l.sw),
        ("dil_h", l.dh),
        ("dil_w", l.dw),
        ("pad_t", l.pt),
        ("pad_b", l.pb),
        ("pad_l", l.pl),
        ("pad_r", l.pr),
        ("relu", l.relu),
        ("pool_k", l.pk),
        ("pool_s", l.ps),
        ("pool_pad", l.pp),
    ];
    for (n, reg) in named {
        load(&mut a, reg, n);
    }
    // Rule 2.
    for reg in [l.h, l.w, l.c, l.co, l.kh, l.kw, l.sh, l.sw, l.dh, l.dw] {
        a.beq(reg, 0, d_zero);
    }
    // Rule 3.
    for (reg, max) in [
        (l.h, lim.in_h),
        (l.w, lim.in_w),
        (l.c, lim.in_c),
        (l.co, lim.out_c),
        (l.kh, lim.k_h),
        (l.kw, lim.k_w),
        (l.sh, lim.stride),
        (l.sw, lim.stride),
        (l.dh, lim.dil),
        (l.dw, lim.dil),
    ] {
        a.bgeu(reg, max + 1, d_large);
    }
    let span_h = r(&mut a, "span_h");
    let span_w = r(&mut a, "span_w");
    a.sub(t0, l.kh, 1);
    s.mul(&mut a, span_h, l.dh, t0);
    a.sub(t0, l.kw, 1);
    s.mul(&mut a, span_w, l.dw, t0);
    for (pad, span) in [
        (l.pt, span_h),
        (l.pb, span_h),
        (l.pl, span_w),
        (l.pr, span_w),
    ] {
        a.bltu(span, pad, d_large);
    }
    for (reg, max) in [(l.relu, lim.relu), (l.pk, lim.pool_k), (l.ps, lim.pool_s)] {
        a.bgeu(reg, max + 1, d_large);
    }
    // Rule 4: conv output sizes, then pooling.
    let hc = r(&mut a, "h_c");
    let wc = r(&mut a, "w_c");
    let ho = r(&mut a, "h_o");
    let wo = r(&mut a, "w_o");
    // Without pooling the window is 1 x 1, stride 1, no padding: the pool
    // fields are set so in place once rule 4 has passed.
    let (pk, ps, pp) = (l.pk, l.ps, l.pp);
    for (size, p0, p1, span, st, out) in [
        (l.h, l.pt, l.pb, span_h, l.sh, hc),
        (l.w, l.pl, l.pr, span_w, l.sw, wc),
    ] {
        a.add(t0, size, p0);
        a.add(t0, t0, p1);
        a.bgeu(span, t0, d_geo);
        a.sub(t0, t0, span);
        a.sub(t0, t0, 1);
        s.div(&mut a, out, t0, st);
        a.add(out, out, 1);
    }
    let nopool = a.label();
    let pooled = a.label();
    a.beq(l.pk, 0, nopool);
    a.beq(l.ps, 0, d_geo);
    a.bgeu(l.pp, l.pk, d_geo);
    for (size, out) in [(hc, ho), (wc, wo)] {
        a.add(t0, size, l.pp);
        a.add(t0, t0, l.pp);
        a.bltu(t0, l.pk, d_geo);
        a.sub(t0, t0, l.pk);
        s.div(&mut a, out, t0, l.ps);
        a.add(out, out, 1);
    }
    a.jmp(pooled);
    a.place(nopool);
    a.bne(l.pp, 0, d_geo);
    a.mov(ho, hc);
    a.mov(wo, wc);
    a.li(pk, 1);
    a.li(ps, 1);
    a.place(pooled);
    // Rule 5.
    for reg in [l.in_addr, l.w_addr, l.ch_addr, l.out_addr] {
        a.and(t0, reg, lim.align - 1);
        a.bne(t0, 0, d_mis);
    }
    // Rule 6 (saturating sizes and ends: a past-the-end size stays past).
    let plane = r(&mut a, "w_times_c");
    s.mul(&mut a, plane, l.w, l.c);
    s.mul(&mut a, t0, plane, l.h);
    a.adds(t0, t0, l.in_addr);
    a.bltu(lend, t0, d_wrap);
    let cco = r(&mut a, "c_times_co");
    s.mul(&mut a, cco, l.c, l.co);
    s.mul(&mut a, t0, cco, l.kh);
    s.mul(&mut a, t0, t0, l.kw);
    a.adds(t0, t0, l.w_addr);
    a.bltu(lend, t0, d_wrap);
    s.mul(&mut a, t0, l.co, rb);
    a.adds(t0, t0, l.ch_addr);
    a.bltu(lend, t0, d_wrap);
    let npix = r(&mut a, "pixels");
    s.mul(&mut a, npix, ho, wo);
    s.mul(&mut a, t0, npix, l.co);
    a.adds(t0, t0, l.out_addr);
    a.bltu(lend, t0, d_wrap);
    // Rule 7: every record before any write.
    {
        let mult = pm.channel_record.field("mult").expect("record has mult");
        let shift = pm.channel_record.field("shift").expect("record has shift");
        assert_eq!(
            u64::from(contracts::engine::MULT_MAX),
            (1u64 << (8 * mult.bytes)) - 1,
            "mult's only bad value is 0"
        );
        let (lp, ok) = (a.label(), a.label());
        a.mov(t1, l.ch_addr);
        a.mov(t2, l.co);
        a.place(lp);
        a.ldr(t0, t1, mult.offset, mult.bytes);
        a.beq(t0, 0, d_req);
        a.ldr(t0, t1, shift.offset, shift.bytes);
        a.bgeu(t0, contracts::engine::SHIFT_MAX + 1, d_req);
        a.add(t1, t1, rb);
        a.sub(t2, t2, 1);
        a.bne(t2, 0, lp);
        a.place(ok);
    }

    run_layer(
        &mut a,
        cfg,
        &s,
        &l,
        [hc, wc, wo, pk, ps, pp, plane, cco, npix],
        [t0, t1, t2],
    );

    a.add(idx, idx, 1);
    a.add(dptr, dptr, db);
    a.bne(idx, cnt, desc_loop);
    a.place(finish);
    a.waito();
    a.done();
    for (lbl, code, index) in errs {
        a.place(lbl);
        a.err(code, index);
    }
    s.emit(&mut a);
    Ok(a.finish()?)
}

/// The layer schedule (module doc), after the checks.
fn run_layer(
    a: &mut Asm,
    cfg: &UConfig,
    s: &Subs,
    l: &Layer,
    [hc, wc, wo, pk, ps, pp, plane, cco, npix]: [Reg; 9],
    [t0, t1, t2]: [Reg; 3],
) {
    let (rows, cols, cb) = (cfg.rows, cfg.cols, cfg.chunk());
    let rb = cfg.programming_model().channel_record.bytes;
    let r = |a: &mut Asm, n: &str| a.reg(n);
    a.sets(Set::Relu, l.relu, 0);
    a.sets(Set::OutC, l.co, 0);
    // Per-layer constants of the walker.
    let psw = r(a, "ps_sw");
    let psh = r(a, "ps_sh");
    let pswc = r(a, "ps_sw_c");
    let wcx = r(a, "wrap_cx");
    let wix = r(a, "wrap_ix");
    let wab = r(a, "wrap_ab");
    s.mul(a, psw, ps, l.sw);
    s.mul(a, psh, ps, l.sh);
    s.mul(a, pswc, psw, l.c);
    s.mul(a, wcx, wo, ps);
    s.mul(a, wix, wo, psw);
    s.mul(a, t0, psh, plane);
    s.mul(a, t1, wo, pswc);
    a.sub(wab, t0, t1);
    let dhr = r(a, "dh_row");
    let dwc = r(a, "dw_c");
    let shr = r(a, "sh_row");
    let swc = r(a, "sw_c");
    s.mul(a, dhr, l.dh, plane);
    s.mul(a, dwc, l.dw, l.c);
    s.mul(a, shr, l.sh, plane);
    s.mul(a, swc, l.sw, l.c);
    // A kernel row whose taps are all inside the image is k_w*C_in
    // contiguous input bytes when dil_w = 1: one run of chunks (packed).
    let kwm1 = r(a, "kw_less_1");
    let kwc = r(a, "kw_c");
    let kwcco = r(a, "kw_c_co");
    let dw1 = r(a, "pack");
    a.sub(kwm1, l.kw, 1);
    s.mul(a, kwc, l.kw, l.c);
    s.mul(a, kwcco, kwc, l.co);
    // Packing saves chunks only when C_in is not a multiple of the chunk
    // (and the kernel row has more than one tap): dil_w = 1, C_in % CB != 0,
    // k_w > 1.
    a.sltu(dw1, l.dw, 2);
    a.and(t0, l.c, cb - 1);
    a.sltu(t0, ZERO, t0);
    a.and(dw1, dw1, t0);
    a.sltu(t0, ZERO, kwm1);
    a.and(dw1, dw1, t0);
    // Pixel 0: conv (-PP, -PP), input (-PP*S - pad), address.
    let c0 = r(a, "c_first");
    let iy0 = r(a, "iy_first");
    let ix0 = r(a, "ix_first");
    let ab0 = r(a, "ab_first");
    a.sub(c0, ZERO, pp);
    s.mul(a, t0, pp, l.sh);
    a.add(t0, t0, l.pt);
    a.sub(iy0, ZERO, t0);
    s.mul(a, t1, t0, plane);
    a.sub(ab0, l.in_addr, t1);
    s.mul(a, t0, pp, l.sw);
    a.add(t0, t0, l.pl);
    a.sub(ix0, ZERO, t0);
    s.mul(a, t1, t0, l.c);
    a.sub(ab0, ab0, t1);

    let rr: Vec<RowRegs> = (0..rows)
        .map(|i| RowRegs {
            px: r(a, &format!("px{i}")),
            cy: r(a, &format!("cy{i}")),
            cx: r(a, &format!("cx{i}")),
            iy: r(a, &format!("iy{i}")),
            ix: r(a, &format!("ix{i}")),
            ab: r(a, &format!("ab{i}")),
            m: r(a, &format!("m{i}")),
            a: r(a, &format!("a{i}")),
        })
        .collect();
    // Row `dst` = row `src` one pixel on.
    let advance = |a: &mut Asm, dst: RowRegs, src: RowRegs| {
        let same = a.label();
        a.add(dst.px, src.px, 1);
        a.add(dst.cx, src.cx, ps);
        a.add(dst.ix, src.ix, psw);
        a.add(dst.ab, src.ab, pswc);
        a.mov(dst.cy, src.cy);
        a.mov(dst.iy, src.iy);
        a.bne(dst.px, wo, same);
        a.li(dst.px, 0);
        a.sub(dst.cx, dst.cx, wcx);
        a.sub(dst.ix, dst.ix, wix);
        a.add(dst.cy, dst.cy, ps);
        a.add(dst.iy, dst.iy, psh);
        a.add(dst.ab, dst.ab, wab);
        a.place(same);
    };

    // Tap-loop registers.
    let ky = r(a, "ky");
    let kx = r(a, "kx");
    let toy = r(a, "tap_oy");
    let tox = r(a, "tap_ox");
    let toa = r(a, "tap_oa");
    let toa_row = r(a, "tap_oa_row");
    let wtap = r(a, "w_tap");
    let ci0 = r(a, "ci0");
    let n = r(a, "n");
    let wp = r(a, "w_ptr");
    let kc = r(a, "chunk_end");
    let tap_step = r(a, "tap_step");

    let co0 = r(a, "co0");
    let gw = r(a, "gw");
    let g_w = r(a, "grp_w");
    let g_rec = r(a, "grp_rec");
    let g_out = r(a, "grp_out");
    let p0 = r(a, "p0");
    let oaddr = r(a, "oaddr");
    let nv = r(a, "nv");
    let rco = r(a, "rows_co");
    s.mul(a, rco, l.co, rows);
    a.li(co0, 0);
    a.mov(g_w, l.w_addr);
    a.mov(g_rec, l.ch_addr);
    a.mov(g_out, l.out_addr);

    let g_loop = a.label();
    a.place(g_loop);
    // gw = min(COLS, C_out - co0)
    {
        let ok = a.label();
        a.sub(gw, l.co, co0);
        a.bltu(gw, cols + 1, ok);
        a.li(gw, cols);
        a.place(ok);
    }
    a.sets(Set::Gw, gw, 0);
    a.waito();
    {
        let done = a.label();
        for j in 0..cols {
            a.ldl(cfg.lane_rec(j), t0, g_rec, j * rb);
            if j + 1 < cols {
                a.beq(gw, j + 1, done);
            }
        }
        a.place(done);
    }
    // The group's first tile.
    a.li(p0, 0);
    a.mov(oaddr, g_out);
    a.li(rr[0].px, 0);
    a.mov(rr[0].cy, c0);
    a.mov(rr[0].cx, c0);
    a.mov(rr[0].iy, iy0);
    a.mov(rr[0].ix, ix0);
    a.mov(rr[0].ab, ab0);
    for i in 1..rows as usize {
        advance(a, rr[i], rr[i - 1]);
    }

    let t_loop = a.label();
    a.place(t_loop);
    {
        let ok = a.label();
        a.sub(nv, npix, p0);
        a.bltu(nv, rows + 1, ok);
        a.li(nv, rows);
        a.place(ok);
    }
    a.sets(Set::Nv, nv, 0);
    // Window loop registers: wi, wj and their input offsets.
    let wi = r(a, "wi");
    let wj = r(a, "wj");
    let woy = r(a, "win_oy");
    let wox = r(a, "win_ox");
    let woa = r(a, "win_oa");
    let woa_row = r(a, "win_oa_row");
    a.li(wi, 0);
    a.li(woy, 0);
    a.li(woa_row, 0);
    let wi_loop = a.label();
    a.place(wi_loop);
    a.li(wj, 0);
    a.li(wox, 0);
    a.mov(woa, woa_row);
    let wj_loop = a.label();
    a.place(wj_loop);
    // Row masks: conv position inside, pixel live.
    let mask = r(a, "mask");
    a.li(mask, 0);
    for (i, row) in rr.iter().enumerate() {
        a.add(t0, row.cy, wi);
        a.sltu(t0, t0, hc);
        a.add(t1, row.cx, wj);
        a.sltu(t1, t1, wc);
        a.and(row.m, t0, t1);
        // Live: i < nv, i.e. not nv < i + 1.
        a.sltu(t0, nv, i as u32 + 1);
        a.sltu(t0, t0, 1);
        a.and(row.m, row.m, t0);
        let skip = a.label();
        a.beq(row.m, 0, skip);
        a.or(mask, mask, 1 << i);
        a.place(skip);
    }
    // Tap loop.
    a.li(ky, 0);
    a.mov(toy, woy);
    a.mov(toa_row, woa);
    a.mov(wtap, g_w);
    let ky_loop = a.label();
    a.place(ky_loop);
    let slow = a.label();
    // Packed: every row's kernel row inside, or every tap of it above or
    // below the image (zeros); a row partly outside takes the taps one by one.
    a.beq(dw1, 0, slow);
    for row in &rr {
        let (zero, done) = (a.label(), a.label());
        a.add(t0, row.iy, toy);
        a.sltu(t0, t0, l.h);
        a.beq(t0, 0, zero);
        a.add(t1, row.ix, wox);
        a.sltu(t2, t1, l.w);
        a.beq(t2, 0, slow);
        a.add(t1, t1, kwm1);
        a.sltu(t2, t1, l.w);
        a.beq(t2, 0, slow);
        a.add(row.a, row.ab, toa_row);
        a.jmp(done);
        a.place(zero);
        a.li(row.a, 0x8000_0000);
        a.place(done);
    }
    // One pass of the tap loop's body over the kernel row's k_w*C_in
    // bytes; kx = k_w - 1 makes it the row's last tap.
    let chunks = a.label();
    a.mov(kx, kwm1);
    a.mov(kc, kwc);
    a.mov(tap_step, kwcco);
    a.jmp(chunks);
    a.place(slow);
    a.mov(kc, l.c);
    a.mov(tap_step, cco);
    a.li(kx, 0);
    a.mov(tox, wox);
    a.mov(toa, toa_row);
    let kx_loop = a.label();
    a.place(kx_loop);
    for row in &rr {
        let ok = a.label();
        a.add(t0, row.iy, toy);
        a.sltu(t0, t0, l.h);
        a.add(t1, row.ix, tox);
        a.sltu(t1, t1, l.w);
        a.and(t0, t0, t1);
        a.add(row.a, row.ab, toa);
        a.bne(t0, 0, ok);
        a.li(row.a, 0x8000_0000);
        a.place(ok);
    }
    // The chunks: reduction indices [0, kc) of the tap (or kernel row) at
    // wtap, CB a chunk; the lanes' addresses are in the row registers.
    a.place(chunks);
    a.li(ci0, 0);
    a.sub(wp, wtap, l.co);
    let c_loop = a.label();
    a.place(c_loop);
    {
        let ok = a.label();
        a.sub(n, kc, ci0);
        a.bltu(n, cb + 1, ok);
        a.li(n, cb);
        a.place(ok);
    }
    a.sets(Set::N, n, 0);
    for (i, row) in rr.iter().enumerate() {
        a.ldl(cfg.lane_a(i as u32), t0, row.a, ci0);
    }
    {
        let done = a.label();
        for b in 0..cb {
            a.ldl(cfg.lane_b(b), wp, wp, l.co);
            if b + 1 < cb {
                a.beq(n, b + 1, done);
            }
        }
        a.place(done);
    }
    a.add(ci0, ci0, n);
    // The tile's last chunk: the last chunk of the last tap.
    {
        let (not_last, next) = (a.label(), a.label());
        a.bne(ci0, kc, not_last);
        a.add(t0, ky, 1);
        a.bne(t0, l.kh, not_last);
        a.add(t0, kx, 1);
        a.bne(t0, l.kw, not_last);
        a.fire(true);
        a.jmp(next);
        a.place(not_last);
        a.fire(false);
        a.place(next);
    }
    a.bne(ci0, kc, c_loop);
    // Next tap (past the kernel row when packed).
    a.add(wtap, wtap, tap_step);
    a.add(kx, kx, 1);
    a.add(tox, tox, l.dw);
    a.add(toa, toa, dwc);
    a.bne(kx, l.kw, kx_loop);
    a.add(ky, ky, 1);
    a.add(toy, toy, l.dh);
    a.add(toa_row, toa_row, dhr);
    a.bne(ky, l.kh, ky_loop);
    // The window's tile info: first offset (0, 0), last (PK-1, PK-1).
    {
        a.add(t0, wi, wj);
        a.sltu(t0, t0, 1); // first
        let (f1, l1, lf, done) = (a.label(), a.label(), a.label(), a.label());
        // last = wi == PK-1 && wj == PK-1
        a.add(t1, wi, 1);
        a.sub(t1, t1, pk);
        a.add(t2, wj, 1);
        a.sub(t2, t2, pk);
        a.or(t1, t1, t2);
        a.sltu(t1, t1, 1);
        a.bne(t0, 0, f1);
        a.bne(t1, 0, l1);
        a.tile(mask, oaddr, false, false);
        a.jmp(done);
        a.place(l1);
        a.tile(mask, oaddr, false, true);
        a.jmp(done);
        a.place(f1);
        a.bne(t1, 0, lf);
        a.tile(mask, oaddr, true, false);
        a.jmp(done);
        a.place(lf);
        a.tile(mask, oaddr, true, true);
        a.place(done);
    }
    a.add(wj, wj, 1);
    a.add(wox, wox, l.sw);
    a.add(woa, woa, swc);
    a.bne(wj, pk, wj_loop);
    a.add(wi, wi, 1);
    a.add(woy, woy, l.sh);
    a.add(woa_row, woa_row, shr);
    a.bne(wi, pk, wi_loop);
    // Next tile: row 0 follows the last row.
    a.add(p0, p0, rows);
    a.add(oaddr, oaddr, rco);
    advance(a, rr[0], rr[rows as usize - 1]);
    for i in 1..rows as usize {
        advance(a, rr[i], rr[i - 1]);
    }
    a.bltu(p0, npix, t_loop);
    // Next group.
    a.add(co0, co0, cols);
    a.add(g_w, g_w, cols);
    a.add(g_rec, g_rec, cols * rb);
    a.add(g_out, g_out, cols);
    a.bltu(co0, l.co, g_loop);
    a.waito();
}
