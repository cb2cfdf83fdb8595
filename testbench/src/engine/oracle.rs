//! What the engine must do with a memory image, written from the contract
//! alone (`docs/engine.md`, [`contracts::engine`], the issue's rules) and
//! independently of the RTL and of the layer compiler: descriptor and
//! channel-record encoding by field name, the error rules in the engine's
//! checking order, the layer arithmetic (the golden model's
//! [`golden::reference::layer_reference`]) applied to a memory image, and the
//! exact counter values of the schedule in `docs/engine.md`, counted by a plain
//! brute-force walk of its loop nest.
//!
//! Why a second decoder here: the tests write descriptors by name into memory
//! and this module reads them back from memory by name, so a descriptor the
//! RTL decodes differently, or a field the tests place wrongly, shows up as a
//! mismatch instead of cancelling out.

use contracts::engine::ProgrammingModel;
use golden::layer::ConvLayer;

/// Descriptor field names, in the contract's order.
pub const FIELDS: [&str; 23] = [
    "op", "in_addr", "in_h", "in_w", "in_c", "w_addr", "ch_addr", "out_addr", "out_c", "k_h",
    "k_w", "stride_h", "stride_w", "dil_h", "dil_w", "pad_t", "pad_b", "pad_l", "pad_r", "relu",
    "pool_k", "pool_s", "pool_pad",
];

/// One descriptor as field values (unsigned, as stored in memory).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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

/// The sizes a descriptor implies (conv output, pooled output, pool window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub h_c: u64,
    pub w_c: u64,
    pub h_o: u64,
    pub w_o: u64,
    /// `max(pool_k, 1)`.
    pub pk: u64,
    /// `pool_s`, or 1 without pooling.
    pub ps: u64,
    /// `pool_pad`, or 0 without pooling.
    pub pp: u64,
}

/// `(size + pad_a + pad_b - span) / stride + 1` with `span = dil*(k-1)+1`, or
/// `None` when the window does not fit once.
fn window_out(size: u64, pad_a: u64, pad_b: u64, k: u64, dil: u64, stride: u64) -> Option<u64> {
    let span = dil * (k.max(1) - 1) + 1;
    let total = size + pad_a + pad_b;
    (total >= span && stride > 0).then(|| (total - span) / stride + 1)
}

impl Descriptor {
    /// The descriptor of `layer` with its tensors at the given addresses.
    pub fn conv(l: &ConvLayer, in_addr: u64, w_addr: u64, ch_addr: u64, out_addr: u64) -> Self {
        let u = |v: usize| v as u64;
        Descriptor {
            op: 0,
            in_addr,
            in_h: u(l.in_h),
            in_w: u(l.in_w),
            in_c: u(l.in_c),
            w_addr,
            ch_addr,
            out_addr,
            out_c: u(l.out_c),
            k_h: u(l.k_h),
            k_w: u(l.k_w),
            stride_h: u(l.stride_h),
            stride_w: u(l.stride_w),
            dil_h: u(l.dil_h),
            dil_w: u(l.dil_w),
            pad_t: u(l.pad_t),
            pad_b: u(l.pad_b),
            pad_l: u(l.pad_l),
            pad_r: u(l.pad_r),
            relu: u64::from(l.relu),
            pool_k: u(l.pool_k),
            pool_s: u(l.pool_s),
            pool_pad: u(l.pool_pad),
        }
    }

