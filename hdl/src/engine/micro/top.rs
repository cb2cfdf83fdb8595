//! The area-first engine's top: the sequencer ([`super::seq`]) and what its
//! commands drive.
//!
//! - The **loader** runs one `Ldr` or `Ldl` at a time: the words of a run
//!   (`words(addr, len)`, at most three) are requested one a cycle and their
//!   bytes land, rotated by the run's offset, in the lane (or, for `Ldr`, go
//!   back to the sequencer, which waits for them). An `Ldl` completes as
//!   soon as the loader takes it, so the sequencer computes on while the
//!   words come; a lane address with bit 31 set is a padded row: zeros, no
//!   read.
//! - The **lanes** are flip-flops: an A lane per array row (a chunk of
//!   channels of its pixel), a B lane per beat (the group's weights of one
//!   reduction index), and a record lane per column, which is the output
//!   path's bias, mult and shift.
//! - `Fire` feeds the array `N` beats straight from the lanes once the loader
//!   is idle; `Tile` pushes a tile's info to the output path, shared with the
//!   engine (`engine::output`: requantization, running max, writer); `Waito`
//!   waits for the output path and the loader to be empty.
//! - The port register takes writes first, then the loader's reads.

use crate::ir::{Expr, Module, SignalId, Ty};
use crate::parts::inst::Instantiate;
use crate::parts::ops::{bit, k, select};
use crate::process::Proc;
use crate::util::clog2;
use crate::GenError;

use super::super::config::EngineConfig;
use super::super::output::{self, OutputIn};
use super::super::port::{self, EnginePorts, PortReg};
use super::super::regs::{self, RegsIo};
use super::super::top::{info_bits, wr_bits};
use super::seq;
use useq::isa::{Op, Set};

/// The modules the top instantiates.
pub struct Parts<'a> {
    pub array: &'a Module,
    pub seq: &'a Module,
    pub info_fifo: &'a Module,
    pub wjob_fifo: &'a Module,
    pub wr_fifo: &'a Module,
}

fn z(e: impl Into<Expr>, w: u32) -> Expr {
    e.into().resize(w)
}

