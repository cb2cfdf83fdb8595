//! From a [`Network`] to one memory image the engine runs with a single start:
//! the descriptor list, each layer's weights and channel records, the input
//! tensor and two activation regions the layers ping-pong between.
//!
//! Layout, from `base` upwards, every region starting on a multiple of
//! `limits.align` with at least `align` guard bytes ([`GUARD`]) before, between
//! and after the regions:
//!
//! ```text
//! guard | descriptors | guard | L0 weights | guard | L0 records | guard | L1 weights | ...
//!       | input | guard | activation A | guard | activation B | guard
//! ```
//!
//! Layer 0 reads the input and writes A, layer 1 reads A and writes B, layer 2
//! reads B and writes A, ... Each activation region is as large as the largest
//! output written to it, and starts filled with [`UNWRITTEN`] so a byte the
//! engine forgot to write shows.
//!
//! Every field offset, record size, limit and error name comes from the
//! [`ProgrammingModel`] (the engine's manifest). Every descriptor goes through
//! [`crate::check`] before the image is returned, so a layer the engine would
//! refuse is refused here, in one line naming the layer and the engine's rule.

use std::collections::BTreeMap;

use contracts::engine::ProgrammingModel;
use serde::Serialize;

use crate::check::{self, Descriptor, Violation};
use crate::first_layer::{self, FirstLayer, InputPacker};
use crate::net::{NetError, Network, Shape};

/// Value of the guard bytes around every region.
pub const GUARD: u8 = 0xA5;
/// Initial value of the activation regions (bytes no layer wrote yet).
pub const UNWRITTEN: u8 = 0x5A;

/// What a region holds (tests mark `Descriptors`, `Input`, `Weights`,
/// `Records` read-only and `Activation` writable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionKind {
    Descriptors,
    Input,
    Weights,
    Records,
    Activation,
}

/// A named byte range of the image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Region {
    pub name: String,
    pub addr: u32,
    pub bytes: u32,
    pub kind: RegionKind,
}

impl Region {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        u64::from(self.addr) + u64::from(self.bytes)
    }

    /// Whether address `a` is inside.
    pub fn contains(&self, a: u64) -> bool {
        (u64::from(self.addr)..self.end()).contains(&a)
    }
}

/// Where one layer's tensors live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Placement {
    pub name: String,
    pub in_addr: u32,
    pub w_addr: u32,
    pub ch_addr: u32,
    pub out_addr: u32,
    pub in_shape: Shape,
    pub out_shape: Shape,
}

/// A compiled network: the image, where it goes and what is where. As JSON
/// ([`Program::map_json`]) it is the map without the image bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Program {
    /// Address of `image[0]`.
    pub base: u32,
    #[serde(skip)]
    pub image: Vec<u8>,
    /// Write these to the `desc_addr` and `desc_count` registers.
    pub desc_addr: u32,
    pub desc_count: u32,
    /// The input region: the *packed* input ([`Program::pack_input`]).
    pub input: Region,
    /// The packed input's shape (the raw network input with
    /// [`FirstLayer::Direct`]).
    pub input_shape: Shape,
    /// How the first layer was compiled.
    pub first_layer: FirstLayer,
    /// Lays a raw network input out as the input region holds it.
    pub packer: InputPacker,
    /// The last layer's output.
    pub output: Region,
    pub output_shape: Shape,
    pub layers: Vec<Placement>,
    /// Every region, in address order.
    pub regions: Vec<Region>,
    /// The descriptors as written into the image.
    #[serde(skip)]
    pub descriptors: Vec<Descriptor>,
}

/// Why a network does not compile; one line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The network file itself is malformed.
    #[error("{0}")]
    Network(#[from] NetError),
    /// The engine would refuse this layer: `rule` is the engine's error name.
    #[error("layer {index} `{name}`: the engine refuses it: {violation}")]
    Refused {
        index: usize,
        name: String,
        violation: Violation,
    },
    /// The program cannot be laid out (base, input length, size, list length).
    #[error("{0}")]
    Layout(String),
}

