//! The engine's programming model, written once: its register map (offsets,
//! access and bit fields of the 32-bit registers on the register port), its
//! descriptor and channel-record layouts (what it fetches over its memory port),
//! its error codes and its limits.
//!
//! Why here and not in `hdl`: the generator builds the engine's register decoder
//! and descriptor slicing from these tables, and the generator writes them into
//! the engine's JSON manifest (`gen --top engine --manifest engine.json`, at the
//! manifest's top level). The compiler, the host driver and the tests read the
//! manifest back into a [`ProgrammingModel`] and look every offset up by name, so
//! no number is written twice.
//!
//! The contract a user reads is `docs/engine-contract.md`; the tables below are
//! the same numbers as data.

use serde::{Deserialize, Serialize};

/// Value of the `id` register: ASCII "ENG1", read as a little-endian word.
pub const ID: u32 = u32::from_le_bytes(*b"ENG1");

/// Bytes of one descriptor in memory.
pub const DESCRIPTOR_BYTES: u32 = 64;

/// Bytes of one channel record in memory.
pub const RECORD_BYTES: u32 = 8;

/// A channel record's largest `mult` (the field's 16 bits; 0 is refused).
pub const MULT_MAX: u32 = 65535;

/// A channel record's largest `shift` (`bad_requant` above it).
pub const SHIFT_MAX: u32 = 31;

/// Width of the register port's byte address.
pub const CSR_ADDR_BITS: u32 = 8;

/// One bit field of a register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegField {
    pub name: String,
    pub lsb: u32,
    pub bits: u32,
}

/// One 32-bit register at a byte offset on the register port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Register {
    pub name: String,
    pub offset: u32,
    /// `ro` (writes ignored), `rw`, or `wo` (reads return 0; writing 1 to a field
    /// is a one-cycle command).
    pub access: String,
    pub fields: Vec<RegField>,
}

/// One little-endian unsigned field of an in-memory record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemField {
    pub name: String,
    pub offset: u32,
    pub bytes: u32,
}

/// An in-memory record layout (descriptor or channel record).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub bytes: u32,
    pub fields: Vec<MemField>,
}

/// The limits a descriptor must stay inside (else `too_large`), and the
/// alignment of base addresses (else `misaligned`).
///
/// Pads have a rule rather than a number: `pad_t`, `pad_b` <= `dil_h*(k_h-1)`
/// and `pad_l`, `pad_r` <= `dil_w*(k_w-1)` (a pad past that only adds output
/// pixels made of padding); `pad` is the largest value that rule allows.
/// The engine keeps no layer-sized buffer, so no buffer rule limits a layer:
/// every layer inside these numbers runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub in_h: u32,
    pub in_w: u32,
    pub in_c: u32,
    pub out_c: u32,
    pub k_h: u32,
    pub k_w: u32,
    pub stride: u32,
    pub dil: u32,
    pub pad: u32,
    pub relu: u32,
    pub pool_k: u32,
    pub pool_s: u32,
    pub desc_count: u32,
    /// Base addresses (`in_addr`, `w_addr`, `ch_addr`, `out_addr`, `desc_addr`)
    /// are multiples of this (the memory port's bytes per word).
    pub align: u32,
    /// The address space is `2^addr_bits` bytes: a tensor or the descriptor
    /// list running past it is `address_wrap`. 32 (the whole port) unless the
    /// build narrows it to its memory (`gen --addr-bits`), which narrows every
    /// address register inside the engine. Manifests written before the field
    /// existed read as 32.
    #[serde(default = "full_addr_bits")]
    pub addr_bits: u32,
}

/// Bits of the memory port's byte address, the widest address space.
pub const PORT_ADDR_BITS: u32 = 32;

fn full_addr_bits() -> u32 {
    PORT_ADDR_BITS
}

impl Limits {
    /// One past the last byte address a tensor may use: `2^addr_bits`.
    pub fn addr_end(&self) -> u64 {
        1u64 << self.addr_bits
    }
}

