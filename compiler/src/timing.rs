//! The cycle model of one descriptor: an event model of the engine's
//! schedule (`hdl/src/engine/top.rs`, `docs/engine.md`), stepped a clock at a
//! time, for a memory that takes one request per cycle and answers every read
//! after a fixed latency `L`.
//!
//! It does not run the RTL and moves no data: it keeps only the control state
//! that decides *when* things happen, and follows the RTL's rules for each
//! piece:
//!
//! - **Generator** (one FSM, one read a cycle into a 4-deep request FIFO):
//!   `DREQ` (`64/MB` descriptor reads), `DWAIT` (until every read landed),
//!   `CHKA..CHKC` (1 cycle each), `SETUP` ([`SETUP_CYCLES`]: the per-layer
//!   products on one sequential multiplier), `CHKD` (1 cycle), `RREQ` (record-check words), `RWAIT`; per
//!   group `GREC` (the group's record words, only once no tile of that record
//!   set's parity is in flight), `GRWAIT` (until the generator's reads
//!   landed), `WLOAD`/`WLWAIT` (weights resident: `K` rows of
//!   `words(w_addr+k*C_out+co0, gw)`), `WSTART` (1 cycle); then the chunks:
//!   `AROW` walks the ROWS array rows, one cycle per row plus one per extra
//!   word of a run that straddles words (input-buffer words are `CB` bytes
//!   when the input is resident, memory words otherwise); a chunk starts
//!   (`chunk_go`) only when its staging buffer of the ring of 4 is free and
//!   (weights resident) the weight reader is idle; an A read waits for the
//!   request FIFO (input streamed) or for the input loader to have landed
//!   the run's bytes (input resident). After the last row: `INFO` only when
//!   the tile-info FIFO (4) is full on a tile's first chunk; `BROW` (weights
//!   streamed: one cycle per B word) and `END` (1 cycle; streamed input: a
//!   fence through the request and tag FIFOs marks the A bytes landed);
//!   with both operands on chip the chunk ends with its last row. With both
//!   on chip the next group's weights and records are prefetched during the
//!   current group and the generator waits in `GSWAP`; `LDRAIN` waits for the
//!   output path, the reads and the input loader.
//! - **Port**: a request register loaded every cycle (the memory always takes
//!   it): a write from the 2-deep write FIFO first, else the request FIFO's
//!   head read if the tag FIFO has room (a fence goes straight to the tag
//!   FIFO). Reads from generator > prefetcher > input loader.
//! - **Tag FIFO** (block RAM with a prefetched output register when
//!   `max_inflight >= 32`): a tag written at one edge is at the head two
//!   edges later when the FIFO was empty. With `fifo_ram` the request,
//!   tag and tile-info FIFOs (and the write-job FIFO from 4 rows) are all
//!   block RAM that way. A response lands when it and its
//!   tag are at the heads; a fence at the head leaves without one.
//! - **Staging ring** (4 buffers): a buffer is complete when its A bytes
//!   (input-buffer reads one cycle after the walker, or the fence) and its B
//!   bytes (the weight reader's `n` rows from the chunk's first cycle, or the
//!   last B response) are in; the feeder gives the array one beat a cycle
//!   from the complete buffers in order and frees a buffer with its last beat.
//! - **Array**: one beat a cycle; a tile's last beat no earlier than ROWS
//!   cycles after the previous tile's last beat; row 0 of the results
//!   `COLS + 3` cycles after the last beat, then a row a cycle.
//! - **Output**: a row is requantized one column group of `requant_lanes`
//!   a cycle (`COLS / lanes` groups), each group only when the write-job
//!   FIFO (`max(ROWS, 2)`, block RAM from 8 rows) has room and the tile's
//!   info is at its FIFO's head; the row leaves the array (the array's out
//!   stream is ready) with its last group; a live pixel of a
//!   tile's last pool-window offset is a write job; the writer issues its
//!   `words(out_addr + p*C_out + co0, gw)` writes one a cycle through the
//!   write FIFO.
//!
//! The figure returned is the `cycles` counter's share of a descriptor: from
//! its first `DREQ` cycle to the `LDRAIN` cycle that leaves it. A program adds
//! [`crate::model::C_START`] (`SCHK` and `DONE`).

use std::collections::VecDeque;

/// Cycles of the generator's `SETUP` state, the same for every descriptor:
/// the per-layer products on one sequential multiplier, 4 bits of the narrow
/// operand a cycle, each product as many cycles as its operand's bound under
/// the contract's limits needs (`hdl::engine::setup::cycles`; a test checks
/// the two agree).
pub const SETUP_CYCLES: u64 = 30;

use crate::check::Descriptor;
use crate::model::words;

/// Staging buffers in the ring (the RTL's `HALVES`).
const HALVES: usize = 4;
/// Request FIFO depth.
const RQ_DEPTH: usize = 4;
/// Tile-info FIFO depth.
const INFO_DEPTH: usize = 4;
/// Write FIFO depth.
const WR_DEPTH: usize = 2;

