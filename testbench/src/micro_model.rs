//! A functional model of the area-first engine (`useq`) around its sequencer: the
//! memory, the lanes, the array (exact int32 sums), and the output path
//! (requantization, running max of the pool window, writes of live rows).
//! It runs the microprogram in the interpreter, so a test can compare the
//! memory and the outcome with the contract's executor before any RTL runs,
//! and count what the schedule costs (instructions, beats, bytes moved).

use std::collections::VecDeque;

use contracts::engine::ProgrammingModel;

use useq::asm::Program;
use useq::isa::{Set, Special};
use useq::program::UConfig;
use useq::sim::{Cpu, Halt, Machine, SimError};

/// The memory and the regions a run may touch.
#[derive(Clone, Debug)]
pub struct Memory {
    pub base: u32,
    pub bytes: Vec<u8>,
    /// Byte ranges `(start, len)` the engine may read; empty: anywhere.
    pub readable: Vec<(u64, u64)>,
    /// Byte ranges the engine may write; empty: anywhere.
    pub writable: Vec<(u64, u64)>,
}

impl Memory {
    fn inside(ranges: &[(u64, u64)], a: u64) -> bool {
        ranges.is_empty() || ranges.iter().any(|&(s, l)| a >= s && a < s + l)
    }

    fn byte(&self, a: u64) -> Result<u8, String> {
        if !Memory::inside(&self.readable, a) {
            return Err(format!("read of {a:#x}: outside the readable regions"));
        }
        a.checked_sub(u64::from(self.base))
            .and_then(|o| self.bytes.get(o as usize).copied())
            .ok_or_else(|| format!("read of {a:#x}: outside the memory"))
    }

    fn write(&mut self, a: u64, v: u8) -> Result<(), String> {
        if !Memory::inside(&self.writable, a) {
            return Err(format!("write of {a:#x}: outside the writable regions"));
        }
        let o = a
            .checked_sub(u64::from(self.base))
            .filter(|&o| (o as usize) < self.bytes.len())
            .ok_or_else(|| format!("write of {a:#x}: outside the memory"))?;
        self.bytes[o as usize] = v;
        Ok(())
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub instructions: u64,
    pub array_beats: u64,
    /// Memory words read (`rd_bytes / MB`).
    pub reads: u64,
    pub wr_bytes: u64,
    pub tiles: u64,
}

pub struct Model {
    cfg: UConfig,
    pm: ProgrammingModel,
    pub mem: Memory,
    desc_addr: u32,
    desc_count: u32,
    lanes: Vec<Vec<u8>>,
    n: u32,
    gw: u32,
    nv: u32,
    relu: bool,
    out_c: u32,
    acc: Vec<Vec<i32>>,
    done: VecDeque<Vec<Vec<i32>>>,
    pool: Vec<Vec<i8>>,
    pool_valid: Vec<bool>,
    pub counts: Counts,
}

fn words(a: u64, n: u64, mb: u64) -> u64 {
    (a + n - 1) / mb - a / mb + 1
}

impl Model {
    pub fn new(cfg: UConfig, mem: Memory) -> Model {
        let (rows, cols) = (cfg.rows as usize, cfg.cols as usize);
        let pm = cfg.programming_model();
        let rb = pm.channel_record.bytes as usize;
        let lanes = (0..cfg.lanes())
            .map(|l| {
                vec![
                    0;
                    if l < cfg.rows {
                        cfg.chunk() as usize
                    } else if l < cfg.rows + cfg.chunk() {
                        cols
                    } else {
                        rb
                    }
                ]
            })
            .collect();
        Model {
            cfg,
            pm,
            mem,
            desc_addr: 0,
            desc_count: 0,
            lanes,
            n: 0,
            gw: 0,
            nv: 0,
            relu: false,
            out_c: 0,
            acc: vec![vec![0; cols]; rows],
            done: VecDeque::new(),
            pool: vec![vec![0; cols]; rows],
            pool_valid: vec![false; rows],
            counts: Counts::default(),
        }
    }

    /// Run `desc_count` descriptors at `desc_addr` (a `ctrl.start`).
    pub fn start(
        &mut self,
        prog: &Program,
        desc_addr: u32,
        desc_count: u32,
        max_steps: u64,
    ) -> Result<Halt, SimError> {
        self.desc_addr = desc_addr;
        self.desc_count = desc_count;
        let mut cpu = Cpu::new();
        let h = cpu.run(prog, self, max_steps)?;
        self.counts.instructions += cpu.instructions();
        Ok(h)
    }

