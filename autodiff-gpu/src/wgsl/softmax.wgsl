// Softmax and log-softmax of each row of a rows x cols matrix, one
// workgroup per row: the maximum, then the sum of exp(x - max), each a
// tree in workgroup memory.
struct Shape {
    rows: u32,
    cols: u32,
    log: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> shape: Shape;

var<workgroup> red: array<f32, 256>;

fn tree(li: u32, is_max: bool) -> f32 {
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if li < s {
            if is_max {
                red[li] = max(red[li], red[li + s]);
            } else {
                red[li] = red[li] + red[li + s];
            }
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(256)
fn softmax(@builtin(local_invocation_index) li: u32,
           @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    // Uniform: every invocation of the workgroup has the same row.
    let live = row < shape.rows;
    let base = select(0u, row, live) * shape.cols;
    var m = -3.4028235e38;
    for (var j = li; j < shape.cols; j = j + 256u) {
        m = max(m, x[base + j]);
    }
    red[li] = m;
    m = tree(li, true);
    var s = 0.0;
    for (var j = li; j < shape.cols; j = j + 256u) {
        s = s + exp(x[base + j] - m);
    }
    red[li] = s;
    s = tree(li, false);
    if live {
        let ls = log(s);
        for (var j = li; j < shape.cols; j = j + 256u) {
            let z = x[base + j] - m;
            if shape.log != 0u {
                y[base + j] = z - ls;
            } else {
                y[base + j] = exp(z) / s;
            }
        }
    }
}
