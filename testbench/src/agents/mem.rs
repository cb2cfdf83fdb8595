//! [`MemSlave`]: the memory behind the engine's memory port.
//!
//! ```text
//! output mem_req_valid; input mem_req_ready; output mem_req_write
//! output [31:0] mem_req_addr; output [MEM_BITS-1:0] mem_req_wdata
//! output [MEM_BITS/8-1:0] mem_req_wstrb     // byte i at [8*i +: 8]
//! input mem_resp_valid; output mem_resp_ready; input [MEM_BITS-1:0] mem_resp_rdata
//! ```
//!
//! Every read gets exactly one response, in request order, at least one cycle
//! after the edge that took the request; writes get none. The memory is a byte
//! array at a base address. A read returns the bytes as they are when the
//! request is taken (a later write does not change a response in flight); a
//! write lands at the edge that takes it, byte by byte under its strobes.
//!
//! The slave stresses the master: `req_ready` drops at random, each read's
//! latency is drawn from a range, responses pause at random (while honouring
//! `resp_ready`: a raised response holds until taken). It checks the master:
//! a raised request holds its address, direction and payload until taken, every
//! address is a multiple of MEM_BITS/8, and every access falls inside an allowed
//! region with the right access (read-only or read-write). Every access is
//! logged with its cycle.

use std::collections::VecDeque;
use std::ops::RangeInclusive;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{chance, read_port, words_of, Agent, BenchError, Driven};
use crate::verilator::{Dir, Model, Port};

/// The memory port of a design, resolved once.
#[derive(Clone, Debug)]
pub struct MemPorts {
    req_valid: Port,
    req_ready: Port,
    req_write: Port,
    req_addr: Port,
    req_wdata: Port,
    req_wstrb: Port,
    resp_valid: Port,
    resp_ready: Port,
    resp_rdata: Port,
    prefix: String,
}

impl MemPorts {
    /// `{prefix}req_valid`, ... (`prefix` is e.g. `mem_`).
    pub fn new(m: &Model, prefix: &str) -> Result<MemPorts, BenchError> {
        let p = |n: &str| m.port(&format!("{prefix}{n}"));
        let ports = MemPorts {
            req_valid: p("req_valid")?,
            req_ready: p("req_ready")?,
            req_write: p("req_write")?,
            req_addr: p("req_addr")?,
            req_wdata: p("req_wdata")?,
            req_wstrb: p("req_wstrb")?,
            resp_valid: p("resp_valid")?,
            resp_ready: p("resp_ready")?,
            resp_rdata: p("resp_rdata")?,
            prefix: prefix.to_string(),
        };
        let bits = ports.req_wdata.width();
        let rule = |what: String| Err(BenchError::Setup(format!("memory port `{prefix}`: {what}")));
        if bits % 8 != 0 || ports.resp_rdata.width() != bits {
            return rule(format!(
                "req_wdata ({bits} bits) and resp_rdata ({}) must be the same whole number of bytes",
                ports.resp_rdata.width()
            ));
        }
        if ports.req_wstrb.width() != bits / 8 {
            return rule(format!(
                "req_wstrb is {} bits, MEM_BITS/8 = {}",
                ports.req_wstrb.width(),
                bits / 8
            ));
        }
        if ports.req_addr.width() > 64 {
            return rule(format!("req_addr is {} bits", ports.req_addr.width()));
        }
        for (port, dir, name) in [
            (ports.req_valid, Dir::Output, "req_valid"),
            (ports.req_ready, Dir::Input, "req_ready"),
            (ports.req_write, Dir::Output, "req_write"),
            (ports.req_addr, Dir::Output, "req_addr"),
            (ports.req_wdata, Dir::Output, "req_wdata"),
            (ports.req_wstrb, Dir::Output, "req_wstrb"),
            (ports.resp_valid, Dir::Input, "resp_valid"),
            (ports.resp_ready, Dir::Output, "resp_ready"),
            (ports.resp_rdata, Dir::Input, "resp_rdata"),
        ] {
            if port.dir() != dir {
                return rule(format!("{name} must be a design {dir:?}"));
            }
        }
        Ok(ports)
    }

