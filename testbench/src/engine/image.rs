//! Building a test's memory image by hand: tensors at aligned addresses with
//! random guard bytes around each, channel records and descriptors written by
//! field name through the programming model, and the regions the engine may
//! read and write. Independent of the layer compiler on purpose: the tests
//! must not share a layout bug with the software they check.

use contracts::engine::ProgrammingModel;
use golden::layer::ConvLayer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::oracle::{run_program, Descriptor, Machine, MemImage, Outcome, Record};

/// A memory image with a descriptor list, ready to load and start.
#[derive(Clone, Debug)]
pub struct Program {
    /// The initial memory contents.
    pub image: MemImage,
    pub desc_addr: u64,
    pub desc_count: u64,
    /// The descriptors as written (index = descriptor index).
    pub descs: Vec<Descriptor>,
    /// Ranges (start, len) the engine may read, rounded out to memory words.
    pub read_only: Vec<(u64, u64)>,
    /// Ranges (start, len) the engine may write, rounded out to memory words.
    pub writable: Vec<(u64, u64)>,
}

impl Program {
    /// The memory after the run and what the run must report, by the oracle.
    pub fn expected(
        &self,
        pm: &ProgrammingModel,
        machine: &Machine,
    ) -> Result<(MemImage, Outcome), String> {
        let mut mem = self.image.clone();
        let out = run_program(pm, machine, &mut mem, self.desc_addr, self.desc_count)?;
        Ok((mem, out))
    }
}

/// Lays out tensors one after another from a base address.
pub struct ImageBuilder<'a> {
    pm: &'a ProgrammingModel,
    base: u64,
    align: u64,
    guard: u64,
    rng: StdRng,
    bytes: Vec<u8>,
    read_only: Vec<(u64, u64)>,
    writable: Vec<(u64, u64)>,
    descs: Vec<Descriptor>,
    /// Space reserved for the descriptor list: (address, descriptors).
    desc_slot: Option<(u64, u64)>,
}

