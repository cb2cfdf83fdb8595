//! A functional executor of the engine's programming model, written apart
//! from the RTL: what memory must hold after `start` with `desc_addr` and
//! `desc_count`, and which `status` the engine must end in. RTL tests compare
//! their memory with this byte for byte.
//!
//! It follows the contract, not the engine's schedule: the start checks, then
//! per descriptor: fetch it (fields decoded by name from the programming
//! model), rules 1-6, fetch the channel records, rule 7, compute the layer with
//! golden's plain-Rust reference ([`golden::reference::layer_reference`]) and
//! write the output. An error stops the run with the rule's code and the
//! descriptor's index: earlier outputs stay written, nothing of the failing
//! layer is. A layer's whole output is computed before any of it is written
//! (the compiler never places an output over its own input, so the order only
//! matters for hand-made overlapping descriptors).

use contracts::engine::ProgrammingModel;
use golden::{ConvLayer, Padding};

use crate::check::{self, Descriptor, Violation};

/// How a run ends: `status.done`, or `status.error` with `code` and `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Error { code: u32, index: u32 },
}

/// The run could not be modelled: the engine would touch memory the caller
/// did not provide (a test harness bug or a wild descriptor), or the
/// programming model lacks a name this executor looks up.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    #[error("descriptor {index}: {what} at {addr:#x} ({bytes} bytes) is outside the memory [{lo:#x}, {hi:#x})")]
    OutOfMemory {
        index: u32,
        what: &'static str,
        addr: u64,
        bytes: u64,
        lo: u64,
        hi: u64,
    },
    #[error("{0}")]
    Model(String),
}

struct Mem<'m> {
    mem: &'m mut [u8],
    base: u64,
}

impl Mem<'_> {
    fn range(
        &self,
        index: u32,
        what: &'static str,
        addr: u64,
        bytes: u64,
    ) -> Result<std::ops::Range<usize>, ExecError> {
        let hi = self.base + self.mem.len() as u64;
        if addr < self.base || addr + bytes > hi {
            return Err(ExecError::OutOfMemory {
                index,
                what,
                addr,
                bytes,
                lo: self.base,
                hi,
            });
        }
        let start = (addr - self.base) as usize;
        Ok(start..start + bytes as usize)
    }

    fn read(
        &self,
        index: u32,
        what: &'static str,
        addr: u64,
        bytes: u64,
    ) -> Result<&[u8], ExecError> {
        let r = self.range(index, what, addr, bytes)?;
        Ok(&self.mem[r])
    }
}

fn stop(pm: &ProgrammingModel, v: &Violation, index: u32) -> Result<Outcome, ExecError> {
    let code = v.code(pm).map_err(ExecError::Model)?;
    Ok(Outcome::Error { code, index })
}

/// Run `desc_count` descriptors from `desc_addr` over `mem`, whose first byte
/// is at address `mem_base`.
pub fn run(
    mem: &mut [u8],
    mem_base: u32,
    pm: &ProgrammingModel,
    desc_addr: u32,
    desc_count: u32,
) -> Result<Outcome, ExecError> {
    let m = Mem {
        mem,
        base: u64::from(mem_base),
    };
    if let Err(v) = check::check_start(pm, u64::from(desc_addr), u64::from(desc_count)) {
        return stop(pm, &v, 0);
    }
    let db = u64::from(pm.descriptor.bytes);
    let rb = u64::from(pm.channel_record.bytes);
    for index in 0..desc_count {
        let at = u64::from(desc_addr) + db * u64::from(index);
        let raw = m.read(index, "descriptor", at, db)?;
        let d = Descriptor::decode(pm, raw).map_err(ExecError::Model)?;
        if let Err(v) = check::check_descriptor(pm, &d) {
            return stop(pm, &v, index);
        }
        let records = m.read(index, "channel records", d.ch_addr, rb * d.out_c)?;
        if let Err(v) = check::check_records(pm, &d, records) {
            return stop(pm, &v, index);
        }
        let layer = conv_layer(pm, &d, records).map_err(ExecError::Model)?;
        let input: Vec<i8> = m
            .read(index, "input", d.in_addr, d.in_bytes())?
            .iter()
            .map(|&b| b as i8)
            .collect();
        let weights: Vec<i8> = m
            .read(index, "weights", d.w_addr, d.w_bytes())?
            .iter()
            .map(|&b| b as i8)
            .collect();
        let out = golden::reference::layer_reference(&layer, &input, &weights).map_err(|e| {
            ExecError::Model(format!(
                "descriptor {index}: golden refused a checked layer: {e}"
            ))
        })?;
        let r = m.range(index, "output", d.out_addr, out.len() as u64)?;
        for (dst, &v) in m.mem[r].iter_mut().zip(&out) {
            *dst = v as u8;
        }
    }
    Ok(Outcome::Done)
}

/// The checked descriptor `d` with its channel records as a golden layer.
pub fn conv_layer(
    pm: &ProgrammingModel,
    d: &Descriptor,
    records: &[u8],
) -> Result<ConvLayer, String> {
    let rb = pm.channel_record.bytes as usize;
    let (mut bias, mut mult, mut shift) = (Vec::new(), Vec::new(), Vec::new());
    for co in 0..d.out_c as usize {
        let rec = records
            .get(co * rb..(co + 1) * rb)
            .ok_or_else(|| format!("channel record {co} is missing"))?;
        let bias_field = pm.channel_record.field("bias")?;
        let raw = pm.channel_record.get(rec, "bias")?;
        // Two's complement over the field's width.
        let bits = 8 * bias_field.bytes;
        let value = if bits >= 64 {
            raw as i64
        } else {
            ((raw << (64 - bits)) as i64) >> (64 - bits)
        };
        bias.push(value as i32);
        mult.push(pm.channel_record.get(rec, "mult")? as u32);
        shift.push(pm.channel_record.get(rec, "shift")? as u32);
    }
    let z = |v: u64| v as usize;
    // Without a window `pool_s` is ignored by the engine; golden wants it 0.
    let (pool_k, pool_s, pool_pad) = if d.pool_k == 0 {
        (0, 0, 0)
    } else {
        (z(d.pool_k), z(d.pool_s), z(d.pool_pad))
    };
    Ok(ConvLayer::new(
        z(d.in_h),
        z(d.in_w),
        z(d.in_c),
        z(d.out_c),
        z(d.k_h),
        z(d.k_w),
    )
    .with_stride(z(d.stride_h), z(d.stride_w))
    .with_dilation(z(d.dil_h), z(d.dil_w))
    .with_padding(Padding {
        top: z(d.pad_t),
        bottom: z(d.pad_b),
        left: z(d.pad_l),
        right: z(d.pad_r),
    })
    .with_relu(d.relu != 0)
    .with_pool(pool_k, pool_s, pool_pad)
    .with_requant(bias, mult, shift))
}