    /// MEM_BITS / 8.
    pub fn bytes(&self) -> usize {
        self.req_wdata.width() as usize / 8
    }
}

/// What an allowed region lets the design do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionAccess {
    ReadOnly,
    ReadWrite,
}

/// An address range the design may access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    pub name: String,
    pub start: u64,
    pub len: u64,
    pub access: RegionAccess,
}

impl Region {
    pub fn new(name: impl Into<String>, start: u64, len: u64, access: RegionAccess) -> Region {
        Region {
            name: name.into(),
            start,
            len,
            access,
        }
    }

    fn contains(&self, addr: u64, len: u64) -> bool {
        addr >= self.start && addr + len <= self.start + self.len
    }
}

/// Timing of a [`MemSlave`].
#[derive(Clone, Debug)]
pub struct MemSlaveConfig {
    /// Cycles from the edge that takes a read to the first edge its response
    /// can be taken at, drawn per request (at least 1).
    pub latency: RangeInclusive<u32>,
    /// Probability that `req_ready` is high in a cycle.
    pub req_ready_p: f64,
    /// Probability that a due response waits one more cycle before it is raised.
    pub resp_gap_p: f64,
    /// Reads in flight at most; `req_ready` is low while this many are.
    pub max_outstanding: usize,
}

impl Default for MemSlaveConfig {
    /// One cycle of latency, no stalls.
    fn default() -> Self {
        MemSlaveConfig {
            latency: 1..=1,
            req_ready_p: 1.0,
            resp_gap_p: 0.0,
            max_outstanding: 16,
        }
    }
}

/// One access in the traffic log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemAccess {
    /// The cycle whose edge took the request.
    pub cycle: u64,
    pub write: bool,
    pub addr: u64,
    /// Bytes read (MEM_BITS/8) or written (strobes set).
    pub bytes: u32,
}

/// A read waiting for its response.
struct Pending {
    due: u64,
    data: Vec<u32>,
}

/// The request sampled at an edge.
#[derive(Default)]
struct Req {
    write: bool,
    addr: u64,
    wdata: Vec<u32>,
    wstrb: Vec<u32>,
}

impl Req {
    fn sample(&mut self, m: &Model, p: &MemPorts) {
        self.write = m.get(p.req_write) == 1;
        self.addr = m.get(p.req_addr);
        self.wdata.clear();
        self.wstrb.clear();
        // Reads carry no payload; ignore whatever is on the write ports.
        if self.write {
            read_port(m, p.req_wdata, &mut self.wdata);
            read_port(m, p.req_wstrb, &mut self.wstrb);
        }
    }

    fn same(&self, o: &Req) -> bool {
        self.write == o.write
            && self.addr == o.addr
            && self.wdata == o.wdata
            && self.wstrb == o.wstrb
    }

    fn strobe(&self, i: usize) -> bool {
        self.wstrb[i / 32] >> (i % 32) & 1 == 1
    }
}

/// A byte-addressed memory serving a design's memory port.
pub struct MemSlave {
    name: String,
    ports: MemPorts,
    cfg: MemSlaveConfig,
    rng: StdRng,
    base: u64,
    mem: Vec<u8>,
    regions: Vec<Region>,
    req_ready_now: bool,
    req_ready: Driven,
    resp_valid: Driven,
    pending: VecDeque<Pending>,
    spare: Vec<Vec<u32>>,
    resp_offering: bool,
    resp_fired: bool,
    req: Req,
    req_fired: bool,
    held: Req,
    held_since: Option<u64>,
    log: Vec<MemAccess>,
    bytes_read: u64,
    bytes_written: u64,
}

