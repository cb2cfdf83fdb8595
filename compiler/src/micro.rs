//! The cycle model of the area-first engine (`hdl::engine::micro`, `gen
//! --control micro`): its microprogram (`useq::program`) run in the
//! interpreter a clock at a time beside the timing state of the machine
//! around it, for a memory that takes one request per cycle and answers
//! every read after a fixed latency `L`. Cycle-exact: the `cycles` counter of
//! a start (`testbench/tests/micro_timing.rs` checks it against the RTL).
//!
//! The rules it follows, from the RTL:
//!
//! - **Sequencer**: `DEC` one cycle, `EXE` one cycle plus the cycles its
//!   command waits; the `cycles` counter counts both (so a start costs two
//!   cycles an instruction plus the waits).
//! - **Loader** (one run at a time): takes an `Ldr` or `Ldl` when idle; an
//!   `Ldl` completes then, an `Ldr` when its word lands. Its words go to the
//!   port one a cycle after it took the run; it is busy until the run's last
//!   response (a padded row: one cycle, no read).
//! - **Port**: the request register is loaded every cycle (the memory takes
//!   it at once), a write from the write FIFO first, else the loader's read;
//!   a read taken in cycle t is answered in t + L.
//! - `Fire` feeds a beat a cycle while the loader is idle and the array takes
//!   it; `Tile` waits for room in the tile-info FIFO; `Waito` for the back
//!   end, the port and the loader to be empty.
//! - The array, the output path and the writer are the engine's own
//!   ([`crate::timing`]'s back end).

use std::collections::VecDeque;

use useq::asm::Program;
use useq::isa::{Op, Set, Special};
use useq::program::UConfig;
use useq::sim::{Cpu, Halt, Machine};

use crate::model::words;
use crate::timing::{Back, BackParams, Info};

/// The engine and memory the model is for.
#[derive(Clone, Copy, Debug)]
pub struct MicroParams {
    pub program: UConfig,
    /// The array's PE pipeline depth.
    pub pipeline: u64,
    /// Requantization units (0: one per column).
    pub requant_lanes: u64,
    pub fifo_ram: bool,
    pub out_pipe: bool,
    /// The memory's read latency.
    pub latency: u64,
}

/// How a start ends, and its `cycles` counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MicroRun {
    pub halt: Halt,
    pub cycles: u64,
    pub instructions: u64,
}

/// The values the timing needs from the program's commands: what the
/// datapath registers hold, and memory for `Ldr`.
struct Regs<'m> {
    mem: &'m [u8],
    base: u64,
    desc_addr: u32,
    desc_count: u32,
    n: u64,
    gw: u64,
    nv: u64,
    out_c: u64,
}