    fn mb(&self) -> u64 {
        u64::from(self.cfg.mb())
    }

    fn read_run(&mut self, addr: u32, len: u32) -> Result<Vec<u8>, String> {
        let a = u64::from(addr);
        let v = (0..u64::from(len))
            .map(|i| self.mem.byte(a + i))
            .collect::<Result<Vec<u8>, String>>()?;
        self.counts.reads += words(a, u64::from(len), self.mb());
        Ok(v)
    }

    fn rec(&self, col: usize, name: &str) -> u64 {
        let lane = &self.lanes[self.cfg.lane_rec(col as u32) as usize];
        self.pm
            .channel_record
            .get(lane, name)
            .expect("record lanes hold whole records")
    }
}

impl Machine for Model {
    fn special(&mut self, x: u16) -> u32 {
        if x == Special::DescAddr as u16 {
            self.desc_addr
        } else if x == Special::DescCount as u16 {
            self.desc_count
        } else {
            0
        }
    }

    fn load(&mut self, addr: u32, bytes: u32) -> Result<u32, String> {
        if u64::from(addr) % self.mb() + u64::from(bytes) > self.mb() {
            return Err(format!("load of {bytes} bytes at {addr:#x} crosses a word"));
        }
        let v = self.read_run(addr, bytes)?;
        Ok(v.iter().rev().fold(0, |acc, &b| acc << 8 | u32::from(b)))
    }

    fn lane(&mut self, lane: u16, addr: u32) -> Result<(), String> {
        let c = &self.cfg;
        let l = u32::from(lane);
        let len = if l < c.rows {
            self.n
        } else if l < c.rows + c.chunk() {
            self.gw
        } else if l < c.lanes() {
            self.pm.channel_record.bytes
        } else {
            return Err(format!("lane {lane} does not exist"));
        };
        let data = if addr >> 31 == 1 {
            if l >= c.rows {
                return Err(format!("zeros asked of lane {lane}, not an A lane"));
            }
            vec![0; len as usize]
        } else {
            self.read_run(addr, len)?
        };
        self.lanes[l as usize][..len as usize].copy_from_slice(&data);
        Ok(())
    }

    fn set(&mut self, x: u16, v: u32) -> Result<(), String> {
        let c = &self.cfg;
        match x {
            x if x == Set::N as u16 && (1..=c.chunk()).contains(&v) => self.n = v,
            x if x == Set::Gw as u16 && (1..=c.cols).contains(&v) => self.gw = v,
            x if x == Set::Nv as u16 && (1..=c.rows).contains(&v) => self.nv = v,
            x if x == Set::Relu as u16 => self.relu = v & 1 == 1,
            x if x == Set::OutC as u16 => self.out_c = v,
            _ => return Err(format!("set {x} = {v}: no such register or out of range")),
        }
        Ok(())
    }

    fn fire(&mut self, last: bool) -> Result<(), String> {
        let (rows, cols) = (self.cfg.rows as usize, self.cfg.cols as usize);
        for b in 0..self.n as usize {
            let brow = &self.lanes[self.cfg.lane_b(b as u32) as usize];
            for (i, acc) in self.acc.iter_mut().enumerate() {
                let av = i32::from(self.lanes[i][b] as i8);
                for (s, &w) in acc.iter_mut().zip(brow) {
                    *s = s.wrapping_add(av * i32::from(w as i8));
                }
            }
        }
        self.counts.array_beats += u64::from(self.n);
        if last {
            let t = std::mem::replace(&mut self.acc, vec![vec![0; cols]; rows]);
            self.done.push_back(t);
        }
        Ok(())
    }

    fn tile(&mut self, mask: u32, oaddr: u32, first: bool, last: bool) -> Result<(), String> {
        let acc = self
            .done
            .pop_front()
            .ok_or("tile info with no finished tile in the array")?;
        self.counts.tiles += 1;
        for (i, row) in acc.iter().enumerate() {
            if first {
                self.pool_valid[i] = false;
            }
            if mask >> i & 1 == 1 {
                for (j, &s) in row.iter().enumerate().take(self.gw as usize) {
                    let rq = golden::Requant::new(
                        self.rec(j, "mult") as u32,
                        self.rec(j, "shift") as u32,
                        self.relu,
                    )
                    .map_err(|e| format!("record {j}: {e}"))?;
                    let v = rq.apply(s, self.rec(j, "bias") as u32 as i32);
                    let p = &mut self.pool[i][j];
                    *p = if self.pool_valid[i] { (*p).max(v) } else { v };
                }
                self.pool_valid[i] = true;
            }
            if last && (i as u32) < self.nv {
                if !self.pool_valid[i] {
                    return Err(format!(
                        "row {i}: a live pixel whose window held no position"
                    ));
                }
                let at = u64::from(oaddr) + i as u64 * u64::from(self.out_c);
                for j in 0..self.gw as usize {
                    self.mem.write(at + j as u64, self.pool[i][j] as u8)?;
                }
                self.counts.wr_bytes += u64::from(self.gw);
            }
        }
        Ok(())
    }

