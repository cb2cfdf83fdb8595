//! Testbench agents: reusable, cycle-accurate drivers and checkers for the
//! interfaces the generated blocks share (valid/ready streams, the engine's
//! memory port, the register port), stepped together by a [`Bench`].
//!
//! # Why agents
//!
//! Every block driver used to hand-roll the same loop: hold a beat until it is
//! taken, drop ready at random, check that the design holds its own beats. The
//! engine has three streams, a memory port and a register port; writing those
//! loops once, with their protocol checks, keeps every test's loop a few lines.
//!
//! # One cycle
//!
//! [`Bench::step`] runs one clock cycle in three phases, over every agent in
//! slice order:
//!
//! 1. **drive** ([`Agent::drive`]): each agent sets the inputs it owns for the
//!    coming rising edge (valid, data, ready), from its own state and its seeded
//!    random generator only, never from the design's outputs of this cycle, so
//!    the order of agents cannot change what they drive.
//! 2. **observe** ([`Agent::observe`]): with every input now final, each agent
//!    reads the outputs it needs. Verilator evaluates lazily on the first read
//!    after an input changed, so outputs that depend combinationally on inputs
//!    (an `in_ready` that follows `out_ready`) already show the values the edge
//!    will see. A handshake fires at this edge exactly when the sampled valid and
//!    ready are both high. Protocol rules are checked here; a broken rule stops
//!    the bench with the agent's name, the cycle and what broke.
//! 3. the clock edge ([`crate::verilator::Model::tick`]), then **commit**
//!    ([`Agent::commit`]): each agent updates its state from what it sampled
//!    (pop the beat that was taken, store the beat that arrived, start a memory
//!    read's latency).
//!
//! Cycle `n` is the cycle whose rising edge is the `n`-th since the bench was
//! created; every agent sees the same `n` in all three phases.
//!
//! # Cost
//!
//! The agents run inside the benchmark loop, so they resolve port handles once
//! at construction, keep beats in flat word buffers, write an input only when
//! its value changes, and draw random numbers only where a probability is below
//! one. The only per-cycle heap allocation left is reading a port wider than 64
//! bits ([`crate::verilator::Model::get_words`] returns a `Vec`), and only in
//! cycles where that port carries a beat.

mod comb;
mod csr;
mod mem;
mod sink;
mod source;
mod stream;

pub use comb::NoCombPath;
pub use csr::{CsrMaster, CsrPorts};
pub use mem::{MemAccess, MemPorts, MemSlave, MemSlaveConfig, Region, RegionAccess};
pub use sink::StreamSink;
pub use source::StreamSource;
pub use stream::StreamPorts;

use crate::verilator::{HarnessError, Model, Port};

/// One participant of a [`Bench`]: see the module docs for the phases.
pub trait Agent {
    /// Name used in error messages (the interface it plays, e.g. `in`, `mem`).
    fn name(&self) -> &str;
    /// Set this agent's inputs for the edge of `cycle`.
    fn drive(&mut self, m: &mut Model, cycle: u64);
    /// Sample outputs as the edge of `cycle` sees them; check the protocol.
    /// The error says what broke (the bench adds the agent and the cycle).
    fn observe(&mut self, m: &Model, cycle: u64) -> Result<(), String>;
    /// After the edge of `cycle`: update state from what [`Agent::observe`] sampled.
    fn commit(&mut self, cycle: u64);
    /// Whether the agent has nothing left to do (its queue is empty, it received
    /// everything it expects); [`Bench::run`] stops when every agent is done.
    fn done(&self) -> bool {
        true
    }
    /// Progress in words, for a timeout message ("3 of 8 beats taken").
    fn status(&self) -> String {
        String::new()
    }
}

/// Why a bench stopped early.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// An agent saw its interface break a rule.
    #[error("{agent}: protocol violation at cycle {cycle}: {what} ({note})")]
    Protocol {
        agent: String,
        cycle: u64,
        what: String,
        note: String,
    },
    /// The cycle budget ran out before every agent was done.
    #[error("timeout at cycle {cycle}: not done after {budget} cycles; {waiting} ({note})")]
    Timeout {
        cycle: u64,
        budget: u64,
        /// The agents not done, each with its status.
        waiting: String,
        note: String,
    },
    /// An agent was set up on ports that do not fit it.
    #[error("agent setup: {0}")]
    Setup(String),
    #[error(transparent)]
    Harness(#[from] HarnessError),
}

/// Steps agents together around one clock; counts cycles.
#[derive(Clone, Debug)]
pub struct Bench {
    clk: Port,
    cycle: u64,
}

impl Bench {
    /// A bench on clock `clk`, at cycle 0.
    pub fn new(clk: Port) -> Bench {
        Bench { clk, cycle: 0 }
    }