/// What the model needs of the engine and the memory.
#[derive(Clone, Copy, Debug)]
pub struct TimingParams {
    pub rows: u64,
    pub cols: u64,
    /// Bytes per memory word.
    pub mb: u64,
    /// Bytes per chunk (`CB`).
    pub cb: u64,
    pub latency: u64,
    pub ibuf_bytes: u64,
    pub wbuf_rows: u64,
    /// Descriptor and channel-record bytes.
    pub desc_bytes: u64,
    pub record_bytes: u64,
    /// The array's PE pipeline depth (`gen --pipeline`).
    pub pipeline: u64,
    /// Tag FIFO depth (`max_inflight`; block RAM from 32).
    pub max_inflight: u64,
    /// Requantization units (`gen --requant-lanes`, a divisor of `cols`; 0
    /// means one per column): a row stays at the array's output for
    /// `cols / lanes` cycles.
    pub requant_lanes: u64,
    /// Every FIFO of depth 4 or more in block RAM (`gen --fifo-ram`): the
    /// request, tag and tile-info FIFOs, the write-job FIFO from 4 rows.
    pub fifo_ram: bool,
    /// The output path's second stage (`gen --out-pipe`): a column group
    /// moves from the array's output into a one-entry stage when the stage
    /// is empty or leaving; it leaves (merging its group, pushing the
    /// pixel's write job with the row's last group) when the job, if any,
    /// finds room.
    pub out_pipe: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Other,
    ILoad,
    B { half: usize, end: bool },
    Fence { half: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Dreq,
    Dwait,
    ChkA,
    ChkB,
    ChkC,
    Setup,
    ChkD,
    Rreq,
    Rwait,
    Grec,
    Grwait,
    Wload,
    Wlwait,
    Wstart,
    Arow,
    Info,
    Brow,
    End,
    Gswap,
    Ldrain,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pf {
    Idle,
    W,
    Rw,
    Rec,
    Wt,
    Done,
}

/// A FIFO in block RAM with a prefetched output register.
struct BramFifo<T> {
    ram: VecDeque<T>,
    out: Option<T>,
    depth: usize,
}

impl<T: Copy> BramFifo<T> {
    fn new(depth: usize) -> Self {
        BramFifo {
            ram: VecDeque::new(),
            out: None,
            depth,
        }
    }
    fn count(&self) -> usize {
        self.ram.len() + usize::from(self.out.is_some())
    }
    fn ready(&self) -> bool {
        self.count() < self.depth
    }
    fn edge(&mut self, pop: bool, push: Option<T>) {
        if pop {
            self.out = None;
        }
        if self.out.is_none() {
            self.out = self.ram.pop_front();
        }
        if let Some(v) = push {
            self.ram.push_back(v);
        }
    }
}

/// A FIFO in registers (first-word fall-through).
struct RegFifo<T> {
    q: VecDeque<T>,
    depth: usize,
}

impl<T: Copy> RegFifo<T> {
    fn new(depth: usize) -> Self {
        RegFifo {
            q: VecDeque::new(),
            depth,
        }
    }
    fn ready(&self) -> bool {
        self.q.len() < self.depth
    }
    fn head(&self) -> Option<T> {
        self.q.front().copied()
    }
    fn edge(&mut self, pop: bool, push: Option<T>) {
        if pop {
            self.q.pop_front();
        }
        if let Some(v) = push {
            self.q.push_back(v);
        }
    }
}

/// A FIFO in registers or in block RAM (the write-job FIFO from 8 rows, the
/// tag FIFO from 32 entries, and every FIFO of depth 4 or more with
/// `fifo_ram`).
enum AnyFifo<T> {
    Reg(RegFifo<T>),
    Bram(BramFifo<T>),
}

impl<T: Copy> AnyFifo<T> {
    fn new(depth: usize, bram: bool) -> Self {
        if bram {
            AnyFifo::Bram(BramFifo::new(depth))
        } else {
            AnyFifo::Reg(RegFifo::new(depth))
        }
    }
    fn ready(&self) -> bool {
        match self {
            AnyFifo::Reg(f) => f.ready(),
            AnyFifo::Bram(f) => f.ready(),
        }
    }
    fn head(&self) -> Option<T> {
        match self {
            AnyFifo::Reg(f) => f.head(),
            AnyFifo::Bram(f) => f.out,
        }
    }
    fn empty(&self) -> bool {
        match self {
            AnyFifo::Reg(f) => f.q.is_empty(),
            AnyFifo::Bram(f) => f.count() == 0,
        }
    }
    fn edge(&mut self, pop: bool, push: Option<T>) {
        match self {
            AnyFifo::Reg(f) => f.edge(pop, push),
            AnyFifo::Bram(f) => f.edge(pop, push),
        }
    }
}

/// Tile info as the output path needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Info {
    pub last_window: bool,
    pub nvalid: u64,
    pub oaddr: u64,
    pub gw: u64,
    pub par: usize,
    /// The layer's `out_c` (the output's row stride).
    pub c_out: u64,
}

/// A skid buffer (`hdl::parts::skid`): the output register and the skid
/// register; `in_ready` is `~skid_valid`, a register.
struct Skid<T> {
    out: Option<T>,
    skid: Option<T>,
}

impl<T: Copy> Skid<T> {
    fn new() -> Self {
        Skid {
            out: None,
            skid: None,
        }
    }
    fn in_ready(&self) -> bool {
        self.skid.is_none()
    }
    /// `input` only when `in_ready`.
    fn edge(&mut self, out_ready: bool, input: Option<T>) {
        if self.out.is_none() || out_ready {
            self.out = self.skid.take().or(input);
        } else if input.is_some() {
            self.skid = input;
        }
    }
}

/// What the back end is built with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BackParams {
    pub rows: u64,
    pub cols: u64,
    pub mb: u64,
    pub pipeline: u64,
    /// 0: one unit per column.
    pub requant_lanes: u64,
    pub fifo_ram: bool,
    pub out_pipe: bool,
}

