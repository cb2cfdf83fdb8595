//! The analytical cost model of the engine: memory traffic, array beats and
//! cycles of each descriptor, for a memory of fixed latency that takes one
//! request per cycle.
//!
//! Traffic follows the schedule in `docs/engine.md` exactly (the RTL's
//! counters must equal it): per descriptor
//!
//! - the descriptor fetch, `words(desc_addr + DB*d, DB)` reads;
//! - the record check, `words(ch_addr, RB*C_out)` reads;
//! - input resident (`in_h*in_w*C_in <= ibuf_bytes`): the whole input once,
//!   `words(in_addr, in_h*in_w*C_in)` reads;
//! - per group `g` of `gw` channels at `co0`: the group's records,
//!   `words(ch_addr + RB*co0, RB*gw)`; weights resident (`k_h*k_w*C_in <=
//!   wbuf_rows`): the group's `K = k_h*k_w*C_in` weight rows once,
//!   `words(w_addr + r*C_out + co0, gw)` for `r < K`;
//! - per pixel tile and pool-window offset (one array tile), per `(ky, kx,
//!   ci0)` chunk of `n = min(CB, C_in - ci0)` beats (`CB` =
//!   [`ModelParams::chunk_bytes`]; `docs/engine.md` still says `MB`): unless the input is
//!   resident, one A run `words(in_addr + (iy*W + ix)*C_in + ci0, n)` per live
//!   row whose input position is inside the image; unless the weights are
//!   resident, `n` B rows `words(w_addr + ((ky*k_w + kx)*C_in + ci0 + j)*C_out
//!   + co0, gw)`;
//! - per live output pixel `p` of a tile, `words(out_addr + p*C_out + co0,
//!   gw)` writes.
//!
//! (`docs/engine.md` lists the streaming schedule; the two buffers and their
//! rules are the RTL's `ibuf_bytes` / `wbuf_rows`, registers `config2` /
//! `config3`. [`ModelParams::streaming`] is an engine without them.)
//!
//! The model does not walk that loop nest (a test does, literally, and
//! compares). It sums it in closed form per factor: A does not depend on the
//! group and its live-row condition is a product of a row condition and a
//! column condition, so the A words are `groups * sum_iy my[iy] *
//! S[(in_addr + iy*W*C_in) mod MB]` with `my[iy]` the number of `(py, wi, ky)`
//! reaching input row `iy` (likewise `mx` for columns) and `S` the
//! column sum per word offset; B and the writes are sums of `words` over an
//! arithmetic progression of addresses, periodic modulo `MB`.
//!
//! Cycles come from [`crate::timing`], an event model of the engine's
//! schedule stepped one clock at a time (generator FSM, request/tag FIFOs and
//! port, staging ring, weight reader, input loader, prefetcher, array with its
//! skid buffers, output path and writer), which keeps only the control state
//! that decides when things happen and moves no data. It is cycle-exact
//! against the RTL's `cycles` counter on every layer checked
//! (`testbench/tests/engine_model.rs`, the benchmark layers of
//! `engine_bench`). A program adds [`C_START`] to its descriptors' cycles.
//! [`LayerCost`] also carries the structural counts (chunks, the A walker's
//! cycles, weight words, residency) that explain a figure.

use contracts::engine::ProgrammingModel;

use crate::check::{self, Descriptor};
use crate::timing;

/// Cycles of a program besides its descriptors': `SCHK` (the start checks)
/// and `DONE`, both counted by the `cycles` counter.
pub const C_START: u64 = 2;

/// The engine instance and memory the model describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelParams {
    pub rows: u32,
    pub cols: u32,
    pub mem_bits: u32,
    /// Memory read latency in cycles (>= 1).
    pub latency: u32,
    /// Input buffer bytes (the engine's `ibuf_bytes`, register `config2`): a
    /// layer whose whole input fits is read once; 0 = no buffer.
    pub ibuf_bytes: u64,
    /// Weight buffer rows (the engine's `wbuf_rows`, register `config3`): a
    /// layer with `k_h*k_w*C_in` up to this reads each group's weights once;
    /// 0 = no buffer.
    pub wbuf_rows: u64,
    /// Input channels per chunk (`CB`, the engine's `staging_beats`): the
    /// reduction runs in chunks of `n = min(CB, C_in - ci0)` beats.
    pub chunk_bytes: u64,
    /// The array's PE pipeline depth (`gen --pipeline`, 0..=4): results
    /// leave that much later (cycles only).
    pub pipeline: u32,
    /// Reads in flight at most (`gen`'s `max_inflight`, default 64: the tag
    /// FIFO's depth; cycles only).
    pub max_inflight: u32,
    /// Requantization units (`gen --requant-lanes`, a divisor of `cols`; 0
    /// means one per column, the default): a row of results takes
    /// `cols / requant_lanes` cycles in the output path (cycles only).
    pub requant_lanes: u32,
    /// The engine's FIFOs of depth 4 or more in block RAM (`gen --fifo-ram`;
    /// cycles only: a word takes a cycle more through an empty FIFO).
    pub fifo_ram: bool,
    /// The output path's second stage (`gen --out-pipe`; cycles only: a
    /// write job leaves a cycle later).
    pub out_pipe: bool,
}

