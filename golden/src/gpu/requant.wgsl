// Requantization + activation, int32 -> packed int8, with bias, multiplier
// and shift per channel. Mirrors golden::Requant::apply:
//
//   x = acc + bias[c]                            (i32, wrapping)
//   y = (i64(x) * mult[c] + round) >> shift[c]   (64-bit, arithmetic shift)
//   out = clamp(y, lo, 127)                      lo = 0 with ReLU, -128 without
//
// WGSL has no 64-bit integers, so the 64-bit value lives in a (hi, lo) pair of
// u32 words, two's complement, and every step is done exactly on the pair.
// A bit-for-bit Rust transcription (requant.rs, apply_u32_pieces) is tested
// against the i64 rule; the GPU tests check this file against the same rule.
// The three per-channel values share one storage array so the kernel stays
// within WebGPU's default of 4 storage buffers per stage; a per-tensor
// requant simply repeats its mult and shift on every channel.

requires packed_4x8_integer_dot_product;

struct Params {
    len: u32,      // int32 values in
    channels: u32, // period of `chan` (channel-last tensors)
    lo: i32,       // 0 or -128
    words: u32,    // packed output words, ceil(len / 4)
}

// Per-channel requantization parameters (16 bytes).
struct Chan {
    bias: i32,
    mult: u32,  // 1..=65535
    shift: u32, // 0..=31
    _pad: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> acc: array<i32>;
@group(0) @binding(2) var<storage, read> chan: array<Chan>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

fn requant(acc_v: i32, bias_v: i32, mult: u32, shift: u32, lo_bound: i32) -> i32 {
    let x = acc_v + bias_v; // wraps
    let xu = bitcast<u32>(x);
    // Unsigned 32 x 16 -> 48-bit product xu * mult, as (hi, lo).
    let p0 = (xu & 0xffffu) * mult; // < 2^32
    let p1 = (xu >> 16u) * mult;    // < 2^32
    var lo = p0 + (p1 << 16u);
    var hi = (p1 >> 16u) + select(0u, 1u, lo < p0);
    // Signed: x = xu - 2^32 when x < 0, so x * mult = xu * mult - mult * 2^32.
    if (x < 0) {
        hi = hi - mult;
    }
    if (shift > 0u) {
        // + round = 1 << (shift - 1), with carry into hi.
        let lo2 = lo + (1u << (shift - 1u));
        hi = hi + select(0u, 1u, lo2 < lo);
        lo = lo2;
        // Arithmetic shift right of the pair by 1..=31.
        lo = (lo >> shift) | (hi << (32u - shift));
        hi = bitcast<u32>(bitcast<i32>(hi) >> shift);
    }
    // Clamp the 64-bit value into [lo_bound, 127].
    let hs = bitcast<i32>(hi);
    var y: i32;
    if (hs > 0) {
        y = 127;               // >= 2^32
    } else if (hs < -1) {
        y = lo_bound;          // < -2^32
    } else if (hs == 0) {
        y = i32(min(lo, 127u)); // 0 ..= 2^32-1
    } else if (lo >= 0x80000000u) {
        y = bitcast<i32>(lo);  // -2^31 ..= -1
    } else {
        y = lo_bound;          // -2^32 ..= -2^31-1
    }
    return clamp(y, lo_bound, 127);
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let wi = gid.x + gid.y * nwg.x * 256u;
    if (wi >= P.words) {
        return;
    }
    var v = vec4<i32>(0, 0, 0, 0);
    for (var e = 0u; e < 4u; e = e + 1u) {
        let i = wi * 4u + e;
        if (i < P.len) {
            let ch = chan[i % P.channels];
            v[e] = requant(acc[i], ch.bias, ch.mult, ch.shift, P.lo);
        }
    }
    out[wi] = pack4xI8(v);
}
