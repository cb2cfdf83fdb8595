//! The engine's top level: register port, descriptor fetch and checks, the
//! request generator (the loop nest of `docs/engine.md`), the memory port
//! arbiter, the staging buffers that turn read responses into array beats, and
//! the output path (requant, fused max-pool, write-back).
//!
//! Sub-blocks with an interface of their own are separate modules wired with
//! the instance builder: the array, and the FIFOs between the generator, the
//! port and the output path. The logic here is the glue that decides what to
//! read and where the bytes go; it is written as one FSM (the generator) and
//! processes, with every loop counter a named register.

use contracts::engine as ce;

use crate::ir::{Expr, Module, SignalId, Ty};
use crate::parts::ops::{k, select};
use crate::parts::Instantiate;
use crate::process::{DomainId, Proc};
use crate::util::clog2;
use crate::GenError;

use super::config::EngineConfig;
use super::port::{self, EnginePorts, PortReg};
use crate::parts::fifo::{self, FifoEnds};

/// Sub-modules the top instantiates.
pub struct Parts<'a> {
    pub array: &'a Module,
    pub rq_fifo: &'a Module,
    pub tag_fifo: &'a Module,
    pub info_fifo: &'a Module,
    pub wjob_fifo: &'a Module,
    pub wr_fifo: &'a Module,
    pub ibuf: &'a Module,
    pub wbuf: &'a Module,
    /// With `staging_ram`: the RAM of a row's A bytes, and of the B rows.
    pub staging: Option<(&'a Module, &'a Module)>,
}

/// Read tag kinds: where a read response goes.
const KIND_DESC: u32 = 0;
const KIND_RCHK: u32 = 1;
const KIND_RLOAD: u32 = 2;
const KIND_A: u32 = 3;
const KIND_B: u32 = 4;
const KIND_ILOAD: u32 = 5;
const KIND_WLOAD: u32 = 6;
/// Not a read: marks the end of a chunk's A reads when it reaches the tag FIFO head.
const KIND_FENCE: u32 = 7;

/// Widths of a read tag's fields; the layout, LSB first, is kind 3, half 2,
/// idx, q, off, cnt, end 1. Each field is as wide as its largest value in
/// this engine under the contract's limits, so the tags (the request and tag
/// FIFOs, the generator's and prefetcher's tag muxes) carry no bit that is
/// always zero; the landing side reads the fields zero-extended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TagLayout {
    /// Word or row index: a descriptor word (< 64/MB), a record word from
    /// `ch_addr` (< 8*out_c/MB, `ch_addr` aligned), an input-buffer word (<
    /// ibuf_bytes/MB: the input loader runs only for a resident input), a
    /// weight-buffer row (< K <= wbuf_rows: weights resident), a staging B row
    /// (< CB) or array row (< ROWS).
    pub idx: u32,
    /// Word of a run: an A run of n <= CB bytes at an offset below the word
    /// (MB, or CB in the input buffer), or a weight row of gw <= COLS bytes.
    pub q: u32,
    /// Byte offset of a run in its first word (< CB; CB >= MB).
    pub off: u32,
    /// Bytes of the run (n <= CB, gw <= COLS).
    pub cnt: u32,
}

/// The tag layout of the engine `cfg`.
pub fn tag_layout(cfg: &EngineConfig) -> TagLayout {
    let pm = cfg.programming_model();
    let bits = |max: u32| (32 - max.leading_zeros()).max(1);
    let (mb, cb) = (cfg.mem_bits / 8, cfg.chunk_bytes());
    let rec_words = pm.channel_record.bytes * pm.limits.out_c / mb;
    let idx_max = [
        ce::DESCRIPTOR_BYTES / mb,
        rec_words,
        cfg.ibuf_bytes / mb,
        cfg.wbuf_rows,
        cfg.rows,
        cb,
    ]
    .into_iter()
    .max()
    .unwrap_or(1)
        - 1;
    // Words of a run of n bytes starting below a word of `w` bytes.
    let run = |w: u32, n: u32| (w - 1 + n - 1) / w + 1;
    let q_max = run(mb, cb).max(run(cb, cb)).max(run(mb, cfg.cols)) - 1;
    TagLayout {
        idx: bits(idx_max),
        q: bits(q_max),
        off: bits(cb - 1),
        cnt: bits(cb.max(cfg.cols)),
    }
}

impl TagLayout {
    /// Bits of a tag.
    pub fn bits(&self) -> u32 {
        3 + HB + self.idx + self.q + self.off + self.cnt + 1
    }
    /// LSB of each field: (idx, q, off, cnt, end).
    fn at(&self) -> (u32, u32, u32, u32, u32) {
        let idx = 3 + HB;
        let q = idx + self.idx;
        let off = q + self.q;
        let cnt = off + self.off;
        (idx, q, off, cnt, cnt + self.cnt)
    }
}

/// Staging buffers in the ring between the generator and the array: enough that
/// the generator never waits for the array to release one at full rate.
pub const HALVES: u32 = 4;
/// Bits of a staging buffer number.
const HB: u32 = 2;

/// Bits of a request FIFO entry: `{tag, word address}` (addresses are
/// `addr_bits` wide everywhere inside the engine).
pub fn rq_bits(cfg: &EngineConfig) -> u32 {
    cfg.addr_bits + tag_layout(cfg).bits()
}

/// Bits of a tile-info entry: `{parity, oaddr, gw 8, nvalid 8, mask ROWS, last, first}`.
pub fn info_bits(cfg: &EngineConfig) -> u32 {
    2 + cfg.rows + 8 + 8 + cfg.addr_bits + 1
}

/// Bits of a write job: `{gw 8, bytes COLS*8, addr}`.
pub fn wjob_bits(cfg: &EngineConfig) -> u32 {
    cfg.addr_bits + 8 * cfg.cols + 8
}

/// Write jobs (output pixels) the writer queues: a tile's rows.
pub fn wjob_depth(cfg: &EngineConfig) -> u32 {
    cfg.rows.max(2)
}

/// Bits of a write request: `{wstrb MB, wdata MB*8, addr}`.
pub fn wr_bits(cfg: &EngineConfig) -> u32 {
    cfg.addr_bits + cfg.mem_bits + cfg.mem_bits / 8
}

pub(super) fn z(e: impl Into<Expr>, w: u32) -> Expr {
    e.into().resize(w)
}

fn bit() -> Ty {
    Ty::bit()
}

/// A read tag (each field cut to its width in `l`: its values fit, see
/// [`TagLayout`]).
#[allow(clippy::too_many_arguments)]
fn tag_e(
    l: &TagLayout,
    kind: Expr,
    half: Expr,
    idx: Expr,
    q: Expr,
    off: Expr,
    cnt: Expr,
    end: Expr,
) -> Expr {
    Expr::concat(vec![
        z(kind, 3),
        z(half, HB),
        z(idx, l.idx),
        z(q, l.q),
        z(off, l.off),
        z(cnt, l.cnt),
        z(end, 1),
    ])
}

/// `min(a, b)` of two unsigned values at width `w`.
fn min(a: impl Into<Expr>, b: impl Into<Expr>, w: u32) -> Expr {
    let (a, b) = (z(a, w), z(b, w));
    Expr::mux(a.clone().cmp_lt(b.clone()), a, b)
}

/// Words of `2^wb` bytes a run of `n >= 1` bytes touches when it starts at byte
/// `off` of its first word: `(off + n - 1) / 2^wb + 1`, at width `w`.
pub(super) fn run_words(off: impl Into<Expr>, n: impl Into<Expr>, wb: u32, w: u32) -> Expr {
    z(((z(off, w) + z(n, w) - k(w, 1)) >> k(4, wb)) + k(w, 1), w)
}

/// How byte addresses fall into memory words: `2^mbb` bytes a word, `aw`
/// address bits (`limits.addr_bits`).
#[derive(Clone, Copy)]
pub(super) struct Words {
    pub mbb: u32,
    pub aw: u32,
}

impl Words {
    /// Address of word `q` of a run whose first byte is `start`: the start's
    /// word plus `q` words.
    pub fn nth(self, start: Expr, q: Expr) -> Expr {
        Expr::concat(vec![
            k(self.mbb, 0),
            start.slice(self.mbb, self.aw - self.mbb),
        ]) + z(q.mul_wide(k(8, 1 << self.mbb)), self.aw)
    }
}

/// One weight row (`gw` bytes at `addr`) as a run of memory words read one
/// per cycle with word counter `q`: the row's offset in its first word, the
/// address of word `q`, and whether word `q` is the row's last. Shared by the
/// generator's weight reads and the prefetcher's.
fn weight_row_run(
    m: &mut Module,
    prefix: &str,
    addr: SignalId,
    gw: SignalId,
    q: SignalId,
    wd: Words,
) -> (SignalId, SignalId, SignalId) {
    let mbb = wd.mbb;
    let off = m.wire_of(&format!("{prefix}_off"), Expr::from(addr).slice(0, mbb), "");
    let nw = m.wire_of(
        &format!("{prefix}_nw"),
        z(run_words(off, gw, mbb, 9), 8),
        "words of the weight row",
    );
    let word = m.wire_of(
        &format!("{prefix}_word"),
        wd.nth(addr.into(), q.into()),
        "address of the word being read",
    );
    let lastw = m.wire_of(
        &format!("{prefix}_lastw"),
        Expr::from(q).cmp_eq(Expr::from(nw) - k(8, 1)),
        "",
    );
    (off, word, lastw)
}

/// The channel records of a group (first channel `co0`, `gw` channels) as a
/// run of memory words: its word count and the address of
/// word `cnt` of it (the counter of a state that reads them).
fn record_run(
    m: &mut Module,
    prefix: &str,
    ch_addr: SignalId,
    co0: SignalId,
    gw: SignalId,
    cnt: SignalId,
    wd: Words,
) -> (SignalId, SignalId) {
    let (mbb, aw) = (wd.mbb, wd.aw);
    let start = m.wire_of(
        &format!("{prefix}_start"),
        z(ch_addr, aw) + z(Expr::from(co0).mul_wide(k(4, ce::RECORD_BYTES)), aw),
        "first byte of the group's records",
    );
    let words = m.wire_of(
        &format!("{prefix}_words"),
        run_words(
            Expr::from(start).slice(0, mbb),
            Expr::from(gw).mul_wide(k(4, ce::RECORD_BYTES)),
            mbb,
            16,
        ),
        "words of the group's records",
    );
    let word = m.wire_of(
        &format!("{prefix}_word"),
        wd.nth(start.into(), cnt.into()),
        "address of the word being read",
    );
    (words, word)
}

/// The im2col walker's position: the output column, and the conv and input
/// positions and input byte offset of the pixel at window offset (0, 0) and
/// kernel tap (0, 0), each kept by adding a per-layer step (`docs/engine.md`).
#[derive(Clone, Copy)]
struct Walk {
    /// Output column.
    rx: SignalId,
    /// `ry*ps`, `rx*ps`: conv row and column plus the pool pad.
    wcy: SignalId,
    wcx: SignalId,
    /// `(ry*ps - pp)*stride_h - pad_t`, `(rx*ps - pp)*stride_w - pad_l`
    /// (two's complement): input row and column.
    wiy: SignalId,
    wix: SignalId,
    /// `(wiy*in_w + wix)*in_c` (mod 2^addr_bits): offset from `in_addr`.
    wrel: SignalId,
    /// The same at output column 0 of the row.
    wrelr: SignalId,
}

impl Walk {
    fn regs(
        m: &mut Module,
        sync: crate::process::DomainId,
        pre: &str,
        what: &str,
        aw: u32,
    ) -> Walk {
        let mut r = |n: &str, w: u32, c: &str| {
            m.reg_reset(
                &format!("{pre}_{n}_reg"),
                Ty::u(w),
                sync,
                0,
                &format!("{what}: {c}"),
            )
        };
        Walk {
            rx: r("rx", 16, "output column"),
            wcy: r("cy", 16, "conv row + pool pad"),
            wcx: r("cx", 16, "conv column + pool pad"),
            wiy: r("iy", 16, "input row"),
            wix: r("ix", 16, "input column"),
            wrel: r("rel", aw, "input byte offset"),
            wrelr: r("relr", aw, "input byte offset at column 0"),
        }
    }

    fn fields(&self) -> [SignalId; 7] {
        [
            self.rx, self.wcy, self.wcx, self.wiy, self.wix, self.wrel, self.wrelr,
        ]
    }

    /// `self <= src`, field by field.
    fn load(&self, p: &mut Proc, src: &Walk) {
        for (d, s) in self.fields().into_iter().zip(src.fields()) {
            p.set(d, s);
        }
    }
}

/// Where the staging ring's bytes are: registers `A[h][i][c]` and
/// `B[h][r][c]`, or block RAM (`staging_ram`).
enum Staging {
    Regs(Vec<Vec<Vec<SignalId>>>, Vec<Vec<Vec<SignalId>>>),
    Ram(RamStaging),
}

/// What lands in the staging ring in a cycle (the same writes the staging
/// registers take): A bytes of one row from memory or the input buffer, a
/// B row from memory or from the weight buffer.
struct StagingWrites {
    /// A bytes land: row `la_idx` of half `la_half`, byte `c` when `a_en[c]`
    /// (which includes `la`), from `a_data` (chunk order).
    la: Expr,
    la_half: Expr,
    la_idx: Expr,
    a_en: Vec<Expr>,
    a_data: Expr,
    /// A B row lands from memory: row `t_idx` of half `t_half`, column `c`
    /// when `bcol[c]`, from `b_data` (COLS bytes).
    land_b: Expr,
    t_half: Expr,
    t_idx: Expr,
    bcol: Vec<Expr>,
    b_data: Expr,
    /// A weight-buffer row lands: row `bp_row` of half `bp_half`, every
    /// column, from `bp_data`. Never in the same cycle as `land_b` (a layer
    /// streams its weights or keeps them on chip).
    bp: Expr,
    bp_half: Expr,
    bp_row: Expr,
    bp_data: Expr,
    /// A chunk starts in half `hp`: its bytes are unwritten again.
    chunk_go: Expr,
    hp: SignalId,
}