impl Machine for Regs<'_> {
    fn special(&mut self, x: u16) -> u32 {
        if x == Special::DescCount as u16 {
            self.desc_count
        } else {
            self.desc_addr
        }
    }
    fn load(&mut self, addr: u32, bytes: u32) -> Result<u32, String> {
        let a = u64::from(addr)
            .checked_sub(self.base)
            .ok_or_else(|| format!("load at {addr:#x}: below the memory"))?
            as usize;
        let b = self
            .mem
            .get(a..a + bytes as usize)
            .ok_or_else(|| format!("load at {addr:#x}: past the memory"))?;
        Ok(b.iter().rev().fold(0, |v, &x| v << 8 | u32::from(x)))
    }
    fn lane(&mut self, _: u16, _: u32) -> Result<(), String> {
        Ok(())
    }
    fn set(&mut self, x: u16, v: u32) -> Result<(), String> {
        let v = u64::from(v);
        match x {
            x if x == Set::N as u16 => self.n = v,
            x if x == Set::Gw as u16 => self.gw = v,
            x if x == Set::Nv as u16 => self.nv = v,
            x if x == Set::OutC as u16 => self.out_c = v,
            _ => {}
        }
        Ok(())
    }
    fn fire(&mut self, _: bool) -> Result<(), String> {
        Ok(())
    }
    fn tile(&mut self, _: u32, _: u32, _: bool, _: bool) -> Result<(), String> {
        Ok(())
    }
    fn wait_out(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// Run `desc_count` descriptors at `desc_addr` from a start, over `mem`
/// (its first byte at `base`; descriptors and records are read from it).
/// `limit` bounds the cycles simulated.
pub fn run(
    p: &MicroParams,
    prog: &Program,
    mem: &[u8],
    base: u32,
    desc_addr: u32,
    desc_count: u32,
    limit: u64,
) -> Result<MicroRun, String> {
    let u = &p.program;
    let (rows, cols, mb) = (u64::from(u.rows), u64::from(u.cols), u64::from(u.mb()));
    let rb = u64::from(u.programming_model().channel_record.bytes);
    let mut back = Back::new(&BackParams {
        rows,
        cols,
        mb,
        pipeline: p.pipeline,
        requant_lanes: p.requant_lanes,
        fifo_ram: p.fifo_ram,
        out_pipe: p.out_pipe,
    })?;
    let mut regs = Regs {
        mem,
        base: u64::from(base),
        desc_addr,
        desc_count,
        n: 0,
        gw: 0,
        nv: 0,
        out_c: 0,
    };
    let mut cpu = Cpu::new();
    let mut exe = false;
    // Loader.
    let (mut ld_busy, mut ld_ldr, mut ld_zero) = (false, false, false);
    let (mut ld_left, mut ld_q, mut ld_lastq) = (0u64, 0u64, 0u64);
    // Port: the request register (Some(true) a write) and responses due.
    let mut mreq: Option<bool> = None;
    let mut resp: VecDeque<u64> = VecDeque::new();
    let mut fb = 0u64;
    let mut t = 0u64;
    loop {
        t += 1;
        if t > limit {
            return Err(format!("model: no halt within {limit} cycles"));
        }
        let bw = back.wires();
        let resp_now = resp.front().is_some_and(|&due| due <= t);
        let take_wr = bw.wr_valid;
        let take_rd = !take_wr && ld_busy && ld_left > 0;
        let mut ready = true;
        let mut feed = None;
        let mut info_push = None;
        let mut accept = None;
        if exe {
            let i = *prog
                .code
                .get(cpu.pc)
                .ok_or_else(|| format!("model: pc {} outside the program", cpu.pc))?;
            let a = cpu.regs[i.ra as usize];
            let b = cpu.b_value(&i);
            let sum = u64::from(a.wrapping_add(b));
            match i.op {
                Op::Ldr | Op::Ldl => {
                    if !ld_busy {
                        let zero = i.op == Op::Ldl && sum >> 31 == 1;
                        let lane = u64::from(i.x);
                        let len = if i.op == Op::Ldr {
                            1 << (i.x & 3)
                        } else if lane < rows {
                            regs.n
                        } else if lane < rows + u64::from(u.chunk()) {
                            regs.gw
                        } else {
                            rb
                        };
                        accept = Some((i.op == Op::Ldr, zero, words(sum % mb, len, mb)));
                    }
                    ready = if i.op == Op::Ldr {
                        ld_busy && ld_ldr && resp_now
                    } else {
                        !ld_busy
                    };
                }
                Op::Fire => {
                    let beat = !ld_busy && bw.in_ready;
                    let last_beat = fb + 1 == regs.n;
                    if beat {
                        feed = Some(i.x & 1 == 1 && last_beat);
                    }
                    ready = beat && last_beat;
                }
                Op::Tile => {
                    ready = bw.info_ready;
                    if ready {
                        info_push = Some(Info {
                            last_window: i.x & 2 == 2,
                            nvalid: regs.nv,
                            oaddr: u64::from(b),
                            gw: regs.gw,
                            par: 0,
                            c_out: regs.out_c,
                        });
                    }
                }
                Op::Waito => ready = bw.idle && mreq != Some(true) && !ld_busy,
                _ => {}
            }
        }
        // ------------------------------------------------ edge
        if mreq == Some(false) {
            resp.push_back(t + p.latency);
        }
        mreq = if take_wr {
            Some(true)
        } else if take_rd {
            Some(false)
        } else {
            None
        };
        back.edge(&bw, feed, info_push, take_wr);
        let last_resp = resp_now && ld_q == ld_lastq;
        let zero_done = ld_busy && ld_zero;
        if take_rd {
            ld_left -= 1;
        }
        if resp_now {
            resp.pop_front();
            ld_q += 1;
        }
        if let Some((ldr, zero, nw)) = accept {
            ld_busy = true;
            ld_ldr = ldr;
            ld_zero = zero;
            ld_left = if zero { 0 } else { nw };
            ld_q = 0;
            ld_lastq = nw - 1;
        } else if last_resp || zero_done {
            ld_busy = false;
        }
        if feed.is_some() {
            fb = if fb + 1 == regs.n { 0 } else { fb + 1 };
        }
        if !exe {
            exe = true;
        } else if ready {
            let executed = cpu.instructions() + 1;
            if let Some(halt) = cpu
                .step(prog, &mut regs)
                .map_err(|e| format!("model: {e}"))?
            {
                return Ok(MicroRun {
                    halt,
                    cycles: t,
                    instructions: executed,
                });
            }
            exe = false;
        }
    }
}