/// The whole programming model, as it appears at the top level of the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgrammingModel {
    pub mem_bits: u32,
    pub csr_addr_bits: u32,
    pub id: u32,
    pub registers: Vec<Register>,
    pub descriptor: Layout,
    pub channel_record: Layout,
    /// Error name -> the value of `status.code`.
    pub errors: std::collections::BTreeMap<String, u32>,
    pub limits: Limits,
}

/// Error codes in `status.code`, in the order the engine checks them (a
/// descriptor breaking several rules reports the first).
pub const ERRORS: &[(&str, u32)] = &[
    ("bad_op", 1),
    ("zero_size", 2),
    ("too_large", 7),
    ("bad_geometry", 3),
    ("misaligned", 4),
    ("address_wrap", 6),
    ("bad_requant", 5),
];

fn f(name: &str, lsb: u32, bits: u32) -> RegField {
    RegField {
        name: name.into(),
        lsb,
        bits,
    }
}

fn r(name: &str, offset: u32, access: &str, fields: Vec<RegField>) -> Register {
    Register {
        name: name.into(),
        offset,
        access: access.into(),
        fields,
    }
}

fn m(name: &str, offset: u32, bytes: u32) -> MemField {
    MemField {
        name: name.into(),
        offset,
        bytes,
    }
}

/// The 64-bit performance counters, each a `NAME_lo`/`NAME_hi` register pair.
pub const COUNTERS: &[&str] = &["cycles", "array_beats", "rd_bytes", "wr_bytes"];

/// The register map.
pub fn registers() -> Vec<Register> {
    let value = || vec![f("value", 0, 32)];
    let mut regs = vec![
        r("id", 0x00, "ro", value()),
        r(
            "config0",
            0x04,
            "ro",
            vec![
                f("rows", 0, 8),
                f("cols", 8, 8),
                f("mem_bits", 16, 8),
                f("pipeline", 24, 4),
            ],
        ),
        r(
            "status",
            0x08,
            "ro",
            vec![
                f("busy", 0, 1),
                f("done", 1, 1),
                f("error", 2, 1),
                f("code", 8, 8),
                f("index", 16, 16),
            ],
        ),
        r("ctrl", 0x0C, "wo", vec![f("start", 0, 1), f("clear", 1, 1)]),
        r("desc_addr", 0x10, "rw", value()),
        r("desc_count", 0x14, "rw", value()),
        r(
            "config1",
            0x18,
            "ro",
            vec![
                f("desc_bytes", 0, 8),
                f("record_bytes", 8, 8),
                f("staging_beats", 16, 8),
            ],
        ),
        r("config2", 0x1C, "ro", vec![f("ibuf_bytes", 0, 32)]),
    ];
    for (i, name) in COUNTERS.iter().enumerate() {
        let base = 0x20 + 8 * i as u32;
        regs.push(r(&format!("{name}_lo"), base, "ro", value()));
        regs.push(r(&format!("{name}_hi"), base + 4, "ro", value()));
    }
    regs.push(r("config3", 0x40, "ro", vec![f("wbuf_rows", 0, 32)]));
    regs
}

/// The descriptor layout: every field unsigned little-endian; bytes 44..64 are
/// reserved (ignored by the engine, written as zero by the compiler).
pub fn descriptor() -> Layout {
    Layout {
        bytes: DESCRIPTOR_BYTES,
        fields: vec![
            m("op", 0, 4),
            m("in_addr", 4, 4),
            m("in_h", 8, 2),
            m("in_w", 10, 2),
            m("in_c", 12, 2),
            m("w_addr", 16, 4),
            m("ch_addr", 20, 4),
            m("out_addr", 24, 4),
            m("out_c", 28, 2),
            m("k_h", 30, 1),
            m("k_w", 31, 1),
            m("stride_h", 32, 1),
            m("stride_w", 33, 1),
            m("dil_h", 34, 1),
            m("dil_w", 35, 1),
            m("pad_t", 36, 1),
            m("pad_b", 37, 1),
            m("pad_l", 38, 1),
            m("pad_r", 39, 1),
            m("relu", 40, 1),
            m("pool_k", 41, 1),
            m("pool_s", 42, 1),
            m("pool_pad", 43, 1),
        ],
    }
}