pub fn build(cfg: &EngineConfig, parts: Parts<'_>) -> Result<Module, GenError> {
    let pm = cfg.programming_model();
    let u = cfg.micro();
    let aw = pm.limits.addr_bits;
    let ta = Ty::u(aw);
    let (rows, cols) = (cfg.rows, cfg.cols);
    let mb = cfg.mem_bits / 8;
    let mbb = clog2(u64::from(mb));
    let cb = u.chunk();
    let rb = pm.channel_record.bytes;
    let nlanes = u.lanes();
    let lane_bits = clog2(u64::from(nlanes)).max(1);
    // Longest run a lane takes, and its words.
    let maxlen = cb.max(cols).max(rb);
    let len_bits = clog2(u64::from(maxlen) + 1);
    let maxw = (mb - 1 + maxlen - 1) / mb + 1;
    let wbits = clog2(u64::from(maxw) + 1);
    let ty8 = Ty::u(8);

    let mut m = Module::new(cfg.name.clone());
    m.doc(format!(
        "Area-first int8 conv/FC engine: {rows} x {cols} array, {}-bit memory port, micro-sequenced.",
        cfg.mem_bits
    ))
    .doc("Same contract as the engine (docs/engine-contract.md); the checks and the schedule are a")
    .doc("program (useq::program) run by a micro-sequencer; docs/engine-micro.md is the design.");
    let EnginePorts {
        clk,
        rst,
        csr,
        irq,
        mem,
        sync,
    } = EnginePorts::declare(&mut m, cfg);
    let rg = regs::declare(&mut m, sync);

    // ------------------------------------------------------------ sequencer
    let start_go = m.wire("start_go", bit(), "ctrl.start written while idle");
    let s_busy = m.wire("seq_busy", bit(), "");
    let s_done = m.wire("seq_done", bit(), "");
    let s_err = m.wire("seq_err", bit(), "");
    let s_code = m.wire("seq_err_code", ty8, "");
    let s_index = m.wire("seq_err_index", Ty::u(16), "");
    let c_valid = m.wire("cmd_valid", bit(), "the sequencer offers a command");
    let c_ready = m.wire("cmd_ready", bit(), "the command completes");
    let c_kind = m.wire("cmd_kind", Ty::u(seq::KIND_BITS), "");
    let c_x = m.wire("cmd_x", Ty::u(useq::isa::X_BITS), "");
    let c_a = m.wire("cmd_a", Ty::u(32), "");
    let c_b = m.wire("cmd_b", Ty::u(32), "");
    let c_sum = m.wire("cmd_sum", Ty::u(32), "");
    let ldr_data = m.wire("ldr_data", Ty::u(32), "");
    m.allow_unused(c_a, "only Tile reads A: its row mask");
    m.allow_unused(c_b, "only Tile reads B: an output address, addr_bits wide");
    m.allow_unused(
        c_sum,
        "addresses are addr_bits wide; bit 31 marks a zero lane",
    );
    let run_addr = m.reg_in(
        "run_addr_reg",
        Ty::u(32),
        sync,
        "desc_addr as copied by the start",
    );
    let run_count = m.reg_in(
        "run_count_reg",
        Ty::u(32),
        sync,
        "desc_count as copied by the start",
    );
    m.sync(sync, "The start copies the list.", |p| {
        p.if_(start_go, |p| {
            p.set(run_addr, rg.desc_addr);
            p.set(run_count, rg.desc_count);
        });
    });
    m.inst(parts.seq, "u_seq")
        .connect("clk", clk)
        .connect("rst", rst)
        .connect("start", start_go)
        .out("busy", s_busy)
        .out("done", s_done)
        .out("err", s_err)
        .out("err_code", s_code)
        .out("err_index", s_index)
        .connect("sp_desc_addr", run_addr)
        .connect("sp_desc_count", run_count)
        .out("cmd_valid", c_valid)
        .connect("cmd_ready", c_ready)
        .out("cmd_kind", c_kind)
        .out("cmd_x", c_x)
        .out("cmd_a", c_a)
        .out("cmd_b", c_b)
        .out("cmd_sum", c_sum)
        .connect("ldr_data", ldr_data)
        .finish()?;
    let cmd = |op: Op| {
        Expr::from(c_valid) & Expr::from(c_kind).cmp_eq(k(seq::KIND_BITS, seq::kind_code(op)))
    };
    let xis = |s: Set| Expr::from(c_x).cmp_eq(k(useq::isa::X_BITS, s as u32));

    // ------------------------------------------------------------ datapath registers (Sets)
    let nb = clog2(u64::from(cb) + 1);
    let n_reg = m.reg_in("n_reg", Ty::u(nb), sync, "beats per chunk");
    let gw_reg = m.reg_in("gw_reg", ty8, sync, "live columns of the group");
    let nv_reg = m.reg_in("nv_reg", ty8, sync, "live rows of the tile");
    let relu_reg = m.reg_in("relu_reg", bit(), sync, "the layer's relu");
    let ocb = clog2(u64::from(pm.limits.out_c) + 1);
    let outc_reg = m.reg_in("out_c_reg", Ty::u(ocb), sync, "the layer's out_c");
    let sets = cmd(Op::Sets);
    m.sync(sync, "Datapath registers written by Sets.", |p| {
        p.if_(sets.clone() & xis(Set::N), |p| {
            p.set(n_reg, z(c_sum, nb));
        });
        p.if_(sets.clone() & xis(Set::Gw), |p| {
            p.set(gw_reg, z(c_sum, 8));
        });
        p.if_(sets.clone() & xis(Set::Nv), |p| {
            p.set(nv_reg, z(c_sum, 8));
        });
        p.if_(sets.clone() & xis(Set::Relu), |p| {
            p.set(relu_reg, Expr::from(c_sum).bit_at(0));
        });
        p.if_(sets.clone() & xis(Set::OutC), |p| {
            p.set(outc_reg, z(c_sum, ocb));
        });
    });

    // ------------------------------------------------------------ loader
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
        Ty::u(mbb.max(1)),
        sync,
        "its first byte in the first word",
    );
    let ld_len = m.reg_in("ld_len_reg", Ty::u(len_bits), sync, "its bytes");
    let ld_addr = m.reg_in("ld_addr_reg", ta, sync, "next word to request");
    let ld_left = m.reg_in("ld_left_reg", Ty::u(wbits), sync, "words still to request");
    let ld_q = m.reg_in("ld_q_reg", Ty::u(wbits), sync, "word of the next response");
    let ld_last_q = m.reg_in("ld_lastq_reg", Ty::u(wbits), sync, "the run's last word");
    let ldr_mask = m.reg_in("ldr_mask_reg", Ty::u(32), sync, "Ldr: the bytes kept");
    let take_rd = m.wire("take_rd", bit(), "the port takes the loader's read");
    let resp = m.wire_of(
        "resp",
        Expr::from(mem.resp_valid) & mem.resp_ready,
        "a read response moves",
    );
    m.assign(mem.resp_ready, Expr::bit(true));
    let is_ldr = cmd(Op::Ldr);
    let is_ldl = cmd(Op::Ldl);
    let accept = m.wire_of(
        "ld_accept",
        (is_ldr.clone() | is_ldl.clone()) & !Expr::from(ld_busy),
        "the loader takes a command",
    );
    let xl = Expr::from(c_x).slice(0, lane_bits);
    let acc_len = m.wire_of(
        "ld_acc_len",
        Expr::mux(
            is_ldr.clone(),
            z(k(4, 1) << Expr::from(c_x).slice(0, 2), len_bits),
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
    let acc_off = Expr::from(c_sum).slice(0, mbb.max(1));
    let acc_off = if mbb == 0 { k(1, 0) } else { acc_off };
    let acc_lastq = m.wire_of(
        "ld_acc_lastq",
        z(
            (z(acc_off.clone(), len_bits + 1) + z(acc_len, len_bits + 1) - k(len_bits + 1, 1))
                >> k(3, mbb),
            wbits,
        ),
        "",
    );
    let acc_zero = is_ldl.clone() & Expr::from(c_sum).bit_at(31);
    let word_of = |a: Expr| {
        if mbb == 0 {
            a
        } else {
            Expr::concat(vec![k(mbb, 0), a.slice(mbb, aw - mbb)])
        }
    };
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
            p.set(ld_addr, word_of(z(c_sum, aw)));
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
            let bytes = Expr::from(c_x).slice(0, 2);
            p.set(
                ldr_mask,
                Expr::mux(
                    bytes.clone().cmp_eq(k(2, 0)),
                    k(32, 0xFF),
                    Expr::mux(
                        bytes.cmp_eq(k(2, 1)),
                        k(32, 0xFFFF),
                        Expr::uconst(32, 0xFFFF_FFFF),
                    ),
                ),
            );
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
            let e = if mb == 1 {
                opts[0].clone()
            } else {
                select(opts, Some(ld_off), mbb)
            };
            m.wire_of(&format!("rot{j}"), e, "")
        })
        .collect();
    m.assign(
        ldr_data,
        Expr::concat((0..4).map(|j| Expr::from(rot[(j % mb) as usize])).collect()) & ldr_mask,
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

    // ------------------------------------------------------------ lanes
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

    // ------------------------------------------------------------ fire
    let bb = clog2(u64::from(cb)).max(1);
    let fb_reg = m.reg_reset(
        "fire_beat_reg",
        Ty::u(bb),
        sync,
        0,
        "beat of the chunk being fed",
    );
    let arr_in_ready = m.wire("arr_in_ready", bit(), "");
    let is_fire = cmd(Op::Fire);
    let arr_in_valid = m.wire_of(
        "arr_in_valid",
        is_fire.clone() & !Expr::from(ld_busy),
        "a beat is offered",
    );
    let last_beat = Expr::from(fb_reg)
        .resize(nb)
        .cmp_eq(Expr::from(n_reg) - k(nb, 1));
    let arr_in_last = m.wire_of(
        "arr_in_last",
        Expr::from(c_x).bit_at(0) & last_beat.clone(),
        "",
    );
    let beat = m.wire_of(
        "beat",
        Expr::from(arr_in_valid) & arr_in_ready,
        "the array takes a beat",
    );
    let fire_done = m.wire_of(
        "fire_done",
        Expr::from(beat) & last_beat,
        "the chunk's last beat",
    );
    m.sync(sync, "Beat counter.", |p| {
        p.if_(beat, |p| {
            p.set(fb_reg, Expr::from(fb_reg) + k(bb, 1));
            p.if_(fire_done, |p| {
                p.set(fb_reg, k(bb, 0));
            });
        });
    });
    let fsel = (cb > 1).then_some(fb_reg);
    let in_a = Expr::concat(
        a_lanes
            .iter()
            .map(|lane| select(lane.iter().map(|&r| Expr::from(r)).collect(), fsel, bb))
            .collect(),
    );
    let in_b = Expr::concat(
        (0..cols as usize)
            .map(|j| select(b_lanes.iter().map(|l| Expr::from(l[j])).collect(), fsel, bb))
            .collect(),
    );
    let arr_in_a = m.wire_of("arr_in_a", in_a, "A column of the beat");
    let arr_in_b = m.wire_of("arr_in_b", in_b, "B row of the beat");
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

    // ------------------------------------------------------------ output path
    let info_ready = m.wire("info_ready", bit(), "the tile-info FIFO has room");
    let is_tile = cmd(Op::Tile);
    let info_valid = m.wire_of(
        "info_valid",
        is_tile.clone(),
        "the sequencer pushes a tile's info",
    );
    let gpar = m.wire_of(
        "gpar",
        k(1, 0),
        "one record set: the program waits for the output path",
    );
    let info_data = m.wire_of(
        "info_data",
        Expr::concat(vec![
            Expr::from(c_x).slice(0, 1),
            Expr::from(c_x).slice(1, 1),
            Expr::from(c_a).slice(0, rows),
            Expr::from(nv_reg),
            Expr::from(gw_reg),
            z(c_b, aw),
            Expr::from(gpar),
        ]),
        "{parity, output address, gw, live rows, mask, last, first}",
    );
    debug_assert_eq!(info_bits(cfg), 2 + rows + 8 + 8 + aw + 1);
    let inflight = [m.reg_reset(
        "inflight_reg",
        Ty::u(3),
        sync,
        0,
        "tiles between info push and pop",
    )];
    let sets_b = [bias.clone(), bias];
    let sets_m = [mult.clone(), mult];
    let sets_s = [shift.clone(), shift];
    let out = output::build(
        &mut m,
        cfg,
        &OutputIn {
            sync,
            clk,
            arr_out_valid,
            arr_out_ready,
            arr_out_c,
            arr_out_last,
            bias: &sets_b,
            mult: &sets_m,
            shift: &sets_s,
            relu: relu_reg,
            out_c: outc_reg,
            inflight: &inflight,
            info_valid,
            info_ready,
            gpar,
        },
    )?;

    // ------------------------------------------------------------ port
    let wr_valid = m.wire("wr_valid", bit(), "");
    let wr_out = m.wire("wr_out", Ty::u(wr_bits(cfg)), "");
    let wr_pop = m.wire("wr_pop", bit(), "");
    let wr_empty = m.wire("wr_empty", bit(), "");
    let preg = PortReg::declare(&mut m, cfg, sync, &mem, aw);
    let load = preg.load;
    let take_wr = m.wire_of(
        "take_wr",
        Expr::from(load) & wr_valid,
        "a write enters the port",
    );
    let rd_want = Expr::from(ld_busy) & Expr::from(ld_left).cmp_ne(k(wbits, 0));
    m.assign(take_rd, Expr::from(load) & !Expr::from(wr_valid) & rd_want);
    m.assign(wr_pop, take_wr);
    preg.build(
        &mut m,
        cfg,
        sync,
        &mem,
        aw,
        take_wr,
        take_rd,
        wr_out,
        Expr::from(ld_addr),
    );
    let wr_pending = preg.write_pending();
    let out_idle = m.wire_of(
        "out_idle",
        out.idle(wr_empty, wr_pending),
        "no tile in the array or the output path, no write pending",
    );
    // Commands complete: Ldr when its word lands, Ldl when taken, Sets at
    // once, Fire with its last beat, Tile when the info FIFO takes it, Waito
    // when everything is written and no read is outstanding.
    m.assign(
        c_ready,
        (is_ldr & Expr::from(ld_busy) & ld_ldr & resp)
            | (is_ldl & !Expr::from(ld_busy))
            | sets
            | Expr::from(fire_done)
            | (is_tile & info_ready)
            | (cmd(Op::Waito) & out_idle & !Expr::from(ld_busy)),
    );

    // ------------------------------------------------------------ FIFO instances
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

    // ------------------------------------------------------------ register port
    regs::build(
        &mut m,
        cfg,
        &pm,
        sync,
        &rg,
        RegsIo {
            csr,
            irq,
            start_go,
            busy: s_busy.into(),
            idle: !Expr::from(s_busy),
            enter_error: s_err.into(),
            enter_done: s_done.into(),
            err_code: s_code.into(),
            desc_index: s_index.into(),
            increments: [
                z(beat, 64),
                Expr::mux(resp, k(64, mb), k(64, 0)),
                preg.wr_bytes_increment(&mem, mb),
            ],
        },
    )?;
    Ok(m)
}