impl ModelParams {
    /// An engine without input and weight buffers (everything streams), with
    /// the generator's chunk rule ([`default_chunk_bytes`]).
    pub fn streaming(rows: u32, cols: u32, mem_bits: u32, latency: u32) -> ModelParams {
        ModelParams {
            rows,
            cols,
            mem_bits,
            latency,
            ibuf_bytes: 0,
            wbuf_rows: 0,
            chunk_bytes: default_chunk_bytes(rows, mem_bits),
            pipeline: 0,
            max_inflight: 64,
            requant_lanes: 0,
            fifo_ram: false,
            out_pipe: false,
        }
    }
}

/// The generator's chunk (input channels per staging buffer, register
/// `config1.staging_beats`): a memory word, and at least ROWS rounded up to a
/// power of two, so the A walk (a row a cycle) keeps pace with the beats.
pub fn default_chunk_bytes(rows: u32, mem_bits: u32) -> u64 {
    u64::from((mem_bits / 8).max(rows.next_power_of_two()))
}

/// Cost of one descriptor (or, summed, of a program).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LayerCost {
    /// Word reads: descriptor fetch, record check, record loads, A and B.
    pub reads: u64,
    /// Word writes.
    pub writes: u64,
    /// `reads * MB` (the `rd_bytes` counter).
    pub rd_bytes: u64,
    /// Output bytes (the `wr_bytes` counter: bytes written with their strobe set).
    pub wr_bytes: u64,
    /// Input beats the array takes (the `array_beats` counter).
    pub array_beats: u64,
    /// Useful MACs: `H_c*W_c*C_out*k_h*k_w*C_in`.
    pub macs: u64,
    /// Modelled cycles, the `cycles` counter's share of this descriptor (see
    /// [`crate::timing`]).
    pub cycles: u64,
    /// Input + weights + channel records + output + descriptor bytes.
    pub compulsory_bytes: u64,
    /// Channel groups and array tiles (for calibration).
    pub groups: u64,
    pub tiles: u64,
    /// Reduction chunks over the layer (`tiles * k_h*k_w*ceil(C_in/CB)`).
    pub chunks: u64,
    /// Words of the A runs of live rows over the layer (memory reads, or
    /// input-buffer reads when the input is resident) and the number of runs.
    pub a_words: u64,
    pub a_runs: u64,
    /// Cycles of the A walker: one per row and chunk, plus one per extra word
    /// of a run (`chunks*ROWS + a_words - a_runs`).
    pub a_walk: u64,
    /// Weight words read (per tile when streaming, once per group when resident).
    pub b_words: u64,
    /// Descriptors in this cost (1 per layer).
    pub descriptors: u64,
    /// Layers whose input was resident in the input buffer / whose weights
    /// were resident in the weight buffer (0 or 1 per layer).
    pub input_resident: u64,
    pub weights_resident: u64,
}

impl LayerCost {
    /// `macs / (rows * cols * cycles)`.
    pub fn utilization(&self, p: &ModelParams) -> f64 {
        let peak = f64::from(p.rows) * f64::from(p.cols) * self.cycles as f64;
        if peak == 0.0 {
            0.0
        } else {
            self.macs as f64 / peak
        }
    }

    /// `(rd_bytes + wr_bytes) / compulsory_bytes`.
    pub fn traffic_ratio(&self) -> f64 {
        if self.compulsory_bytes == 0 {
            0.0
        } else {
            (self.rd_bytes + self.wr_bytes) as f64 / self.compulsory_bytes as f64
        }
    }

    fn add(&mut self, o: &LayerCost) {
        self.reads += o.reads;
        self.writes += o.writes;
        self.rd_bytes += o.rd_bytes;
        self.wr_bytes += o.wr_bytes;
        self.array_beats += o.array_beats;
        self.macs += o.macs;
        self.cycles += o.cycles;
        self.compulsory_bytes += o.compulsory_bytes;
        self.groups += o.groups;
        self.tiles += o.tiles;
        self.chunks += o.chunks;
        self.a_words += o.a_words;
        self.a_runs += o.a_runs;
        self.a_walk += o.a_walk;
        self.b_words += o.b_words;
        self.descriptors += o.descriptors;
        self.input_resident += o.input_resident;
        self.weights_resident += o.weights_resident;
    }
}