impl<'a> ImageBuilder<'a> {
    /// An empty image at `base` (a multiple of the alignment); guard bytes and
    /// never-written output bytes are random, drawn from `seed`.
    pub fn new(pm: &'a ProgrammingModel, base: u64, seed: u64) -> ImageBuilder<'a> {
        let align = u64::from(pm.limits.align.max(1));
        ImageBuilder {
            pm,
            base,
            align,
            guard: 2 * align + 5,
            rng: StdRng::seed_from_u64(seed),
            bytes: Vec::new(),
            read_only: Vec::new(),
            writable: Vec::new(),
            descs: Vec::new(),
            desc_slot: None,
        }
    }

    /// Next free address.
    pub fn end(&self) -> u64 {
        self.base + self.bytes.len() as u64
    }

    /// Reserve `len` bytes at an aligned address with at least the guard
    /// before and after, all filled with random bytes; returns the address.
    pub fn alloc(&mut self, len: u64) -> u64 {
        let addr = (self.end() + self.guard).next_multiple_of(self.align);
        let new_end = addr + len + self.guard;
        let start = self.bytes.len();
        self.bytes.resize((new_end - self.base) as usize, 0);
        self.rng.fill(&mut self.bytes[start..]);
        addr
    }

    /// Copy `data` into the image at `addr` (inside what was allocated).
    pub fn put(&mut self, addr: u64, data: &[u8]) -> Result<(), String> {
        let off = addr
            .checked_sub(self.base)
            .filter(|o| o + data.len() as u64 <= self.bytes.len() as u64)
            .ok_or_else(|| format!("put of {} bytes at {addr:#x}: not allocated", data.len()))?
            as usize;
        self.bytes[off..off + data.len()].copy_from_slice(data);
        Ok(())
    }

    /// Allocate and fill a tensor of int8 values; returns its address.
    pub fn tensor(&mut self, data: &[i8]) -> u64 {
        let addr = self.alloc(data.len() as u64);
        let bytes: Vec<u8> = data.iter().map(|&v| v as u8).collect();
        let off = (addr - self.base) as usize;
        self.bytes[off..off + bytes.len()].copy_from_slice(&bytes);
        addr
    }

    fn round_out(&self, addr: u64, len: u64) -> (u64, u64) {
        let a = addr / self.align * self.align;
        let e = (addr + len.max(1)).next_multiple_of(self.align);
        (a, e - a)
    }

    /// Let the engine read `len` bytes at `addr` (rounded out to words).
    pub fn allow_read(&mut self, addr: u64, len: u64) {
        let r = self.round_out(addr, len);
        self.read_only.push(r);
    }

    /// Let the engine write `len` bytes at `addr` (rounded out to words).
    pub fn allow_write(&mut self, addr: u64, len: u64) {
        let r = self.round_out(addr, len);
        self.writable.push(r);
    }

    /// Write channel records at `ch_addr`, one per element.
    pub fn put_records(&mut self, ch_addr: u64, records: &[Record]) -> Result<(), String> {
        let rb = u64::from(self.pm.channel_record.bytes);
        for (i, r) in records.iter().enumerate() {
            let bytes = r.encode(self.pm)?;
            self.put(ch_addr + rb * i as u64, &bytes)?;
        }
        Ok(())
    }

    /// Add a descriptor for `layer` reading its input at `in_addr` (already in
    /// the image) with these HWIO `weights`: allocates the weights, the channel
    /// records (from the layer's bias/mult/shift) and, unless `out_addr` is
    /// given, the output; allows the reads and the output write. Returns the
    /// descriptor's index.
    pub fn conv(
        &mut self,
        layer: &ConvLayer,
        in_addr: u64,
        weights: &[i8],
        out_addr: Option<u64>,
    ) -> Result<usize, String> {
        let w_addr = self.alloc(weights.len() as u64);
        let rb = u64::from(self.pm.channel_record.bytes);
        let ch_addr = self.alloc(rb * layer.out_c as u64);
        let out_addr = match out_addr {
            Some(a) => a,
            None => self.alloc(layer.output_len() as u64),
        };
        self.conv_at(layer, in_addr, weights, w_addr, ch_addr, out_addr)
    }

    /// As [`ImageBuilder::conv`] with every address given (all allocated by
    /// the caller): writes the weights and the records, allows the reads and
    /// the output write, adds the descriptor.
    pub fn conv_at(
        &mut self,
        layer: &ConvLayer,
        in_addr: u64,
        weights: &[i8],
        w_addr: u64,
        ch_addr: u64,
        out_addr: u64,
    ) -> Result<usize, String> {
        layer
            .validate()
            .map_err(|e| format!("test layer is invalid: {e}"))?;
        if weights.len() != layer.weight_len() {
            return Err(format!(
                "weights: {} values for a layer of {}",
                weights.len(),
                layer.weight_len()
            ));
        }
        let bytes: Vec<u8> = weights.iter().map(|&v| v as u8).collect();
        self.put(w_addr, &bytes)?;
        let records: Vec<Record> = (0..layer.out_c)
            .map(|co| Record {
                bias: layer.bias[co],
                mult: u64::from(layer.mult[co]),
                shift: u64::from(layer.shift[co]),
            })
            .collect();
        let rb = u64::from(self.pm.channel_record.bytes);
        self.put_records(ch_addr, &records)?;
        self.allow_read(in_addr, layer.input_len() as u64);
        self.allow_read(w_addr, weights.len() as u64);
        self.allow_read(ch_addr, rb * records.len() as u64);
        self.allow_write(out_addr, layer.output_len() as u64);
        self.descs
            .push(Descriptor::conv(layer, in_addr, w_addr, ch_addr, out_addr));
        Ok(self.descs.len() - 1)
    }

    /// Reserve room for `n` descriptors now (so the list need not be the last
    /// thing in the image).
    pub fn reserve_descs(&mut self, n: u64) {
        let db = u64::from(self.pm.descriptor.bytes);
        let at = self.alloc(db * n);
        self.desc_slot = Some((at, n));
    }

    /// Cut the image at `end` (dropping the guard after the last tensor), so a
    /// tensor can end exactly where the image does.
    pub fn truncate(&mut self, end: u64) {
        let len = end.saturating_sub(self.base) as usize;
        self.bytes.truncate(len);
    }

    /// Append a descriptor as given (no allocation, no regions).
    pub fn push_desc(&mut self, d: Descriptor) -> usize {
        self.descs.push(d);
        self.descs.len() - 1
    }

    /// Descriptor `i`, to edit before [`ImageBuilder::finish`].
    pub fn desc_mut(&mut self, i: usize) -> Option<&mut Descriptor> {
        self.descs.get_mut(i)
    }

    /// Write the descriptor list (in its reserved room, or read-only after
    /// everything else) and return the program.
    pub fn finish(mut self) -> Result<Program, String> {
        let db = u64::from(self.pm.descriptor.bytes);
        let n = self.descs.len() as u64;
        let desc_addr = match self.desc_slot {
            Some((at, room)) if room >= n => at,
            Some((_, room)) => {
                return Err(format!("{n} descriptors in room reserved for {room}"));
            }
            None => self.alloc(db * n.max(1)),
        };
        let descs = std::mem::take(&mut self.descs);
        for (i, d) in descs.iter().enumerate() {
            let bytes = d.encode(self.pm)?;
            self.put(desc_addr + db * i as u64, &bytes)?;
        }
        self.allow_read(desc_addr, db * n.max(1));
        Ok(Program {
            image: MemImage {
                base: self.base,
                bytes: self.bytes,
            },
            desc_addr,
            desc_count: n,
            descs,
            read_only: self.read_only,
            writable: self.writable,
        })
    }
}

impl Program {
    /// The same program moved to start at `base` (a multiple of the
    /// alignment): every address in the descriptors and regions moves with it.
    pub fn relocated(&self, pm: &ProgrammingModel, base: u64) -> Result<Program, String> {
        let mv = |a: u64| a.wrapping_sub(self.image.base).wrapping_add(base);
        let mut p = self.clone();
        p.image.base = base;
        p.desc_addr = mv(self.desc_addr);
        let db = u64::from(pm.descriptor.bytes);
        for (i, d) in p.descs.iter_mut().enumerate() {
            d.in_addr = mv(d.in_addr);
            d.w_addr = mv(d.w_addr);
            d.ch_addr = mv(d.ch_addr);
            d.out_addr = mv(d.out_addr);
            let bytes = d.encode(pm)?;
            let off = (p.desc_addr - base + db * i as u64) as usize;
            p.image
                .bytes
                .get_mut(off..off + bytes.len())
                .ok_or("descriptor list outside the image")?
                .copy_from_slice(&bytes);
        }
        for r in p.read_only.iter_mut().chain(p.writable.iter_mut()) {
            r.0 = mv(r.0);
        }
        Ok(p)
    }
}

/// `n` random int8 values over the whole range.
pub fn random_i8(rng: &mut StdRng, n: usize) -> Vec<i8> {
    (0..n).map(|_| rng.gen()).collect()
}

/// `n` values drawn from the extremes -128, -127, 0, 126, 127 (edge operands).
pub fn edge_i8(rng: &mut StdRng, n: usize) -> Vec<i8> {
    const LEVELS: [i8; 5] = [-128, -127, 0, 126, 127];
    (0..n).map(|_| LEVELS[rng.gen_range(0..5)]).collect()
}

/// Random per-channel requantization for `layer` that maps its typical
/// accumulator (random int8 operands, `K = k_h*k_w*in_c` terms) onto the int8
/// range, so outputs are mostly not saturated; one channel in eight gets an
/// extreme setting (shift 0 or 31, mult 1 or 65535, a large bias).
pub fn random_requant(rng: &mut StdRng, layer: ConvLayer) -> ConvLayer {
    let k = (layer.k_h * layer.k_w * layer.in_c) as f64;
    // The sum of K products of uniform int8 values has a standard deviation of about 5500*sqrt(K).
    let sigma = 5500.0 * k.sqrt();
    let n = layer.out_c;
    let (mut bias, mut mult, mut shift) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        if rng.gen_ratio(1, 8) {
            bias.push([i32::MIN, i32::MAX, -1, 0, 1 << 20][rng.gen_range(0..5)]);
            mult.push([1u32, 65535][rng.gen_range(0..2)]);
            shift.push([0u32, 31, 16][rng.gen_range(0..3)]);
            continue;
        }
        let scale = rng.gen_range(40.0..120.0) / sigma;
        let s: u32 = rng.gen_range(16..=31);
        let m = (scale * f64::from(1u32 << s)).round().clamp(1.0, 65535.0) as u32;
        bias.push(rng.gen_range(-(sigma as i32)..=(sigma as i32)));
        mult.push(m);
        shift.push(s);
    }
    layer.with_requant(bias, mult, shift)
}
