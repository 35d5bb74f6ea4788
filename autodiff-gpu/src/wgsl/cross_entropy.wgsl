// Cross-entropy of each row of logits against its label,
// loss = logsumexp(x) - x[label], and its reverse,
// dx = (softmax(x) - onehot(label)) dloss: one workgroup per row (after
// rows.wgsl: the maximum and the log-sum-exp).
struct Shape {
    rows: u32,
    cols: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> shape: Shape;
// Only the reverse reads it (each entry point gets its own layout).
@group(0) @binding(4) var<storage, read> dloss: array<f32>;

@compute @workgroup_size(256)
fn cross_entropy(@builtin(local_invocation_index) li: u32,
                 @builtin(workgroup_id) wid: vec3<u32>,
                 @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    let live = row < shape.rows;
    let r = select(0u, row, live);
    let base = r * shape.cols;
    let l = logsumexp(li, base);
    if live && li == 0u {
        out[r] = l.x + l.y - x[base + labels[r]];
    }
}

@compute @workgroup_size(256)
fn cross_entropy_vjp(@builtin(local_invocation_index) li: u32,
                     @builtin(workgroup_id) wid: vec3<u32>,
                     @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    let live = row < shape.rows;
    let r = select(0u, row, live);
    let base = r * shape.cols;
    let l = logsumexp(li, base);
    if live {
        let label = labels[r];
        let d = dloss[select(r, 0u, arrayLength(&dloss) == 1u)];
        for (var j = li; j < shape.cols; j = j + 256u) {
            let p = exp(x[base + j] - l.x - l.y);
            out[base + j] = (p - select(0.0, 1.0, j == label)) * d;
        }
    }
}
