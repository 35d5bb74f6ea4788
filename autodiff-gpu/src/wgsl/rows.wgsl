// What the row kernels share (softmax.wgsl and cross_entropy.wgsl are each
// compiled after this text): a workgroup of 256 per row, reductions in
// workgroup memory, and the row's maximum and log-sum-exp. The including
// module declares `x` (the rows) and `shape` (with `cols`).

var<workgroup> red: array<f32, 256>;

// The maximum or the sum of `red` over the workgroup, for every invocation.
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

// The row's maximum and log of the sum of exp(x - max).
fn logsumexp(li: u32, base: u32) -> vec2<f32> {
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
    return vec2<f32>(m, log(s));
}
