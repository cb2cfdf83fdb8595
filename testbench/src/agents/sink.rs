//! [`StreamSink`]: takes beats from a design's output stream with a ready it
//! drops at random, and checks the design's side of the contract every cycle:
//! once valid is high, valid and the payload (data and last) hold until the beat
//! is taken; with expected packet sizes, `last` marks exactly each packet's
//! final beat and nothing comes after the last packet.

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{chance, Agent, BenchError, Driven, StreamPorts};
use crate::verilator::{Dir, Model};

/// Collects beats from a design's output stream.
pub struct StreamSink {
    name: String,
    ports: StreamPorts,
    rng: StdRng,
    ready_p: f64,
    ready_now: bool,
    ready: Driven,
    /// Beats taken, flat, `ports.words()` words each, with their `last` bit and
    /// the cycle whose edge took them.
    data: Vec<u32>,
    lasts: Vec<bool>,
    cycles: Vec<u64>,
    /// The beat sampled this cycle.
    cur: Vec<u32>,
    cur_last: bool,
    fired: bool,
    /// A beat offered and not taken: since when, and its payload.
    held_since: Option<u64>,
    held: Vec<u32>,
    held_last: bool,
    /// Expected packet sizes (beats), and where the stream is in them.
    packets: Option<Vec<usize>>,
    packet: usize,
    in_packet: usize,
    max_idle: Option<u64>,
    idle_since: u64,
}

impl StreamSink {
    /// A sink on `ports` (valid, data, last must be design outputs, ready an
    /// input), ready with probability `ready_p` each cycle; random choices come
    /// from `seed`.
    pub fn new(
        name: impl Into<String>,
        ports: StreamPorts,
        ready_p: f64,
        seed: u64,
    ) -> Result<StreamSink, BenchError> {
        ports.check_dirs(Dir::Output)?;
        let words = ports.words();
        Ok(StreamSink {
            name: name.into(),
            ports,
            rng: StdRng::seed_from_u64(seed),
            ready_p,
            ready_now: false,
            ready: Driven::default(),
            data: Vec::new(),
            lasts: Vec::new(),
            cycles: Vec::new(),
            cur: Vec::with_capacity(words),
            cur_last: false,
            fired: false,
            held_since: None,
            held: Vec::with_capacity(words),
            held_last: false,
            packets: None,
            packet: 0,
            in_packet: 0,
            max_idle: None,
            idle_since: 0,
        })
    }

    /// Expect exactly these packets (sizes in beats, each at least 1): `last`
    /// must be high on the final beat of each and low elsewhere, and any beat
    /// after the last packet is a violation. The sink is [`Agent::done`] once
    /// every packet arrived.
    pub fn expect_packets(&mut self, sizes: &[usize]) {
        assert!(sizes.iter().all(|&n| n > 0), "empty packet in {sizes:?}");
        self.packets = Some(sizes.to_vec());
        self.packet = 0;
        self.in_packet = 0;
    }

    /// Change the probability of being ready.
    pub fn set_ready_p(&mut self, p: f64) {
        self.ready_p = p;
    }

    /// Fail when no beat is taken for more than `cycles` cycles (a budget
    /// counted from the latest beat, or from the first cycle).
    pub fn set_max_idle(&mut self, cycles: Option<u64>, from: u64) {
        self.max_idle = cycles;
        self.idle_since = from;
    }

    /// Beats taken.
    pub fn len(&self) -> usize {
        self.lasts.len()
    }

    /// Whether no beat was taken.
    pub fn is_empty(&self) -> bool {
        self.lasts.is_empty()
    }

    /// Words of beat `i`.
    pub fn beat(&self, i: usize) -> &[u32] {
        let w = self.ports.words();
        &self.data[i * w..(i + 1) * w]
    }

    /// All beats' words, flat.
    pub fn data(&self) -> &[u32] {
        &self.data
    }

    /// The `last` bit of every beat.
    pub fn lasts(&self) -> &[bool] {
        &self.lasts
    }

    /// The cycle whose edge took each beat.
    pub fn cycles(&self) -> &[u64] {
        &self.cycles
    }

