//! The area-first engine's top: the sequencer ([`super::seq`]) and what its
//! commands drive.
//!
//! - The **loader** and the **lanes** (`loader.rs`) take `Ldr` and `Ldl`.
//!   An `Ldl` completes as soon as the loader takes it, so the sequencer
//!   computes on while the words come.
//! - `Fire` feeds the array `N` beats straight from the lanes once the loader
//!   is idle; `Tile` pushes a tile's info to the output path, shared with the
//!   engine (`engine::output`: requantization, running max, writer); `Waito`
//!   waits for the output path and the loader to be empty.
//! - The port register takes writes first, then the loader's reads.

use crate::ir::{Expr, Module, Ty};
use crate::parts::inst::Instantiate;
use crate::parts::ops::{bit, k, select};
use crate::util::clog2;
use crate::GenError;

use super::super::config::EngineConfig;
use super::super::output::{self, OutputIn};
use super::super::port::{self, EnginePorts, PortReg};
use super::super::regs::{self, RegsIo};
use super::super::top::{info_bits, wr_bits};
use super::loader::{self, Cmd, LoaderIn};
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
    let (rows, cols) = (cfg.rows, cfg.cols);
    let mb = cfg.mem_bits / 8;
    let cb = u.chunk();
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
    let cmdw = Cmd {
        valid: c_valid,
        kind: c_kind,
        x: c_x,
        sum: c_sum,
    };
    let cmd = |op: Op| cmdw.is(op);
    let xis = |s: Set| cmdw.x_is(s);

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

    // ------------------------------------------------------------ loader and lanes
    let ld = loader::build(
        &mut m,
        cfg,
        LoaderIn {
            sync,
            mem: &mem,
            cmd: &cmdw,
            n_reg,
            gw_reg,
            ldr_data,
        },
    )?;
    let (ld_busy, ld_ldr, take_rd, resp) = (ld.busy, ld.ldr, ld.take_rd, ld.resp);
    let is_ldr = cmd(Op::Ldr);
    let is_ldl = cmd(Op::Ldl);

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
        ld.a_lanes
            .iter()
            .map(|lane| select(lane.iter().map(|&r| Expr::from(r)).collect(), fsel, bb))
            .collect(),
    );
    let in_b = Expr::concat(
        (0..cols as usize)
            .map(|j| {
                select(
                    ld.b_lanes.iter().map(|l| Expr::from(l[j])).collect(),
                    fsel,
                    bb,
                )
            })
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
    let sets_b = [ld.bias.clone(), ld.bias.clone()];
    let sets_m = [ld.mult.clone(), ld.mult.clone()];
    let sets_s = [ld.shift.clone(), ld.shift.clone()];
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
    let rd_want = ld.wants_read();
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
        Expr::from(ld.addr),
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
