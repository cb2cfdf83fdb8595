// Tiled int8 x int8 -> int32 matrix multiply, shared by the GEMM and the
// implicit-im2col convolution kernels. They differ only in `load_a`, which
// gpu/mod.rs splices in at the LOAD_A placeholder; it also unrolls the 4x4
// register-tile code at the ACC_DECL, INNER and STORE placeholders.
//
// C[m x n] = A[m x K] * B[K x n] (+ bias[col]), int32 wrapping sums.
// A is packed row by row, B transposed (n rows of K): every u32 word holds
// four consecutive K values, lowest byte = lowest index, rows zero-padded to
// k4 words, so each word pair is one dot4I8Packed.
//
// One workgroup (16 x 16 threads) computes a 64 x 64 tile of C; each thread a
// 4 x 4 register tile at rows ty + 16*i, columns tx + 16*j. K is walked in
// chunks of 16 words (64 int8), staged in workgroup memory k-major so the
// inner loop reads As/Bs with unit stride across the threads of a warp.
// Tiles are numbered linearly over a 2-D grid of workgroups so a dispatch
// never needs more than 65535 workgroups along one dimension.

requires packed_4x8_integer_dot_product;

struct Params {
    m: u32,           // rows of C: GEMM M, or conv output pixels n*h_out*w_out
    n: u32,           // columns of C: GEMM N, or conv output channels
    k4: u32,          // packed words per row of A and of B^T
    tiles_n: u32,     // ceil(n / TN)
    total_tiles: u32, // ceil(m / TM) * tiles_n
    has_bias: u32,
    // Convolution only (implicit im2col):
    h: u32,
    w: u32,
    cin_w: u32,       // words per input pixel: ceil(c_in / 4)
    kh: u32,
    kw: u32,
    sy: u32,
    sx: u32,
    dy: u32,
    dx: u32,
    pad_top: u32,
    pad_left: u32,
    ho: u32,
    wo: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> a: array<u32>;
@group(0) @binding(2) var<storage, read> bt: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<i32>;
@group(0) @binding(4) var<storage, read_write> c: array<i32>;

const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;
const WG: u32 = 256u;

var<workgroup> As: array<u32, 1024>; // [TK][TM]
var<workgroup> Bs: array<u32, 1024>; // [TK][TN]

{{LOAD_A}}

@compute @workgroup_size(16, 16, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid3: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let tile = wid.x + wid.y * nwg.x;
    let live = tile < P.total_tiles;
    let row0 = (tile / P.tiles_n) * TM;
    let col0 = (tile % P.tiles_n) * TN;
    let tx = lid3.x;
    let ty = lid3.y;
{{ACC_DECL}}
    let chunks = (P.k4 + TK - 1u) / TK;
    for (var ch = 0u; ch < chunks; ch = ch + 1u) {
        let k0 = ch * TK;
        for (var r = 0u; r < (TM * TK) / WG; r = r + 1u) {
            let e = lid + r * WG;
            let row = e / TK;
            let kq = e % TK;
            let gk = k0 + kq;
            var va = 0u;
            if (live && row0 + row < P.m && gk < P.k4) {
                va = load_a(row0 + row, gk);
            }
            As[kq * TM + row] = va;
            var vb = 0u;
            if (live && col0 + row < P.n && gk < P.k4) {
                vb = bt[(col0 + row) * P.k4 + gk];
            }
            Bs[kq * TN + row] = vb;
        }
        workgroupBarrier();
        // The last (or only) chunk may be short: skip its zero words.
        let kend = min(TK, P.k4 - k0);
        for (var kk = 0u; kk < kend; kk = kk + 1u) {
{{INNER}}
        }
        workgroupBarrier();
    }
    if (live) {
{{STORE}}
    }
}