/// The channel record: `bias` is two's complement, the others unsigned; byte 7
/// is reserved.
pub fn channel_record() -> Layout {
    Layout {
        bytes: RECORD_BYTES,
        fields: vec![m("bias", 0, 4), m("mult", 4, 2), m("shift", 6, 1)],
    }
}

/// The limits of an engine whose memory port is `mem_bits` wide, over the
/// whole 32-bit address space.
pub fn limits(mem_bits: u32) -> Limits {
    limits_in(mem_bits, PORT_ADDR_BITS)
}

/// The limits of an engine whose memory port is `mem_bits` wide and whose
/// address space is `2^addr_bits` bytes.
pub fn limits_in(mem_bits: u32, addr_bits: u32) -> Limits {
    Limits {
        in_h: 1024,
        in_w: 1024,
        in_c: 4096,
        out_c: 4096,
        k_h: 11,
        k_w: 11,
        stride: 4,
        dil: 4,
        pad: 40,
        relu: 1,
        pool_k: 4,
        pool_s: 4,
        desc_count: 65535,
        align: mem_bits / 8,
        addr_bits,
    }
}

impl ProgrammingModel {
    /// The programming model of an engine with a `mem_bits`-wide memory port.
    pub fn new(mem_bits: u32) -> ProgrammingModel {
        ProgrammingModel::in_space(mem_bits, PORT_ADDR_BITS)
    }

    /// The same with an address space of `2^addr_bits` bytes.
    pub fn in_space(mem_bits: u32, addr_bits: u32) -> ProgrammingModel {
        ProgrammingModel {
            mem_bits,
            csr_addr_bits: CSR_ADDR_BITS,
            id: ID,
            registers: registers(),
            descriptor: descriptor(),
            channel_record: channel_record(),
            errors: ERRORS.iter().map(|&(n, c)| (n.to_string(), c)).collect(),
            limits: limits_in(mem_bits, addr_bits),
        }
    }

    /// Read the programming model from an engine manifest (its top-level keys).
    pub fn from_manifest_json(text: &str) -> Result<ProgrammingModel, String> {
        serde_json::from_str(text).map_err(|e| format!("engine manifest: {e}"))
    }

    /// The register called `name`.
    pub fn reg(&self, name: &str) -> Result<&Register, String> {
        self.registers
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| format!("engine manifest has no register `{name}`"))
    }

    /// Byte offset of register `name`.
    pub fn reg_offset(&self, name: &str) -> Result<u32, String> {
        Ok(self.reg(name)?.offset)
    }

    /// Field `field` of register `reg` extracted from `value`.
    pub fn reg_field(&self, reg: &str, field: &str, value: u32) -> Result<u32, String> {
        let fl = self.reg_field_def(reg, field)?;
        Ok(((u64::from(value) >> fl.lsb) & ((1u64 << fl.bits) - 1)) as u32)
    }

    /// A register value with only field `field` of `reg` set to `value`.
    pub fn reg_value(&self, reg: &str, field: &str, value: u32) -> Result<u32, String> {
        let fl = self.reg_field_def(reg, field)?;
        Ok(((u64::from(value) & ((1u64 << fl.bits) - 1)) << fl.lsb) as u32)
    }

    fn reg_field_def(&self, reg: &str, field: &str) -> Result<&RegField, String> {
        self.reg(reg)?
            .fields
            .iter()
            .find(|f| f.name == field)
            .ok_or_else(|| format!("engine register `{reg}` has no field `{field}`"))
    }

    /// The code of error `name`.
    pub fn error_code(&self, name: &str) -> Result<u32, String> {
        self.errors
            .get(name)
            .copied()
            .ok_or_else(|| format!("engine manifest has no error `{name}`"))
    }

    /// Name of error `code`, if it is one.
    pub fn error_name(&self, code: u32) -> Option<&str> {
        self.errors
            .iter()
            .find(|(_, &c)| c == code)
            .map(|(n, _)| n.as_str())
    }
}

