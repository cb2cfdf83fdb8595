//! Test cases shared by the engines' tests: random valid layers, the shapes
//! every test set must hold, their operands, and broken descriptors (fields
//! pushed to boundary values, a layer to break between two good ones).

use contracts::engine::ProgrammingModel;
use golden::layer::ConvLayer;
use golden::Padding;
use rand::rngs::StdRng;
use rand::Rng;

use super::image::{edge_i8, random_i8, random_requant, ImageBuilder};
use super::oracle::{Descriptor, Record, FIELDS};

/// Operands for `layer`: random, or drawn from the int8 extremes.
pub fn operands(rng: &mut StdRng, layer: &ConvLayer, edge: bool) -> (Vec<i8>, Vec<i8>) {
    if edge {
        (
            edge_i8(rng, layer.input_len()),
            edge_i8(rng, layer.weight_len()),
        )
    } else {
        (
            random_i8(rng, layer.input_len()),
            random_i8(rng, layer.weight_len()),
        )
    }
}

/// A random valid conv layer: kernels 1..=5 each way, strides 1..=3, dilation
/// 1..=2, asymmetric pads up to the limit, images 1..=max_hw, channels
/// 1..=max_c, ReLU or not, pooling or not; requantization fitted to its range.
pub fn random_layer(rng: &mut StdRng, max_hw: usize, max_c: usize) -> ConvLayer {
    loop {
        let (k_h, k_w) = (rng.gen_range(1..=5), rng.gen_range(1..=5));
        let (dil_h, dil_w) = (rng.gen_range(1..=2), rng.gen_range(1..=2));
        let pad = |rng: &mut StdRng, k: usize, d: usize| rng.gen_range(0..=d * (k - 1));
        let padding = Padding {
            top: pad(rng, k_h, dil_h),
            bottom: pad(rng, k_h, dil_h),
            left: pad(rng, k_w, dil_w),
            right: pad(rng, k_w, dil_w),
        };
        let mut l = ConvLayer::new(
            rng.gen_range(1..=max_hw),
            rng.gen_range(1..=max_hw),
            rng.gen_range(1..=max_c),
            rng.gen_range(1..=max_c),
            k_h,
            k_w,
        )
        .with_stride(rng.gen_range(1..=3), rng.gen_range(1..=3))
        .with_dilation(dil_h, dil_w)
        .with_padding(padding)
        .with_relu(rng.gen());
        if rng.gen_ratio(2, 5) {
            let k = rng.gen_range(1..=3);
            l = l.with_pool(k, rng.gen_range(1..=3), rng.gen_range(0..k));
        }
        if l.validate().is_ok() {
            return random_requant(rng, l);
        }
    }
}

/// Layers every conv test set must hold, whatever the random draw.
pub fn must_cover() -> Vec<ConvLayer> {
    vec![
        // 5x3 kernel, stride (1,2), asymmetric pads, ReLU, pool 2/2.
        ConvLayer::new(9, 11, 5, 6, 5, 3)
            .with_stride(1, 2)
            .with_padding(Padding {
                top: 2,
                bottom: 1,
                left: 0,
                right: 2,
            })
            .with_relu(true)
            .with_pool(2, 2, 0),
        // Stride 3, dilation 2, pool 3/1 pad 1 (overlapping windows).
        ConvLayer::new(10, 8, 3, 5, 3, 2)
            .with_stride(3, 1)
            .with_dilation(2, 2)
            .with_padding(Padding {
                top: 4,
                bottom: 0,
                left: 1,
                right: 2,
            })
            .with_pool(3, 1, 1),
        // Image smaller than the array, one output pixel.
        ConvLayer::new(2, 1, 9, 3, 2, 1),
        // Input (720 bytes) and K (72) past the main engine's buffers: both streamed.
        ConvLayer::new(10, 9, 8, 5, 3, 3)
            .with_stride(2, 1)
            .with_padding(Padding::uniform(1)),
        // Input (540 bytes) streamed, weights (K 45) resident.
        ConvLayer::new(12, 9, 5, 4, 3, 3)
            .with_stride(2, 2)
            .with_relu(true),
        // 1x1 conv, C_out not a multiple of the array.
        ConvLayer::new(5, 5, 17, 7, 1, 1).with_relu(true),
    ]
}