    /// Every field as (name, value), in [`FIELDS`] order.
    pub fn fields(&self) -> [(&'static str, u64); 23] {
        [
            ("op", self.op),
            ("in_addr", self.in_addr),
            ("in_h", self.in_h),
            ("in_w", self.in_w),
            ("in_c", self.in_c),
            ("w_addr", self.w_addr),
            ("ch_addr", self.ch_addr),
            ("out_addr", self.out_addr),
            ("out_c", self.out_c),
            ("k_h", self.k_h),
            ("k_w", self.k_w),
            ("stride_h", self.stride_h),
            ("stride_w", self.stride_w),
            ("dil_h", self.dil_h),
            ("dil_w", self.dil_w),
            ("pad_t", self.pad_t),
            ("pad_b", self.pad_b),
            ("pad_l", self.pad_l),
            ("pad_r", self.pad_r),
            ("relu", self.relu),
            ("pool_k", self.pool_k),
            ("pool_s", self.pool_s),
            ("pool_pad", self.pool_pad),
        ]
    }

    /// The field called `name`.
    pub fn field_mut(&mut self, name: &str) -> Result<&mut u64, String> {
        Ok(match name {
            "op" => &mut self.op,
            "in_addr" => &mut self.in_addr,
            "in_h" => &mut self.in_h,
            "in_w" => &mut self.in_w,
            "in_c" => &mut self.in_c,
            "w_addr" => &mut self.w_addr,
            "ch_addr" => &mut self.ch_addr,
            "out_addr" => &mut self.out_addr,
            "out_c" => &mut self.out_c,
            "k_h" => &mut self.k_h,
            "k_w" => &mut self.k_w,
            "stride_h" => &mut self.stride_h,
            "stride_w" => &mut self.stride_w,
            "dil_h" => &mut self.dil_h,
            "dil_w" => &mut self.dil_w,
            "pad_t" => &mut self.pad_t,
            "pad_b" => &mut self.pad_b,
            "pad_l" => &mut self.pad_l,
            "pad_r" => &mut self.pad_r,
            "relu" => &mut self.relu,
            "pool_k" => &mut self.pool_k,
            "pool_s" => &mut self.pool_s,
            "pool_pad" => &mut self.pool_pad,
            _ => return Err(format!("descriptor has no field `{name}`")),
        })
    }

    /// Set field `name` to `value`.
    pub fn set(&mut self, name: &str, value: u64) -> Result<(), String> {
        *self.field_mut(name)? = value;
        Ok(())
    }

    /// The descriptor's bytes, every field written by name through the
    /// programming model (reserved bytes zero).
    pub fn encode(&self, pm: &ProgrammingModel) -> Result<Vec<u8>, String> {
        let mut buf = vec![0u8; pm.descriptor.bytes as usize];
        for (name, v) in self.fields() {
            pm.descriptor.put(&mut buf, name, v)?;
        }
        Ok(buf)
    }

    /// Read a descriptor back from its bytes, by field name.
    pub fn decode(pm: &ProgrammingModel, buf: &[u8]) -> Result<Descriptor, String> {
        let mut d = Descriptor::default();
        for name in FIELDS {
            *d.field_mut(name)? = pm.descriptor.get(buf, name)?;
        }
        Ok(d)
    }

    /// Conv and pooled output sizes, or `None` where there is no output pixel
    /// (or a zero stride).
    pub fn geometry(&self) -> Option<Geometry> {
        let h_c = window_out(
            self.in_h,
            self.pad_t,
            self.pad_b,
            self.k_h,
            self.dil_h,
            self.stride_h,
        )?;
        let w_c = window_out(
            self.in_w,
            self.pad_l,
            self.pad_r,
            self.k_w,
            self.dil_w,
            self.stride_w,
        )?;
        if self.pool_k == 0 {
            return Some(Geometry {
                h_c,
                w_c,
                h_o: h_c,
                w_o: w_c,
                pk: 1,
                ps: 1,
                pp: 0,
            });
        }
        let (k, s, p) = (self.pool_k, self.pool_s, self.pool_pad);
        Some(Geometry {
            h_c,
            w_c,
            h_o: window_out(h_c, p, p, k, 1, s)?,
            w_o: window_out(w_c, p, p, k, 1, s)?,
            pk: k,
            ps: s,
            pp: p,
        })
    }

    /// One line naming the layer's shape, for test messages.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "in {}x{}x{} -> {} k{}x{} s{},{} d{},{} pad t{} b{} l{} r{}",
            self.in_h,
            self.in_w,
            self.in_c,
            self.out_c,
            self.k_h,
            self.k_w,
            self.stride_h,
            self.stride_w,
            self.dil_h,
            self.dil_w,
            self.pad_t,
            self.pad_b,
            self.pad_l,
            self.pad_r
        );
        if self.relu != 0 {
            s += &format!(" relu{}", self.relu);
        }
        if self.pool_k != 0 || self.pool_s != 0 || self.pool_pad != 0 {
            s += &format!(
                " pool k{} s{} pad{}",
                self.pool_k, self.pool_s, self.pool_pad
            );
        }
        if self.op != 0 {
            s += &format!(" op {}", self.op);
        }
        s
    }

    /// Bytes of the input tensor.
    pub fn input_bytes(&self) -> u64 {
        self.in_h * self.in_w * self.in_c
    }

    /// Bytes of the HWIO weights.
    pub fn weight_bytes(&self) -> u64 {
        self.k_h * self.k_w * self.in_c * self.out_c
    }

    /// Bytes of the channel records.
    pub fn record_bytes(&self, pm: &ProgrammingModel) -> u64 {
        u64::from(pm.channel_record.bytes) * self.out_c
    }

    /// Bytes of the output tensor (0 without an output pixel).
    pub fn output_bytes(&self) -> u64 {
        self.geometry().map_or(0, |g| g.h_o * g.w_o * self.out_c)
    }

    /// The golden model's layer for this descriptor with these channel records.
    /// A `pool_s` given without a pool window is ignored, as the engine does.
    pub fn layer(&self, records: &[Record]) -> ConvLayer {
        let u = |v: u64| v as usize;
        let pool = self.pool_k > 0;
        ConvLayer::new(
            u(self.in_h),
            u(self.in_w),
            u(self.in_c),
            u(self.out_c),
            u(self.k_h),
            u(self.k_w),
        )
        .with_stride(u(self.stride_h), u(self.stride_w))
        .with_dilation(u(self.dil_h), u(self.dil_w))
        .with_padding(golden::Padding {
            top: u(self.pad_t),
            bottom: u(self.pad_b),
            left: u(self.pad_l),
            right: u(self.pad_r),
        })
        .with_relu(self.relu == 1)
        .with_pool(
            u(self.pool_k),
            if pool { u(self.pool_s) } else { 0 },
            u(self.pool_pad),
        )
        .with_requant(
            records.iter().map(|r| r.bias).collect(),
            records.iter().map(|r| r.mult as u32).collect(),
            records.iter().map(|r| r.shift as u32).collect(),
        )
    }

    /// The first field rule this descriptor breaks, in the engine's checking
    /// order (every rule but `bad_requant`, which needs the records).
    pub fn check_fields(&self, pm: &ProgrammingModel) -> Result<(), &'static str> {
        let lim = &pm.limits;
        let u = |v: u32| u64::from(v);
        if self.op != 0 {
            return Err("bad_op");
        }
        let sizes = [
            self.in_h,
            self.in_w,
            self.in_c,
            self.out_c,
            self.k_h,
            self.k_w,
            self.stride_h,
            self.stride_w,
            self.dil_h,
            self.dil_w,
        ];
        if sizes.contains(&0) {
            return Err("zero_size");
        }
        let over = self.in_h > u(lim.in_h)
            || self.in_w > u(lim.in_w)
            || self.in_c > u(lim.in_c)
            || self.out_c > u(lim.out_c)
            || self.k_h > u(lim.k_h)
            || self.k_w > u(lim.k_w)
            || self.stride_h.max(self.stride_w) > u(lim.stride)
            || self.dil_h.max(self.dil_w) > u(lim.dil)
            || self.pad_t.max(self.pad_b) > self.dil_h * (self.k_h - 1)
            || self.pad_l.max(self.pad_r) > self.dil_w * (self.k_w - 1)
            || self.relu > u(lim.relu)
            || self.pool_k > u(lim.pool_k)
            || self.pool_s > u(lim.pool_s);
        if over {
            return Err("too_large");
        }
        let conv = window_out(
            self.in_h,
            self.pad_t,
            self.pad_b,
            self.k_h,
            self.dil_h,
            self.stride_h,
        )
        .zip(window_out(
            self.in_w,
            self.pad_l,
            self.pad_r,
            self.k_w,
            self.dil_w,
            self.stride_w,
        ));
        let Some((h_c, w_c)) = conv else {
            return Err("bad_geometry");
        };
        let (k, s, p) = (self.pool_k, self.pool_s, self.pool_pad);
        let pool_bad = if k == 0 {
            p != 0
        } else {
            s == 0 || p >= k || h_c + 2 * p < k || w_c + 2 * p < k
        };
        if pool_bad {
            return Err("bad_geometry");
        }
        let align = u(lim.align);
        if [self.in_addr, self.w_addr, self.ch_addr, self.out_addr]
            .iter()
            .any(|a| a % align != 0)
        {
            return Err("misaligned");
        }
        let spans = [
            (self.in_addr, self.input_bytes()),
            (self.w_addr, self.weight_bytes()),
            (self.ch_addr, self.record_bytes(pm)),
            (self.out_addr, self.output_bytes()),
        ];
        // The address space is 2^limits.addr_bits (2^32 unless the build
        // narrows it): no tensor may run past it.
        if spans.iter().any(|&(a, n)| a + n > pm.limits.addr_end()) {
            return Err("address_wrap");
        }
        Ok(())
    }
}

