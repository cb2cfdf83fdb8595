//! The loader and the lanes of the area-first engine. The loader runs one
//! `Ldr` or `Ldl` at a time: the words of a run (`words(addr, len)`, at most
//! three) go to the port one a cycle (`take_rd`, from the port), and each
//! response word, rotated by the run's offset, lands in the lane (or, for
//! `Ldr`, goes back to the sequencer on `ldr_data`). A lane address with bit
//! 31 set is a padded row: zeros, no read. The lanes are flip-flops: an A
//! lane per array row, a B lane per beat, and per column the output path's
//! record registers.

use useq::isa::{Op, Set};

use crate::ir::{Expr, Module, SignalId, Ty};
use crate::parts::bundle::MemPort;
use crate::parts::ops::{bit, k, select};
use crate::process::{DomainId, Proc};
use crate::util::clog2;
use crate::GenError;

use super::super::config::EngineConfig;
use super::seq;

fn z(e: impl Into<Expr>, w: u32) -> Expr {
    e.into().resize(w)
}

/// The sequencer's command wires (`seq`'s `cmd_*` outputs).
pub(super) struct Cmd {
    pub valid: SignalId,
    pub kind: SignalId,
    pub x: SignalId,
    pub sum: SignalId,
}

impl Cmd {
    /// The sequencer offers `op`.
    pub fn is(&self, op: Op) -> Expr {
        Expr::from(self.valid) & Expr::from(self.kind).cmp_eq(k(seq::KIND_BITS, seq::kind_code(op)))
    }

    /// Its `x` names datapath register `s`.
    pub fn x_is(&self, s: Set) -> Expr {
        Expr::from(self.x).cmp_eq(k(useq::isa::X_BITS, s as u32))
    }
}

/// What the loader reads from the rest of the engine.
pub(super) struct LoaderIn<'a> {
    pub sync: DomainId,
    pub mem: &'a MemPort,
    pub cmd: &'a Cmd,
    /// Datapath registers: beats per chunk (A runs), live columns (B runs).
    pub n_reg: SignalId,
    pub gw_reg: SignalId,
    /// Driven here: `Ldr`'s value.
    pub ldr_data: SignalId,
}

/// The loader's state the engine reads, and the lanes.
pub(super) struct Loader {
    pub busy: SignalId,
    pub ldr: SignalId,
    pub addr: SignalId,
    left: SignalId,
    left_bits: u32,
    /// A wire the port drives: it takes the loader's read.
    pub take_rd: SignalId,
    /// A read response moves.
    pub resp: SignalId,
    /// `[row][byte]`, `[beat][column]`.
    pub a_lanes: Vec<Vec<SignalId>>,
    pub b_lanes: Vec<Vec<SignalId>>,
    /// Per column: the output path's record registers.
    pub bias: Vec<SignalId>,
    pub mult: Vec<SignalId>,
    pub shift: Vec<SignalId>,
}

impl Loader {
    /// The loader has a word to request.
    pub fn wants_read(&self) -> Expr {
        Expr::from(self.busy) & Expr::from(self.left).cmp_ne(k(self.left_bits, 0))
    }
}