impl Program {
    /// The raw network input (NHWC, the original network's input shape) as
    /// the input region holds it: unchanged with [`FirstLayer::Direct`],
    /// im2col'ed otherwise. An error if `raw` has the wrong length.
    pub fn pack_input(&self, raw: &[i8]) -> Result<Vec<i8>, CompileError> {
        self.packer.pack_input(raw).map_err(CompileError::Layout)
    }

    /// The map (everything but the image bytes) as pretty JSON, with the
    /// image length and each descriptor's fields by name.
    pub fn map_json(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let serde_json::Value::Object(map) = &mut v {
            map.insert("image_bytes".into(), self.image.len().into());
            let descs: Vec<_> = self.descriptors.iter().map(Descriptor::to_map).collect();
            map.insert(
                "descriptors".into(),
                serde_json::to_value(descs).unwrap_or_default(),
            );
        }
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }

    /// Descriptor `i`'s fields by name, `None` past the list.
    pub fn descriptor_fields(&self, i: usize) -> Option<BTreeMap<String, u64>> {
        self.descriptors.get(i).map(Descriptor::to_map)
    }

    /// The bytes of `region` in `mem`, a memory image starting at `self.base`
    /// (the compiled image, or the memory after a run); `None` if `mem` is
    /// too short.
    pub fn slice<'m>(&self, mem: &'m [u8], region: &Region) -> Option<&'m [u8]> {
        let start = region.addr.checked_sub(self.base)? as usize;
        mem.get(start..start + region.bytes as usize)
    }

    /// Whether the engine may read the `mb`-byte memory word at `word_addr`:
    /// it overlaps a region (descriptors, weights, records, input, or an
    /// activation region, which later layers read). The engine reads whole
    /// words, so the word holding a region's first or last byte may also
    /// cover guard bytes.
    pub fn word_readable(&self, word_addr: u64, mb: u64) -> bool {
        let end = word_addr + mb;
        self.regions
            .iter()
            .any(|r| u64::from(r.addr) < end && word_addr < r.end())
    }

    /// Whether the engine may write (with its strobe set) the byte at `a`:
    /// it is inside an activation region.
    pub fn byte_writable(&self, a: u64) -> bool {
        self.regions
            .iter()
            .any(|r| r.kind == RegionKind::Activation && r.contains(a))
    }

    /// Whether address `a` is a guard byte (inside the image, in no region).
    pub fn is_guard(&self, a: u64) -> bool {
        let base = u64::from(self.base);
        a >= base
            && a < base + self.image.len() as u64
            && !self.regions.iter().any(|r| r.contains(a))
    }
}

struct Allocator {
    cursor: u64,
    align: u64,
    /// Bits of the engine's address space (`limits.addr_bits`).
    addr_bits: u32,
    regions: Vec<Region>,
}

impl Allocator {
    fn alloc(
        &mut self,
        name: String,
        bytes: u64,
        kind: RegionKind,
    ) -> Result<Region, CompileError> {
        let addr = self.cursor.div_ceil(self.align) * self.align;
        let end = addr + bytes;
        // The image (with its trailing guard) must stay inside the engine's
        // address space.
        if end + self.align > 1u64 << self.addr_bits {
            return Err(CompileError::Layout(format!(
                "region `{name}` ({bytes} bytes at {addr:#x}) does not fit below 2^{} (limits.addr_bits)",
                self.addr_bits
            )));
        }
        let r = Region {
            name,
            addr: addr as u32,
            bytes: bytes as u32,
            kind,
        };
        self.cursor = end + self.align;
        self.regions.push(r.clone());
        Ok(r)
    }
}

/// How to compile: see [`compile_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompileOptions {
    /// How the first layer's input is laid out ([`crate::first_layer`]).
    pub first_layer: FirstLayer,
}

/// Compile `net` for the engine `pm` into an image at `base` (a multiple of
/// `limits.align`). `input`, if given, is written into the input region
/// (`h*w*c` bytes, NHWC); otherwise the region is zero. The first layer as
/// written ([`FirstLayer::Direct`]); see [`compile_with`].
pub fn compile(
    net: &Network,
    input: Option<&[i8]>,
    pm: &ProgrammingModel,
    base: u32,
) -> Result<Program, CompileError> {
    compile_with(net, input, pm, base, &CompileOptions::default())
}