/// One channel record: bias (two's complement), multiplier, shift.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    pub bias: i32,
    pub mult: u64,
    pub shift: u64,
}

impl Record {
    /// The record's bytes, written by field name.
    pub fn encode(&self, pm: &ProgrammingModel) -> Result<Vec<u8>, String> {
        let mut buf = vec![0u8; pm.channel_record.bytes as usize];
        pm.channel_record
            .put(&mut buf, "bias", u64::from(self.bias as u32))?;
        pm.channel_record.put(&mut buf, "mult", self.mult)?;
        pm.channel_record.put(&mut buf, "shift", self.shift)?;
        Ok(buf)
    }

    /// Read a record back from its bytes, by field name.
    pub fn decode(pm: &ProgrammingModel, buf: &[u8]) -> Result<Record, String> {
        Ok(Record {
            bias: pm.channel_record.get(buf, "bias")? as u32 as i32,
            mult: pm.channel_record.get(buf, "mult")?,
            shift: pm.channel_record.get(buf, "shift")?,
        })
    }

    /// The `bad_requant` rule: mult in 1..=65535, shift <= 31.
    pub fn is_valid(&self) -> bool {
        (1..=65535).contains(&self.mult) && self.shift <= 31
    }
}

/// The start-level rules (reported with index 0): list length, alignment and
/// wrap of the descriptor list.
pub fn check_start(pm: &ProgrammingModel, desc_addr: u64, count: u64) -> Result<(), &'static str> {
    if count > u64::from(pm.limits.desc_count) {
        return Err("too_large");
    }
    if desc_addr % u64::from(pm.limits.align) != 0 {
        return Err("misaligned");
    }
    if desc_addr + u64::from(pm.descriptor.bytes) * count > pm.limits.addr_end() {
        return Err("address_wrap");
    }
    Ok(())
}