/// Boundary values for a descriptor field that fit its bytes.
pub fn boundary_value(rng: &mut StdRng, pm: &ProgrammingModel, d: &Descriptor, name: &str) -> u64 {
    let bytes = pm.descriptor.field(name).map_or(1, |f| f.bytes);
    let max = if bytes >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * bytes)) - 1
    };
    let lim = &pm.limits;
    let align = u64::from(lim.align);
    let current = d.fields().iter().find(|f| f.0 == name).map_or(0, |f| f.1);
    let limit = match name {
        "in_h" => lim.in_h,
        "in_w" => lim.in_w,
        "in_c" => lim.in_c,
        "out_c" => lim.out_c,
        "k_h" => lim.k_h,
        "k_w" => lim.k_w,
        "stride_h" | "stride_w" => lim.stride,
        "dil_h" | "dil_w" => lim.dil,
        "relu" => lim.relu,
        "pool_k" => lim.pool_k,
        "pool_s" => lim.pool_s,
        "pad_t" | "pad_b" | "pad_l" | "pad_r" => lim.pad,
        _ => 4,
    };
    let v = if name.ends_with("addr") {
        match rng.gen_range(0..4) {
            0 => current + rng.gen_range(1..align),
            1 => (1u64 << 32) - align * rng.gen_range(1..4),
            2 => (1u64 << 32) - 64 * align,
            _ => current + align,
        }
    } else {
        match rng.gen_range(0..7) {
            0 => 0,
            1 => 1,
            2 => u64::from(limit),
            3 => u64::from(limit) + 1,
            4 => max,
            5 => current + 1,
            _ => rng.gen_range(0..=6),
        }
    };
    v.min(max)
}

/// A small valid layer and its program (at `base`) with three descriptors: good, then the
/// layer to break, then good.
pub fn three_layers<'a>(
    pm: &'a ProgrammingModel,
    base: u64,
    rng: &mut StdRng,
    middle: &ConvLayer,
) -> ImageBuilder<'a> {
    let mut b = ImageBuilder::new(pm, base, rng.gen());
    for l in [
        // K = 9: more than one chunk on the main engine.
        random_requant(
            rng,
            ConvLayer::new(3, 4, 3, 5, 1, 3).with_padding(Padding {
                top: 0,
                bottom: 0,
                left: 1,
                right: 1,
            }),
        ),
        middle.clone(),
        random_requant(rng, ConvLayer::fc(2, 9, 3)),
    ] {
        let input = random_i8(rng, l.input_len());
        let at = b.tensor(&input);
        let w = random_i8(rng, l.weight_len());
        b.conv(&l, at, &w, None).unwrap_or_else(|e| panic!("{e}"));
    }
    b
}

/// A program of one layer at `base` with random (or edge) operands.
pub fn one_layer(
    pm: &ProgrammingModel,
    rng: &mut StdRng,
    layer: &ConvLayer,
    base: u64,
    edge: bool,
) -> super::image::Program {
    let (input, weights) = operands(rng, layer, edge);
    let mut b = ImageBuilder::new(pm, base, rng.gen());
    let in_addr = b.tensor(&input);
    b.conv(layer, in_addr, &weights, None)
        .unwrap_or_else(|e| panic!("{e}"));
    b.finish().unwrap_or_else(|e| panic!("{e}"))
}

/// Break descriptor 1 of `b` (from [`three_layers`]): one time in six a
/// channel record (`mult` 0 or `shift` past 31), else one to `max_fields`
/// fields pushed to boundary values. Returns the broken descriptor's
/// summary; `None` when `b` has no descriptor 1.
pub fn break_middle(
    rng: &mut StdRng,
    pm: &ProgrammingModel,
    b: &mut ImageBuilder<'_>,
    max_fields: usize,
) -> Option<String> {
    let d = b.desc_mut(1)?;
    if rng.gen_ratio(1, 6) {
        let (co, ch) = (rng.gen_range(0..d.out_c), d.ch_addr);
        let rec = if rng.gen() {
            Record {
                bias: rng.gen(),
                mult: 0,
                shift: rng.gen_range(0..=31),
            }
        } else {
            Record {
                bias: rng.gen(),
                mult: rng.gen_range(1..=65535),
                shift: rng.gen_range(32..=255),
            }
        };
        b.put_records(ch + u64::from(pm.channel_record.bytes) * co, &[rec])
            .unwrap_or_else(|e| panic!("{e}"));
    } else {
        for _ in 0..rng.gen_range(1..=max_fields) {
            let name = FIELDS[rng.gen_range(0..FIELDS.len())];
            let v = boundary_value(rng, pm, d, name);
            d.set(name, v).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    b.desc_mut(1).map(|d| d.summary())
}