/// The back end both engines share (`hdl::engine::output` and the array):
/// the array's input skid buffer, mesh and output skid buffer; the output
/// path (column groups a cycle, stage 2 with `out_pipe`, the write-job
/// FIFO); the writer and the write FIFO. [`Back::wires`] gives a cycle's
/// combinational values, [`Back::edge`] moves to the next cycle.
pub(crate) struct Back {
    rows: u64,
    mb: u64,
    mesh_lat: u64,
    ogroups: u64,
    out_pipe: bool,
    gap_max: u64,
    in_skid: Skid<bool>,
    out_skid: Skid<u64>,
    mesh_rows: VecDeque<(u64, u64)>,
    steps: u64,
    since_last: u64,
    last_ok: bool,
    info: AnyFifo<Info>,
    wjob: AnyFifo<u64>,
    ogrp: u64,
    // Stage 2 (`out_pipe`): Some(the write job's words) for a group that
    // pushes one, Some(None) for a group that does not.
    s2: Option<Option<u64>>,
    wq: u64,
    wr: RegFifo<()>,
}

/// One cycle's combinational values of the [`Back`].
pub(crate) struct BackWires {
    adv: bool,
    op_ready: bool,
    issue_last: bool,
    mesh_row: Option<u64>,
    arr_out_ready: bool,
    ostep: bool,
    ogrp_last: bool,
    s2_go: bool,
    s1_job: Option<u64>,
    wjob_push: Option<u64>,
    wr_push: bool,
    wj_pop: bool,
    /// The array takes a beat.
    pub in_ready: bool,
    /// The tile-info FIFO takes an entry.
    pub info_ready: bool,
    /// A write waits for the port.
    pub wr_valid: bool,
    /// No tile in the array or the output path, no write queued (the port's
    /// request register aside).
    pub idle: bool,
    /// The tile info leaving its FIFO this cycle.
    pub info_pop: Option<Info>,
}

impl Back {
    pub(crate) fn new(p: &BackParams) -> Result<Back, String> {
        let (rows, cols) = (p.rows, p.cols);
        let lanes = if p.requant_lanes == 0 {
            cols
        } else {
            p.requant_lanes
        };
        if lanes > cols || cols % lanes != 0 {
            return Err(format!(
                "model: requant_lanes {lanes} must divide cols ({cols})"
            ));
        }
        // The generator's storage rule (`hdl::engine::EngineConfig::fifo_storage`).
        let ram = |depth: usize| p.fifo_ram && depth >= 4;
        let wjob_depth = rows.max(2) as usize;
        let gap_max = rows - 1;
        Ok(Back {
            rows,
            mb: p.mb,
            // Array steps from the step that issues a tile's last beat to the
            // step that moves its row 0 into the output skid buffer: COLS +
            // pipeline (+2 edge stages at depth 4). With the input skid
            // buffer's cycle and the output register's, row 0 is offered
            // COLS + 2 + pipeline (+2) cycles after the feeder's last beat
            // (the array's `last_beat_to_last_row_cycles` less ROWS - 1).
            mesh_lat: cols + p.pipeline + if p.pipeline >= 4 { 2 } else { 0 },
            ogroups: cols / lanes,
            out_pipe: p.out_pipe,
            gap_max,
            // The mesh moves one step in every cycle the output skid buffer
            // has room (`adv`); mesh rows in flight are (step at which the
            // row leaves the mesh, row). A tile's last beat enters the mesh
            // only ROWS steps after the previous one's (`last_ok`).
            in_skid: Skid::new(),
            out_skid: Skid::new(),
            mesh_rows: VecDeque::new(),
            steps: 0,
            since_last: gap_max,
            last_ok: true,
            info: AnyFifo::new(INFO_DEPTH, ram(INFO_DEPTH)),
            wjob: AnyFifo::new(wjob_depth, rows >= 8 || ram(wjob_depth)),
            ogrp: 0,
            s2: None,
            wq: 0,
            wr: RegFifo::new(WR_DEPTH),
        })
    }