/// Memory words a run of `n >= 1` bytes at `a` touches, `MB` bytes a word.
pub fn words(a: u64, n: u64, mb: u64) -> u64 {
    (a + n - 1) / mb - a / mb + 1
}

/// Counter values of one run (or one layer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Memory words read (rd_bytes = MB * reads).
    pub reads: u64,
    /// Array input beats.
    pub array_beats: u64,
    /// Bytes written with their strobe set.
    pub wr_bytes: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.reads += o.reads;
        self.array_beats += o.array_beats;
        self.wr_bytes += o.wr_bytes;
    }
}

/// The numbers of an engine instance the schedule depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Machine {
    pub rows: u64,
    pub cols: u64,
    /// Bytes per memory word (`mem_bits / 8`).
    pub mb: u64,
    /// Input channels per chunk (array beats per staging buffer).
    pub chunk: u64,
    /// Input buffer bytes: a layer whose whole input fits is loaded once.
    pub ibuf_bytes: u64,
    /// Weight buffer rows: a layer with `k_h*k_w*in_c` up to this loads a
    /// group's weights once.
    pub wbuf_rows: u64,
    /// Bytes of one channel record.
    pub rec_bytes: u64,
}

/// Which operands a layer keeps on chip: (whole input resident, a group's
/// weights resident).
pub fn residency(d: &Descriptor, m: &Machine) -> (bool, bool) {
    (
        d.input_bytes() <= m.ibuf_bytes,
        d.k_h * d.k_w * d.in_c <= m.wbuf_rows,
    )
}