    fn wait_out(&mut self) -> Result<(), String> {
        if self.done.is_empty() {
            Ok(())
        } else {
            Err("waiting for the output path with a tile the program never described".into())
        }
    }
}

impl Memory {
    /// The memory of a test program: its image, readable where the program
    /// lets the engine read or write, writable where it lets it write.
    pub fn of(prog: &crate::engine::image::Program) -> Memory {
        let mut readable = prog.read_only.clone();
        readable.extend(prog.writable.iter().copied());
        Memory {
            base: prog.image.base as u32,
            bytes: prog.image.bytes.clone(),
            readable,
            writable: prog.writable.clone(),
        }
    }
}

/// One machine command as the machine saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    Load {
        addr: u32,
        bytes: u32,
    },
    Lane {
        lane: u16,
        addr: u32,
    },
    Set {
        x: u16,
        value: u32,
    },
    Fire {
        last: bool,
    },
    Tile {
        mask: u32,
        oaddr: u32,
        first: bool,
        last: bool,
    },
    WaitOut,
}

/// A machine that logs every command before passing it on.
pub struct Logged<'m, M> {
    pub inner: &'m mut M,
    pub log: Vec<Call>,
}

impl<M: Machine> Machine for Logged<'_, M> {
    fn special(&mut self, x: u16) -> u32 {
        self.inner.special(x)
    }
    fn load(&mut self, addr: u32, bytes: u32) -> Result<u32, String> {
        self.log.push(Call::Load { addr, bytes });
        self.inner.load(addr, bytes)
    }
    fn lane(&mut self, lane: u16, addr: u32) -> Result<(), String> {
        self.log.push(Call::Lane { lane, addr });
        self.inner.lane(lane, addr)
    }
    fn set(&mut self, x: u16, value: u32) -> Result<(), String> {
        self.log.push(Call::Set { x, value });
        self.inner.set(x, value)
    }
    fn fire(&mut self, last: bool) -> Result<(), String> {
        self.log.push(Call::Fire { last });
        self.inner.fire(last)
    }
    fn tile(&mut self, mask: u32, oaddr: u32, first: bool, last: bool) -> Result<(), String> {
        self.log.push(Call::Tile {
            mask,
            oaddr,
            first,
            last,
        });
        self.inner.tile(mask, oaddr, first, last)
    }
    fn wait_out(&mut self) -> Result<(), String> {
        self.log.push(Call::WaitOut);
        self.inner.wait_out()
    }
}

impl Model {
    /// Set what `ctrl.start` copies (for drivers that run the program
    /// themselves, such as an RTL sequencer).
    pub fn set_list(&mut self, desc_addr: u32, desc_count: u32) {
        self.desc_addr = desc_addr;
        self.desc_count = desc_count;
    }
}

/// The oracle's machine for the micro engine `cfg` (its counts are the
/// state-machine engine's schedule and unused here: only memory and outcome
/// are compared).
pub fn oracle_machine(cfg: &UConfig) -> crate::engine::oracle::Machine {
    crate::engine::oracle::Machine {
        rows: u64::from(cfg.rows),
        cols: u64::from(cfg.cols),
        mb: u64::from(cfg.mb()),
        chunk: u64::from(cfg.chunk()),
        ibuf_bytes: 0,
        wbuf_rows: 0,
        rec_bytes: u64::from(cfg.programming_model().channel_record.bytes),
    }
}

/// The micro engine the RTL tests build: `rows x cols`, a `mem_bits` port, a
/// 20-bit address space (the tests' memories sit below 1 MiB), the rest
/// `EngineConfig`'s defaults.
pub fn micro_config(rows: u32, cols: u32, mem_bits: u32) -> hdl::engine::EngineConfig {
    hdl::engine::EngineConfig {
        rows,
        cols,
        mem_bits,
        addr_bits: 20,
        control: hdl::engine::Control::Micro,
        ..hdl::engine::EngineConfig::default()
    }
}
