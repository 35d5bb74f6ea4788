// Softmax and log-softmax of each row of a rows x cols matrix, one
// workgroup per row (after rows.wgsl: the maximum and the log-sum-exp).
struct Shape {
    rows: u32,
    cols: u32,
    log: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> shape: Shape;

@compute @workgroup_size(256)
fn softmax(@builtin(local_invocation_index) li: u32,
           @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    // Uniform: every invocation of the workgroup has the same row.
    let live = row < shape.rows;
    let base = select(0u, row, live) * shape.cols;
    let l = logsumexp(li, base);
    if live {
        for (var j = li; j < shape.cols; j = j + 256u) {
            let z = x[base + j] - l.x - l.y;
            if shape.log != 0u {
                y[base + j] = z;
            } else {
                y[base + j] = exp(z);
            }
        }
    }
}