    /// Words per beat.
    pub fn words(&self) -> usize {
        self.ports.words()
    }

    fn hold_violation(&self, cycle: u64, since: u64, valid: bool) -> Option<String> {
        let held_by = format!(
            "while `{}` was high and `{}` low since cycle {since}",
            self.ports.valid_name, self.ports.ready_name
        );
        if !valid {
            return Some(format!(
                "`{}` dropped at cycle {cycle} before the beat was taken ({held_by})",
                self.ports.valid_name
            ));
        }
        if let Some(w) = (0..self.cur.len()).find(|&w| self.cur[w] != self.held[w]) {
            let (port, word) = self.ports.locate(w);
            return Some(format!(
                "`{port}` changed at cycle {cycle} ({held_by}): word {word} was {:#010x}, now {:#010x}",
                self.held[w], self.cur[w]
            ));
        }
        if self.cur_last != self.held_last {
            return Some(format!(
                "`{}` changed from {} to {} at cycle {cycle} ({held_by})",
                self.ports.last_name, self.held_last, self.cur_last
            ));
        }
        None
    }
}

impl Agent for StreamSink {
    fn name(&self) -> &str {
        &self.name
    }

    #[inline]
    fn drive(&mut self, m: &mut Model, _cycle: u64) {
        self.ready_now = chance(&mut self.rng, self.ready_p);
        self.ready
            .set(m, self.ports.ready, u64::from(self.ready_now));
    }

    fn observe(&mut self, m: &Model, cycle: u64) -> Result<(), String> {
        let valid = m.get(self.ports.valid) == 1;
        if valid {
            self.cur.clear();
            self.ports.read(m, &mut self.cur);
            self.cur_last = self.ports.last.is_some_and(|l| m.get(l) == 1);
        }
        if let Some(since) = self.held_since {
            if let Some(v) = self.hold_violation(cycle, since, valid) {
                return Err(v);
            }
        }
        if let Some(max) = self.max_idle {
            if cycle - self.idle_since > max {
                return Err(format!(
                    "no beat taken on `{}` for {max} cycles (since cycle {})",
                    self.ports.valid_name, self.idle_since
                ));
            }
        }
        if !valid {
            return Ok(());
        }
        if let Some(p) = &self.packets {
            let Some(&want) = p.get(self.packet) else {
                return Err(format!(
                    "`{}` high at cycle {cycle} after all {} expected packets",
                    self.ports.valid_name,
                    p.len()
                ));
            };
            if self.ready_now && self.ports.last.is_some() {
                let final_beat = self.in_packet + 1 == want;
                if self.cur_last != final_beat {
                    return Err(format!(
                        "`{}` = {} on beat {} of {want} of packet {}",
                        self.ports.last_name, self.cur_last, self.in_packet, self.packet
                    ));
                }
            }
        }
        if self.ready_now {
            self.fired = true;
            self.held_since = None;
        } else {
            self.held_since.get_or_insert(cycle);
            std::mem::swap(&mut self.cur, &mut self.held);
            self.held_last = self.cur_last;
        }
        Ok(())
    }

    #[inline]
    fn commit(&mut self, cycle: u64) {
        if !self.fired {
            return;
        }
        self.fired = false;
        self.data.extend_from_slice(&self.cur);
        self.lasts.push(self.cur_last);
        self.cycles.push(cycle);
        self.idle_since = cycle;
        if let Some(p) = &self.packets {
            self.in_packet += 1;
            if self.in_packet == p[self.packet] {
                self.packet += 1;
                self.in_packet = 0;
            }
        }
    }

    fn done(&self) -> bool {
        self.packets.as_ref().is_none_or(|p| self.packet == p.len())
    }

    fn status(&self) -> String {
        match &self.packets {
            Some(p) => format!(
                "{} of {} packets in ({} beats taken, {} into packet {})",
                self.packet,
                p.len(),
                self.lasts.len(),
                self.in_packet,
                self.packet
            ),
            None => format!("{} beats taken", self.lasts.len()),
        }
    }
}
