// C = op(A) op(B), row-major, op(A) m x k, op(B) k x n; `flags` bit 0
// transposes A (stored k x m), bit 1 transposes B (stored n x k). The
// products of the reverse sweep are the same kernel: dA = dC B^T,
// dB = A^T dC. Tiles of 64 x 64 per workgroup of 16 x 16 threads, each
// thread 4 x 4 outputs, 16 of k at a time through workgroup memory.
struct Dims {
    m: u32,
    n: u32,
    k: u32,
    flags: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> dims: Dims;

var<workgroup> ta: array<array<f32, 65>, 16>;
var<workgroup> tb: array<array<f32, 65>, 16>;

fn load_a(row: u32, kk: u32) -> f32 {
    if row >= dims.m || kk >= dims.k {
        return 0.0;
    }
    if (dims.flags & 1u) != 0u {
        return a[kk * dims.m + row];
    }
    return a[row * dims.k + kk];
}

fn load_b(kk: u32, col: u32) -> f32 {
    if kk >= dims.k || col >= dims.n {
        return 0.0;
    }
    if (dims.flags & 2u) != 0u {
        return b[col * dims.k + kk];
    }
    return b[kk * dims.n + col];
}

@compute @workgroup_size(16, 16)
fn matmul(@builtin(local_invocation_id) lid: vec3<u32>,
          @builtin(workgroup_id) wid: vec3<u32>) {
    let row0 = wid.y * 64u;
    let col0 = wid.x * 64u;
    let t = lid.y * 16u + lid.x;
    let ta_t = (dims.flags & 1u) != 0u;
    let tb_t = (dims.flags & 2u) != 0u;
    var acc: array<array<f32, 4>, 4>;
    for (var k0 = 0u; k0 < dims.k; k0 = k0 + 16u) {
        for (var q = 0u; q < 4u; q = q + 1u) {
            let e = t + 256u * q;
            // Neighbouring threads read neighbouring addresses: along k
            // for A as stored, along rows for A transposed.
            var r = e / 16u;
            var kk = e % 16u;
            if ta_t {
                r = e % 64u;
                kk = e / 64u;
            }
            ta[kk][r] = load_a(row0 + r, k0 + kk);
            var kb = e / 64u;
            var cc = e % 64u;
            if tb_t {
                kb = e % 16u;
                cc = e / 16u;
            }
            tb[kb][cc] = load_b(k0 + kb, col0 + cc);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < 16u; kk = kk + 1u) {
            var av: array<f32, 4>;
            var bv: array<f32, 4>;
            for (var i = 0u; i < 4u; i = i + 1u) {
                av[i] = ta[kk][lid.y * 4u + i];
                bv[i] = tb[kk][lid.x * 4u + i];
            }
            for (var i = 0u; i < 4u; i = i + 1u) {
                for (var j = 0u; j < 4u; j = j + 1u) {
                    acc[i][j] = fma(av[i], bv[j], acc[i][j]);
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i = i + 1u) {
        let row = row0 + lid.y * 4u + i;
        for (var j = 0u; j < 4u; j = j + 1u) {
            let col = col0 + lid.x * 4u + j;
            if row < dims.m && col < dims.n {
                c[row * dims.n + col] = acc[i][j];
            }
        }
    }
}
