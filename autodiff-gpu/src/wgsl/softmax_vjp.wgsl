// The reverse of softmax and log-softmax, from the output y and its
// cotangent dy: softmax dx = y (dy - sum(dy y)); log-softmax
// dx = dy - exp(y) sum(dy).
struct Shape {
    rows: u32,
    cols: u32,
    log: u32,
}

@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> shape: Shape;

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn softmax_vjp(@builtin(local_invocation_index) li: u32,
               @builtin(workgroup_id) wid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    let live = row < shape.rows;
    let base = select(0u, row, live) * shape.cols;
    var s = 0.0;
    for (var j = li; j < shape.cols; j = j + 256u) {
        if shape.log != 0u {
            s = s + dy[base + j];
        } else {
            s = s + dy[base + j] * y[base + j];
        }
    }
    red[li] = s;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k = k >> 1u) {
        if li < k {
            red[li] = red[li] + red[li + k];
        }
        workgroupBarrier();
    }
    s = red[0];
    if live {
        for (var j = li; j < shape.cols; j = j + 256u) {
            let i = base + j;
            if shape.log != 0u {
                dx[i] = dy[i] - exp(y[i]) * s;
            } else {
                dx[i] = y[i] * (dy[i] - s);
            }
        }
    }
}