/// Reads, array beats and bytes written of one valid layer after its
/// descriptor fetch and record check, by walking the schedule's loop nest
/// literally:
///
/// ```text
/// input resident:  words(in_addr, H*W*C_in) reads, once
/// for each group g of COLS output channels (co0, gw live columns):
///     words(ch_addr + 8*co0, 8*gw) reads                  (the group's records)
///     weights resident: for r < k_h*k_w*C_in: words(w_addr + r*C_out + co0, gw) reads
///     for each tile t of ROWS output pixels, pool offset (wi, wj), ky, kx,
///     chunk ci0 = 0, CHUNK, 2*CHUNK, .. (n = min(CHUNK, C_in - ci0) beats):
///         input streamed: for each live row i (pixel, conv position and input
///             position inside): words(in_addr + (iy*W + ix)*C_in + ci0, n) reads
///         weights streamed: for j < n: words(w_addr + ((ky*k_w + kx)*C_in + ci0 + j)*C_out + co0, gw) reads
///         n array beats
/// ```
pub fn layer_counts(d: &Descriptor, m: &Machine) -> Counts {
    let Some(g) = d.geometry() else {
        return Counts::default();
    };
    let (ires, wres) = residency(d, m);
    let mb = m.mb;
    let pixels = g.h_o * g.w_o;
    let groups = d.out_c.div_ceil(m.cols);
    let tiles = pixels.div_ceil(m.rows);
    let kk = d.k_h * d.k_w * d.in_c;
    let mut reads = 0u64;
    let mut beats = 0u64;
    if ires {
        reads += words(d.in_addr, d.input_bytes(), mb);
    }
    let (h, w) = (d.in_h as i64, d.in_w as i64);
    for grp in 0..groups {
        let co0 = grp * m.cols;
        let gw = m.cols.min(d.out_c - co0);
        reads += words(d.ch_addr + m.rec_bytes * co0, m.rec_bytes * gw, mb);
        if wres {
            for r in 0..kk {
                reads += words(d.w_addr + r * d.out_c + co0, gw, mb);
            }
        }
        for t in 0..tiles {
            for wi in 0..g.pk {
                for wj in 0..g.pk {
                    for ky in 0..d.k_h {
                        for kx in 0..d.k_w {
                            let mut ci0 = 0;
                            while ci0 < d.in_c {
                                let n = m.chunk.min(d.in_c - ci0);
                                for i in 0..m.rows {
                                    if ires {
                                        break;
                                    }
                                    let p = t * m.rows + i;
                                    if p >= pixels {
                                        continue;
                                    }
                                    let (py, px) = ((p / g.w_o) as i64, (p % g.w_o) as i64);
                                    let cy = py * g.ps as i64 - g.pp as i64 + wi as i64;
                                    let cx = px * g.ps as i64 - g.pp as i64 + wj as i64;
                                    if cy < 0 || cx < 0 || cy >= g.h_c as i64 || cx >= g.w_c as i64
                                    {
                                        continue;
                                    }
                                    let iy = cy * d.stride_h as i64 - d.pad_t as i64
                                        + (ky * d.dil_h) as i64;
                                    let ix = cx * d.stride_w as i64 - d.pad_l as i64
                                        + (kx * d.dil_w) as i64;
                                    if iy < 0 || ix < 0 || iy >= h || ix >= w {
                                        continue;
                                    }
                                    let off = (iy as u64 * d.in_w + ix as u64) * d.in_c + ci0;
                                    reads += words(d.in_addr + off, n, mb);
                                }
                                if !wres {
                                    for j in 0..n {
                                        let row = (ky * d.k_w + kx) * d.in_c + ci0 + j;
                                        reads += words(d.w_addr + row * d.out_c + co0, gw, mb);
                                    }
                                }
                                beats += n;
                                ci0 += m.chunk;
                            }
                        }
                    }
                }
            }
        }
    }
    Counts {
        reads,
        array_beats: beats,
        wr_bytes: pixels * d.out_c,
    }
}