/// [`compile`] with options: with `first_layer` other than `Direct` the
/// first layer is transformed ([`crate::first_layer::transform`]) and the
/// program is that of the transformed network; `input` is the *raw* input
/// (the original network's shape), packed here; the program's
/// [`Program::pack_input`] packs later inputs the same way. A transformed
/// first layer the engine refuses is refused, naming the layer as
/// `NAME (MODE)` and the engine's rule.
pub fn compile_with(
    net: &Network,
    input: Option<&[i8]>,
    pm: &ProgrammingModel,
    base: u32,
    opts: &CompileOptions,
) -> Result<Program, CompileError> {
    let (tnet, packer) = first_layer::transform(net, opts.first_layer)?;
    let packed = match input {
        Some(x) => Some(packer.pack_input(x).map_err(CompileError::Layout)?),
        None => None,
    };
    let mut prog = compile_network(&tnet, packed.as_deref(), pm, base).map_err(|e| match e {
        CompileError::Refused {
            index: 0,
            name,
            violation,
        } if opts.first_layer != FirstLayer::Direct => CompileError::Refused {
            index: 0,
            name: format!("{name} ({})", opts.first_layer),
            violation,
        },
        e => e,
    })?;
    prog.first_layer = opts.first_layer;
    prog.packer = packer;
    Ok(prog)
}