    /// The cycle the next [`Bench::step`] runs (edges so far).
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// One cycle: drive, observe, edge, commit (see the module docs).
    pub fn step(&mut self, m: &mut Model, agents: &mut [&mut dyn Agent]) -> Result<(), BenchError> {
        let cycle = self.cycle;
        for a in agents.iter_mut() {
            a.drive(m, cycle);
        }
        for a in agents.iter_mut() {
            if let Err(what) = a.observe(m, cycle) {
                return Err(BenchError::Protocol {
                    agent: a.name().to_string(),
                    cycle,
                    what,
                    note: m.trace_note(),
                });
            }
        }
        m.try_tick(self.clk)?;
        self.cycle += 1;
        for a in agents.iter_mut() {
            a.commit(cycle);
        }
        Ok(())
    }

    /// Run exactly `n` cycles.
    pub fn steps(
        &mut self,
        m: &mut Model,
        agents: &mut [&mut dyn Agent],
        n: u64,
    ) -> Result<(), BenchError> {
        for _ in 0..n {
            self.step(m, agents)?;
        }
        Ok(())
    }

    /// Step until every agent is [`Agent::done`]; a timeout after `budget` cycles.
    /// Returns the cycles run.
    pub fn run(
        &mut self,
        m: &mut Model,
        agents: &mut [&mut dyn Agent],
        budget: u64,
    ) -> Result<u64, BenchError> {
        self.run_until(m, agents, budget, |agents| agents.iter().all(|a| a.done()))
    }

    /// Step until `until(agents)` holds (checked before each cycle); a timeout
    /// naming the agents not done after `budget` cycles. Returns the cycles run.
    pub fn run_until(
        &mut self,
        m: &mut Model,
        agents: &mut [&mut dyn Agent],
        budget: u64,
        mut until: impl FnMut(&[&mut dyn Agent]) -> bool,
    ) -> Result<u64, BenchError> {
        let start = self.cycle;
        loop {
            if until(agents) {
                return Ok(self.cycle - start);
            }
            if self.cycle - start >= budget {
                return Err(self.timeout(m, agents, budget));
            }
            self.step(m, agents)?;
        }
    }

    /// The timeout error of a custom loop: which agents are not done and why.
    pub fn timeout(&self, m: &Model, agents: &[&mut dyn Agent], budget: u64) -> BenchError {
        let waiting: Vec<String> = agents
            .iter()
            .filter(|a| !a.done())
            .map(|a| format!("{} waiting: {}", a.name(), a.status()))
            .collect();
        BenchError::Timeout {
            cycle: self.cycle,
            budget,
            waiting: if waiting.is_empty() {
                "every agent is done; the stop condition never held".into()
            } else {
                waiting.join("; ")
            },
            note: m.trace_note(),
        }
    }
}

/// Why a block driver failed: a broken contract rule, a harness failure, or
/// the generator refusing the configuration.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error(transparent)]
    Harness(#[from] HarnessError),
    #[error(transparent)]
    Bench(#[from] BenchError),
    #[error("protocol violation at cycle {cycle}: {rule} ({note})")]
    Protocol {
        cycle: u64,
        rule: String,
        note: String,
    },
    #[error("generator failed: {0}")]
    Gen(String),
}

/// Probabilities with which a source offers a beat / a sink is ready, each cycle.
#[derive(Clone, Copy, Debug)]
pub struct Traffic {
    pub in_valid_p: f64,
    pub out_ready_p: f64,
}

impl Traffic {
    /// No stalls on either side.
    pub const FULL: Traffic = Traffic {
        in_valid_p: 1.0,
        out_ready_p: 1.0,
    };
}

/// `true` with probability `p`, drawing nothing when `p >= 1` (the common
/// full-rate case costs no random number).
#[inline]
fn chance(rng: &mut rand::rngs::StdRng, p: f64) -> bool {
    use rand::Rng;
    if p >= 1.0 {
        true
    } else if p <= 0.0 {
        false
    } else {
        rng.gen_bool(p)
    }
}

/// Write a 1-bit (or narrow) input only when its value changes: an unchanged
/// input then costs no evaluation before the edge.
#[derive(Clone, Copy, Debug, Default)]
struct Driven(Option<u64>);

impl Driven {
    #[inline]
    fn set(&mut self, m: &mut Model, p: Port, v: u64) {
        if self.0 != Some(v) {
            m.set(p, v);
            self.0 = Some(v);
        }
    }
}

/// Append the value of `p` (any width) to `out` as 32-bit words, least
/// significant first, read straight into `out` (no allocation once `out` has
/// grown to a beat's size).
#[inline]
fn read_port(m: &Model, p: Port, out: &mut Vec<u32>) {
    let start = out.len();
    out.resize(start + words_of(p.width()), 0);
    m.get_words_into(p, &mut out[start..]);
}

/// Write `words` (exactly `ceil(width / 32)` of them) to input `p`.
#[inline]
fn write_port(m: &mut Model, p: Port, words: &[u32]) {
    if p.width() <= 64 {
        let v = u64::from(words[0]) | words.get(1).map_or(0, |&w| u64::from(w) << 32);
        m.set(p, v);
    } else {
        m.set_words(p, words);
    }
}

/// Words of a port of `width` bits.
fn words_of(width: u32) -> usize {
    width.div_ceil(32) as usize
}
