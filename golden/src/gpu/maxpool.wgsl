// Max pooling over a packed int8 NHWC tensor (four values per u32, lowest
// byte = lowest index). Each thread writes one output word (4 outputs).
// Padded cells are skipped; the shape rules (pad < kernel) guarantee every
// window holds a real cell, so starting from -128 equals the max over them.

requires packed_4x8_integer_dot_product;

struct Params {
    n: u32,
    h: u32,
    w: u32,
    c: u32,
    kh: u32,
    kw: u32,
    sy: u32,
    sx: u32,
    pad_top: u32,
    pad_left: u32,
    ho: u32,
    wo: u32,
    len: u32,   // output values
    words: u32, // output words, ceil(len / 4)
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> inp: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

fn in_i8(i: u32) -> i32 {
    return unpack4xI8(inp[i >> 2u])[i & 3u];
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
            let ch = i % P.c;
            let px = i / P.c;
            let ox = px % P.wo;
            let oy = (px / P.wo) % P.ho;
            let b = px / (P.wo * P.ho);
            var m = -128;
            for (var ky = 0u; ky < P.kh; ky = ky + 1u) {
                let yy = oy * P.sy + ky;
                if (yy < P.pad_top || yy - P.pad_top >= P.h) {
                    continue;
                }
                let iy = yy - P.pad_top;
                for (var kx = 0u; kx < P.kw; kx = kx + 1u) {
                    let xx = ox * P.sx + kx;
                    if (xx < P.pad_left || xx - P.pad_left >= P.w) {
                        continue;
                    }
                    let ix = xx - P.pad_left;
                    m = max(m, in_i8(((b * P.h + iy) * P.w + ix) * P.c + ch));
                }
            }
            v[e] = m;
        }
    }
    out[wi] = pack4xI8(v);
}
