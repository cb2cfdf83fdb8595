//! [`CsrMaster`]: drives a design's register port.
//!
//! ```text
//! input csr_valid; output csr_ready; input csr_write
//! input [A-1:0] csr_addr; input [D-1:0] csr_wdata
//! output csr_rvalid; output [D-1:0] csr_rdata
//! ```
//!
//! A request is taken at an edge where `csr_valid` and `csr_ready` are high.
//! Every taken read gets exactly one `csr_rvalid` pulse, in order, at least one
//! cycle later; `csr_rdata` is valid with it. There is no ready on the read
//! data: the master always takes it. The master issues queued reads and writes
//! with random gaps, holds each request until taken, returns the read values in
//! order, and fails on an `csr_rvalid` with no read outstanding.

use std::collections::VecDeque;

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{chance, Agent, BenchError, Driven};
use crate::verilator::{Dir, Model, Port};

/// The register port of a design, resolved once.
#[derive(Clone, Debug)]
pub struct CsrPorts {
    valid: Port,
    ready: Port,
    write: Port,
    addr: Port,
    wdata: Port,
    rvalid: Port,
    rdata: Port,
    prefix: String,
}

impl CsrPorts {
    /// `{prefix}valid`, ... (`prefix` is e.g. `csr_`).
    pub fn new(m: &Model, prefix: &str) -> Result<CsrPorts, BenchError> {
        let p = |n: &str| m.port(&format!("{prefix}{n}"));
        let ports = CsrPorts {
            valid: p("valid")?,
            ready: p("ready")?,
            write: p("write")?,
            addr: p("addr")?,
            wdata: p("wdata")?,
            rvalid: p("rvalid")?,
            rdata: p("rdata")?,
            prefix: prefix.to_string(),
        };
        for (port, dir, name) in [
            (ports.valid, Dir::Input, "valid"),
            (ports.ready, Dir::Output, "ready"),
            (ports.write, Dir::Input, "write"),
            (ports.addr, Dir::Input, "addr"),
            (ports.wdata, Dir::Input, "wdata"),
            (ports.rvalid, Dir::Output, "rvalid"),
            (ports.rdata, Dir::Output, "rdata"),
        ] {
            if port.dir() != dir {
                return Err(BenchError::Setup(format!(
                    "register port `{prefix}{name}` must be a design {dir:?}"
                )));
            }
            if port.width() > 64 {
                return Err(BenchError::Setup(format!(
                    "register port `{prefix}{name}` is {} bits wide (at most 64)",
                    port.width()
                )));
            }
        }
        Ok(ports)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Read(u64),
    Write(u64, u64),
}

/// Issues register reads and writes and collects the read values.
pub struct CsrMaster {
    name: String,
    ports: CsrPorts,
    rng: StdRng,
    valid_p: f64,
    queue: VecDeque<Op>,
    offering: Option<Op>,
    offered_since: u64,
    fired: bool,
    valid: Driven,
    /// Taken reads without a response yet: (address, cycle taken).
    outstanding: VecDeque<(u64, u64)>,
    rvalid: Option<u64>,
    /// (address, value) of every completed read, in order.
    reads: Vec<(u64, u64)>,
    writes: usize,
}

impl CsrMaster {
    /// A master on `ports` that, with a request queued, starts offering it with
    /// probability `valid_p` each cycle; random choices come from `seed`.
    pub fn new(name: impl Into<String>, ports: CsrPorts, valid_p: f64, seed: u64) -> CsrMaster {
        CsrMaster {
            name: name.into(),
            ports,
            rng: StdRng::seed_from_u64(seed),
            valid_p,
            queue: VecDeque::new(),
            offering: None,
            offered_since: 0,
            fired: false,
            valid: Driven::default(),
            outstanding: VecDeque::new(),
            rvalid: None,
            reads: Vec::new(),
            writes: 0,
        }
    }

    /// Queue a write.
    pub fn write(&mut self, addr: u64, data: u64) {
        self.queue.push_back(Op::Write(addr, data));
    }

    /// Queue a read; its value appears in [`CsrMaster::reads`] in queue order.
    pub fn read(&mut self, addr: u64) {
        self.queue.push_back(Op::Read(addr));
    }

    /// (address, value) of every completed read, in order.
    pub fn reads(&self) -> &[(u64, u64)] {
        &self.reads
    }

    /// Take the completed reads' values, in order.
    pub fn take_reads(&mut self) -> Vec<(u64, u64)> {
        std::mem::take(&mut self.reads)
    }

    /// Writes taken so far.
    pub fn writes(&self) -> usize {
        self.writes
    }
}

impl Agent for CsrMaster {
    fn name(&self) -> &str {
        &self.name
    }

    fn drive(&mut self, m: &mut Model, cycle: u64) {
        if self.offering.is_none() && !self.queue.is_empty() && chance(&mut self.rng, self.valid_p)
        {
            let op = self.queue.pop_front();
            self.offering = op;
            self.offered_since = cycle;
            let (write, addr, data) = match op {
                Some(Op::Write(a, d)) => (1, a, d),
                Some(Op::Read(a)) => (0, a, 0),
                None => (0, 0, 0),
            };
            m.set(self.ports.write, write);
            m.set(self.ports.addr, addr);
            m.set(self.ports.wdata, data);
        }
        self.valid
            .set(m, self.ports.valid, u64::from(self.offering.is_some()));
    }

    fn observe(&mut self, m: &Model, cycle: u64) -> Result<(), String> {
        self.fired = self.offering.is_some() && m.get(self.ports.ready) == 1;
        self.rvalid = None;
        if m.get(self.ports.rvalid) == 1 {
            if self.outstanding.is_empty() {
                return Err(format!(
                    "`{}rvalid` high at cycle {cycle} with no read outstanding",
                    self.ports.prefix
                ));
            }
            self.rvalid = Some(m.get(self.ports.rdata));
        }
        Ok(())
    }

    fn commit(&mut self, cycle: u64) {
        if let Some(v) = self.rvalid.take() {
            if let Some((addr, _)) = self.outstanding.pop_front() {
                self.reads.push((addr, v));
            }
        }
        if self.fired {
            self.fired = false;
            match self.offering.take() {
                Some(Op::Read(a)) => self.outstanding.push_back((a, cycle)),
                Some(Op::Write(..)) => self.writes += 1,
                None => {}
            }
        }
    }

    fn done(&self) -> bool {
        self.queue.is_empty() && self.offering.is_none() && self.outstanding.is_empty()
    }

    fn status(&self) -> String {
        let mut s = format!(
            "{} requests queued, {} reads outstanding",
            self.queue.len(),
            self.outstanding.len()
        );
        if let Some((a, c)) = self.outstanding.front() {
            s += &format!(" (the first, of {a:#x}, taken at cycle {c})");
        }
        if let Some(op) = self.offering {
            s += &format!(", {op:?} offered since cycle {}", self.offered_since);
        }
        s
    }
}