impl MemSlave {
    /// A memory of `size` bytes at `base` (initially zero), all of it one
    /// read-write region named `memory` until [`MemSlave::set_regions`].
    pub fn new(
        name: impl Into<String>,
        ports: MemPorts,
        base: u64,
        size: usize,
        cfg: MemSlaveConfig,
        seed: u64,
    ) -> Result<MemSlave, BenchError> {
        if *cfg.latency.start() < 1 || cfg.latency.is_empty() {
            return Err(BenchError::Setup(format!(
                "memory latency {:?}: must be a non-empty range of at least 1 cycle",
                cfg.latency
            )));
        }
        if cfg.max_outstanding == 0 {
            return Err(BenchError::Setup(
                "max_outstanding must be at least 1".into(),
            ));
        }
        Ok(MemSlave {
            name: name.into(),
            regions: vec![Region::new(
                "memory",
                base,
                size as u64,
                RegionAccess::ReadWrite,
            )],
            ports,
            cfg,
            rng: StdRng::seed_from_u64(seed),
            base,
            mem: vec![0; size],
            req_ready_now: false,
            req_ready: Driven::default(),
            resp_valid: Driven::default(),
            pending: VecDeque::new(),
            spare: Vec::new(),
            resp_offering: false,
            resp_fired: false,
            req: Req::default(),
            req_fired: false,
            held: Req::default(),
            held_since: None,
            log: Vec::new(),
            bytes_read: 0,
            bytes_written: 0,
        })
    }

    /// Replace the allowed regions; each must lie inside the memory.
    pub fn set_regions(&mut self, regions: Vec<Region>) -> Result<(), BenchError> {
        for r in &regions {
            if r.start < self.base || r.start + r.len > self.base + self.mem.len() as u64 {
                return Err(BenchError::Setup(format!(
                    "region `{}` {:#x}..{:#x} lies outside the memory {:#x}..{:#x}",
                    r.name,
                    r.start,
                    r.start + r.len,
                    self.base,
                    self.base + self.mem.len() as u64
                )));
            }
        }
        self.regions = regions;
        Ok(())
    }

    /// Copy `bytes` into the memory at `addr`.
    ///
    /// # Panics
    /// If the range lies outside the memory.
    pub fn load(&mut self, addr: u64, bytes: &[u8]) {
        let off = self.offset(addr, bytes.len());
        self.mem[off..off + bytes.len()].copy_from_slice(bytes);
    }

    /// `len` bytes of the memory at `addr`.
    ///
    /// # Panics
    /// If the range lies outside the memory.
    pub fn bytes(&self, addr: u64, len: usize) -> &[u8] {
        let off = self.offset(addr, len);
        &self.mem[off..off + len]
    }

    fn offset(&self, addr: u64, len: usize) -> usize {
        assert!(
            addr >= self.base && addr + len as u64 <= self.base + self.mem.len() as u64,
            "{}: {len} bytes at {addr:#x} lie outside the memory",
            self.name
        );
        (addr - self.base) as usize
    }

    /// Every access so far.
    pub fn log(&self) -> &[MemAccess] {
        &self.log
    }

    /// Bytes returned by reads so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Bytes written (strobes set) so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// One line: reads, writes and bytes each way.
    pub fn summary(&self) -> String {
        let reads = self.log.iter().filter(|a| !a.write).count();
        format!(
            "{}: {reads} reads ({} bytes), {} writes ({} bytes)",
            self.name,
            self.bytes_read,
            self.log.len() - reads,
            self.bytes_written
        )
    }

    /// The rule the request sampled at `cycle` breaks, if any.
    fn check_access(&self, cycle: u64) -> Result<(), String> {
        let (addr, write) = (self.req.addr, self.req.write);
        let dir = if write { "write" } else { "read" };
        let n = self.ports.bytes() as u64;
        if addr % n != 0 {
            return Err(format!(
                "{dir} at {addr:#x} at cycle {cycle}: address not a multiple of {n} bytes (MEM_BITS/8)"
            ));
        }
        let Some(r) = self.regions.iter().find(|r| r.contains(addr, n)) else {
            let allowed: Vec<String> = self
                .regions
                .iter()
                .map(|r| {
                    format!(
                        "`{}` {:#x}..{:#x} {:?}",
                        r.name,
                        r.start,
                        r.start + r.len,
                        r.access
                    )
                })
                .collect();
            return Err(format!(
                "{dir} at {addr:#x} at cycle {cycle}: outside every allowed region ({})",
                allowed.join(", ")
            ));
        };
        if write && r.access == RegionAccess::ReadOnly {
            return Err(format!(
                "write at {addr:#x} at cycle {cycle}: region `{}` is read-only",
                r.name
            ));
        }
        Ok(())
    }
}