/// A byte memory at a base address (the initial image of a test, or the
/// expected final one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemImage {
    pub base: u64,
    pub bytes: Vec<u8>,
}

impl MemImage {
    /// `len` bytes at `addr`, if they lie inside the image.
    pub fn get(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let off = addr.checked_sub(self.base)? as usize;
        self.bytes.get(off..off.checked_add(len as usize)?)
    }

    fn get_or(&self, addr: u64, len: u64, what: &str) -> Result<&[u8], String> {
        self.get(addr, len).ok_or_else(|| {
            format!(
                "test setup: {what} ({len} bytes at {addr:#x}) lies outside the image {:#x}..{:#x}",
                self.base,
                self.base + self.bytes.len() as u64
            )
        })
    }

    /// One past the last byte of the image.
    pub fn end(&self) -> u64 {
        self.base + self.bytes.len() as u64
    }
}

/// What a whole start must do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The error the run stops with: (name, descriptor index).
    pub error: Option<(&'static str, u32)>,
    /// Counters at done/error. For `bad_requant` the record check's reads are
    /// counted in full (`reads_min` leaves them out: an engine may stop the
    /// scan at the first bad record).
    pub counts: Counts,
    pub reads_min: u64,
    /// Descriptors that ran to completion.
    pub layers_done: usize,
}