/// The staging ring in block RAM (`EngineConfig::staging_ram`): the same
/// bytes on the same cycles as the staging registers.
///
/// A RAM per array row holds the row's CB bytes of each half (address: the
/// half), one RAM the B rows of COLS bytes (address: half and row). Both are
/// read every cycle at the beat the feeder holds after the edge, so the word
/// is there when the registers would show it; a write in that same edge
/// (which the RAM's read does not see) is kept in a forwarding register and
/// merged. The registers were cleared when a chunk started; here a flag per
/// half and row (A) and per half and column (B) says whether the chunk wrote
/// it, and an unwritten row or column reads as zero (a padded pixel, a
/// column past the group). Every byte a chunk feeds is either written or
/// zero in that sense: a row inside the image gets all `n` bytes, a column
/// of the group all `n` rows.
struct RamStaging {
    /// Per row: the RAM's word, and the forwarding register.
    a_rd: Vec<SignalId>,
    b_rd: SignalId,
    a_raddr: SignalId,
    b_raddr: SignalId,
    /// `[h][i]`: row `i` of half `h` was written by its chunk.
    a_wr: Vec<Vec<SignalId>>,
    /// `[h][c]`: column `c` of half `h` was written by its chunk.
    b_wr: Vec<Vec<SignalId>>,
    fa_v: Vec<SignalId>,
    fa_strb: SignalId,
    fa_data: SignalId,
    fb_v: SignalId,
    fb_strb: SignalId,
    fb_data: SignalId,
    cb: u32,
    cols: u32,
}

impl RamStaging {
    #[allow(clippy::too_many_arguments)]
    fn build(
        m: &mut Module,
        sync: DomainId,
        clk: SignalId,
        (sa, sb): (&Module, &Module),
        w: &StagingWrites,
        (rows, cols, cb): (u32, u32, u32),
    ) -> Result<Self, GenError> {
        let cbb = clog2(u64::from(cb));
        let a_raddr = m.wire("sa_rd_addr", Ty::u(HB), "half of the beat after this edge");
        let b_raddr = m.wire(
            "sb_rd_addr",
            Ty::u(cbb + HB),
            "half and B row of the beat after this edge",
        );
        let a_strb = Expr::concat(w.a_en.clone());
        let mut a_rd = Vec::new();
        let mut a_hit = Vec::new();
        for i in 0..rows {
            let hit = m.wire_of(
                &format!("sa{i}_we"),
                w.la.clone() & w.la_idx.clone().cmp_eq(k(16, i)),
                "A bytes of this row land",
            );
            let rd = m.wire(
                &format!("sa{i}_rd"),
                Ty::u(8 * cb),
                "the row's bytes of the half",
            );
            m.inst(sa, &format!("u_sa{i}"))
                .connect("clk", clk)
                .connect("wr_en", hit)
                .connect("wr_addr", w.la_half.clone())
                .connect("wr_data", w.a_data.clone())
                .connect("wr_strb", a_strb.clone())
                .connect("rd_en", Expr::bit(true))
                .connect("rd_addr", a_raddr)
                .out("rd_data", rd)
                .finish()?;
            a_rd.push(rd);
            a_hit.push(hit);
        }
        let b_waddr = m.wire_of(
            "sb_wr_addr",
            Expr::mux(
                w.land_b.clone(),
                Expr::concat(vec![w.t_idx.clone().slice(0, cbb), w.t_half.clone()]),
                Expr::concat(vec![w.bp_row.clone().slice(0, cbb), w.bp_half.clone()]),
            ),
            "",
        );
        let b_strb = m.wire_of(
            "sb_wr_strb",
            Expr::mux(
                w.land_b.clone(),
                Expr::concat(w.bcol.clone()),
                Expr::concat((0..cols).map(|_| w.bp.clone()).collect()),
            ),
            "",
        );
        let b_we = m.wire_of("sb_we", w.land_b.clone() | w.bp.clone(), "a B row lands");
        let b_wdata = m.wire_of(
            "sb_wr_data",
            Expr::mux(w.land_b.clone(), w.b_data.clone(), w.bp_data.clone()),
            "",
        );
        let b_rd = m.wire("sb_rd", Ty::u(8 * cols), "the B row of the beat");
        m.inst(sb, "u_sb")
            .connect("clk", clk)
            .connect("wr_en", b_we)
            .connect("wr_addr", b_waddr)
            .connect("wr_data", b_wdata)
            .connect("wr_strb", b_strb)
            .connect("rd_en", Expr::bit(true))
            .connect("rd_addr", b_raddr)
            .out("rd_data", b_rd)
            .finish()?;

        // Forwarding: what the RAMs' reads of this edge miss.
        let fa_v: Vec<SignalId> = (0..rows)
            .map(|i| {
                m.reg_reset(
                    &format!("sa{i}_fw_reg"),
                    Ty::u(1),
                    sync,
                    0,
                    "this row's read missed the bytes written with it",
                )
            })
            .collect();
        let fa_strb = m.reg_in("sa_fw_strb_reg", Ty::u(cb), sync, "which bytes");
        let fa_data = m.reg_in("sa_fw_data_reg", Ty::u(8 * cb), sync, "the bytes");
        let fb_v = m.reg_reset(
            "sb_fw_reg",
            Ty::u(1),
            sync,
            0,
            "the B read missed the row written with it",
        );
        let fb_strb = m.reg_in("sb_fw_strb_reg", Ty::u(cols), sync, "which columns");
        let fb_data = m.reg_in("sb_fw_data_reg", Ty::u(8 * cols), sync, "the bytes");
        let mut p = Proc::sync(sync).with_comment(
            "Staging RAM: writes the reads of this edge miss, and the written flags.",
        );
        for (i, &v) in fa_v.iter().enumerate() {
            p.set(
                v,
                Expr::from(a_hit[i]) & w.la_half.clone().cmp_eq(Expr::from(a_raddr)),
            );
        }
        p.set(fa_strb, a_strb.clone());
        p.set(fa_data, w.a_data.clone());
        p.set(
            fb_v,
            Expr::from(b_we) & Expr::from(b_waddr).cmp_eq(Expr::from(b_raddr)),
        );
        p.set(fb_strb, b_strb);
        p.set(fb_data, b_wdata);
        // Written flags: cleared when the half's chunk starts, set by a write.
        let mut flag = |m: &mut Module, name: String, what: &str, clear: &Expr, hit: Expr| {
            let f = m.reg_reset(&name, Ty::u(1), sync, 0, what);
            p.if_(clear.clone(), |p| {
                p.set(f, Expr::bit(false));
            })
            .elif(hit, |p| {
                p.set(f, Expr::bit(true));
            });
            f
        };
        let a_any = m.wire_of(
            "sa_we_any",
            Expr::or_all(w.a_en.clone(), Ty::u(1)),
            "some byte of the A word lands",
        );
        let mut a_wr = Vec::new();
        let mut b_wr = Vec::new();
        for h in 0..HALVES {
            let clear = w.chunk_go.clone() & Expr::from(w.hp).cmp_eq(k(HB, h));
            let a_here = w.la_half.clone().cmp_eq(k(HB, h)) & a_any;
            let b_here = Expr::from(b_we)
                & Expr::mux(
                    w.land_b.clone(),
                    w.t_half.clone().cmp_eq(k(HB, h)),
                    w.bp_half.clone().cmp_eq(k(HB, h)),
                );
            a_wr.push(
                (0..rows)
                    .map(|i| {
                        flag(
                            m,
                            format!("sa{h}_{i}_wr_reg"),
                            "the chunk of this half wrote this row",
                            &clear,
                            Expr::from(a_hit[i as usize]) & a_here.clone(),
                        )
                    })
                    .collect::<Vec<_>>(),
            );
            b_wr.push(
                (0..cols)
                    .map(|c| {
                        flag(
                            m,
                            format!("sb{h}_{c}_wr_reg"),
                            "the chunk of this half wrote this column",
                            &clear,
                            b_here.clone() & Expr::from(b_strb).bit_at(c),
                        )
                    })
                    .collect::<Vec<_>>(),
            );
        }
        m.process(p);
        Ok(RamStaging {
            a_rd,
            b_rd,
            a_raddr,
            b_raddr,
            a_wr,
            b_wr,
            fa_v,
            fa_strb,
            fa_data,
            fb_v,
            fb_strb,
            fb_data,
            cb,
            cols,
        })
    }

    /// The beat's A column and B row: the RAMs' words with the forwarded
    /// write merged, byte `fb` of each row, unwritten rows and columns zero.
    /// `fp_next`/`fb_next`: the beat after this edge, read now.
    fn read(
        &self,
        m: &mut Module,
        fp: SignalId,
        fb: SignalId,
        fp_next: Expr,
        fb_next: Expr,
    ) -> (Expr, Expr) {
        let cbb = clog2(u64::from(self.cb));
        m.assign(self.a_raddr, fp_next.clone());
        m.assign(
            self.b_raddr,
            Expr::concat(vec![fb_next.slice(0, cbb), fp_next]),
        );
        let byte = |e: Expr, i: u32| e.slice(8 * i, 8);
        let by_fp = |v: Vec<Expr>| -> Expr { select(v, Some(fp), HB) };
        // Byte `c` of a RAM word, or of the write forwarded past its read.
        let merged = |hit: Expr, strb: SignalId, data: SignalId, rd: SignalId, c: u32| {
            Expr::mux(
                hit & Expr::from(strb).bit_at(c),
                byte(data.into(), c),
                byte(rd.into(), c),
            )
        };
        let a_parts: Vec<Expr> = self
            .a_rd
            .iter()
            .enumerate()
            .map(|(i, &rd)| {
                let word = Expr::concat(
                    (0..self.cb)
                        .map(|c| merged(self.fa_v[i].into(), self.fa_strb, self.fa_data, rd, c))
                        .collect(),
                );
                let w = m.wire_of(&format!("sa{i}_word"), word, "the row's bytes, forwarded");
                let b = select(
                    (0..self.cb).map(|c| byte(w.into(), c)).collect(),
                    Some(fb),
                    8,
                );
                let written = by_fp(self.a_wr.iter().map(|h| Expr::from(h[i])).collect());
                Expr::mux(written, b, k(8, 0))
            })
            .collect();
        let b_parts: Vec<Expr> = (0..self.cols)
            .map(|c| {
                let v = merged(self.fb_v.into(), self.fb_strb, self.fb_data, self.b_rd, c);
                let written = by_fp(
                    self.b_wr
                        .iter()
                        .map(|h| Expr::from(h[c as usize]))
                        .collect(),
                );
                Expr::mux(written, v, k(8, 0))
            })
            .collect();
        (Expr::concat(a_parts), Expr::concat(b_parts))
    }
}