/// Per-descriptor costs and their sum (`total.cycles` includes [`C_START`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProgramCost {
    pub layers: Vec<LayerCost>,
    pub total: LayerCost,
}

/// Memory words a run of `n >= 1` bytes at `a` touches, `mb` bytes a word.
pub fn words(a: u64, n: u64, mb: u64) -> u64 {
    (a + n - 1) / mb - a / mb + 1
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// `sum over r < count of words(start + r*step, n)`: periodic in `r` with
/// period `mb / gcd(step, mb)`, since `words` only depends on the offset
/// inside a word.
fn progression_words(start: u64, step: u64, count: u64, n: u64, mb: u64) -> u64 {
    let period = mb / gcd(step % mb, mb);
    let term = |r: u64| words((start + r * step) % mb, n, mb);
    let one: u64 = (0..period.min(count)).map(term).sum();
    let (full, rem) = (count / period, count % period);
    if full == 0 {
        return one;
    }
    full * one + (0..rem).map(term).sum::<u64>()
}

/// For each conv-output or input coordinate along one axis, how many
/// `(pooled position, window offset, kernel tap)` triples reach input
/// coordinate `i` through a live row: `out` pooled positions, `pk` window
/// offsets at pool stride `ps` and pad `pp` inside `conv` conv positions,
/// `k` taps at stride `s`, dilation `dil`, pad `pad` inside `size`.
#[allow(clippy::too_many_arguments)]
fn axis_hits(
    out: u64,
    pk: u64,
    ps: u64,
    pp: u64,
    conv: u64,
    k: u64,
    s: u64,
    dil: u64,
    pad: u64,
    size: u64,
) -> Vec<u64> {
    let mut hits = vec![0u64; size as usize];
    for po in 0..out as i64 {
        for w in 0..pk as i64 {
            let c = po * ps as i64 - pp as i64 + w;
            if c < 0 || c >= conv as i64 {
                continue;
            }
            for t in 0..k as i64 {
                let i = c * s as i64 - pad as i64 + t * dil as i64;
                if (0..size as i64).contains(&i) {
                    hits[i as usize] += 1;
                }
            }
        }
    }
    hits
}

/// The cost of descriptor `d` (which must pass [`check::check_descriptor`];
/// its records are assumed valid), fetched from `desc_addr`.
pub fn layer_cost(
    pm: &ProgrammingModel,
    p: &ModelParams,
    desc_addr: u64,
    d: &Descriptor,
) -> Result<LayerCost, String> {
    if p.rows == 0 || p.cols == 0 {
        return Err(format!(
            "model: rows = {}, cols = {} must be >= 1",
            p.rows, p.cols
        ));
    }
    if !(p.max_inflight.is_power_of_two() && (4..=256).contains(&p.max_inflight)) {
        return Err(format!(
            "model: max_inflight = {} must be a power of two in 4..=256",
            p.max_inflight
        ));
    }
    if p.pipeline > 4 {
        return Err(format!("model: pipeline = {} must be in 0..=4", p.pipeline));
    }
    if p.chunk_bytes == 0 {
        return Err("model: chunk_bytes must be >= 1".into());
    }
    if p.mem_bits != pm.mem_bits || p.mem_bits % 8 != 0 || p.mem_bits == 0 {
        return Err(format!(
            "model: mem_bits = {} does not match the programming model's {}",
            p.mem_bits, pm.mem_bits
        ));
    }
    check::check_descriptor(pm, d)
        .map_err(|v| format!("model: the engine refuses this descriptor: {v}"))?;
    let mb = u64::from(p.mem_bits / 8);
    let (rows, cols) = (u64::from(p.rows), u64::from(p.cols));
    let db = u64::from(pm.descriptor.bytes);
    let rb = u64::from(pm.channel_record.bytes);
    let g = d.geometry();
    let (c_in, c_out) = (d.in_c, d.out_c);
    let (pk, ps, pp) = if d.pool_k == 0 {
        (1, 1, 0)
    } else {
        (d.pool_k, d.pool_s, d.pool_pad)
    };
    let pixels = g.h_o * g.w_o;
    let groups = c_out.div_ceil(cols);
    let pixel_tiles = pixels.div_ceil(rows);
    let tiles_per_group = pixel_tiles * pk * pk;
    let k_rows = d.k_h * d.k_w * c_in;

    let input_resident = d.in_bytes() <= p.ibuf_bytes;
    let weights_resident = k_rows <= p.wbuf_rows;

    let mut reads = words(desc_addr, db, mb) + words(d.ch_addr, rb * c_out, mb);
    if input_resident {
        reads += words(d.in_addr, d.in_bytes(), mb);
    }
    let b_loads = if weights_resident { 1 } else { tiles_per_group };
    let mut writes = 0;
    let mut b_words = 0;
    for grp in 0..groups {
        let co0 = grp * cols;
        let gw = cols.min(c_out - co0);
        reads += words(d.ch_addr + rb * co0, rb * gw, mb);
        b_words += b_loads * progression_words(d.w_addr + co0, c_out, k_rows, gw, mb);
        writes += progression_words(d.out_addr + co0, c_out, pixels, gw, mb);
    }
    reads += b_words;
    let tiles = groups * tiles_per_group;
    let cb = p.chunk_bytes;
    let chunks = tiles * d.k_h * d.k_w * c_in.div_ceil(cb);

    // The A walk: the same for every group. `a_one` counts the words of the
    // live rows' runs (read from memory, or from the input buffer when the
    // input is resident: same word layout), `live_one` the live runs.
    let chunk_words: Vec<u64> = (0..mb)
        .map(|o| {
            (0..c_in)
                .step_by(cb as usize)
                .map(|ci0| words(o + ci0, cb.min(c_in - ci0), mb))
                .sum()
        })
        .collect();
    let my = axis_hits(
        g.h_o, pk, ps, pp, g.h_c, d.k_h, d.stride_h, d.dil_h, d.pad_t, d.in_h,
    );
    let mx = axis_hits(
        g.w_o, pk, ps, pp, g.w_c, d.k_w, d.stride_w, d.dil_w, d.pad_l, d.in_w,
    );
    let col_sum: Vec<u64> = (0..mb)
        .map(|res| {
            mx.iter()
                .enumerate()
                .map(|(ix, &h)| h * chunk_words[((res + ix as u64 * c_in) % mb) as usize])
                .sum()
        })
        .collect();
    let a_one: u64 = my
        .iter()
        .enumerate()
        .map(|(iy, &h)| h * col_sum[((d.in_addr + iy as u64 * d.in_w * c_in) % mb) as usize])
        .sum();
    let live_one = my.iter().sum::<u64>() * mx.iter().sum::<u64>() * c_in.div_ceil(cb);
    if !input_resident {
        reads += groups * a_one;
    }

    let lat = u64::from(p.latency);
    let wr_bytes = pixels * c_out;
    let a_words = groups * a_one;
    let a_runs = groups * live_one;
    let mut cost = LayerCost {
        reads,
        writes,
        rd_bytes: reads * mb,
        wr_bytes,
        array_beats: tiles * k_rows,
        macs: g.h_c * g.w_c * c_out * k_rows,
        cycles: 0,
        compulsory_bytes: d.in_bytes() + d.w_bytes() + d.records_bytes(pm) + wr_bytes + db,
        groups,
        tiles,
        chunks,
        a_words,
        a_runs,
        a_walk: chunks * rows + a_words - a_runs,
        b_words,
        descriptors: 1,
        input_resident: u64::from(input_resident),
        weights_resident: u64::from(weights_resident),
    };
    // Every request takes the port for a cycle and every chunk at most a few
    // round trips: a bound far above any schedule, so a model bug is an
    // error and never a hang.
    let limit = 64 * (reads + writes + cost.array_beats + cost.a_walk + tiles * (rows + cols))
        + 64 * (groups + 4) * (lat + 64);
    cost.cycles = timing::descriptor_cycles(
        &timing::TimingParams {
            rows,
            cols,
            mb,
            cb,
            latency: lat,
            ibuf_bytes: p.ibuf_bytes,
            wbuf_rows: p.wbuf_rows,
            desc_bytes: db,
            record_bytes: rb,
            pipeline: u64::from(p.pipeline),
            max_inflight: u64::from(p.max_inflight),
            requant_lanes: u64::from(p.requant_lanes),
            fifo_ram: p.fifo_ram,
            out_pipe: p.out_pipe,
        },
        d,
        limit,
    )?;
    Ok(cost)
}

/// The cost of a descriptor list at `desc_addr` (e.g. [`crate::Program`]'s
/// `desc_addr` and `descriptors`).
pub fn program_cost(
    pm: &ProgrammingModel,
    p: &ModelParams,
    desc_addr: u32,
    descs: &[Descriptor],
) -> Result<ProgramCost, String> {
    let mut out = ProgramCost::default();
    let db = u64::from(pm.descriptor.bytes);
    for (i, d) in descs.iter().enumerate() {
        let c = layer_cost(pm, p, u64::from(desc_addr) + db * i as u64, d)
            .map_err(|e| format!("descriptor {i}: {e}"))?;
        out.total.add(&c);
        out.layers.push(c);
    }
    out.total.cycles += C_START;
    Ok(out)
}