    pub(crate) fn wires(&self) -> BackWires {
        let adv = self.out_skid.in_ready();
        let op = self.in_skid.out;
        let op_ready = adv && (op != Some(true) || self.last_ok);
        let issue = op.is_some() && op_ready;
        let issue_last = issue && op == Some(true);
        let mesh_row = self
            .mesh_rows
            .front()
            .filter(|r| r.0 == self.steps)
            .map(|r| r.1);
        let info_head = self.info.head();
        let orow = self.out_skid.out.unwrap_or(0);
        let s2_go = self
            .s2
            .is_some_and(|job| job.is_none() || self.wjob.ready());
        let out_ok = if self.out_pipe {
            self.s2.is_none() || s2_go
        } else {
            self.wjob.ready()
        };
        let ostep_ok = out_ok && info_head.is_some();
        let ostep = self.out_skid.out.is_some() && ostep_ok;
        let ogrp_last = self.ogrp + 1 == self.ogroups;
        let arr_out_ready = ostep_ok && ogrp_last;
        let ofire = self.out_skid.out.is_some() && arr_out_ready;
        let out_last = orow + 1 == self.rows;
        let mut wjob_push = None;
        // The job of the group stage 1 moves (with its row's last group).
        let mut s1_job = None;
        if ostep && ogrp_last {
            if let Some(ih) = info_head {
                if ih.last_window && orow < ih.nvalid {
                    s1_job = Some(words(ih.oaddr + orow * ih.c_out, ih.gw, self.mb));
                }
            }
        }
        if self.out_pipe {
            if s2_go {
                wjob_push = self.s2.flatten();
            }
        } else {
            wjob_push = s1_job;
        }
        let info_pop = if ofire && out_last { info_head } else { None };
        let wj_head = self.wjob.head();
        let wr_push = wj_head.is_some() && self.wr.ready();
        let wj_pop = wr_push && wj_head.is_some_and(|nw| self.wq + 1 == nw);
        let idle = self.info.empty()
            && self.s2.is_none()
            && self.wjob.empty()
            && self.wr.q.is_empty()
            && wj_head.is_none();
        BackWires {
            adv,
            op_ready,
            issue_last,
            mesh_row,
            arr_out_ready,
            ostep,
            ogrp_last,
            s2_go,
            s1_job,
            wjob_push,
            wr_push,
            wj_pop,
            in_ready: self.in_skid.in_ready(),
            info_ready: self.info.ready(),
            wr_valid: !self.wr.q.is_empty(),
            idle,
            info_pop,
        }
    }

    /// The edge: `feed` a beat (its tile-last flag) when `w.in_ready`,
    /// `info_push` an entry when `w.info_ready`, `take_wr` when the port
    /// takes the write FIFO's head.
    pub(crate) fn edge(
        &mut self,
        w: &BackWires,
        feed: Option<bool>,
        info_push: Option<Info>,
        take_wr: bool,
    ) {
        let mesh_in = if w.adv { w.mesh_row } else { None };
        if mesh_in.is_some() {
            self.mesh_rows.pop_front();
        }
        self.out_skid.edge(w.arr_out_ready, mesh_in);
        self.in_skid.edge(w.op_ready, feed);
        if w.adv {
            if w.issue_last {
                for i in 0..self.rows {
                    self.mesh_rows
                        .push_back((self.steps + self.mesh_lat + i, i));
                }
            }
            self.since_last = if w.issue_last {
                0
            } else if self.last_ok {
                self.gap_max
            } else {
                self.since_last + 1
            };
            self.last_ok = self.since_last == self.gap_max;
            self.steps += 1;
        }
        self.info.edge(w.info_pop.is_some(), info_push);
        if w.ostep {
            self.ogrp = if w.ogrp_last { 0 } else { self.ogrp + 1 };
        }
        if self.out_pipe {
            if w.ostep {
                self.s2 = Some(w.s1_job);
            } else if w.s2_go {
                self.s2 = None;
            }
        }
        if w.wr_push {
            self.wq += 1;
            if w.wj_pop {
                self.wq = 0;
            }
        }
        self.wjob.edge(w.wj_pop, w.wjob_push);
        self.wr
            .edge(take_wr, if w.wr_push { Some(()) } else { None });
    }
}

/// Cycles of descriptor `d` (first `DREQ` cycle to the `LDRAIN` cycle that
/// leaves it). `d` must pass the engine's checks.
///
/// `limit` bounds the cycles simulated: past it the model reports an error
/// (a schedule that never ends is a model bug, never a figure).
pub fn descriptor_cycles(p: &TimingParams, d: &Descriptor, limit: u64) -> Result<u64, String> {
    simulate(p, d, limit, None)
}

/// [`descriptor_cycles`], also listing the cycle (counted from the first
/// `DREQ` cycle, 1) of every request the memory takes and whether it is a
/// write: the port schedule, to compare with a memory model's log.
pub fn descriptor_port_trace(
    p: &TimingParams,
    d: &Descriptor,
    limit: u64,
) -> Result<(u64, Vec<(u64, bool)>), String> {
    let mut trace = Vec::new();
    let c = simulate(p, d, limit, Some(&mut trace))?;
    Ok((c, trace))
}