pub fn build(cfg: &EngineConfig, parts: Parts<'_>) -> Result<Module, GenError> {
    let pm = cfg.programming_model();
    // Every address inside the engine is `aw` bits: the checks refuse a layer
    // past 2^aw, so arithmetic modulo 2^aw is exact.
    let aw = pm.limits.addr_bits;
    let ta = Ty::u(aw);
    let (rows, cols) = (cfg.rows, cfg.cols);
    let mb = cfg.mem_bits / 8;
    let mbb = clog2(u64::from(mb));
    let wd = Words { mbb, aw };
    let cb = cfg.chunk_bytes();
    let cbb = clog2(u64::from(cb));
    let tl = tag_layout(cfg);
    let tag_bits = tl.bits();
    // A tag of a constant kind.
    let tag = |kind: u32, half, idx, q, off, cnt, end| {
        tag_e(&tl, k(3, kind), half, idx, q, off, cnt, end)
    };
    let mut m = Module::new(cfg.name.clone());
    m.doc(format!(
        "Tile-based int8 conv/FC engine: {rows} x {cols} array, {}-bit memory port.",
        cfg.mem_bits
    ))
    .doc("Runs a list of layer descriptors from memory: docs/engine-contract.md is the contract,")
    .doc("docs/engine.md the design; the manifest carries the register map and layouts.");

    // ---------------------------------------------------------------- ports
    let EnginePorts {
        clk,
        rst,
        csr,
        irq,
        mem,
        sync,
    } = EnginePorts::declare(&mut m, cfg);

    // ---------------------------------------------------------------- shared wires
    let reads_idle = m.wire("reads_idle", bit(), "no read queued, offered or in flight");
    let nl_idle = m.wire(
        "gen_reads_idle",
        bit(),
        "no read other than the input loader's is queued or in flight",
    );
    let out_idle = m.wire(
        "out_idle",
        bit(),
        "no tile in the array or the output path, no write pending",
    );
    let rq_ready = m.wire("rq_ready", bit(), "the request FIFO takes a read");
    let rq_valid = m.wire("rq_valid", bit(), "a read enters the request FIFO");
    let rq_addr = m.wire("rq_addr", ta, "its word address");
    let rq_tag = m.wire("rq_tag", Ty::u(tag_bits), "its tag");
    let gen_valid = m.wire("gen_valid", bit(), "the generator offers a read");
    let gen_addr = m.wire("gen_addr", ta, "");
    let gen_tag = m.wire("gen_tag", Ty::u(tag_bits), "");
    let pf_valid = m.wire("pf_valid", bit(), "the prefetcher offers a read");
    let pf_raddr = m.wire("pf_addr", ta, "");
    let pf_tag = m.wire("pf_tag", Ty::u(tag_bits), "");
    let info_ready = m.wire("info_ready", bit(), "the tile-info FIFO has room");
    let info_valid = m.wire("info_valid", bit(), "the generator pushes a tile's info");
    let info_data = m.wire("info_data", Ty::u(info_bits(cfg)), "");
    let chunk_go = m.wire(
        "chunk_go",
        bit(),
        "the generator starts a chunk in staging half hp_reg",
    );
    let rec_bad = m.reg_reset(
        "rec_bad_reg",
        bit(),
        sync,
        0,
        "a checked channel record is out of range",
    );
    let start_go = m.wire("start_go", bit(), "ctrl.start written while idle");

    // ---------------------------------------------------------------- descriptor
    let dwords = ce::DESCRIPTOR_BYTES / mb;
    let desc_w: Vec<SignalId> = (0..dwords)
        .map(|w| {
            m.reg_in(
                &format!("desc_w{w}_reg"),
                Ty::u(cfg.mem_bits),
                sync,
                "descriptor word",
            )
        })
        .collect();
    let desc_all = Expr::concat(desc_w.iter().map(|&s| Expr::from(s)).collect());
    let d = super::desc::fields(&mut m, &pm, &desc_all)?;
    let d_op = d.op;
    let (in_addr, in_h, in_w, in_c) = (d.in_addr, d.in_h, d.in_w, d.in_c);
    let (w_addr, ch_addr, out_addr, out_c) = (d.w_addr, d.ch_addr, d.out_addr, d.out_c);
    let (k_h, k_w, s_h, s_w, dl_h, dl_w) = (d.k_h, d.k_w, d.s_h, d.s_w, d.dl_h, d.dl_w);
    let (pad_t, pad_l) = (d.pad_t, d.pad_l);
    let (relu, pool_k, pool_s, pool_pad) = (d.relu, d.pool_k, d.pool_s, d.pool_pad);
    let ty16 = Ty::u(16);
    let ty8 = Ty::u(8);
    let lim = &pm.limits;

    // ---------------------------------------------------------------- registers
    let regs = super::regs::declare(&mut m, sync);
    let (desc_addr_r, desc_count_r) = (regs.desc_addr, regs.desc_count);
    // The list the start ran with: registers written while busy do not change it.
    let run_count = m.reg_reset("run_count_reg", Ty::u(32), sync, 0, "desc_count at start");
    let run_addr = m.reg_reset("run_addr_reg", Ty::u(32), sync, 0, "desc_addr at start");

    // ---------------------------------------------------------------- generator state
    let fsm = m.fsm(
        "state_reg",
        sync,
        &[
            "IDLE", "SCHK", "DREQ", "DWAIT", "CHKA", "CHKB", "CHKC", "SETUP", "CHKD", "RREQ",
            "RWAIT", "GREC", "GRWAIT", "WLOAD", "WLWAIT", "WSTART", "AROW", "INFO", "BROW", "END",
            "GSWAP", "LDRAIN", "ERR", "DONE",
        ],
        "generator state",
    );
    let r16 = |m: &mut Module, n: &str, c: &str| m.reg_reset(n, ty16, sync, 0, c);
    let d_idx = r16(&mut m, "d_idx_reg", "descriptor index");
    let d_addr = m.reg_reset("d_addr_reg", ta, sync, 0, "descriptor address");
    let wcnt = r16(
        &mut m,
        "wcnt_reg",
        "word counter of descriptor/record reads",
    );
    let err_code = m.reg_reset("err_code_reg", ty8, sync, 0, "error found by a check");
    let hc = r16(&mut m, "hc_reg", "conv output height H_c");
    let wc = r16(&mut m, "wc_reg", "conv output width W_c");
    let ho = r16(&mut m, "ho_reg", "output height H_o");
    let wo = r16(&mut m, "wo_reg", "output width W_o");
    let pk = m.reg_reset("pk_reg", ty8, sync, 1, "pool window (1 without pooling)");
    let ps = m.reg_reset("ps_reg", ty8, sync, 1, "pool stride (1 without pooling)");
    let pp = m.reg_reset("pp_reg", ty8, sync, 0, "pool pad");
    let rows_cout = m.reg_reset("rows_cout_reg", ta, sync, 0, "ROWS*C_out");
    let rec_words = r16(&mut m, "rec_words_reg", "words of the record check");
    let co0 = r16(&mut m, "co0_reg", "first output channel of the group");
    let p0 = m.reg_reset(
        "p0_reg",
        Ty::u(24),
        sync,
        0,
        "first output pixel of the tile",
    );
    // The walker's position (`cur`) and the tile's first pixel (`tile`):
    // coordinates and input offsets stepped by adding strides, never multiplied.
    let cur = Walk::regs(&mut m, sync, "w", "walker", aw);
    let tile = Walk::regs(&mut m, sync, "t", "the tile's first pixel", aw);
    let oaddr = m.reg_reset("oaddr_reg", ta, sync, 0, "output address of the tile");
    let wi = m.reg_reset("wi_reg", ty8, sync, 0, "pool window row offset");
    let wj = m.reg_reset("wj_reg", ty8, sync, 0, "pool window column offset");
    let ky = m.reg_reset("ky_reg", ty8, sync, 0, "kernel row");
    let kx = m.reg_reset("kx_reg", ty8, sync, 0, "kernel column");
    let ci0 = r16(&mut m, "ci0_reg", "first input channel of the chunk");
    let hp = m.reg_reset(
        "hp_reg",
        Ty::u(HB),
        sync,
        0,
        "staging buffer the generator fills",
    );
    let first_chunk = m.reg_reset("first_chunk_reg", bit(), sync, 0, "first chunk of a tile");
    let ri = m.reg_reset("ri_reg", ty8, sync, 0, "array row the walker is on");
    // The chunk's offsets from the walker's pixel (pool window, kernel tap,
    // first channel): input rows/columns and bytes, stepped with the loop nest.
    let oyw = m.reg_reset("oyw_reg", ty8, sync, 0, "wi*stride_h");
    let oxw = m.reg_reset("oxw_reg", ty8, sync, 0, "wj*stride_w");
    let oy = m.reg_reset("oy_reg", ty8, sync, 0, "wi*stride_h + ky*dil_h");
    let ox = m.reg_reset("ox_reg", ty8, sync, 0, "wj*stride_w + kx*dil_w");
    let oawr = m.reg_reset("oawr_reg", ta, sync, 0, "bytes of wi*stride_h rows");
    let oaw = m.reg_reset("oaw_reg", ta, sync, 0, "bytes of the window offset");
    let oak = m.reg_reset("oak_reg", ta, sync, 0, "... + ky*dil_h rows");
    let oa = m.reg_reset(
        "oa_reg",
        ta,
        sync,
        0,
        "... + kx*dil_w columns: the tap's bytes",
    );
    let part = m.reg_reset("aq_reg", ty8, sync, 0, "word of the A run being read");
    let b_addr = m.reg_reset("b_addr_reg", ta, sync, 0, "address of the next B row");
    let bj = m.reg_reset("bj_reg", ty8, sync, 0, "B row within the chunk");
    let bq = m.reg_reset("bq_reg", ty8, sync, 0, "word within the B row");
    let mask = m.reg_reset(
        "mask_reg",
        Ty::u(rows),
        sync,
        0,
        "rows whose conv position is inside",
    );
    let ires = m.reg_reset(
        "ires_reg",
        bit(),
        sync,
        0,
        "the layer's input is in the input buffer",
    );
    let wres = m.reg_reset(
        "wres_reg",
        bit(),
        sync,
        0,
        "the group's weights are in the weight buffer",
    );
    let in_words = m.reg_reset(
        "in_words_reg",
        Ty::u(24),
        sync,
        0,
        "words of the input tensor",
    );
    let wk = m.reg_reset(
        "wk_reg",
        Ty::u(24),
        sync,
        0,
        "weight-buffer row being loaded",
    );
    let kbase = m.reg_reset("kbase_reg", Ty::u(24), sync, 0, "first k of the chunk");
    let gpar = m.reg_reset(
        "gpar_reg",
        bit(),
        sync,
        0,
        "parity of the group being computed",
    );
    let group_first = m.reg_reset(
        "group_first_reg",
        bit(),
        sync,
        0,
        "no chunk of the group has started yet",
    );
    let pf_co0 = r16(
        &mut m,
        "pf_co0_reg",
        "first channel of the group being prefetched",
    );
    let pf_par = m.reg_in(
        "pf_par_reg",
        bit(),
        sync,
        "its parity (weight bank and record set)",
    );
    let pf_addr = m.reg_reset("pf_waddr_reg", ta, sync, 0, "prefetcher: next weight row");
    let pf_k = m.reg_reset("pf_k_reg", Ty::u(24), sync, 0, "prefetcher: weight row");
    let pf_q = m.reg_reset("pf_q_reg", ty8, sync, 0, "prefetcher: word of the row");
    let pf_w = r16(&mut m, "pf_w_reg", "prefetcher: record word");
    let inflight: Vec<SignalId> = (0..2)
        .map(|s| {
            m.reg_reset(
                &format!("inflight{s}_reg"),
                Ty::u(3),
                sync,
                0,
                "array tiles of this group parity between info push and pop",
            )
        })
        .collect();
    let il_active = m.reg_reset(
        "il_active_reg",
        bit(),
        sync,
        0,
        "the input loader still has words to request",
    );
    let il_w = m.reg_reset("il_w_reg", Ty::u(24), sync, 0, "input loader: next word");
    let il_landed = m.reg_reset(
        "il_landed_reg",
        Ty::u(24),
        sync,
        0,
        "input words in the input buffer",
    );
    let started = m.reg_reset(
        "started_reg",
        bit(),
        sync,
        0,
        "the chunk has its staging half",
    );

    // Checks (combinational on the descriptor and derived registers).
    let chk = super::desc::checks(
        &mut m,
        &d,
        &super::desc::CheckState {
            sync,
            hc,
            wc,
            run_addr,
            run_count,
        },
        lim,
        mbb,
    );
    let super::desc::Checks {
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
    } = chk;

    // The per-layer products: one sequential multiplier in SETUP,
    // and the output sizes: two stride dividers beside it.
    let pool_num = |m: &mut Module, name: &str, size: SignalId| {
        m.wire_of(
            name,
            Expr::from(size) + z(Expr::from(pp).mul_wide(k(2, 2)), 16) - z(pk, 16),
            "pooled size less one, times the pool stride",
        )
    };
    let pool_h = pool_num(&mut m, "geo_ph", hc);
    let pool_w = pool_num(&mut m, "geo_pw", wc);
    let narrow = |s: SignalId, max: u32| Expr::from(s).slice(0, clog2(u64::from(max) + 1));
    // Registered: the pool pad is set in CHKC, and nothing reads these
    // before SETUP's later steps (the walker's group start comes after CHKD),
    // so a register takes the pad x stride product off SETUP's paths (on the
    // ULX3S it was the engine's critical path, through a DSP block).
    let lead_h = m.reg_in(
        "lead_h_reg",
        ty8,
        sync,
        "input rows above the first window: pool_pad*stride_h + pad_t",
    );
    let lead_w = m.reg_in(
        "lead_w_reg",
        ty8,
        sync,
        "input columns left of the first window",
    );
    let mut plead = Proc::sync(sync).with_comment("The first window's lead, a cycle after CHKC.");
    plead.set(
        lead_h,
        z(
            narrow(pp, lim.pool_k - 1).mul_wide(narrow(s_h, lim.stride)),
            8,
        ) + z(pad_t, 8),
    );
    plead.set(
        lead_w,
        z(
            narrow(pp, lim.pool_k - 1).mul_wide(narrow(s_w, lim.stride)),
            8,
        ) + z(pad_l, 8),
    );
    m.process(plead);
    let in_setup = m.in_state(&fsm, "SETUP");
    let (prod, setup_done) = super::setup::build(
        &mut m,
        sync,
        in_setup,
        &super::setup::Inputs {
            in_h,
            in_w,
            in_c,
            out_c,
            k_h,
            k_w,
            s_h,
            s_w,
            dl_h,
            dl_w,
            ho,
            wo,
            ps,
            lead_h,
            lead_w,
            conv_h,
            conv_w,
            pool_h,
            pool_w,
            hc,
            wc,
        },
        lim,
    )?;
    m.allow_unused(
        ho,
        "H_o is below 2048 under the limits: SETUP reads its low bits",
    );
    m.allow_unused(
        ps,
        "the pool stride is at most 4: only its low bits are read",
    );
    let howo = m.wire_of("howo", z(prod.howo, 24), "output pixels H_o*W_o");
    let kk = m.wire_of("kk", z(prod.kk, 24), "K = k_h*k_w*in_c");

    // Loop bounds and per-cycle address arithmetic (combinational).
    let gw = m.wire_of(
        "gw",
        min(k(16, cols), z(out_c, 16) - Expr::from(co0), 16).resize(8),
        "live columns of the group",
    );
    let n = m.wire_of(
        "n",
        min(k(16, cb), z(in_c, 16) - Expr::from(ci0), 16).resize(8),
        "beats of this chunk",
    );
    let last_ci = m.wire_of(
        "last_ci",
        (z(ci0, 17) + k(17, cb)).cmp_ge(z(in_c, 17)),
        "the chunk holds the last input channels",
    );
    let last_kx = m.wire_of("last_kx", Expr::from(kx).cmp_eq(z(k_w, 8) - k(8, 1)), "");
    let last_ky = m.wire_of("last_ky", Expr::from(ky).cmp_eq(z(k_h, 8) - k(8, 1)), "");
    let chunk_last = m.wire_of(
        "chunk_last",
        Expr::from(last_ci) & last_kx & last_ky,
        "the chunk closes the array tile",
    );
    let last_wj = m.wire_of(
        "last_wj",
        Expr::from(wj).cmp_eq(Expr::from(pk) - k(8, 1)),
        "",
    );
    let last_wi = m.wire_of(
        "last_wi",
        Expr::from(wi).cmp_eq(Expr::from(pk) - k(8, 1)),
        "",
    );
    let last_tile = m.wire_of(
        "last_tile",
        (z(p0, 25) + k(25, rows)).cmp_ge(z(howo, 25)),
        "the tile holds the last output pixels",
    );
    let last_group = m.wire_of(
        "last_group",
        (z(co0, 17) + k(17, cols)).cmp_ge(z(out_c, 17)),
        "the group holds the last output channels",
    );
    let last_row = m.wire_of("last_row", Expr::from(ri).cmp_eq(k(8, rows - 1)), "");
    // Walker step to the next pixel in raster order.
    let rx_end = m.wire_of(
        "rx_end",
        Expr::from(cur.rx).cmp_eq(Expr::from(wo) - k(16, 1)),
        "",
    );
    let ps16 = z(narrow(ps, lim.pool_s.max(1)), 16);
    let step_y = m.wire_of(
        "step_y",
        z(
            narrow(ps, lim.pool_s.max(1)).mul_wide(narrow(s_h, lim.stride)),
            16,
        ),
        "input rows from one output row to the next",
    );
    let step_x = m.wire_of(
        "step_x",
        z(
            narrow(ps, lim.pool_s.max(1)).mul_wide(narrow(s_w, lim.stride)),
            16,
        ),
        "",
    );
    let neg16 = |e: SignalId| k(16, 0) - z(e, 16);
    let row_ad = Expr::from(cur.wrelr) + z(prod.ays, aw);
    let nxt = Walk {
        rx: m.wire_of(
            "w_rx_next",
            Expr::mux(rx_end, k(16, 0), Expr::from(cur.rx) + k(16, 1)),
            "the walker's next position",
        ),
        wcy: m.wire_of(
            "w_cy_next",
            Expr::mux(
                rx_end,
                Expr::from(cur.wcy) + ps16.clone(),
                Expr::from(cur.wcy),
            ),
            "",
        ),
        wcx: m.wire_of(
            "w_cx_next",
            Expr::mux(rx_end, k(16, 0), Expr::from(cur.wcx) + ps16),
            "",
        ),
        wiy: m.wire_of(
            "w_iy_next",
            Expr::mux(rx_end, Expr::from(cur.wiy) + step_y, Expr::from(cur.wiy)),
            "",
        ),
        wix: m.wire_of(
            "w_ix_next",
            Expr::mux(rx_end, neg16(lead_w), Expr::from(cur.wix) + step_x),
            "",
        ),
        wrel: m.wire_of(
            "w_rel_next",
            Expr::mux(
                rx_end,
                row_ad.clone(),
                Expr::from(cur.wrel) + z(prod.axs, aw),
            ),
            "",
        ),
        wrelr: m.wire_of(
            "w_relr_next",
            Expr::mux(rx_end, row_ad, Expr::from(cur.wrelr)),
            "",
        ),
    };

    // A row: conv position, input position, address.
    let live = m.wire_of(
        "row_live",
        (z(p0, 24) + z(ri, 24)).cmp_lt(Expr::from(howo)),
        "the row's output pixel exists",
    );
    let cyp = m.wire_of(
        "cyp",
        Expr::from(cur.wcy) + z(wi, 16),
        "conv row + pool pad",
    );
    let cxp = m.wire_of("cxp", Expr::from(cur.wcx) + z(wj, 16), "");
    let cin = m.wire_of(
        "conv_in",
        Expr::from(cyp).cmp_ge(z(pp, 16))
            & (Expr::from(cyp) - z(pp, 16)).cmp_lt(hc)
            & Expr::from(cxp).cmp_ge(z(pp, 16))
            & (Expr::from(cxp) - z(pp, 16)).cmp_lt(wc),
        "the conv position is inside the conv output",
    );
    // Negative input positions wrap to values above any allowed in_h/in_w.
    let iy = m.wire_of("iy", Expr::from(cur.wiy) + z(oy, 16), "input row");
    let ix = m.wire_of("ix", Expr::from(cur.wix) + z(ox, 16), "input column");
    let iin = m.wire_of(
        "input_in",
        Expr::from(iy).cmp_lt(z(in_h, 16)) & Expr::from(ix).cmp_lt(z(in_w, 16)),
        "the input position is inside the image",
    );
    let a_rel = m.wire_of(
        "a_rel",
        Expr::from(cur.wrel) + Expr::from(oa) + z(ci0, aw),
        "the run's offset in the input tensor",
    );
    let a_addr = m.wire_of(
        "a_addr",
        z(in_addr, aw) + Expr::from(a_rel),
        "first byte of the row's run",
    );
    // In the input buffer a word is a chunk (CB bytes); in memory a memory word.
    let a_off = m.wire_of(
        "a_off",
        Expr::mux(
            ires,
            z(Expr::from(a_rel).slice(0, cbb), 6),
            z(Expr::from(a_addr).slice(0, mbb), 6),
        ),
        "first byte of the run in its word",
    );
    let a_nw = m.wire_of(
        "a_nw",
        z(
            Expr::mux(
                ires,
                (z(a_off, 9) + z(n, 9) - k(9, 1)) >> k(4, cbb),
                (z(a_off, 9) + z(n, 9) - k(9, 1)) >> k(4, mbb),
            ) + k(9, 1),
            8,
        ),
        "words of the run",
    );
    let a_lastw = m.wire_of(
        "a_lastw",
        Expr::from(part).cmp_eq(Expr::from(a_nw) - k(8, 1)),
        "the run's last word",
    );
    let row_req = m.wire_of(
        "row_req",
        Expr::from(live) & cin & iin,
        "the row reads memory",
    );
    let a_word = m.wire_of("a_word", wd.nth(a_addr.into(), part.into()), "");
    // B row: COLS (gw) weight bytes of one k.
    let (b_off, b_word, b_lastw) = weight_row_run(&mut m, "b", b_addr, gw, bq, wd);
    let b_lastrow = m.wire_of(
        "b_lastrow",
        Expr::from(bj).cmp_eq(Expr::from(n) - k(8, 1)),
        "",
    );
    // Group records.
    let (g_words, g_word) = record_run(&mut m, "g", ch_addr, co0, gw, wcnt, wd);
    let g_idx = m.wire_of(
        "g_idx",
        z((Expr::from(g_word) - z(ch_addr, aw)) >> k(4, mbb), tl.idx),
        "word index from ch_addr",
    );

    let code = |name: &str| -> Result<Expr, GenError> {
        Ok(k(8, pm.error_code(name).map_err(GenError::Internal)?))
    };
    let (c_bad_op, c_zero, c_large, c_geo, c_align, c_wrap, c_req) = (
        code("bad_op")?,
        code("zero_size")?,
        code("too_large")?,
        code("bad_geometry")?,
        code("misaligned")?,
        code("address_wrap")?,
        code("bad_requant")?,
    );

    // A failed check records its code and stops the layer.
    let fail = |p: &mut Proc, code: &Expr| {
        p.set(err_code, code.clone());
        p.goto("ERR");
    };

    // ---------------------------------------------------------------- generator FSM
    let mask_next = m.wire_of(
        "mask_next",
        Expr::concat(
            (0..rows)
                .map(|r| {
                    Expr::mux(
                        Expr::from(ri).cmp_eq(k(8, r)),
                        Expr::from(cin),
                        Expr::from(mask).bit_at(r),
                    )
                })
                .collect(),
        ),
        "the mask with this row's bit",
    );
    // Start of an array tile (one pool window offset of a pixel tile) whose
    // first pixel is at (y0, x0).
    let wstart_body = |p: &mut Proc, start: &Walk| {
        p.set(ky, k(8, 0));
        p.set(kx, k(8, 0));
        p.set(ci0, k(16, 0));
        p.set(kbase, k(24, 0));
        p.set(first_chunk, Expr::bit(true));
        p.set(mask, Expr::zero(Ty::u(rows)));
        p.set(b_addr, z(w_addr, aw) + z(co0, aw));
        p.set(ri, k(8, 0));
        cur.load(p, start);
        p.set(part, k(8, 0));
        p.set(bj, k(8, 0));
        p.set(bq, k(8, 0));
        p.set(started, Expr::bit(false));
    };
    // A new pixel tile or group: window offset (0, 0), tap (0, 0).
    let offsets_zero = |p: &mut Proc| {
        for r in [oyw, oxw, oy, ox] {
            p.set(r, k(8, 0));
        }
        for r in [oawr, oaw, oak, oa] {
            p.set(r, k(aw, 0));
        }
    };
    // End of a chunk: step the loop nest (shared by END and the fast path of AROW).
    // `next`: the next tile's first pixel (the walker's next position when
    // the chunk ends with its last row, else the walker, which stepped there).
    let end_body = |p: &mut Proc, next: &Walk| {
        p.set(hp, Expr::from(hp) + k(HB, 1));
        p.set(first_chunk, Expr::bit(false));
        p.set(started, Expr::bit(false));
        p.set(kbase, Expr::from(kbase) + z(n, 24));
        p.set(ri, k(8, 0));
        cur.load(p, &tile);
        p.set(part, k(8, 0));
        p.set(bj, k(8, 0));
        p.set(bq, k(8, 0));
        p.set(ci0, Expr::from(ci0) + k(16, cb));
        p.if_(last_ci, |p| {
            p.set(ci0, k(16, 0));
            p.set(kx, Expr::from(kx) + k(8, 1));
            p.set(ox, Expr::from(ox) + z(dl_w, 8));
            p.set(oa, Expr::from(oa) + z(prod.akx, aw));
            p.if_(last_kx, |p| {
                p.set(kx, k(8, 0));
                p.set(ky, Expr::from(ky) + k(8, 1));
                p.set(ox, oxw);
                p.set(oy, Expr::from(oy) + z(dl_h, 8));
                let row = Expr::from(oak) + z(prod.aky, aw);
                p.set(oak, row.clone());
                p.set(oa, row);
            });
        });
        p.if_(!Expr::from(chunk_last), |p| {
            p.goto("AROW");
        })
        .elif(!(Expr::from(last_wj) & last_wi), |p| {
            p.set(wj, Expr::from(wj) + k(8, 1));
            let xw = Expr::from(oxw) + z(s_w, 8);
            p.set(oxw, xw.clone());
            p.set(ox, xw);
            p.set(oy, oyw);
            let wsum = Expr::from(oaw) + z(prod.awj, aw);
            for r in [oaw, oak, oa] {
                p.set(r, wsum.clone());
            }
            p.if_(last_wj, |p| {
                p.set(wj, k(8, 0));
                p.set(wi, Expr::from(wi) + k(8, 1));
                p.set(oxw, k(8, 0));
                p.set(ox, k(8, 0));
                let yw = Expr::from(oyw) + z(s_h, 8);
                p.set(oyw, yw.clone());
                p.set(oy, yw);
                let ar = Expr::from(oawr) + z(prod.awi, aw);
                for r in [oawr, oaw, oak, oa] {
                    p.set(r, ar.clone());
                }
            });
            wstart_body(p, &tile);
            p.goto("AROW");
        })
        .elif(!Expr::from(last_tile), |p| {
            p.set(wi, k(8, 0));
            p.set(wj, k(8, 0));
            p.set(p0, Expr::from(p0) + k(24, rows));
            tile.load(p, next);
            offsets_zero(p);
            p.set(oaddr, Expr::from(oaddr) + Expr::from(rows_cout));
            wstart_body(p, next);
            p.goto("AROW");
        })
        .elif(!Expr::from(last_group), |p| {
            p.set(co0, Expr::from(co0) + k(16, cols));
            p.set(wcnt, k(16, 0));
            p.set(gpar, !Expr::from(gpar));
            // Both operands on chip: the prefetcher loads the next group meanwhile.
            p.if_(Expr::from(ires) & wres, |p| {
                p.goto("GSWAP");
            })
            .else_(|p| {
                p.goto("GREC");
            });
        })
        .else_(|p| {
            p.goto("LDRAIN");
        });
    };
    let wrap = super::desc::wrap(&mut m, &d, &prod, lim);
    let mut p = Proc::sync(sync).with_comment(
        "Generator: descriptor fetch, checks, then the loop nest of docs/engine.md, one read per cycle.",
    );
    let rq_fire = Expr::from(gen_valid) & rq_ready;
    let pf_fsm = m.fsm(
        "pf_state_reg",
        sync,
        &["PIDLE", "PW", "PRW", "PREC", "PWT", "PDONE"],
        "prefetcher of the next group's weights and records",
    );
    let pf_done = m.in_state(&pf_fsm, "PDONE");
    let pf_idle = m.in_state(&pf_fsm, "PIDLE");
    let par_busy: Vec<SignalId> = (0..2)
        .map(|s| {
            m.wire_of(
                &format!("par_busy{s}"),
                Expr::from(inflight[s]).cmp_ne(k(3, 0)),
                "a tile of this parity is in the array or the output path",
            )
        })
        .collect();
    let busy_cur = m.wire_of(
        "par_busy_cur",
        Expr::mux(gpar, Expr::from(par_busy[1]), Expr::from(par_busy[0])),
        "tiles of the current parity are in flight",
    );
    let busy_other = m.wire_of(
        "par_busy_pf",
        Expr::mux(pf_par, Expr::from(par_busy[1]), Expr::from(par_busy[0])),
        "tiles of the prefetched group's parity are still in flight",
    );
    let in_arow = m.in_state(&fsm, "AROW");
    let go_ok = m.wire(
        "go_ok",
        bit(),
        "a staging half (and the weight reader) is free for a chunk",
    );
    let a_gate = m.wire_of(
        "a_gate",
        Expr::from(started) | go_ok,
        "the walker may issue",
    );
    let run_loaded = m.wire_of(
        "run_loaded",
        (z(a_rel, 32) + z(n, 32)).cmp_le(z(Expr::from(il_landed).mul_wide(k(8, mb)), 32)),
        "the input loader has put the run's bytes in the input buffer",
    );
    let a_fire = m.wire_of(
        "a_fire",
        Expr::from(a_gate) & Expr::mux(ires, Expr::from(run_loaded), Expr::from(rq_ready)),
        "an A read leaves (to the input buffer or the request FIFO)",
    );
    let a_step = m.wire_of(
        "a_step",
        Expr::from(a_gate) & (!Expr::from(row_req) | (Expr::from(a_fire) & a_lastw)),
        "the walker moves to the next row",
    );
    let a_mem = in_arow.clone() & !Expr::from(ires);
    let dlast = k(16, dwords - 1);
    // A group's first tile: pixel 0, window offset (0, 0), its output column.
    let group_start = |p: &mut Proc| {
        p.set(p0, k(24, 0));
        p.set(tile.rx, k(16, 0));
        p.set(tile.wcy, k(16, 0));
        p.set(tile.wcx, k(16, 0));
        p.set(tile.wiy, k(16, 0) - z(lead_h, 16));
        p.set(tile.wix, k(16, 0) - z(lead_w, 16));
        let rel0 = k(aw, 0) - z(prod.lead, aw);
        p.set(tile.wrel, rel0.clone());
        p.set(tile.wrelr, rel0);
        offsets_zero(p);
        p.set(oaddr, z(out_addr, aw) + z(co0, aw));
        p.set(wi, k(8, 0));
        p.set(wj, k(8, 0));
        p.set(group_first, Expr::bit(true));
    };
    // One weight-row word read from memory (group load or streamed B):
    // after a row's last word, step to the next row and run `row_done`.
    let weight_word = |p: &mut Proc, row_done: &dyn Fn(&mut Proc)| {
        p.if_(rq_fire.clone(), |p| {
            p.set(bq, Expr::from(bq) + k(8, 1));
            p.if_(b_lastw, |p| {
                p.set(bq, k(8, 0));
                p.set(b_addr, Expr::from(b_addr) + z(out_c, aw));
                row_done(p);
            });
        });
    };
    // A run of word reads counted by `wcnt`: on to `next` after word `last`.
    let word_run = |p: &mut Proc, last: Expr, next: &str| {
        p.if_(rq_fire.clone(), |p| {
            p.set(wcnt, Expr::from(wcnt) + k(16, 1));
            p.if_(Expr::from(wcnt).cmp_eq(last), |p| {
                p.goto(next);
            });
        });
    };
    p.fsm(&fsm)
        .state("IDLE", |p| {
            p.if_(start_go, |p| {
                p.set(d_idx, k(16, 0));
                p.set(d_addr, z(desc_addr_r, aw));
                p.set(run_addr, desc_addr_r);
                p.set(run_count, desc_count_r);
                p.goto("SCHK");
            });
        })
        .state("SCHK", |p| {
            p.set(wcnt, k(16, 0));
            p.if_(Expr::from(run_count).cmp_eq(k(32, 0)), |p| {
                p.goto("DONE");
            })
            .elif(s_bad_count, |p| {
                fail(p, &c_large);
            })
            .elif(s_misaligned, |p| {
                fail(p, &c_align);
            })
            .elif(s_wrap, |p| {
                fail(p, &c_wrap);
            })
            .else_(|p| {
                p.goto("DREQ");
            });
        })
        .state("DREQ", |p| word_run(p, dlast.clone(), "DWAIT"))
        .state("DWAIT", |p| {
            p.if_(reads_idle, |p| {
                p.goto("CHKA");
            });
        })
        .state("CHKA", |p| {
            p.if_(Expr::from(d_op).cmp_ne(k(32, 0)), |p| {
                fail(p, &c_bad_op);
            })
            .elif(zero_size, |p| {
                fail(p, &c_zero);
            })
            .elif(too_large, |p| {
                fail(p, &c_large);
            })
            .else_(|p| {
                p.goto("CHKB");
            });
        })
        .state("CHKB", |p| {
            p.if_(geo1_bad, |p| {
                fail(p, &c_geo);
            })
            .else_(|p| {
                p.goto("CHKC");
            });
        })
        .state("CHKC", |p| {
            // The pool registers the dividers read; the pooling and
            // alignment rules wait for the conv output size (CHKD).
            p.set(pk, Expr::mux(pool_on, Expr::from(pool_k), k(8, 1)));
            p.set(ps, Expr::mux(pool_on, Expr::from(pool_s), k(8, 1)));
            p.set(pp, Expr::mux(pool_on, Expr::from(pool_pad), k(8, 0)));
            p.goto("SETUP");
        })
        .state("SETUP", |p| {
            p.if_(setup_done, |p| {
                p.goto("CHKD");
            });
        })
        .state("CHKD", |p| {
            p.set(rows_cout, z(Expr::from(out_c).mul_wide(k(8, rows)), aw));
            p.set(
                rec_words,
                z(
                    (z(Expr::from(out_c).mul_wide(k(4, 8)), 20) + k(20, mb - 1)) >> k(4, mbb),
                    16,
                ),
            );
            p.set(wcnt, k(16, 0));
            p.set(
                in_words,
                z((z(prod.in_size, 48) + k(48, mb - 1)) >> k(4, mbb), 24),
            );
            p.set(ires, z(prod.in_size, 48).cmp_le(k(48, cfg.ibuf_bytes)));
            p.set(wres, Expr::from(kk).cmp_le(k(24, cfg.wbuf_rows)));
            // In the order of the contract's rules: bad_geometry (pooling),
            // misaligned, address_wrap.
            p.if_(geo2_bad, |p| {
                fail(p, &c_geo);
            })
            .elif(misaligned, |p| {
                fail(p, &c_align);
            })
            .elif(wrap, |p| {
                fail(p, &c_wrap);
            })
            .else_(|p| {
                p.goto("RREQ");
            });
        })
        .state("RREQ", |p| {
            word_run(p, Expr::from(rec_words) - k(16, 1), "RWAIT")
        })
        .state("RWAIT", |p| {
            p.set(co0, k(16, 0));
            p.set(gpar, Expr::bit(false));
            p.set(wcnt, k(16, 0));
            p.if_(reads_idle, |p| {
                p.if_(rec_bad, |p| {
                    fail(p, &c_req);
                })
                .else_(|p| {
                    // The input loader fills the input buffer from here on,
                    // behind every other read; the walker waits for its words.
                    p.goto("GREC");
                });
            });
        })
        .state("GREC", |p| {
            word_run(p, Expr::from(g_words) - k(16, 1), "GRWAIT")
        })
        .state("GRWAIT", |p| {
            group_start(p);
            p.set(wk, k(24, 0));
            p.set(bq, k(8, 0));
            p.set(b_addr, z(w_addr, aw) + z(co0, aw));
            p.if_(nl_idle, |p| {
                p.if_(wres, |p| {
                    p.goto("WLOAD");
                })
                .else_(|p| {
                    p.goto("WSTART");
                });
            });
        })
        .state("WLOAD", |p| {
            weight_word(p, &|p: &mut Proc| {
                p.set(wk, Expr::from(wk) + k(24, 1));
                p.if_(Expr::from(wk).cmp_eq(Expr::from(kk) - k(24, 1)), |p| {
                    p.goto("WLWAIT");
                });
            });
        })
        .state("WLWAIT", |p| {
            p.if_(nl_idle, |p| {
                p.goto("WSTART");
            });
        })
        .state("WSTART", |p| {
            wstart_body(p, &tile);
            p.goto("AROW");
        })
        .state("AROW", |p| {
            p.if_(chunk_go, |p| {
                p.set(started, Expr::bit(true));
                p.set(group_first, Expr::bit(false));
            });
            // A row without a read, or the last word of its run, moves the walker.
            p.if_(Expr::from(row_req) & a_fire & !Expr::from(a_lastw), |p| {
                p.set(part, Expr::from(part) + k(8, 1));
            });
            p.if_(a_step, |p| {
                p.set(part, k(8, 0));
                p.set(ri, Expr::from(ri) + k(8, 1));
                cur.load(p, &nxt);
                p.if_(first_chunk, |p| {
                    p.set(mask, mask_next);
                });
                p.if_(last_row, |p| {
                    p.if_(Expr::from(first_chunk) & !Expr::from(info_ready), |p| {
                        p.goto("INFO");
                    })
                    .elif(Expr::from(wres) & ires, |p| {
                        // Both operands on chip: the chunk ends with its last row.
                        end_body(p, &nxt);
                    })
                    .elif(wres, |p| {
                        p.goto("END");
                    })
                    .else_(|p| {
                        p.goto("BROW");
                    });
                });
            });
        })
        .state("INFO", |p| {
            p.if_(info_ready, |p| {
                p.if_(wres, |p| {
                    p.goto("END");
                })
                .else_(|p| {
                    p.goto("BROW");
                });
            });
        })
        .state("BROW", |p| {
            weight_word(p, &|p: &mut Proc| {
                p.set(bj, Expr::from(bj) + k(8, 1));
                p.if_(b_lastrow, |p| {
                    p.goto("END");
                });
            });
        })
        .state("END", |p| {
            // The chunk's A-end marker leaves now (a fence in memory mode).
            p.if_(Expr::from(ires) | rq_ready, |p| {
                end_body(p, &cur);
            });
        })
        .state("GSWAP", |p| {
            group_start(p);
            p.if_(pf_done.clone(), |p| {
                p.goto("WSTART");
            });
        })
        .state("LDRAIN", |p| {
            p.set(wcnt, k(16, 0));
            p.if_(
                Expr::from(out_idle) & reads_idle & !Expr::from(il_active),
                |p| {
                    p.set(d_idx, Expr::from(d_idx) + k(16, 1));
                    p.set(d_addr, Expr::from(d_addr) + k(aw, ce::DESCRIPTOR_BYTES));
                    p.if_(
                        z(Expr::from(d_idx) + k(16, 1), 32).cmp_eq(Expr::from(run_count)),
                        |p| {
                            p.goto("DONE");
                        },
                    )
                    .else_(|p| {
                        p.goto("DREQ");
                    });
                },
            );
        })
        .state("ERR", |p| {
            p.goto("IDLE");
        })
        .state("DONE", |p| {
            p.goto("IDLE");
        });
    m.process(p);

    let st = |m: &mut Module, s: &str| m.in_state(&fsm, s);
    let in_dreq = st(&mut m, "DREQ");
    let in_rreq = st(&mut m, "RREQ");
    let in_grec = st(&mut m, "GREC");
    let in_rwait = st(&mut m, "RWAIT");
    let in_wload = st(&mut m, "WLOAD");
    let in_brow = st(&mut m, "BROW");
    let in_end = st(&mut m, "END");
    let in_info = st(&mut m, "INFO");
    let in_idle = st(&mut m, "IDLE");
    let in_err = st(&mut m, "ERR");
    let in_done = st(&mut m, "DONE");
    let zero = || k(1, 0);
    let word_at = |base: SignalId| z(base, aw) + z(Expr::from(wcnt).mul_wide(k(8, mb)), aw);
    let simple = |kind: u32, idx: Expr| tag(kind, zero(), idx, k(8, 0), k(6, 0), k(8, 0), zero());
    let mut c = Proc::comb().with_comment("The read the generator offers in each state.");
    c.set(gen_valid, Expr::bit(false));
    c.set(gen_addr, k(aw, 0));
    c.set(gen_tag, Expr::zero(Ty::u(tag_bits)));
    c.if_(in_dreq, |c| {
        c.set(gen_valid, Expr::bit(true));
        c.set(gen_addr, word_at(d_addr));
        c.set(gen_tag, simple(KIND_DESC, wcnt.into()));
    })
    .elif(in_rreq, |c| {
        c.set(gen_valid, Expr::bit(true));
        c.set(gen_addr, word_at(ch_addr));
        c.set(gen_tag, simple(KIND_RCHK, wcnt.into()));
    })
    .elif(in_grec, |c| {
        c.set(gen_valid, !Expr::from(busy_cur));
        c.set(gen_addr, g_word);
        c.set(
            gen_tag,
            tag(
                KIND_RLOAD,
                gpar.into(),
                g_idx.into(),
                k(8, 0),
                k(6, 0),
                k(8, 0),
                zero(),
            ),
        );
    })
    .elif(a_mem, |c| {
        c.set(gen_valid, Expr::from(row_req) & a_gate);
        c.set(gen_addr, a_word);
        c.set(
            gen_tag,
            tag(
                KIND_A,
                hp.into(),
                ri.into(),
                part.into(),
                a_off.into(),
                n.into(),
                zero(),
            ),
        );
    })
    .elif(in_brow | in_wload.clone(), |c| {
        c.set(gen_valid, Expr::bit(true));
        c.set(gen_addr, b_word);
        let kind = Expr::mux(in_wload.clone(), k(3, KIND_WLOAD), k(3, KIND_B));
        let idx = Expr::mux(in_wload.clone(), z(wk, 16), z(bj, 16));
        c.set(
            gen_tag,
            tag_e(
                &tl,
                kind,
                Expr::mux(in_wload.clone(), z(gpar, HB), Expr::from(hp)),
                idx,
                Expr::from(bq),
                Expr::from(b_off),
                Expr::from(gw),
                Expr::from(b_lastw) & b_lastrow & !in_wload.clone(),
            ),
        );
    })
    .elif(in_end.clone() & !Expr::from(ires), |c| {
        c.set(gen_valid, Expr::bit(true));
        c.set(
            gen_tag,
            tag(
                KIND_FENCE,
                hp.into(),
                k(16, 0),
                k(8, 0),
                k(6, 0),
                k(8, 0),
                zero(),
            ),
        );
    });
    m.process(c);

    // Prefetcher: with both operands on chip the port is free while a group
    // computes; it loads the next group's weights (into the other weight-buffer
    // bank) and, once no tile of the other parity is in flight, its records.
    let pf_gw = m.wire_of(
        "pf_gw",
        min(k(16, cols), z(out_c, 16) - Expr::from(pf_co0), 16).resize(8),
        "live columns of the prefetched group",
    );
    let (pf_off, pf_word, pf_lastw) = weight_row_run(&mut m, "pf", pf_addr, pf_gw, pf_q, wd);
    let (pf_gwords, pf_gword) = record_run(&mut m, "pf_g", ch_addr, pf_co0, pf_gw, pf_w, wd);
    let in_pw = m.in_state(&pf_fsm, "PW");
    let in_prec = m.in_state(&pf_fsm, "PREC");
    let in_gswap = m.in_state(&fsm, "GSWAP");
    let pf_fire = m.wire_of(
        "pf_fire",
        Expr::from(pf_valid) & !Expr::from(gen_valid) & rq_ready,
        "a prefetch read enters the request FIFO",
    );
    let other = z(pf_par, HB);
    m.assign(pf_valid, in_pw.clone() | in_prec.clone());
    m.assign(
        pf_raddr,
        Expr::mux(in_pw.clone(), Expr::from(pf_word), Expr::from(pf_gword)),
    );
    m.assign(
        pf_tag,
        Expr::mux(
            in_pw.clone(),
            tag(
                KIND_WLOAD,
                other.clone(),
                z(pf_k, 16),
                pf_q.into(),
                z(pf_off, 6),
                pf_gw.into(),
                zero(),
            ),
            tag(
                KIND_RLOAD,
                other,
                z((Expr::from(pf_gword) - z(ch_addr, aw)) >> k(4, mbb), 16),
                k(8, 0),
                k(6, 0),
                k(8, 0),
                zero(),
            ),
        ),
    );
    // Input loader: the whole input tensor, word by word, behind every other read.
    let il_valid = m.wire_of(
        "il_valid",
        Expr::from(il_active),
        "the input loader offers a read",
    );
    let il_fire = m.wire_of(
        "il_fire",
        Expr::from(il_valid) & !Expr::from(gen_valid) & !Expr::from(pf_valid) & rq_ready,
        "",
    );
    let il_addr = z(in_addr, aw) + z(Expr::from(il_w).mul_wide(k(8, mb)), aw);
    let il_tag = tag(
        KIND_ILOAD,
        k(HB, 0),
        z(il_w, 16),
        k(8, 0),
        k(6, 0),
        k(8, 0),
        zero(),
    );
    m.assign(rq_valid, Expr::from(gen_valid) | pf_valid | il_valid);
    m.assign(
        rq_addr,
        Expr::mux(
            gen_valid,
            Expr::from(gen_addr),
            Expr::mux(pf_valid, Expr::from(pf_raddr), il_addr),
        ),
    );
    m.assign(
        rq_tag,
        Expr::mux(
            gen_valid,
            Expr::from(gen_tag),
            Expr::mux(pf_valid, Expr::from(pf_tag), il_tag),
        ),
    );
    let mut sil = Proc::sync(sync).with_comment("Input loader word counter.");
    sil.if_(in_rwait.clone() & reads_idle & !Expr::from(rec_bad), |p| {
        p.set(il_active, ires);
        p.set(il_w, k(24, 0));
    })
    .elif(il_fire, |p| {
        p.set(il_w, Expr::from(il_w) + k(24, 1));
        p.if_(
            Expr::from(il_w).cmp_eq(Expr::from(in_words) - k(24, 1)),
            |p| {
                p.set(il_active, Expr::bit(false));
            },
        );
    });
    m.process(sil);
    let mut pfp = Proc::sync(sync).with_comment("Prefetcher of the next group.");
    pfp.fsm(&pf_fsm)
        .state("PIDLE", |p| {
            p.if_(
                Expr::from(chunk_go) & group_first & ires & wres & !Expr::from(last_group),
                |p| {
                    p.set(pf_co0, Expr::from(co0) + k(16, cols));
                    p.set(pf_par, !Expr::from(gpar));
                    p.set(pf_k, k(24, 0));
                    p.set(pf_q, k(8, 0));
                    p.set(pf_w, k(16, 0));
                    p.set(pf_addr, z(w_addr, aw) + z(co0, aw) + k(aw, cols));
                    p.goto("PW");
                },
            );
        })
        .state("PW", |p| {
            p.if_(pf_fire, |p| {
                p.set(pf_q, Expr::from(pf_q) + k(8, 1));
                p.if_(pf_lastw, |p| {
                    p.set(pf_q, k(8, 0));
                    p.set(pf_k, Expr::from(pf_k) + k(24, 1));
                    p.set(pf_addr, Expr::from(pf_addr) + z(out_c, aw));
                    p.if_(Expr::from(pf_k).cmp_eq(Expr::from(kk) - k(24, 1)), |p| {
                        p.goto("PRW");
                    });
                });
            });
        })
        .state("PRW", |p| {
            p.if_(!Expr::from(busy_other), |p| {
                p.goto("PREC");
            });
        })
        .state("PREC", |p| {
            p.if_(pf_fire, |p| {
                p.set(pf_w, Expr::from(pf_w) + k(16, 1));
                p.if_(
                    Expr::from(pf_w).cmp_eq(Expr::from(pf_gwords) - k(16, 1)),
                    |p| {
                        p.goto("PWT");
                    },
                );
            });
        })
        .state("PWT", |p| {
            p.if_(nl_idle, |p| {
                p.goto("PDONE");
            });
        })
        .state("PDONE", |p| {
            p.if_(in_gswap.clone(), |p| {
                p.goto("PIDLE");
            });
        });
    m.process(pfp);

    // ---------------------------------------------------------------- staging halves
    let alloc: Vec<SignalId> = (0..HALVES)
        .map(|h| {
            m.reg_reset(
                &format!("alloc{h}_reg"),
                bit(),
                sync,
                0,
                "half taken by a chunk",
            )
        })
        .collect();
    let a_done: Vec<SignalId> = (0..HALVES)
        .map(|h| {
            m.reg_reset(
                &format!("a_done{h}_reg"),
                bit(),
                sync,
                0,
                "the half's A bytes landed",
            )
        })
        .collect();
    let b_done: Vec<SignalId> = (0..HALVES)
        .map(|h| {
            m.reg_reset(
                &format!("b_done{h}_reg"),
                bit(),
                sync,
                0,
                "the half's B bytes landed",
            )
        })
        .collect();
    let full: Vec<SignalId> = (0..HALVES)
        .map(|h| {
            m.wire_of(
                &format!("full{h}"),
                Expr::from(a_done[h as usize]) & b_done[h as usize],
                "the half is complete",
            )
        })
        .collect();
    let half_n: Vec<SignalId> = (0..HALVES)
        .map(|h| m.reg_reset(&format!("half_n{h}_reg"), ty8, sync, 0, "beats of the half"))
        .collect();
    let half_last: Vec<SignalId> = (0..HALVES)
        .map(|h| {
            m.reg_reset(
                &format!("half_last{h}_reg"),
                bit(),
                sync,
                0,
                "the half closes a tile",
            )
        })
        .collect();
    let hp_taken = select(alloc.iter().map(|&a| Expr::from(a)).collect(), Some(hp), HB);
    let bf_busy = m.reg_reset(
        "bf_busy_reg",
        bit(),
        sync,
        0,
        "the weight reader fills a half",
    );
    m.assign(
        go_ok,
        !hp_taken & (!Expr::from(wres) | !Expr::from(bf_busy)),
    );
    m.assign(chunk_go, in_arow.clone() & !Expr::from(started) & go_ok);

    // Response landing.
    let tag_valid = m.wire("tag_valid", bit(), "a read is in flight (tag FIFO head)");
    let tag_head = m.wire("tag_head", Ty::u(tag_bits), "its tag");
    let t_kind = m.wire_of("t_kind", Expr::from(tag_head).slice(0, 3), "");
    let fence_head = m.wire_of(
        "fence_head",
        Expr::from(tag_valid) & Expr::from(t_kind).cmp_eq(k(3, KIND_FENCE)),
        "a fence heads the tag FIFO: it leaves without a response",
    );
    let resp = m.wire_of(
        "resp_fire",
        Expr::from(mem.resp_valid) & tag_valid & !Expr::from(fence_head),
        "a read response lands",
    );
    let tag_pop = m.wire_of("tag_pop", Expr::from(resp) | fence_head, "");
    m.assign(mem.resp_ready, !Expr::from(fence_head));
    let t_half = m.wire_of("t_half", Expr::from(tag_head).slice(3, HB), "");
    // The fields zero-extended to the widths the landing logic was written
    // for (idx 16, q 8, off 6, cnt 8).
    let (at_idx, at_q, at_off, at_cnt, at_end) = tl.at();
    let field = |t: SignalId, at: u32, w: u32, to: u32| z(Expr::from(t).slice(at, w), to);
    let t_idx = m.wire_of("t_idx", field(tag_head, at_idx, tl.idx, 16), "");
    let t_q = m.wire_of("t_q", field(tag_head, at_q, tl.q, 8), "");
    let t_off = m.wire_of("t_off", field(tag_head, at_off, tl.off, 6), "");
    let t_cnt = m.wire_of("t_cnt", field(tag_head, at_cnt, tl.cnt, 8), "");
    let t_end = m.wire_of("t_end", Expr::from(tag_head).slice(at_end, 1), "");
    let is_kind = |m: &mut Module, kind: u32, name: &str| {
        m.wire_of(
            name,
            Expr::from(resp) & Expr::from(t_kind).cmp_eq(k(3, kind)),
            "",
        )
    };
    let land_desc = is_kind(&mut m, KIND_DESC, "land_desc");
    let land_rchk = is_kind(&mut m, KIND_RCHK, "land_rchk");
    let land_rload = is_kind(&mut m, KIND_RLOAD, "land_rload");
    let land_a = is_kind(&mut m, KIND_A, "land_a");
    let land_b = is_kind(&mut m, KIND_B, "land_b");
    let land_iload = is_kind(&mut m, KIND_ILOAD, "land_iload");
    let land_wload = is_kind(&mut m, KIND_WLOAD, "land_wload");
    // Reads other than the input loader's in flight: the generator's waits
    // (records, weights, prefetch) must not wait for the whole input.
    let nl_out = m.reg_reset(
        "nl_out_reg",
        Ty::u(10),
        sync,
        0,
        "non-loader reads in flight",
    );
    let nl_push = Expr::from(rq_valid) & rq_ready & !Expr::from(il_fire);
    let nl_pop = (Expr::from(resp) & !Expr::from(land_iload)) | fence_head;
    let mut snl =
        Proc::sync(sync).with_comment("Read bookkeeping: loader words landed, others in flight.");
    snl.if_(land_iload, |p| {
        p.set(il_landed, Expr::from(il_landed) + k(24, 1));
    });
    snl.if_(in_rwait.clone(), |p| {
        p.set(il_landed, k(24, 0));
    });
    snl.if_(nl_push.clone() & !nl_pop.clone(), |p| {
        p.set(nl_out, Expr::from(nl_out) + k(10, 1));
    })
    .elif(nl_pop & !nl_push, |p| {
        p.set(nl_out, Expr::from(nl_out) - k(10, 1));
    });
    m.process(snl);
    m.assign(
        nl_idle,
        Expr::from(nl_out).cmp_eq(k(10, 0)) & !Expr::from(gen_valid) & !Expr::from(pf_valid),
    );
    let rdata = Expr::from(mem.resp_rdata);
    let byte = |e: &Expr, i: u32| e.clone().slice(8 * i, 8);
    // The response rotated so that byte c is word byte (c + off) mod MB.
    let rot_parts: Vec<Expr> = (0..mb)
        .map(|c| {
            let opts: Vec<Expr> = (0..mb).map(|o| byte(&rdata, (c + o) % mb)).collect();
            select(opts, Some(t_off), 6)
        })
        .collect();
    let rot = m.wire_of(
        "resp_rot",
        Expr::concat(rot_parts),
        "response rotated by the tag's offset",
    );
    let rot_e = Expr::from(rot);
    m.allow_unused(
        rot,
        "B columns use the bytes they need; narrow arrays leave some",
    );

    let mut sp =
        Proc::sync(sync).with_comment("Descriptor words and record checks from responses.");
    for (w, &reg) in desc_w.iter().enumerate() {
        sp.if_(
            Expr::from(land_desc) & Expr::from(t_idx).cmp_eq(k(16, w as u32)),
            |p| {
                p.set(reg, rdata.clone());
            },
        );
    }
    // Record check: every record slot of the word.
    let rec_slot_bad = |mult: Expr, shift: Expr| mult.cmp_eq(k(16, 0)) | shift.cmp_gt(k(8, 31));
    let mut bad_terms = Vec::new();
    if mb >= 8 {
        for s in 0..mb / 8 {
            let rec = z(Expr::from(t_idx).mul_wide(k(8, mb / 8)), 24) + k(24, s);
            let inside = rec.cmp_lt(z(out_c, 24));
            bad_terms.push(
                inside
                    & rec_slot_bad(
                        rdata.clone().slice(64 * s + 32, 16),
                        rdata.clone().slice(64 * s + 48, 8),
                    ),
            );
        }
    } else {
        bad_terms.push(
            Expr::from(t_idx).bit_at(0)
                & rec_slot_bad(rdata.clone().slice(0, 16), rdata.clone().slice(16, 8)),
        );
    }
    let any_bad = Expr::or_all(bad_terms, bit());
    sp.if_(Expr::from(land_rchk) & any_bad, |p| {
        p.set(rec_bad, Expr::bit(true));
    });
    let in_chkd = st(&mut m, "CHKD");
    sp.if_(in_idle.clone() | in_chkd, |p| {
        p.set(rec_bad, Expr::bit(false));
    });
    m.process(sp);

    // Group records: bias, mult, shift per column, two sets (group parity), so
    // the next group's records load while this group's tiles drain.
    let set_regs = |m: &mut Module, name: &str, ty: Ty| -> Vec<Vec<SignalId>> {
        (0..2)
            .map(|s| {
                (0..cols)
                    .map(|j| m.reg_in(&format!("{name}{s}_{j}_reg"), ty, sync, "channel record"))
                    .collect()
            })
            .collect()
    };
    let bias = set_regs(&mut m, "bias", Ty::u(32));
    let mult = set_regs(&mut m, "mult", ty16);
    // The record check keeps a shift in 0..=31: five bits are stored.
    let shift = set_regs(&mut m, "shift", Ty::u(5));
    let mut sr = Proc::sync(sync).with_comment("Channel records of a group from responses.");
    for set in 0..2usize {
        let mine = Expr::from(land_rload) & Expr::from(t_half).bit_at(0).cmp_eq(k(1, set as u32));
        // The group being loaded: this one (serial load) or the next (prefetch).
        let base = Expr::mux(
            !pf_idle.clone() & Expr::from(pf_par).cmp_eq(k(1, set as u32)),
            Expr::from(pf_co0),
            Expr::from(co0),
        );
        for j in 0..cols as usize {
            let target = z(base.clone(), 24) + k(24, j as u32);
            let (b, mu, sh) = (bias[set][j], mult[set][j], shift[set][j]);
            if mb >= 8 {
                for sl in 0..mb / 8 {
                    let rec = z(Expr::from(t_idx).mul_wide(k(8, mb / 8)), 24) + k(24, sl);
                    let hit = mine.clone() & rec.cmp_eq(target.clone());
                    let rd = rdata.clone();
                    sr.if_(hit, move |p| {
                        p.set(b, rd.clone().slice(64 * sl, 32));
                        p.set(mu, rd.clone().slice(64 * sl + 32, 16));
                        p.set(sh, rd.slice(64 * sl + 48, 5));
                    });
                }
            } else {
                let rec = z(Expr::from(t_idx) >> k(1, 1), 24);
                let hit = mine.clone() & rec.cmp_eq(target.clone());
                let rd = rdata.clone();
                let odd = Expr::from(t_idx).bit_at(0);
                sr.if_(hit, move |p| {
                    p.if_(odd, |p| {
                        p.set(mu, rd.clone().slice(0, 16));
                        p.set(sh, rd.clone().slice(16, 5));
                    })
                    .else_(|p| {
                        p.set(b, rd.clone());
                    });
                });
            }
        }
    }
    m.process(sr);

    // Staging bytes: A[h][i][c] and B[h][r][c], in registers unless `staging_ram`.
    let staging_regs = parts.staging.is_none().then(|| {
        let a_reg: Vec<Vec<Vec<SignalId>>> = (0..HALVES)
            .map(|h| {
                (0..rows)
                    .map(|i| {
                        (0..cb)
                            .map(|c| {
                                m.reg_in(&format!("sa{h}_{i}_{c}_reg"), ty8, sync, "A staging byte")
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let b_reg: Vec<Vec<Vec<SignalId>>> = (0..HALVES)
            .map(|h| {
                (0..cb)
                    .map(|r| {
                        (0..cols)
                            .map(|c| {
                                m.reg_in(&format!("sb{h}_{r}_{c}_reg"), ty8, sync, "B staging byte")
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        (a_reg, b_reg)
    });
    // Input buffer: the whole input tensor when it fits (ILOAD), read by the walker.
    let ib_words = cfg.ibuf_bytes / cb;
    let ib_aw = clog2(u64::from(ib_words)).max(1);
    let wb_aw = clog2(u64::from(cfg.wbuf_rows)).max(1);
    // The weight buffer holds two banks of wbuf_rows (group parity in the top bit).
    let ib_rd = m.wire("ibuf_rd_data", Ty::u(8 * cb), "input buffer word (a chunk)");
    let ib_strb: Expr = if cb == mb {
        Expr::uconst(mb, (1u128 << mb) - 1)
    } else {
        let lane = Expr::from(t_idx).slice(0, cbb - mbb);
        Expr::concat(
            (0..cb / mb)
                .map(|l| {
                    let on = lane.clone().cmp_eq(k(cbb - mbb, l));
                    Expr::concat((0..mb).map(|_| on.clone()).collect())
                })
                .collect(),
        )
    };
    let a_ib = m.wire_of(
        "a_ibuf",
        in_arow.clone() & ires & row_req & a_fire,
        "the walker reads the input buffer",
    );
    let ib_raddr = m.wire_of(
        "ibuf_rd_addr",
        z((Expr::from(a_rel) >> k(4, cbb)) + z(part, aw), ib_aw),
        "",
    );
    m.inst(parts.ibuf, "u_ibuf")
        .connect("clk", clk)
        .connect("wr_en", land_iload)
        .connect("wr_addr", z(Expr::from(t_idx) >> k(4, cbb - mbb), ib_aw))
        .connect(
            "wr_data",
            Expr::concat((0..cb / mb).map(|_| rdata.clone()).collect()),
        )
        .connect("wr_strb", ib_strb)
        .connect("rd_en", a_ib)
        .connect("rd_addr", ib_raddr)
        .out("rd_data", ib_rd)
        .finish()?;
    // One cycle later the word is there; its tag waits in these registers.
    let ipv = m.reg_reset("ipv_reg", bit(), sync, 0, "an input-buffer word arrives");
    let ip_tag = m.reg_in("ip_tag_reg", Ty::u(tag_bits), sync, "its tag");
    let ipe = m.reg_reset(
        "ipe_reg",
        bit(),
        sync,
        0,
        "an A-end marker of the input buffer path",
    );
    let ipe_h = m.reg_in("ipe_half_reg", Ty::u(HB), sync, "its half");
    let mut sip = Proc::sync(sync).with_comment("Input-buffer read pipeline.");
    sip.set(ipv, a_ib);
    sip.set(
        ip_tag,
        tag(
            KIND_A,
            hp.into(),
            ri.into(),
            part.into(),
            a_off.into(),
            n.into(),
            k(1, 0),
        ),
    );
    let fast_end =
        in_arow.clone() & a_step & last_row & (!Expr::from(first_chunk) | info_ready) & wres & ires;
    sip.set(ipe, (in_end.clone() & ires) | fast_end);
    sip.set(ipe_h, hp);
    m.process(sip);
    // The A landing: from the input buffer or from memory.
    let la = m.wire_of(
        "land_a_any",
        Expr::mux(ires, Expr::from(ipv), Expr::from(land_a)),
        "A bytes land",
    );
    let la_tag = m.wire_of(
        "la_tag",
        Expr::mux(ires, Expr::from(ip_tag), Expr::from(tag_head)),
        "",
    );
    m.allow_unused(
        la_tag,
        "the A landing needs half, row, part, offset and count only",
    );
    let la_half = Expr::from(la_tag).slice(3, HB);
    let la_idx = field(la_tag, at_idx, tl.idx, 16);
    let la_q = field(la_tag, at_q, tl.q, 8);
    let la_off = m.wire_of("la_off", field(la_tag, at_off, tl.off, 6), "");
    let la_cnt = field(la_tag, at_cnt, tl.cnt, 8);
    // The A word rotated so that byte c is word byte (c + off) mod width: from
    // the input buffer a chunk-wide word, from memory the response (`rot`).
    let rotcb_parts: Vec<Expr> = (0..cb)
        .map(|c| {
            let opts: Vec<Expr> = (0..cb)
                .map(|o| byte(&Expr::from(ib_rd), (c + o) % cb))
                .collect();
            select(opts, Some(la_off), 6)
        })
        .collect();
    let rotcb = m.wire_of(
        "ibuf_rot",
        Expr::concat(rotcb_parts),
        "input-buffer word rotated",
    );
    let rota_parts: Vec<Expr> = (0..cb)
        .map(|c| {
            Expr::mux(
                ires,
                byte(&Expr::from(rotcb), c),
                byte(&Expr::from(rot), c % mb),
            )
        })
        .collect();
    let rota = Expr::from(m.wire_of("la_rot", Expr::concat(rota_parts), "A bytes in chunk order"));
    // A: byte c of the chunk lands from word q of the run when
    // (off + c) / width == q and c < n.
    let a_en: Vec<SignalId> = (0..cb)
        .map(|c| {
            let sum = z(la_off, 8) + k(8, c);
            let wq = Expr::mux(ires, sum.clone() >> k(4, cbb), sum >> k(4, mbb));
            let e = Expr::from(la) & wq.cmp_eq(la_q.clone()) & k(8, c).cmp_lt(la_cnt.clone());
            m.wire_of(&format!("a_en{c}"), e, "")
        })
        .collect();
    // B (and weight-buffer rows): column c lands from word q when
    // (off + c) / MB == q and c < gw.
    let bcol: Vec<SignalId> = (0..cols)
        .map(|c| {
            let wq = (z(t_off, 16) + k(16, c)) >> k(4, mbb);
            let e = z(wq, 8).cmp_eq(Expr::from(t_q)) & k(8, c).cmp_lt(Expr::from(t_cnt));
            m.wire_of(&format!("bcol{c}"), e, "")
        })
        .collect();
    // Weight buffer: the group's K rows of COLS bytes (WLOAD), read by the B reader.
    let wb_rd = m.wire("wbuf_rd_data", Ty::u(8 * cols), "weight buffer row");
    let bf_half = m.reg_in(
        "bf_half_reg",
        Ty::u(HB),
        sync,
        "half the weight reader fills",
    );
    let bf_k = m.reg_in("bf_k_reg", Ty::u(24), sync, "first k of its chunk");
    let bf_j = m.reg_in("bf_j_reg", ty8, sync, "row it reads");
    let bf_n = m.reg_in("bf_n_reg", ty8, sync, "rows of the chunk");
    let bf_bank = m.reg_in(
        "bf_bank_reg",
        bit(),
        sync,
        "weight-buffer bank of its group",
    );
    let bf_go = m.wire_of(
        "bf_go",
        Expr::from(chunk_go) & wres,
        "a chunk starts: the weight reader reads its first row now",
    );
    let bf_last = m.wire_of(
        "bf_last",
        Expr::from(bf_j).cmp_eq(Expr::from(bf_n) - k(8, 1)),
        "",
    );
    m.inst(parts.wbuf, "u_wbuf")
        .connect("clk", clk)
        .connect("wr_en", land_wload)
        .connect(
            "wr_addr",
            Expr::concat(vec![z(t_idx, wb_aw), Expr::from(t_half).slice(0, 1)]),
        )
        .connect(
            "wr_data",
            Expr::concat((0..cols).map(|c| byte(&rot_e, c % mb)).collect()),
        )
        .connect(
            "wr_strb",
            Expr::concat(bcol.iter().map(|&b| Expr::from(b)).collect()),
        )
        .connect("rd_en", Expr::from(bf_busy) | bf_go)
        .connect(
            "rd_addr",
            Expr::concat(vec![
                z(
                    Expr::mux(bf_go, Expr::from(kbase), Expr::from(bf_k) + z(bf_j, 24)),
                    wb_aw,
                ),
                Expr::mux(bf_go, Expr::from(gpar), Expr::from(bf_bank)),
            ]),
        )
        .out("rd_data", wb_rd)
        .finish()?;
    let bpv = m.reg_reset("bpv_reg", bit(), sync, 0, "a weight-buffer row arrives");
    let bp_h = m.reg_in("bp_half_reg", Ty::u(HB), sync, "its half");
    let bp_j = m.reg_in("bp_j_reg", ty8, sync, "its row in the chunk");
    let bp_e = m.reg_reset("bp_end_reg", bit(), sync, 0, "it is the chunk's last");
    let mut sbf = Proc::sync(sync).with_comment(
        "Weight reader: a chunk's n rows into its half, the first in the cycle the chunk starts.",
    );
    sbf.set(bpv, Expr::from(bf_busy) | bf_go);
    sbf.set(bp_h, Expr::mux(bf_go, Expr::from(hp), Expr::from(bf_half)));
    sbf.set(bp_j, Expr::mux(bf_go, k(8, 0), Expr::from(bf_j)));
    sbf.set(
        bp_e,
        Expr::mux(
            bf_go,
            Expr::from(n).cmp_eq(k(8, 1)),
            Expr::from(bf_busy) & bf_last,
        ),
    );
    sbf.if_(bf_go, |p| {
        p.set(bf_busy, Expr::from(n).cmp_ne(k(8, 1)));
        p.set(bf_half, hp);
        p.set(bf_bank, gpar);
        p.set(bf_k, kbase);
        p.set(bf_j, k(8, 1));
        p.set(bf_n, n);
    })
    .elif(bf_busy, |p| {
        p.set(bf_j, Expr::from(bf_j) + k(8, 1));
        p.if_(bf_last, |p| {
            p.set(bf_busy, Expr::bit(false));
        });
    });
    m.process(sbf);

    let staging = if let Some((a_reg, b_reg)) = staging_regs {
        let mut ss = Proc::sync(sync)
            .with_comment("Staging: a chunk's half is cleared when it starts, then reads fill it.");
        for h in 0..HALVES {
            let clear = Expr::from(chunk_go) & Expr::from(hp).cmp_eq(k(HB, h));
            let a_here = la_half.clone().cmp_eq(k(HB, h));
            let b_here = Expr::from(t_half).cmp_eq(k(HB, h));
            let bp_here = Expr::from(bpv) & Expr::from(bp_h).cmp_eq(k(HB, h));
            for i in 0..rows {
                let row_hit = a_here.clone() & la_idx.clone().cmp_eq(k(16, i));
                for c in 0..cb {
                    let reg = a_reg[h as usize][i as usize][c as usize];
                    let val = byte(&rota, c);
                    let en = row_hit.clone() & a_en[c as usize];
                    ss.if_(clear.clone(), |p| {
                        p.set(reg, k(8, 0));
                    })
                    .elif(en, |p| {
                        p.set(reg, val);
                    });
                }
            }
            for r in 0..cb {
                let row_hit =
                    Expr::from(land_b) & b_here.clone() & Expr::from(t_idx).cmp_eq(k(16, r));
                let bp_hit = bp_here.clone() & Expr::from(bp_j).cmp_eq(k(8, r));
                for c in 0..cols {
                    let reg = b_reg[h as usize][r as usize][c as usize];
                    let val = byte(&rot_e, c % mb);
                    let wval = byte(&Expr::from(wb_rd), c);
                    let en = row_hit.clone() & bcol[c as usize];
                    ss.if_(clear.clone(), |p| {
                        p.set(reg, k(8, 0));
                    })
                    .elif(en, |p| {
                        p.set(reg, val);
                    })
                    .elif(bp_hit.clone(), |p| {
                        p.set(reg, wval);
                    });
                }
            }
        }
        m.process(ss);
        Staging::Regs(a_reg, b_reg)
    } else if let Some((sa, sb)) = parts.staging {
        m.allow_unused(
            bp_j,
            "the weight reader's row is below CB: the B RAM's address takes its low bits",
        );
        Staging::Ram(RamStaging::build(
            &mut m,
            sync,
            clk,
            (sa, sb),
            &StagingWrites {
                la: la.into(),
                la_half: la_half.clone(),
                la_idx: la_idx.clone(),
                a_en: a_en.iter().map(|&e| Expr::from(e)).collect(),
                a_data: rota.clone(),
                land_b: land_b.into(),
                t_half: t_half.into(),
                t_idx: t_idx.into(),
                bcol: bcol.iter().map(|&e| Expr::from(e)).collect(),
                b_data: Expr::concat((0..cols).map(|c| byte(&rot_e, c % mb)).collect()),
                bp: bpv.into(),
                bp_half: bp_h.into(),
                bp_row: bp_j.into(),
                bp_data: wb_rd.into(),
                chunk_go: chunk_go.into(),
                hp,
            },
            (rows, cols, cb),
        )?)
    } else {
        return Err(GenError::Internal(
            "staging: neither registers nor RAM".into(),
        ));
    };

    // Feeder: a complete half goes to the array, n beats.
    let fp = m.reg_reset(
        "fp_reg",
        Ty::u(HB),
        sync,
        0,
        "staging buffer the feeder reads",
    );
    let by_fp = |v: &[SignalId]| select(v.iter().map(|&x| Expr::from(x)).collect(), Some(fp), HB);
    let fb = m.reg_reset("fb_reg", ty8, sync, 0, "beat within the half");
    let arr_in_valid = m.wire_of("arr_in_valid", by_fp(&full), "");
    let arr_in_ready = m.wire("arr_in_ready", bit(), "");
    let fn_ = m.wire_of("feed_n", by_fp(&half_n), "");
    let feed_last_beat = m.wire_of(
        "feed_last_beat",
        Expr::from(fb).cmp_eq(Expr::from(fn_) - k(8, 1)),
        "",
    );
    let arr_in_last = m.wire_of("arr_in_last", by_fp(&half_last) & feed_last_beat, "");
    let pick = |regs: &[SignalId]| -> Expr {
        select(regs.iter().map(|&s| Expr::from(s)).collect(), Some(fb), 8)
    };
    let feed = m.wire_of(
        "feed_fire",
        Expr::from(arr_in_valid) & arr_in_ready,
        "a beat moves",
    );
    // The beat after this edge: the feeder's registers take it, and the
    // staging RAMs read it a cycle ahead.
    let fb_next = Expr::mux(
        Expr::from(feed) & feed_last_beat,
        k(8, 0),
        Expr::mux(feed, Expr::from(fb) + k(8, 1), Expr::from(fb)),
    );
    let fp_next = Expr::mux(
        Expr::from(feed) & feed_last_beat,
        Expr::from(fp) + k(HB, 1),
        Expr::from(fp),
    );
    let (in_a, in_b) = match &staging {
        Staging::Regs(a_reg, b_reg) => {
            let in_a_parts: Vec<Expr> = (0..rows as usize)
                .map(|i| {
                    select(
                        (0..HALVES as usize).map(|h| pick(&a_reg[h][i])).collect(),
                        Some(fp),
                        HB,
                    )
                })
                .collect();
            let in_b_parts: Vec<Expr> = (0..cols as usize)
                .map(|c| {
                    let col = |h: usize| -> Vec<SignalId> {
                        (0..cb as usize).map(|r| b_reg[h][r][c]).collect()
                    };
                    select(
                        (0..HALVES as usize).map(|h| pick(&col(h))).collect(),
                        Some(fp),
                        HB,
                    )
                })
                .collect();
            (Expr::concat(in_a_parts), Expr::concat(in_b_parts))
        }
        Staging::Ram(st) => st.read(&mut m, fp, fb, fp_next.clone(), fb_next.clone()),
    };
    let arr_in_a = m.wire_of("arr_in_a", in_a, "A column of the beat");
    let arr_in_b = m.wire_of("arr_in_b", in_b, "B row of the beat");
    let mut sf =
        Proc::sync(sync).with_comment("Staging half bookkeeping: allocate, complete, release.");
    sf.set(fb, fb_next);
    sf.set(fp, fp_next);
    for h in 0..HALVES as usize {
        let hk = k(HB, h as u32);
        let rel = Expr::from(feed) & feed_last_beat & Expr::from(fp).cmp_eq(hk.clone());
        let go = Expr::from(chunk_go) & Expr::from(hp).cmp_eq(hk.clone());
        let hk2 = hk.clone();
        let b_end = (Expr::from(land_b) & t_end & Expr::from(t_half).cmp_eq(hk.clone()))
            | (Expr::from(bpv) & bp_e & Expr::from(bp_h).cmp_eq(hk.clone()));
        let a_end = Expr::mux(
            ires,
            Expr::from(ipe) & Expr::from(ipe_h).cmp_eq(hk2.clone()),
            Expr::from(fence_head) & Expr::from(t_half).cmp_eq(hk2),
        );
        let (al, ad, bd, hn, hl) = (alloc[h], a_done[h], b_done[h], half_n[h], half_last[h]);
        sf.if_(go, |p| {
            p.set(al, Expr::bit(true));
            p.set(hn, n);
            p.set(hl, chunk_last);
        })
        .elif(rel.clone(), |p| {
            p.set(al, Expr::bit(false));
        });
        sf.if_(a_end, |p| {
            p.set(ad, Expr::bit(true));
        })
        .elif(rel.clone(), |p| {
            p.set(ad, Expr::bit(false));
        });
        sf.if_(b_end, |p| {
            p.set(bd, Expr::bit(true));
        })
        .elif(rel, |p| {
            p.set(bd, Expr::bit(false));
        });
    }
    m.process(sf);

    // Tile info pushed by the generator in state INFO.
    m.assign(
        info_valid,
        in_info.clone() | (in_arow.clone() & a_step & last_row & first_chunk & info_ready),
    );
    let nvalid = min(k(24, rows), Expr::from(howo) - Expr::from(p0), 24);
    m.assign(
        info_data,
        Expr::concat(vec![
            z(
                Expr::from(wi).cmp_eq(k(8, 0)) & Expr::from(wj).cmp_eq(k(8, 0)),
                1,
            ),
            z(Expr::from(last_wi) & last_wj, 1),
            Expr::mux(in_info.clone(), Expr::from(mask), Expr::from(mask_next)),
            z(nvalid, 8),
            Expr::from(gw),
            Expr::from(oaddr),
            Expr::from(gpar),
        ]),
    );

    // ---------------------------------------------------------------- the array
    let arr_out_valid = m.wire("arr_out_valid", bit(), "");
    let arr_out_ready = m.wire("arr_out_ready", bit(), "");
    let arr_out_c = m.wire("arr_out_c", Ty::u(32 * cols), "a row of C");
    let arr_out_last = m.wire("arr_out_last", bit(), "");
    m.inst(parts.array, "u_array")
        .connect("clk", clk)
        .connect("rst", rst)
        .connect("in_valid", arr_in_valid)
        .out("in_ready", arr_in_ready)
        .connect("in_a", arr_in_a)
        .connect("in_b", arr_in_b)
        .connect("in_last", arr_in_last)
        .out("out_valid", arr_out_valid)
        .connect("out_ready", arr_out_ready)
        .out("out_c", arr_out_c)
        .out("out_last", arr_out_last)
        .finish()?;

    // ---------------------------------------------------------------- output path
    let out = super::output::build(
        &mut m,
        cfg,
        &super::output::OutputIn {
            sync,
            clk,
            arr_out_valid,
            arr_out_ready,
            arr_out_c,
            arr_out_last,
            bias: &bias,
            mult: &mult,
            shift: &shift,
            relu,
            out_c,
            inflight: &inflight,
            info_valid,
            info_ready,
            gpar,
        },
    )?;
    // ---------------------------------------------------------------- port arbiter
    let rq_out_valid = m.wire("rq_out_valid", bit(), "");
    let rq_out_data = m.wire("rq_out_data", Ty::u(aw + tag_bits), "");
    let rq_pop = m.wire("rq_pop", bit(), "");
    let rq_empty = m.wire("rq_empty", bit(), "");
    let tag_in_ready = m.wire("tag_in_ready", bit(), "");
    let tag_empty = m.wire("tag_empty", bit(), "");
    let wr_valid = m.wire("wr_valid", bit(), "");
    let wr_out = m.wire("wr_out", Ty::u(wr_bits(cfg)), "");
    let wr_pop = m.wire("wr_pop", bit(), "");
    let wr_empty = m.wire("wr_empty", bit(), "");
    let preg = PortReg::declare(&mut m, cfg, sync, &mem, aw);
    let (mreq_valid, load) = (preg.valid, preg.load);
    let take_wr = m.wire_of(
        "take_wr",
        Expr::from(load) & wr_valid,
        "a write enters the port",
    );
    let rq_is_fence = m.wire_of(
        "rq_is_fence",
        Expr::from(rq_out_data)
            .slice(aw, 3)
            .cmp_eq(k(3, KIND_FENCE)),
        "the request FIFO head is a fence, not a read",
    );
    let take_rd = m.wire_of(
        "take_rd",
        Expr::from(load)
            & !Expr::from(wr_valid)
            & rq_out_valid
            & tag_in_ready
            & !Expr::from(rq_is_fence),
        "a read enters the port (its tag enters the tag FIFO)",
    );
    let take_fence = m.wire_of(
        "take_fence",
        Expr::from(rq_out_valid) & rq_is_fence & tag_in_ready,
        "a fence goes straight to the tag FIFO",
    );
    m.assign(wr_pop, take_wr);
    m.assign(rq_pop, Expr::from(take_rd) | take_fence);
    preg.build(
        &mut m,
        cfg,
        sync,
        &mem,
        aw,
        take_wr,
        take_rd,
        wr_out,
        Expr::from(rq_out_data).slice(0, aw),
    );
    let rd_pending = Expr::from(mreq_valid) & !Expr::from(preg.write);
    let wr_pending = preg.write_pending();
    m.assign(
        reads_idle,
        Expr::from(rq_empty) & !rd_pending & tag_empty & !Expr::from(rq_valid),
    );
    m.assign(out_idle, out.idle(wr_empty, wr_pending));

    // ---------------------------------------------------------------- FIFO instances
    fifo::instance(
        &mut m,
        parts.rq_fifo,
        "u_rq_fifo",
        clk,
        rst,
        FifoEnds {
            in_valid: rq_valid.into(),
            in_ready: rq_ready,
            in_data: Expr::concat(vec![Expr::from(rq_addr), Expr::from(rq_tag)]),
            out_valid: rq_out_valid,
            out_ready: rq_pop.into(),
            out_data: rq_out_data,
            empty: rq_empty,
        },
    )?;
    fifo::instance(
        &mut m,
        parts.tag_fifo,
        "u_tag_fifo",
        clk,
        rst,
        FifoEnds {
            in_valid: Expr::from(take_rd) | take_fence,
            in_ready: tag_in_ready,
            in_data: Expr::from(rq_out_data).slice(aw, tag_bits),
            out_valid: tag_valid,
            out_ready: tag_pop.into(),
            out_data: tag_head,
            empty: tag_empty,
        },
    )?;
    port::back_fifos(
        &mut m,
        port::BackParts {
            info: parts.info_fifo,
            wjob: parts.wjob_fifo,
            wr: parts.wr_fifo,
        },
        clk,
        rst,
        &out,
        (info_valid, info_ready, info_data),
        &port::WrFifo {
            valid: wr_valid,
            out: wr_out,
            pop: wr_pop,
            empty: wr_empty,
        },
    )?;

    // ---------------------------------------------------------------- register port
    super::regs::build(
        &mut m,
        cfg,
        &pm,
        sync,
        &regs,
        super::regs::RegsIo {
            csr,
            irq,
            start_go,
            busy: !in_idle.clone(),
            idle: in_idle.clone(),
            enter_error: in_err.clone(),
            enter_done: in_done.clone(),
            err_code: err_code.into(),
            desc_index: d_idx.into(),
            increments: [
                z(feed, 64),
                Expr::mux(resp, k(64, mb), k(64, 0)),
                preg.wr_bytes_increment(&mem, mb),
            ],
        },
    )?;
    Ok(m)
}