impl Agent for MemSlave {
    fn name(&self) -> &str {
        &self.name
    }

    fn drive(&mut self, m: &mut Model, cycle: u64) {
        self.req_ready_now = self.pending.len() < self.cfg.max_outstanding
            && chance(&mut self.rng, self.cfg.req_ready_p);
        self.req_ready
            .set(m, self.ports.req_ready, u64::from(self.req_ready_now));
        if !self.resp_offering {
            if let Some(head) = self.pending.front() {
                if head.due <= cycle && !chance(&mut self.rng, self.cfg.resp_gap_p) {
                    self.resp_offering = true;
                    super::write_port(m, self.ports.resp_rdata, &head.data);
                }
            }
        }
        self.resp_valid
            .set(m, self.ports.resp_valid, u64::from(self.resp_offering));
    }

    fn observe(&mut self, m: &Model, cycle: u64) -> Result<(), String> {
        self.resp_fired = self.resp_offering && m.get(self.ports.resp_ready) == 1;
        let valid = m.get(self.ports.req_valid) == 1;
        if valid {
            self.req.sample(m, &self.ports);
        }
        if let Some(since) = self.held_since {
            let by = format!(
                "while `{0}req_valid` was high and `{0}req_ready` low since cycle {since}",
                self.ports.prefix
            );
            if !valid {
                return Err(format!(
                    "`{}req_valid` dropped at cycle {cycle} before the request was taken ({by})",
                    self.ports.prefix
                ));
            }
            if !self.req.same(&self.held) {
                return Err(format!(
                    "request changed at cycle {cycle} ({by}): write {} addr {:#x} -> write {} addr {:#x}{}",
                    self.held.write,
                    self.held.addr,
                    self.req.write,
                    self.req.addr,
                    if self.req.write == self.held.write && self.req.addr == self.held.addr {
                        " (wdata or wstrb changed)"
                    } else {
                        ""
                    }
                ));
            }
        }
        if !valid {
            return Ok(());
        }
        if self.req_ready_now {
            self.check_access(cycle)?;
            self.req_fired = true;
            self.held_since = None;
        } else {
            self.held_since.get_or_insert(cycle);
            std::mem::swap(&mut self.req, &mut self.held);
        }
        Ok(())
    }

    fn commit(&mut self, cycle: u64) {
        if self.resp_fired {
            self.resp_fired = false;
            self.resp_offering = false;
            if let Some(p) = self.pending.pop_front() {
                self.spare.push(p.data);
            }
        }
        if !self.req_fired {
            return;
        }
        self.req_fired = false;
        let n = self.ports.bytes();
        let off = (self.req.addr - self.base) as usize;
        if self.req.write {
            let mut written = 0;
            for i in 0..n {
                if self.req.strobe(i) {
                    self.mem[off + i] = (self.req.wdata[i / 4] >> (8 * (i % 4))) as u8;
                    written += 1;
                }
            }
            self.bytes_written += written;
            self.log.push(MemAccess {
                cycle,
                write: true,
                addr: self.req.addr,
                bytes: written as u32,
            });
        } else {
            let mut data = self.spare.pop().unwrap_or_default();
            data.clear();
            data.resize(words_of(self.ports.resp_rdata.width()), 0);
            for (i, b) in self.mem[off..off + n].iter().enumerate() {
                data[i / 4] |= u32::from(*b) << (8 * (i % 4));
            }
            let lat = self.rng.gen_range(self.cfg.latency.clone());
            self.pending.push_back(Pending {
                due: cycle + u64::from(lat),
                data,
            });
            self.bytes_read += n as u64;
            self.log.push(MemAccess {
                cycle,
                write: false,
                addr: self.req.addr,
                bytes: n as u32,
            });
        }
    }

    fn done(&self) -> bool {
        self.pending.is_empty()
    }

    fn status(&self) -> String {
        format!(
            "{} read responses not taken{}",
            self.pending.len(),
            if self.resp_offering {
                " (the first is offered)"
            } else {
                ""
            }
        )
    }
}