fn simulate(
    p: &TimingParams,
    d: &Descriptor,
    limit: u64,
    mut trace: Option<&mut Vec<(u64, bool)>>,
) -> Result<u64, String> {
    let (rows, cols, mb, cb) = (p.rows, p.cols, p.mb, p.cb);
    let g = d.geometry();
    let (hc, wc, ho, wo) = (g.h_c, g.w_c, g.h_o, g.w_o);
    let howo = ho * wo;
    let (pk, ps, pp) = if d.pool_k == 0 {
        (1, 1, 0)
    } else {
        (d.pool_k, d.pool_s, d.pool_pad)
    };
    let c_in = d.in_c;
    let c_out = d.out_c;
    let kk = d.k_h * d.k_w * c_in;
    let in_bytes = d.in_h * d.in_w * c_in;
    let ires = in_bytes <= p.ibuf_bytes;
    let wres = kk <= p.wbuf_rows;
    let in_words = in_bytes.div_ceil(mb);
    let dwords = p.desc_bytes / mb;
    let rb = p.record_bytes;
    let rec_words = (rb * c_out).div_ceil(mb);
    let gw_of = |co0: u64| cols.min(c_out - co0);
    let g_words_of = |co0: u64| words(d.ch_addr + rb * co0, rb * gw_of(co0), mb);
    let b_nw_of = |co0: u64, k: u64| words(d.w_addr + co0 + k * c_out, gw_of(co0), mb);

    // Generator registers.
    let mut st = St::Dreq;
    let mut wcnt = 0u64;
    let mut setup_left = 0u64;
    let mut co0 = 0u64;
    let mut gpar = 0usize;
    let mut group_first = false;
    let (mut p0, mut ty, mut tx, mut nty, mut ntx) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut oaddr = 0u64;
    let (mut wi, mut wj, mut ky, mut kx, mut ci0, mut kbase) = (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut wk = 0u64;
    let mut hp = 0usize;
    let mut first_chunk = false;
    let (mut ri, mut ry, mut rx, mut part) = (0u64, 0u64, 0u64, 0u64);
    let (mut bj, mut bq) = (0u64, 0u64);
    let mut started = false;
    // Prefetcher.
    let mut pf = Pf::Idle;
    let (mut pf_co0, mut pf_par, mut pf_k, mut pf_q, mut pf_w) = (0u64, 0usize, 0u64, 0u64, 0u64);
    let mut inflight = [0u64; 2];
    // Input loader.
    let (mut il_active, mut il_w, mut il_landed) = (false, 0u64, 0u64);
    let mut nl_out = 0u64;
    // Port and memory.
    // The generator's storage rule (`hdl::engine::EngineConfig::fifo_storage`).
    let ram = |depth: usize| p.fifo_ram && depth >= 4;
    let mut rq: AnyFifo<Tag> = AnyFifo::new(RQ_DEPTH, ram(RQ_DEPTH));
    let tag_depth = p.max_inflight as usize;
    let mut tagf: AnyFifo<Tag> = AnyFifo::new(tag_depth, tag_depth >= 32 || ram(tag_depth));
    // The request register: None, Some(true) a write, Some(false) a read.
    let mut mreq: Option<bool> = None;
    let mut resp: VecDeque<u64> = VecDeque::new();
    // Staging ring, weight reader, input-buffer pipeline.
    let mut alloc = [false; HALVES];
    let mut a_done = [false; HALVES];
    let mut b_done = [false; HALVES];
    let mut half_n = [0u64; HALVES];
    let mut half_last = [false; HALVES];
    let (mut bf_busy, mut bf_half, mut bf_j, mut bf_n) = (false, 0usize, 0u64, 0u64);
    let (mut bpv, mut bp_h, mut bp_e) = (false, 0usize, false);
    let (mut ipe, mut ipe_h) = (false, 0usize);
    // Feeder and array.
    let (mut fp, mut fb) = (0usize, 0u64);
    let mut back = Back::new(&BackParams {
        rows,
        cols,
        mb,
        pipeline: p.pipeline,
        requant_lanes: p.requant_lanes,
        fifo_ram: p.fifo_ram,
        out_pipe: p.out_pipe,
    })?;

    let mut t = 0u64;
    loop {
        t += 1;
        // ------------------------------------------------ combinational
        let bw = back.wires();
        // The memory takes the request register; responses are due L later.
        let mem_take = mreq;
        let resp_valid = resp.front().is_some_and(|&due| due <= t);
        let tag_head = tagf.head();
        let fence_head = matches!(tag_head, Some(Tag::Fence { .. }));
        let resp_fire = resp_valid && tag_head.is_some() && !fence_head;
        let landed = if resp_fire { tag_head } else { None };
        let tag_pop = resp_fire || fence_head;
        let rq_ready = rq.ready();

        // Loop-nest wires.
        let n = cb.min(c_in - ci0.min(c_in));
        let gw = gw_of(co0.min(c_out - 1));
        let last_ci = ci0 + cb >= c_in;
        let last_kx = kx + 1 == d.k_w;
        let last_ky = ky + 1 == d.k_h;
        let chunk_last = last_ci && last_kx && last_ky;
        let last_wj = wj + 1 == pk;
        let last_wi = wi + 1 == pk;
        let last_tile = p0 + rows >= howo;
        let last_group = co0 + cols >= c_out;
        let last_row = ri + 1 == rows;
        let (ry_next, rx_next) = if rx + 1 == wo {
            (ry + 1, 0)
        } else {
            (ry, rx + 1)
        };
        // The walker's row.
        let mut row_req = false;
        let mut a_nw = 1u64;
        let mut run_end = 0u64;
        if st == St::Arow && ri < rows {
            let live = p0 + ri < howo;
            let cyp = ry * ps + wi;
            let cxp = rx * ps + wj;
            let cin = cyp >= pp && cyp - pp < hc && cxp >= pp && cxp - pp < wc;
            if live && cin {
                let iyp = (cyp - pp) * d.stride_h + ky * d.dil_h;
                let ixp = (cxp - pp) * d.stride_w + kx * d.dil_w;
                if iyp >= d.pad_t
                    && iyp - d.pad_t < d.in_h
                    && ixp >= d.pad_l
                    && ixp - d.pad_l < d.in_w
                {
                    row_req = true;
                    let a_rel = ((iyp - d.pad_t) * d.in_w + (ixp - d.pad_l)) * c_in + ci0;
                    let (off, width) = if ires {
                        (a_rel % cb, cb)
                    } else {
                        ((d.in_addr + a_rel) % mb, mb)
                    };
                    a_nw = (off + n - 1) / width + 1;
                    run_end = a_rel + n;
                }
            }
        }
        let a_lastw = part + 1 == a_nw;
        let go_ok = !alloc[hp] && (!wres || !bf_busy);
        let chunk_go = st == St::Arow && !started && go_ok;
        let a_gate = started || go_ok;
        let run_loaded = run_end <= il_landed * mb;
        let a_fire = a_gate && if ires { run_loaded } else { rq_ready };
        let a_step = a_gate && (!row_req || (a_fire && a_lastw));
        let info_ready = bw.info_ready;
        let busy_cur = inflight[gpar] != 0;
        let busy_other = inflight[pf_par] != 0;

        // The read the generator offers.
        let (gen_valid, gen_tag) = match st {
            St::Dreq | St::Rreq => (true, Tag::Other),
            St::Grec => (!busy_cur, Tag::Other),
            St::Arow if !ires => (row_req && a_gate, Tag::Other),
            St::Wload => (true, Tag::Other),
            St::Brow => {
                let k = kbase + bj;
                let lastw = bq + 1 == b_nw_of(co0, k);
                (
                    true,
                    Tag::B {
                        half: hp,
                        end: lastw && bj + 1 == n,
                    },
                )
            }
            St::End if !ires => (true, Tag::Fence { half: hp }),
            _ => (false, Tag::Other),
        };
        let rq_fire = gen_valid && rq_ready;
        let pf_valid = matches!(pf, Pf::W | Pf::Rec);
        let pf_fire = pf_valid && !gen_valid && rq_ready;
        let il_fire = il_active && !gen_valid && !pf_valid && rq_ready;
        let rq_valid = gen_valid || pf_valid || il_active;
        let rq_push = if rq_fire {
            Some(gen_tag)
        } else if pf_fire {
            Some(Tag::Other)
        } else if il_fire {
            Some(Tag::ILoad)
        } else {
            None
        };
        let reads_idle = rq.empty() && mreq != Some(false) && tagf.empty() && !rq_valid;
        let nl_idle = nl_out == 0 && !gen_valid && !pf_valid;

        // Port: writes first, then the request FIFO's head.
        let wr_valid = bw.wr_valid;
        let rq_head = rq.head();
        let head_fence = matches!(rq_head, Some(Tag::Fence { .. }));
        let take_wr = wr_valid;
        let take_rd = !wr_valid && rq_head.is_some() && !head_fence && tagf.ready();
        let take_fence = head_fence && tagf.ready();

        // Feeder and array.
        let arr_in_valid = a_done[fp] && b_done[fp];
        let feed_last_beat = fb + 1 == half_n[fp];
        let tile_last = half_last[fp] && feed_last_beat;
        let feed = arr_in_valid && bw.in_ready;
        let out_idle = bw.idle && mreq != Some(true);

        // Tile info.
        let info_valid =
            st == St::Info || (st == St::Arow && a_step && last_row && first_chunk && info_ready);
        let info_push = if info_valid && info_ready {
            Some(Info {
                last_window: last_wi && last_wj,
                nvalid: rows.min(howo - p0),
                oaddr,
                gw,
                par: gpar,
                c_out,
            })
        } else {
            None
        };

        // ------------------------------------------------ edge
        // Memory and port.
        if let (Some(w), Some(tr)) = (mem_take, trace.as_mut()) {
            tr.push((t, w));
        }
        if mem_take == Some(false) {
            resp.push_back(t + p.latency);
        }
        if resp_fire {
            resp.pop_front();
        }
        mreq = if take_wr {
            Some(true)
        } else if take_rd {
            Some(false)
        } else {
            None
        };
        let tag_push = if take_rd || take_fence { rq_head } else { None };
        tagf.edge(tag_pop, tag_push);
        rq.edge(take_rd || take_fence, rq_push);
        // Read bookkeeping.
        let nl_push = rq_push.is_some() && !il_fire;
        let nl_pop = (resp_fire && landed != Some(Tag::ILoad)) || fence_head;
        match (nl_push, nl_pop) {
            (true, false) => nl_out += 1,
            (false, true) => nl_out -= 1,
            _ => {}
        }
        if landed == Some(Tag::ILoad) {
            il_landed += 1;
        }
        if st == St::Rwait {
            il_landed = 0;
        }
        if st == St::Rwait && reads_idle {
            il_active = ires;
            il_w = 0;
        } else if il_fire {
            il_w += 1;
            if il_w == in_words {
                il_active = false;
            }
        }
        // Staging ring.
        let mut b_end = [false; HALVES];
        let mut a_end = [false; HALVES];
        if let Some(Tag::B { half, end: true }) = landed {
            b_end[half] = true;
        }
        if bpv && bp_e {
            b_end[bp_h] = true;
        }
        if ires {
            if ipe {
                a_end[ipe_h] = true;
            }
        } else if let Some(Tag::Fence { half }) = tag_head {
            a_end[half] = true;
        }
        for h in 0..HALVES {
            let rel = feed && feed_last_beat && fp == h;
            if chunk_go && hp == h {
                alloc[h] = true;
                half_n[h] = n;
                half_last[h] = chunk_last;
            } else if rel {
                alloc[h] = false;
            }
            if a_end[h] {
                a_done[h] = true;
            } else if rel {
                a_done[h] = false;
            }
            if b_end[h] {
                b_done[h] = true;
            } else if rel {
                b_done[h] = false;
            }
        }
        if feed {
            fb += 1;
            if feed_last_beat {
                fb = 0;
                fp = (fp + 1) % HALVES;
            }
        }
        back.edge(&bw, feed.then_some(tile_last), info_push, take_wr);
        // Weight reader.
        let bf_go = chunk_go && wres;
        let bf_last = bf_j + 1 == bf_n;
        bp_e = if bf_go { n == 1 } else { bf_busy && bf_last };
        bp_h = if bf_go { hp } else { bf_half };
        bpv = bf_busy || bf_go;
        if bf_go {
            bf_busy = n != 1;
            bf_half = hp;
            bf_j = 1;
            bf_n = n;
        } else if bf_busy {
            bf_j += 1;
            if bf_last {
                bf_busy = false;
            }
        }
        let fast_end =
            st == St::Arow && a_step && last_row && (!first_chunk || info_ready) && wres && ires;
        ipe = (st == St::End && ires) || fast_end;
        ipe_h = hp;
        // Output path.
        if let Some(ih) = info_push {
            inflight[ih.par] += 1;
        }
        if let Some(ih) = bw.info_pop {
            inflight[ih.par] -= 1;
        }
        // Prefetcher.
        let pf_done = pf == Pf::Done;
        match pf {
            Pf::Idle => {
                if chunk_go && group_first && ires && wres && !last_group {
                    pf_co0 = co0 + cols;
                    pf_par = 1 - gpar;
                    pf_k = 0;
                    pf_q = 0;
                    pf_w = 0;
                    pf = Pf::W;
                }
            }
            Pf::W => {
                if pf_fire && weight_word_step(&mut pf_q, &mut pf_k, kk, |k| b_nw_of(pf_co0, k)) {
                    pf = Pf::Rw;
                }
            }
            Pf::Rw => {
                if !busy_other {
                    pf = Pf::Rec;
                }
            }
            Pf::Rec => {
                if pf_fire {
                    pf_w += 1;
                    if pf_w == g_words_of(pf_co0) {
                        pf = Pf::Wt;
                    }
                }
            }
            Pf::Wt => {
                if nl_idle {
                    pf = Pf::Done;
                }
            }
            Pf::Done => {
                if st == St::Gswap {
                    pf = Pf::Idle;
                }
            }
        }

        // Generator.
        macro_rules! wstart {
            ($y0:expr, $x0:expr) => {{
                ky = 0;
                kx = 0;
                ci0 = 0;
                kbase = 0;
                first_chunk = true;
                ri = 0;
                ry = $y0;
                rx = $x0;
                part = 0;
                bj = 0;
                bq = 0;
                started = false;
            }};
        }
        // End of a chunk (the RTL's `end_body`): step the nest.
        macro_rules! end_chunk {
            ($next:expr, $ny:expr, $nx:expr) => {{
                let (ny, nx) = ($ny, $nx);
                hp = (hp + 1) % HALVES;
                first_chunk = false;
                started = false;
                kbase += n;
                ri = 0;
                ry = ty;
                rx = tx;
                part = 0;
                bj = 0;
                bq = 0;
                ci0 += cb;
                if last_ci {
                    ci0 = 0;
                    kx += 1;
                    if last_kx {
                        kx = 0;
                        ky += 1;
                    }
                }
                if !chunk_last {
                    $next = St::Arow;
                } else if !(last_wj && last_wi) {
                    wj += 1;
                    if last_wj {
                        wj = 0;
                        wi += 1;
                    }
                    wstart!(ty, tx);
                    $next = St::Arow;
                } else if !last_tile {
                    wi = 0;
                    wj = 0;
                    p0 += rows;
                    ty = ny;
                    tx = nx;
                    oaddr += rows * c_out;
                    wstart!(ny, nx);
                    $next = St::Arow;
                } else if !last_group {
                    co0 += cols;
                    wcnt = 0;
                    gpar = 1 - gpar;
                    $next = if ires && wres { St::Gswap } else { St::Grec };
                } else {
                    $next = St::Ldrain;
                }
            }};
        }
        let mut next = st;
        match st {
            St::Dreq => {
                if rq_fire {
                    wcnt += 1;
                    if wcnt == dwords {
                        next = St::Dwait;
                    }
                }
            }
            St::Dwait => {
                if reads_idle {
                    next = St::ChkA;
                }
            }
            St::ChkA => next = St::ChkB,
            St::ChkB => next = St::ChkC,
            St::ChkC => {
                setup_left = SETUP_CYCLES;
                next = St::Setup;
            }
            St::Setup => {
                setup_left -= 1;
                if setup_left == 0 {
                    next = St::ChkD;
                }
            }
            St::ChkD => {
                wcnt = 0;
                next = St::Rreq;
            }
            St::Rreq => {
                if rq_fire {
                    wcnt += 1;
                    if wcnt == rec_words {
                        next = St::Rwait;
                    }
                }
            }
            St::Rwait => {
                co0 = 0;
                gpar = 0;
                wcnt = 0;
                if reads_idle {
                    next = St::Grec;
                }
            }
            St::Grec => {
                if rq_fire {
                    wcnt += 1;
                    if wcnt == g_words_of(co0) {
                        next = St::Grwait;
                    }
                }
            }
            St::Grwait => {
                p0 = 0;
                ty = 0;
                tx = 0;
                oaddr = d.out_addr + co0;
                wi = 0;
                wj = 0;
                wk = 0;
                bq = 0;
                group_first = true;
                if nl_idle {
                    next = if wres { St::Wload } else { St::Wstart };
                }
            }
            St::Wload => {
                if rq_fire && weight_word_step(&mut bq, &mut wk, kk, |k| b_nw_of(co0, k)) {
                    next = St::Wlwait;
                }
            }
            St::Wlwait => {
                if nl_idle {
                    next = St::Wstart;
                }
            }
            St::Wstart => {
                wstart!(ty, tx);
                next = St::Arow;
            }
            St::Arow => {
                if chunk_go {
                    started = true;
                    group_first = false;
                }
                if row_req && a_fire && !a_lastw {
                    part += 1;
                }
                if a_step {
                    part = 0;
                    ri += 1;
                    ry = ry_next;
                    rx = rx_next;
                    if last_row {
                        nty = ry_next;
                        ntx = rx_next;
                        if first_chunk && !info_ready {
                            next = St::Info;
                        } else if wres && ires {
                            end_chunk!(next, ry_next, rx_next);
                        } else if wres {
                            next = St::End;
                        } else {
                            next = St::Brow;
                        }
                    }
                }
            }
            St::Info => {
                if info_ready {
                    next = if wres { St::End } else { St::Brow };
                }
            }
            St::Brow => {
                if rq_fire && weight_word_step(&mut bq, &mut bj, n, |j| b_nw_of(co0, kbase + j)) {
                    next = St::End;
                }
            }
            St::End => {
                if ires || rq_ready {
                    end_chunk!(next, nty, ntx);
                }
            }
            St::Gswap => {
                p0 = 0;
                ty = 0;
                tx = 0;
                oaddr = d.out_addr + co0;
                wi = 0;
                wj = 0;
                group_first = true;
                if pf_done {
                    next = St::Wstart;
                }
            }
            St::Ldrain => {
                if out_idle && reads_idle && !il_active {
                    return Ok(t);
                }
            }
        }
        st = next;
        if t >= limit {
            return Err(format!(
                "model: the schedule has not finished after {limit} cycles (state {st:?})"
            ));
        }
    }
}

/// One word of a weight-row read: `q` counts the words of row `k`, then `k`
/// moves to the next row; true once the last word of row `k_end - 1` is read.
/// The three weight readers (prefetcher, WLOAD, BROW) step this way, as the
/// RTL's one weight-word step serves them.
fn weight_word_step(q: &mut u64, k: &mut u64, k_end: u64, row_words: impl Fn(u64) -> u64) -> bool {
    *q += 1;
    if *q != row_words(*k) {
        return false;
    }
    *q = 0;
    *k += 1;
    *k == k_end
}