/// Build the loader and the lanes into `m`.
pub(super) fn build(
    m: &mut Module,
    cfg: &EngineConfig,
    io: LoaderIn<'_>,
) -> Result<Loader, GenError> {
    let LoaderIn {
        sync,
        mem,
        cmd,
        n_reg,
        gw_reg,
        ldr_data,
    } = io;
    let pm = cfg.programming_model();
    let u = cfg.micro();
    let aw = pm.limits.addr_bits;
    let ta = Ty::u(aw);
    let (rows, cols) = (cfg.rows, cfg.cols);
    let mb = cfg.mem_bits / 8;
    // Words are 4 bytes or more (mem_bits 32, 64, 128): mbb >= 2.
    let mbb = clog2(u64::from(mb));
    let cb = u.chunk();
    let rb = pm.channel_record.bytes;
    let lane_bits = clog2(u64::from(u.lanes())).max(1);
    // Longest run a lane takes, and its words.
    let maxlen = cb.max(cols).max(rb);
    let len_bits = clog2(u64::from(maxlen) + 1);
    let maxw = (mb - 1 + maxlen - 1) / mb + 1;
    let wbits = clog2(u64::from(maxw) + 1);
    let ty8 = Ty::u(8);
    let ld_busy = m.reg_reset("ld_busy_reg", bit(), sync, 0, "a load is in progress");
    let ld_ldr = m.reg_in(
        "ld_ldr_reg",
        bit(),
        sync,
        "it is an Ldr (the sequencer waits)",
    );
    let ld_zero = m.reg_in(
        "ld_zero_reg",
        bit(),
        sync,
        "it is a padded row: zeros, no read",
    );
    let ld_lane = m.reg_in("ld_lane_reg", Ty::u(lane_bits), sync, "its lane");
    let ld_off = m.reg_in(
        "ld_off_reg",
        Ty::u(mbb),
        sync,
        "its first byte in the first word",
    );
    let ld_len = m.reg_in("ld_len_reg", Ty::u(len_bits), sync, "its bytes");
    let ld_addr = m.reg_in("ld_addr_reg", ta, sync, "next word to request");
    let ld_left = m.reg_in("ld_left_reg", Ty::u(wbits), sync, "words still to request");
    let ld_q = m.reg_in("ld_q_reg", Ty::u(wbits), sync, "word of the next response");
    let ld_last_q = m.reg_in("ld_lastq_reg", Ty::u(wbits), sync, "the run's last word");
    let take_rd = m.wire("take_rd", bit(), "the port takes the loader's read");
    let resp = m.wire_of(
        "resp",
        Expr::from(mem.resp_valid) & mem.resp_ready,
        "a read response moves",
    );
    m.assign(mem.resp_ready, Expr::bit(true));
    let is_ldr = cmd.is(Op::Ldr);
    let is_ldl = cmd.is(Op::Ldl);
    let accept = m.wire_of(
        "ld_accept",
        (is_ldr.clone() | is_ldl.clone()) & !Expr::from(ld_busy),
        "the loader takes a command",
    );
    let xl = Expr::from(cmd.x).slice(0, lane_bits);
    let acc_len = m.wire_of(
        "ld_acc_len",
        Expr::mux(
            is_ldr.clone(),
            z(k(4, 1) << Expr::from(cmd.x).slice(0, 2), len_bits),
            Expr::mux(
                xl.clone().cmp_lt(k(lane_bits, rows)),
                z(n_reg, len_bits),
                Expr::mux(
                    xl.clone().cmp_lt(k(lane_bits, rows + cb)),
                    z(gw_reg, len_bits),
                    k(len_bits, rb),
                ),
            ),
        ),
        "the run's length",
    );
    let acc_off = Expr::from(cmd.sum).slice(0, mbb);
    let acc_lastq = m.wire_of(
        "ld_acc_lastq",
        z(
            (z(acc_off.clone(), len_bits + 1) + z(acc_len, len_bits + 1) - k(len_bits + 1, 1))
                >> k(3, mbb),
            wbits,
        ),
        "",
    );
    let acc_zero = is_ldl.clone() & Expr::from(cmd.sum).bit_at(31);
    let word_of = |a: Expr| Expr::concat(vec![k(mbb, 0), a.slice(mbb, aw - mbb)]);
    let last_resp = Expr::from(resp) & Expr::from(ld_q).cmp_eq(ld_last_q);
    let zero_done = Expr::from(ld_busy) & ld_zero;
    m.sync(sync, "The loader: one run at a time.", |p| {
        p.if_(accept, |p| {
            p.set(ld_busy, Expr::bit(true));
            p.set(ld_ldr, is_ldr.clone());
            p.set(ld_zero, acc_zero.clone());
            p.set(ld_lane, xl.clone());
            p.set(ld_off, acc_off.clone());
            p.set(ld_len, acc_len);
            p.set(ld_addr, word_of(z(cmd.sum, aw)));
            p.set(
                ld_left,
                Expr::mux(
                    acc_zero.clone(),
                    k(wbits, 0),
                    Expr::from(acc_lastq) + k(wbits, 1),
                ),
            );
            p.set(ld_q, k(wbits, 0));
            p.set(ld_last_q, acc_lastq);
        });
        p.if_(take_rd, |p| {
            p.set(ld_addr, Expr::from(ld_addr) + k(aw, mb));
            p.set(ld_left, Expr::from(ld_left) - k(wbits, 1));
        });
        p.if_(resp, |p| {
            p.set(ld_q, Expr::from(ld_q) + k(wbits, 1));
        });
        p.if_(last_resp.clone() | zero_done.clone(), |p| {
            p.set(ld_busy, Expr::bit(false));
        });
    });
    // The response word rotated by the run's offset: byte j of the run is
    // rot[j % MB] of the word that holds it.
    let word = Expr::from(mem.resp_rdata);
    let rot: Vec<SignalId> = (0..mb)
        .map(|j| {
            let opts: Vec<Expr> = (0..mb)
                .map(|o| word.clone().slice(8 * ((o + j) % mb), 8))
                .collect();
            m.wire_of(&format!("rot{j}"), select(opts, Some(ld_off), mbb), "")
        })
        .collect();
    m.assign(
        ldr_data,
        // An Ldr's run is its field: the bytes past its length read as zero.
        Expr::concat(
            (0..4)
                .map(|j| {
                    Expr::mux(
                        k(len_bits, j).cmp_lt(ld_len),
                        rot[(j % mb) as usize],
                        k(8, 0),
                    )
                })
                .collect(),
        ),
    );
    // Byte j of the run lands with response word q = (off + j) / MB.
    let hit: Vec<SignalId> = (0..maxlen)
        .map(|j| {
            let pos = z(ld_off, 8) + k(8, j);
            let in_run = k(len_bits, j).cmp_lt(ld_len);
            let e = (Expr::from(resp) & in_run.clone() & (pos >> k(3, mbb)).cmp_eq(z(ld_q, 8)))
                | (zero_done.clone() & in_run);
            let w = m.wire_of(&format!("ld_hit{j}"), e & !Expr::from(ld_ldr), "");
            m.allow_unused(w, "a reserved record byte has no register");
            w
        })
        .collect();
    let lane_sel = |l: u32| Expr::from(ld_lane).cmp_eq(k(lane_bits, l));
    let lane_byte = |j: u32| Expr::mux(ld_zero, k(8, 0), rot[(j % mb) as usize]);

    // The lanes.
    let a_lanes: Vec<Vec<SignalId>> = (0..rows)
        .map(|i| {
            (0..cb)
                .map(|j| m.reg_in(&format!("la{i}_{j}_reg"), ty8, sync, "A lane byte"))
                .collect()
        })
        .collect();
    let b_lanes: Vec<Vec<SignalId>> = (0..cb)
        .map(|b| {
            (0..cols)
                .map(|j| m.reg_in(&format!("lb{b}_{j}_reg"), ty8, sync, "B lane byte"))
                .collect()
        })
        .collect();
    let field = |n: &str| pm.channel_record.field(n).map_err(GenError::Internal);
    let (fb, fm, fs) = (field("bias")?, field("mult")?, field("shift")?);
    let bias: Vec<SignalId> = (0..cols)
        .map(|j| m.reg_in(&format!("bias_{j}_reg"), Ty::u(32), sync, "channel record"))
        .collect();
    let mult: Vec<SignalId> = (0..cols)
        .map(|j| m.reg_in(&format!("mult_{j}_reg"), Ty::u(16), sync, "channel record"))
        .collect();
    // The record check keeps a shift in 0..=31: five bits are stored.
    let shift: Vec<SignalId> = (0..cols)
        .map(|j| m.reg_in(&format!("shift_{j}_reg"), Ty::u(5), sync, "channel record"))
        .collect();
    let mut pl = Proc::sync(sync).with_comment("Lanes take the bytes of their run.");
    for (i, lane) in a_lanes.iter().enumerate() {
        for (j, &r) in lane.iter().enumerate() {
            pl.if_(
                Expr::from(hit[j]) & lane_sel(u.lane_a(i as u32).into()),
                |p| {
                    p.set(r, lane_byte(j as u32));
                },
            );
        }
    }
    for (b, lane) in b_lanes.iter().enumerate() {
        for (j, &r) in lane.iter().enumerate() {
            pl.if_(
                Expr::from(hit[j]) & lane_sel(u.lane_b(b as u32).into()),
                |p| {
                    p.set(r, lane_byte(j as u32));
                },
            );
        }
    }
    for c in 0..cols as usize {
        let sel = lane_sel(u.lane_rec(c as u32).into());
        // One assignment per register: its bytes of the record that land
        // this cycle, the others kept.
        for (f, reg, w) in [(fb, bias[c], 32u32), (fm, mult[c], 16), (fs, shift[c], 5)] {
            let cur = Expr::from(reg);
            let parts: Vec<Expr> = (0..w.div_ceil(8))
                .map(|byte| {
                    let bits = (w - 8 * byte).min(8);
                    let old = cur.clone().slice(8 * byte, bits);
                    if byte >= f.bytes {
                        return old;
                    }
                    let j = (f.offset + byte) as usize;
                    Expr::mux(
                        Expr::from(hit[j]) & sel.clone(),
                        z(lane_byte(j as u32), bits),
                        old,
                    )
                })
                .collect();
            pl.set(reg, Expr::concat(parts));
        }
    }
    m.process(pl);

    Ok(Loader {
        busy: ld_busy,
        ldr: ld_ldr,
        addr: ld_addr,
        left: ld_left,
        left_bits: wbits,
        take_rd,
        resp,
        a_lanes,
        b_lanes,
        bias,
        mult,
        shift,
    })
}
