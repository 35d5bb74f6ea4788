// Sum of an array, in passes: each workgroup sums 2048 elements (8 per
// thread, then a tree in workgroup memory) and writes one partial sum,
// times `scale` (1, or 1/n on the last pass of a mean).
struct Params {
    len: u32,
    scale: f32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn sum(@builtin(local_invocation_index) li: u32,
       @builtin(workgroup_id) wid: vec3<u32>,
       @builtin(num_workgroups) nwg: vec3<u32>) {
    let group = wid.x + wid.y * nwg.x;
    let base = group * 2048u;
    var acc = 0.0;
    for (var k = 0u; k < 8u; k = k + 1u) {
        let i = base + k * 256u + li;
        if i < params.len {
            acc = acc + src[i];
        }
    }
    partial[li] = acc;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if li < s {
            partial[li] = partial[li] + partial[li + s];
        }
        workgroupBarrier();
    }
    if li == 0u && group < arrayLength(&dst) {
        dst[group] = partial[0] * params.scale;
    }
}
