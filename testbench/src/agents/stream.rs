//! The ports of one valid/ready stream, resolved once, and how a beat maps onto
//! them: a beat is the words of every data port in order (each port padded to
//! whole 32-bit words), plus the optional `last` bit.

use super::{read_port, words_of, write_port, BenchError};
use crate::verilator::{Dir, Model, Port};

/// The ports of one stream: `valid`, `ready`, one or more data ports, optional `last`.
#[derive(Clone, Debug)]
pub struct StreamPorts {
    pub(super) valid: Port,
    pub(super) ready: Port,
    pub(super) data: Vec<Port>,
    pub(super) last: Option<Port>,
    /// Port names, for messages: valid, ready, data..., last.
    pub(super) valid_name: String,
    pub(super) ready_name: String,
    pub(super) data_names: Vec<String>,
    pub(super) last_name: String,
    /// Word offset of each data port in a beat, then the beat's total.
    pub(super) offsets: Vec<usize>,
}

impl StreamPorts {
    /// Resolve the named ports of `m`.
    pub fn new(
        m: &Model,
        valid: &str,
        ready: &str,
        data: &[&str],
        last: Option<&str>,
    ) -> Result<StreamPorts, BenchError> {
        let mut offsets = vec![0];
        let mut ports = Vec::new();
        for d in data {
            let p = m.port(d)?;
            offsets.push(offsets[offsets.len() - 1] + words_of(p.width()));
            ports.push(p);
        }
        let s = StreamPorts {
            valid: m.port(valid)?,
            ready: m.port(ready)?,
            data: ports,
            last: last.map(|l| m.port(l)).transpose()?,
            valid_name: valid.to_string(),
            ready_name: ready.to_string(),
            data_names: data.iter().map(|d| d.to_string()).collect(),
            last_name: last.unwrap_or("last").to_string(),
            offsets,
        };
        for (p, name) in [(s.valid, valid), (s.ready, ready)] {
            if p.width() != 1 {
                return Err(BenchError::Setup(format!(
                    "stream port `{name}` is {} bits wide, must be 1",
                    p.width()
                )));
            }
        }
        if let Some(l) = s.last.filter(|l| l.width() != 1) {
            return Err(BenchError::Setup(format!(
                "stream port `{}` is {} bits wide, must be 1",
                s.last_name,
                l.width()
            )));
        }
        if s.valid.dir() == s.ready.dir() {
            return Err(BenchError::Setup(format!(
                "`{valid}` and `{ready}` have the same direction"
            )));
        }
        Ok(s)
    }

    /// `{prefix}_valid`, `{prefix}_ready`, `{prefix}_{d}` for each of `data`, and
    /// `{prefix}_last` when `last`.
    pub fn prefixed(
        m: &Model,
        prefix: &str,
        data: &[&str],
        last: bool,
    ) -> Result<StreamPorts, BenchError> {
        let data: Vec<String> = data.iter().map(|d| format!("{prefix}_{d}")).collect();
        let data: Vec<&str> = data.iter().map(String::as_str).collect();
        let last_name = format!("{prefix}_last");
        StreamPorts::new(
            m,
            &format!("{prefix}_valid"),
            &format!("{prefix}_ready"),
            &data,
            last.then_some(last_name.as_str()),
        )
    }

    /// Words in one beat.
    pub fn words(&self) -> usize {
        self.offsets[self.offsets.len() - 1]
    }

    /// Word offset of data port `i` in a beat.
    pub fn offset(&self, i: usize) -> usize {
        self.offsets[i]
    }

    /// Check that the payload ports point the way valid does.
    pub(super) fn check_dirs(&self, want_valid: Dir) -> Result<(), BenchError> {
        let mut payload: Vec<(Port, &str)> = self
            .data
            .iter()
            .zip(&self.data_names)
            .map(|(p, n)| (*p, n.as_str()))
            .collect();
        if let Some(l) = self.last {
            payload.push((l, &self.last_name));
        }
        payload.push((self.valid, &self.valid_name));
        for (p, name) in payload {
            if p.dir() != want_valid {
                return Err(BenchError::Setup(format!(
                    "stream port `{name}` is an {:?}, expected an {want_valid:?} here",
                    p.dir()
                )));
            }
        }
        Ok(())
    }

    /// Put `beat` on the data ports.
    #[inline]
    pub(super) fn write(&self, m: &mut Model, beat: &[u32]) {
        for (i, p) in self.data.iter().enumerate() {
            write_port(m, *p, &beat[self.offsets[i]..self.offsets[i + 1]]);
        }
    }

    /// Append the data ports' values to `out`.
    #[inline]
    pub(super) fn read(&self, m: &Model, out: &mut Vec<u32>) {
        for p in &self.data {
            read_port(m, *p, out);
        }
    }

    /// The data port holding word `w` of a beat, and the word's index in it (for messages).
    pub(super) fn locate(&self, w: usize) -> (&str, usize) {
        let i = self.offsets.partition_point(|&o| o <= w).saturating_sub(1);
        let name = self.data_names.get(i).map_or("data", String::as_str);
        (name, w - self.offsets[i.min(self.offsets.len() - 1)])
    }
}
