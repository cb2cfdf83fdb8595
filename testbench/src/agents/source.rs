//! [`StreamSource`]: offers queued beats on a valid/ready stream into the
//! design, with random idle cycles, and plays by the rules it asks of the
//! design: once valid is raised, valid, data and last hold until the beat is taken.

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{chance, Agent, BenchError, Driven, StreamPorts};
use crate::verilator::{Dir, Model};

/// Feeds beats into a design's input stream.
pub struct StreamSource {
    name: String,
    ports: StreamPorts,
    rng: StdRng,
    valid_p: f64,
    /// Queued beats, flat, `ports.words()` words each.
    beats: Vec<u32>,
    lasts: Vec<bool>,
    /// Index of the beat offered or to offer next.
    next: usize,
    offering: bool,
    /// Sampled at the edge: the offered beat is taken.
    fired: bool,
    valid: Driven,
    stalls: u64,
    last_fire: Option<u64>,
    max_wait: Option<u64>,
    offered_since: u64,
}

impl StreamSource {
    /// A source on `ports` (valid, data, last must be design inputs) that, when it
    /// has a beat and offers none, starts offering with probability `valid_p` each
    /// cycle; random choices come from `seed`.
    pub fn new(
        name: impl Into<String>,
        ports: StreamPorts,
        valid_p: f64,
        seed: u64,
    ) -> Result<StreamSource, BenchError> {
        ports.check_dirs(Dir::Input)?;
        Ok(StreamSource {
            name: name.into(),
            ports,
            rng: StdRng::seed_from_u64(seed),
            valid_p,
            beats: Vec::new(),
            lasts: Vec::new(),
            next: 0,
            offering: false,
            fired: false,
            valid: Driven::default(),
            stalls: 0,
            last_fire: None,
            max_wait: None,
            offered_since: 0,
        })
    }

    /// Queue one beat: `ports.words()` words (each data port's words in order),
    /// and `last` (ignored when the stream has none).
    ///
    /// # Panics
    /// If `beat` has the wrong number of words.
    pub fn push(&mut self, beat: &[u32], last: bool) {
        self.push_all(beat, std::slice::from_ref(&last));
    }

    /// Queue many beats at once: `beats` flat, `ports.words()` words per beat, and
    /// one `lasts` entry per beat.
    ///
    /// # Panics
    /// If `beats` does not hold `lasts.len()` beats.
    pub fn push_all(&mut self, beats: &[u32], lasts: &[bool]) {
        assert_eq!(
            beats.len(),
            lasts.len() * self.ports.words(),
            "{}: {} beats of {} words",
            self.name,
            lasts.len(),
            self.ports.words()
        );
        self.beats.extend_from_slice(beats);
        self.lasts.extend_from_slice(lasts);
    }

    /// Fail when the design keeps an offered beat waiting more than `cycles` cycles.
    pub fn set_max_wait(&mut self, cycles: Option<u64>) {
        self.max_wait = cycles;
    }

    /// Beats queued in all.
    pub fn len(&self) -> usize {
        self.lasts.len()
    }

    /// Whether no beat was queued.
    pub fn is_empty(&self) -> bool {
        self.lasts.is_empty()
    }

    /// Beats taken by the design so far.
    pub fn taken(&self) -> usize {
        self.next
    }

    /// Cycles (edges) where a beat was offered and not taken.
    pub fn stalls(&self) -> u64 {
        self.stalls
    }

    /// The cycle whose edge took the latest beat.
    pub fn last_fire(&self) -> Option<u64> {
        self.last_fire
    }

    /// Drop valid now (outside a bench step, e.g. before a reset) and forget the
    /// beat being offered; queued beats stay.
    pub fn quiesce(&mut self, m: &mut Model) {
        self.offering = false;
        self.valid.set(m, self.ports.valid, 0);
    }
}

impl Agent for StreamSource {
    fn name(&self) -> &str {
        &self.name
    }

    #[inline]
    fn drive(&mut self, m: &mut Model, cycle: u64) {
        if !self.offering && self.next < self.lasts.len() && chance(&mut self.rng, self.valid_p) {
            self.offering = true;
            self.offered_since = cycle;
            let w = self.ports.words();
            self.ports
                .write(m, &self.beats[self.next * w..(self.next + 1) * w]);
            if let Some(l) = self.ports.last {
                m.set(l, u64::from(self.lasts[self.next]));
            }
        }
        self.valid
            .set(m, self.ports.valid, u64::from(self.offering));
    }

    #[inline]
    fn observe(&mut self, m: &Model, cycle: u64) -> Result<(), String> {
        self.fired = self.offering && m.get(self.ports.ready) == 1;
        if self.offering && !self.fired {
            self.stalls += 1;
            if let Some(max) = self.max_wait {
                if cycle - self.offered_since >= max {
                    return Err(format!(
                        "`{}` low for {max} cycles while beat {} was offered since cycle {}",
                        self.ports.ready_name, self.next, self.offered_since
                    ));
                }
            }
        }
        Ok(())
    }

    #[inline]
    fn commit(&mut self, cycle: u64) {
        if self.fired {
            self.fired = false;
            self.offering = false;
            self.next += 1;
            self.last_fire = Some(cycle);
        }
    }

    fn done(&self) -> bool {
        self.next == self.lasts.len()
    }

    fn status(&self) -> String {
        format!(
            "{} of {} beats taken{}",
            self.next,
            self.lasts.len(),
            if self.offering {
                format!(
                    ", beat {} offered since cycle {}",
                    self.next, self.offered_since
                )
            } else {
                String::new()
            }
        )
    }
}