impl Layout {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Result<&MemField, String> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| format!("layout has no field `{name}`"))
    }

    /// Write `value` into field `name` of the record in `buf` (little-endian);
    /// a value that does not fit the field is an error naming both.
    pub fn put(&self, buf: &mut [u8], name: &str, value: u64) -> Result<(), String> {
        let fl = self.field(name)?;
        let bits = 8 * fl.bytes;
        if bits < 64 && value >> bits != 0 {
            return Err(format!(
                "field `{name}` is {} bytes: {value} does not fit",
                fl.bytes
            ));
        }
        let start = fl.offset as usize;
        let dst = buf
            .get_mut(start..start + fl.bytes as usize)
            .ok_or_else(|| format!("record buffer too short for field `{name}`"))?;
        for (i, b) in dst.iter_mut().enumerate() {
            *b = (value >> (8 * i)) as u8;
        }
        Ok(())
    }

    /// Read field `name` of the record in `buf`.
    pub fn get(&self, buf: &[u8], name: &str) -> Result<u64, String> {
        let fl = self.field(name)?;
        let start = fl.offset as usize;
        let src = buf
            .get(start..start + fl.bytes as usize)
            .ok_or_else(|| format!("record buffer too short for field `{name}`"))?;
        Ok(src
            .iter()
            .enumerate()
            .fold(0u64, |acc, (i, &b)| acc | (u64::from(b) << (8 * i))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_do_not_overlap_and_fit() {
        for layout in [descriptor(), channel_record()] {
            let mut used = vec![false; layout.bytes as usize];
            for fl in &layout.fields {
                for b in fl.offset..fl.offset + fl.bytes {
                    let slot = used.get_mut(b as usize).expect("field inside the record");
                    assert!(!*slot, "field {} overlaps", fl.name);
                    *slot = true;
                }
                assert_eq!(
                    fl.offset % fl.bytes,
                    0,
                    "field {} is naturally aligned",
                    fl.name
                );
            }
        }
    }

    #[test]
    fn registers_are_distinct_words() {
        let regs = registers();
        for (i, a) in regs.iter().enumerate() {
            assert_eq!(a.offset % 4, 0);
            assert!(a.offset < 1 << CSR_ADDR_BITS);
            for b in &regs[i + 1..] {
                assert_ne!(a.offset, b.offset, "{} and {}", a.name, b.name);
                assert_ne!(a.name, b.name);
            }
            let mut mask = 0u64;
            for fl in &a.fields {
                let m = ((1u64 << fl.bits) - 1) << fl.lsb;
                assert_eq!(mask & m, 0, "fields of {} overlap", a.name);
                assert!(fl.lsb + fl.bits <= 32);
                mask |= m;
            }
        }
    }

    #[test]
    fn round_trips_through_json() {
        let pm = ProgrammingModel::new(64);
        let text = serde_json::to_string(&pm).expect("serializes");
        assert_eq!(ProgrammingModel::from_manifest_json(&text), Ok(pm));
    }

    #[test]
    fn put_refuses_values_that_do_not_fit() {
        let d = descriptor();
        let mut buf = vec![0u8; d.bytes as usize];
        assert!(d.put(&mut buf, "k_h", 256).is_err());
        d.put(&mut buf, "in_w", 0x1234).expect("fits");
        assert_eq!(&buf[10..12], &[0x34, 0x12]);
        assert_eq!(d.get(&buf, "in_w"), Ok(0x1234));
    }
}