/// Run the descriptor list at `desc_addr` on `mem` the way the engine must:
/// start checks, then per descriptor the fetch, the field checks, the record
/// check and the layer (golden arithmetic), writing each output into `mem` so
/// the next layer reads it. Returns the expected error and counters; an error
/// is a broken test setup (a valid layer whose tensors lie outside `mem`).
pub fn run_program(
    pm: &ProgrammingModel,
    machine: &Machine,
    mem: &mut MemImage,
    desc_addr: u64,
    count: u64,
) -> Result<Outcome, String> {
    let mb = u64::from(pm.mem_bits / 8);
    let db = u64::from(pm.descriptor.bytes);
    let rb = u64::from(pm.channel_record.bytes);
    let mut out = Outcome::default();
    if let Err(e) = check_start(pm, desc_addr, count) {
        out.error = Some((e, 0));
        return Ok(out);
    }
    for i in 0..count {
        let at = desc_addr + db * i;
        let d = Descriptor::decode(pm, mem.get_or(at, db, "descriptor")?)?;
        out.counts.reads += words(at, db, mb);
        if let Err(e) = d.check_fields(pm) {
            out.error = Some((e, i as u32));
            break;
        }
        out.reads_min = out.counts.reads;
        let rec_bytes = mem.get_or(d.ch_addr, d.record_bytes(pm), "channel records")?;
        let records = rec_bytes
            .chunks(rb as usize)
            .map(|c| Record::decode(pm, c))
            .collect::<Result<Vec<_>, _>>()?;
        out.counts.reads += words(d.ch_addr, d.record_bytes(pm), mb);
        if !records.iter().all(Record::is_valid) {
            out.error = Some(("bad_requant", i as u32));
            return Ok(out);
        }
        let layer = d.layer(&records);
        let bytes_i8 = |b: &[u8]| b.iter().map(|&v| v as i8).collect::<Vec<i8>>();
        let input = bytes_i8(mem.get_or(d.in_addr, d.input_bytes(), "input")?);
        let weights = bytes_i8(mem.get_or(d.w_addr, d.weight_bytes(), "weights")?);
        let result = golden::reference::layer_reference(&layer, &input, &weights)
            .map_err(|e| format!("golden model refused descriptor {i}: {e} ({d:?})"))?;
        let n = result.len() as u64;
        mem.get_or(d.out_addr, n, "output")?;
        let off = (d.out_addr - mem.base) as usize;
        for (dst, v) in mem.bytes[off..off + n as usize].iter_mut().zip(&result) {
            *dst = *v as u8;
        }
        out.counts += layer_counts(&d, machine);
        out.reads_min = out.counts.reads;
        out.layers_done += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_round_trips_by_name() {
        let pm = ProgrammingModel::new(64);
        let l = ConvLayer::new(7, 9, 3, 5, 3, 2)
            .with_stride(2, 3)
            .with_pool(2, 2, 1)
            .with_relu(true);
        let d = Descriptor::conv(&l, 0x100, 0x200, 0x300, 0x400);
        let buf = d.encode(&pm).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Descriptor::decode(&pm, &buf), Ok(d.clone()));
        // The geometry agrees with the golden model's.
        let g = d.geometry().unwrap_or_else(|| panic!("valid"));
        assert_eq!(
            (g.h_c, g.w_c, g.h_o, g.w_o),
            (
                l.h_c() as u64,
                l.w_c() as u64,
                l.h_o() as u64,
                l.w_o() as u64
            )
        );
    }

    #[test]
    fn rules_report_the_first_broken_one() {
        let pm = ProgrammingModel::new(64);
        let l = ConvLayer::new(4, 4, 2, 2, 3, 3);
        let good = Descriptor::conv(&l, 0x100, 0x200, 0x300, 0x400);
        assert_eq!(good.check_fields(&pm), Ok(()));
        let with = |f: &dyn Fn(&mut Descriptor)| {
            let mut d = good.clone();
            f(&mut d);
            d.check_fields(&pm)
        };
        assert_eq!(with(&|d| d.op = 1), Err("bad_op"));
        assert_eq!(
            with(&|d| {
                d.op = 2;
                d.in_c = 0
            }),
            Err("bad_op")
        );
        assert_eq!(with(&|d| d.stride_w = 0), Err("zero_size"));
        assert_eq!(with(&|d| d.pad_t = 3), Err("too_large"));
        assert_eq!(with(&|d| d.pad_t = 2), Ok(()));
        assert_eq!(with(&|d| d.in_h = 2), Err("bad_geometry"));
        assert_eq!(with(&|d| d.pool_pad = 1), Err("bad_geometry"));
        assert_eq!(with(&|d| d.in_addr = 0x101), Err("misaligned"));
        // 4x4x2 input = 32 bytes; 2x2x2 output = 8 bytes.
        assert_eq!(with(&|d| d.in_addr = (1 << 32) - 24), Err("address_wrap"));
        assert_eq!(with(&|d| d.in_addr = (1 << 32) - 32), Ok(()));
        assert_eq!(with(&|d| d.out_addr = (1 << 32) - 8), Ok(()));
        assert_eq!(check_start(&pm, 0x1000, 65536), Err("too_large"));
        assert_eq!(check_start(&pm, 0x1004, 1), Err("misaligned"));
        assert_eq!(check_start(&pm, (1 << 32) - 64, 1), Ok(()));
        assert_eq!(check_start(&pm, (1 << 32) - 64, 2), Err("address_wrap"));
    }

    #[test]
    fn counts_of_a_one_by_one_layer_by_hand() {
        // 1x1 conv, 1x2 image, 3 channels in, 2 out, on a 2x2 array, 4-byte words,
        // everything word-aligned: one group, one tile, one chunk of 3 beats.
        let l = ConvLayer::new(1, 2, 3, 2, 1, 1);
        let d = Descriptor::conv(&l, 0x100, 0x200, 0x300, 0x400);
        let m = Machine {
            rows: 2,
            cols: 2,
            mb: 4,
            chunk: 4,
            ibuf_bytes: 4,
            wbuf_rows: 2,
            rec_bytes: 8,
        };
        assert_eq!(residency(&d, &m), (false, false));
        let c = layer_counts(&d, &m);
        // records: words(0x300, 16) = 4; A: pixel 0 at 0x100 (3 bytes) 1 word,
        // pixel 1 at 0x103 (3 bytes) 2 words; B: rows 0x200, 0x202, 0x204: 1 each.
        assert_eq!(
            c,
            Counts {
                reads: 4 + 3 + 3,
                array_beats: 3,
                wr_bytes: 4
            }
        );
        // Both resident: the input (6 bytes, 2 words) once, the weights (3 rows) once.
        let on_chip = Machine {
            ibuf_bytes: 64,
            wbuf_rows: 3,
            ..m
        };
        assert_eq!(residency(&d, &on_chip), (true, true));
        assert_eq!(layer_counts(&d, &on_chip).reads, 4 + 2 + 3);
    }
}