fn compile_network(
    net: &Network,
    input: Option<&[i8]>,
    pm: &ProgrammingModel,
    base: u32,
) -> Result<Program, CompileError> {
    let shapes = net.shapes()?;
    let align = u64::from(pm.limits.align);
    if align == 0 {
        return Err(CompileError::Layout("limits.align is 0".into()));
    }
    if u64::from(base) % align != 0 {
        return Err(CompileError::Layout(format!(
            "base = {base:#x} is not a multiple of limits.align = {align}"
        )));
    }
    if let Some(x) = input {
        if x.len() as u64 != net.input.bytes() {
            return Err(CompileError::Layout(format!(
                "input holds {} bytes, the network input {} needs {}",
                x.len(),
                net.input,
                net.input.bytes()
            )));
        }
    }
    let count = net.layers.len() as u64;
    let desc_bytes = u64::from(pm.descriptor.bytes);
    let rec_bytes = u64::from(pm.channel_record.bytes);

    let mut al = Allocator {
        cursor: u64::from(base) + align,
        align,
        addr_bits: pm.limits.addr_bits,
        regions: Vec::new(),
    };
    let descs = al.alloc(
        "descriptors".into(),
        desc_bytes * count,
        RegionKind::Descriptors,
    )?;
    let mut params = Vec::with_capacity(net.layers.len());
    for l in &net.layers {
        let w = al.alloc(
            format!("{}.weights", l.name),
            l.weights.len() as u64,
            RegionKind::Weights,
        )?;
        let c = al.alloc(
            format!("{}.records", l.name),
            rec_bytes * u64::from(l.out_c),
            RegionKind::Records,
        )?;
        params.push((w, c));
    }
    let input_region = al.alloc("input".into(), net.input.bytes(), RegionKind::Input)?;
    let mut act = Vec::new();
    for (k, name) in ["act_a", "act_b"].into_iter().enumerate() {
        let bytes = shapes
            .iter()
            .skip(k)
            .step_by(2)
            .map(|s| s.output.bytes())
            .max();
        if let Some(bytes) = bytes {
            act.push(al.alloc(name.into(), bytes, RegionKind::Activation)?);
        }
    }
    let end = al.cursor;
    let mut image = vec![GUARD; (end - u64::from(base)) as usize];
    let off = |a: u32| (a - base) as usize;

    let d_start = check::check_start(pm, u64::from(descs.addr), count);
    d_start.map_err(|v| CompileError::Layout(format!("the descriptor list: {v}")))?;

    let mut layers = Vec::with_capacity(net.layers.len());
    let mut descriptors = Vec::with_capacity(net.layers.len());
    for (i, ((l, s), (w, c))) in net.layers.iter().zip(&shapes).zip(&params).enumerate() {
        let refused = |violation: Violation| CompileError::Refused {
            index: i,
            name: l.name.clone(),
            violation,
        };
        let in_addr = if i == 0 {
            input_region.addr
        } else {
            act[(i - 1) % 2].addr
        };
        let out_addr = act[i % 2].addr;
        let u = u64::from;
        let d = Descriptor {
            op: 0,
            in_addr: u(in_addr),
            in_h: u(s.input.h),
            in_w: u(s.input.w),
            in_c: u(s.input.c),
            w_addr: u(w.addr),
            ch_addr: u(c.addr),
            out_addr: u(out_addr),
            out_c: u(l.out_c),
            k_h: u(l.k_h),
            k_w: u(l.k_w),
            stride_h: u(l.stride_h),
            stride_w: u(l.stride_w),
            dil_h: u(l.dil_h),
            dil_w: u(l.dil_w),
            pad_t: u(l.pad_t),
            pad_b: u(l.pad_b),
            pad_l: u(l.pad_l),
            pad_r: u(l.pad_r),
            relu: u(l.relu.into()),
            pool_k: u(l.pool_k),
            pool_s: u(l.pool_s),
            pool_pad: u(l.pool_pad),
        };
        // The engine checks the field values it decodes; a value too wide for
        // its field is past every limit, so it is `too_large` here.
        check::check_descriptor(pm, &d).map_err(refused)?;
        let encoded = d.encode(pm).map_err(|e| {
            refused(Violation {
                rule: check::TOO_LARGE,
                detail: e,
            })
        })?;

        let mut records = vec![0u8; (rec_bytes * u(l.out_c)) as usize];
        for co in 0..l.out_c as usize {
            let rec = &mut records[co * rec_bytes as usize..(co + 1) * rec_bytes as usize];
            for (name, v) in [
                ("bias", u64::from(l.bias[co] as u32)),
                ("mult", u64::from(l.mult[co])),
                ("shift", u64::from(l.shift[co])),
            ] {
                pm.channel_record.put(rec, name, v).map_err(|e| {
                    refused(Violation {
                        rule: check::BAD_REQUANT,
                        detail: format!("channel record {co}: {e}"),
                    })
                })?;
            }
        }
        check::check_records(pm, &d, &records).map_err(refused)?;

        let at = off(descs.addr) + i * desc_bytes as usize;
        image[at..at + encoded.len()].copy_from_slice(&encoded);
        image[off(c.addr)..off(c.addr) + records.len()].copy_from_slice(&records);
        let wbytes: Vec<u8> = l.weights.iter().map(|&x| x as u8).collect();
        image[off(w.addr)..off(w.addr) + wbytes.len()].copy_from_slice(&wbytes);

        layers.push(Placement {
            name: l.name.clone(),
            in_addr,
            w_addr: w.addr,
            ch_addr: c.addr,
            out_addr,
            in_shape: s.input,
            out_shape: s.output,
        });
        descriptors.push(d);
    }

    let x0 = off(input_region.addr);
    let xn = input_region.bytes as usize;
    match input {
        Some(x) => {
            for (dst, &v) in image[x0..x0 + xn].iter_mut().zip(x) {
                *dst = v as u8;
            }
        }
        None => image[x0..x0 + xn].fill(0),
    }
    for r in &act {
        let a = off(r.addr);
        image[a..a + r.bytes as usize].fill(UNWRITTEN);
    }

    let last = shapes.len() - 1;
    let output_shape = shapes[last].output;
    let out_region = &act[last % 2];
    let output = Region {
        name: out_region.name.clone(),
        addr: out_region.addr,
        bytes: output_shape.bytes() as u32,
        kind: RegionKind::Activation,
    };
    Ok(Program {
        base,
        image,
        desc_addr: descs.addr,
        desc_count: count as u32,
        input: input_region,
        input_shape: net.input,
        first_layer: FirstLayer::Direct,
        packer: first_layer::identity_packer(net.input),
        output,
        output_shape,
        layers,
        regions: al.regions,
        descriptors,
    })
}
