//! The ADBench/GradBench objectives, written as users write them from the
//! published definitions: helpers, small fixed arrays, index loops, local
//! buffers, integer index data. Shared by the tests (`tests/realistic.rs`,
//! `tests/ode.rs`, `tests/recursion.rs`) and the benchmarks
//! (`benches/adbench.rs`).
#![allow(
    dead_code,
    clippy::needless_range_loop,
    clippy::too_many_arguments,
    clippy::assign_op_pattern,
    clippy::manual_memcpy
)]

use autodiff::prelude::*;

pub mod generic;
pub mod hand;

// ---------------------------------------------------------------------------
// Bundle adjustment: the reprojection error of one observation.

#[differentiable]
pub fn sqsum3(x: [f64; 3]) -> f64 {
    x[0] * x[0] + x[1] * x[1] + x[2] * x[2]
}

#[differentiable]
pub fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[differentiable]
pub fn rodrigues_rotate_point(rot: [f64; 3], x: [f64; 3]) -> [f64; 3] {
    let sqtheta = sqsum3(rot);
    if sqtheta != 0.0 {
        let theta = sqtheta.sqrt();
        let costheta = theta.cos();
        let sintheta = theta.sin();
        let theta_inverse = 1.0 / theta;
        let w = [
            rot[0] * theta_inverse,
            rot[1] * theta_inverse,
            rot[2] * theta_inverse,
        ];
        let w_cross_x = cross(w, x);
        let tmp = (w[0] * x[0] + w[1] * x[1] + w[2] * x[2]) * (1.0 - costheta);
        [
            x[0] * costheta + w_cross_x[0] * sintheta + w[0] * tmp,
            x[1] * costheta + w_cross_x[1] * sintheta + w[1] * tmp,
            x[2] * costheta + w_cross_x[2] * sintheta + w[2] * tmp,
        ]
    } else {
        let rot_cross_x = cross(rot, x);
        [
            x[0] + rot_cross_x[0],
            x[1] + rot_cross_x[1],
            x[2] + rot_cross_x[2],
        ]
    }
}

#[differentiable]
pub fn radial_distort(rad_params: [f64; 2], proj: [f64; 2]) -> [f64; 2] {
    let rsq = proj[0] * proj[0] + proj[1] * proj[1];
    let l = 1.0 + rad_params[0] * rsq + rad_params[1] * rsq * rsq;
    [proj[0] * l, proj[1] * l]
}

/// The camera: rotation (3), center (3), focal length, principal point (2),
/// radial distortion (2).
#[differentiable]
pub fn project(cam: &[f64], x: [f64; 3]) -> [f64; 2] {
    let rot = [cam[0], cam[1], cam[2]];
    let center = [cam[3], cam[4], cam[5]];
    let xcam = [x[0] - center[0], x[1] - center[1], x[2] - center[2]];
    let xcam = rodrigues_rotate_point(rot, xcam);
    let proj = [xcam[0] / xcam[2], xcam[1] / xcam[2]];
    let distorted = radial_distort([cam[9], cam[10]], proj);
    [
        distorted[0] * cam[6] + cam[7],
        distorted[1] * cam[6] + cam[8],
    ]
}

#[differentiable]
pub fn reprojection_error(cam: &[f64], x: [f64; 3], w: f64, feat: [f64; 2]) -> [f64; 2] {
    let proj = project(cam, x);
    [w * (proj[0] - feat[0]), w * (proj[1] - feat[1])]
}

/// The sum of squared residuals over observations, cameras and points
/// chosen by integer index arrays.
#[differentiable(wrt(cams, points, weights))]
pub fn ba_objective(
    cams: &[f64],
    points: &[f64],
    weights: &[f64],
    obs: &[usize],
    feats: &[f64],
) -> f64 {
    let mut total = 0.0;
    for k in 0..weights.len() {
        let c = obs[2 * k];
        let p = obs[2 * k + 1];
        let x = [points[3 * p], points[3 * p + 1], points[3 * p + 2]];
        let err = reprojection_error(
            &cams[11 * c..11 * c + 11],
            x,
            weights[k],
            [feats[2 * k], feats[2 * k + 1]],
        );
        total += err[0] * err[0] + err[1] * err[1];
    }
    total
}

// ---------------------------------------------------------------------------
// Gaussian mixture model with a Wishart prior (ADBench "GMM").

#[differentiable]
pub fn logsumexp(x: &[f64]) -> f64 {
    let mut mx = x[0];
    for i in 1..x.len() {
        if x[i] > mx {
            mx = x[i];
        }
    }
    let mut semx = 0.0;
    for i in 0..x.len() {
        semx += (x[i] - mx).exp();
    }
    semx.ln() + mx
}

#[differentiable]
pub fn sqnorm(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i];
    }
    s
}

/// `sum_qs[k]`: the sum of the log-diagonal of component `k`; `qdiags`:
/// its exponential.
#[differentiable]
pub fn preprocess_qs(icf: &[f64], k: usize, d: usize, sum_qs: &mut [f64], qdiags: &mut [f64]) {
    let icf_sz = d * (d + 1) / 2;
    for ik in 0..k {
        sum_qs[ik] = 0.0;
        for id in 0..d {
            let q = icf[ik * icf_sz + id];
            sum_qs[ik] += q;
            qdiags[ik * d + id] = q.exp();
        }
    }
}

/// `out = Q x` with `Q` lower triangular: `qdiag` on the diagonal, `ltri`
/// below it, column by column.
#[differentiable]
pub fn qtimesx(qdiag: &[f64], ltri: &[f64], x: &[f64], out: &mut [f64]) {
    let d = x.len();
    for i in 0..d {
        out[i] = qdiag[i] * x[i];
    }
    let mut lparamsidx = 0;
    for i in 0..d {
        for j in i + 1..d {
            out[j] += ltri[lparamsidx] * x[i];
            lparamsidx += 1;
        }
    }
}

#[differentiable]
pub fn log_wishart_prior(
    p: usize,
    k: usize,
    wishart_gamma: f64,
    wishart_m: usize,
    sum_qs: &[f64],
    qdiags: &[f64],
    icf: &[f64],
) -> f64 {
    let n = p + wishart_m + 1;
    let icf_sz = p * (p + 1) / 2;
    // The log of the multivariate gamma function is a constant here.
    let c = n as f64 * p as f64 * (wishart_gamma.ln() - 0.5 * 2.0f64.ln());
    let mut out = 0.0;
    for ik in 0..k {
        let frobenius = sqnorm(&qdiags[ik * p..(ik + 1) * p])
            + sqnorm(&icf[ik * icf_sz + p..(ik + 1) * icf_sz]);
        out += 0.5 * wishart_gamma * wishart_gamma * frobenius - wishart_m as f64 * sum_qs[ik];
    }
    out - k as f64 * c
}

#[differentiable(wrt(alphas, means, icf))]
pub fn gmm_objective(
    d: usize,
    k: usize,
    alphas: &[f64],
    means: &[f64],
    icf: &[f64],
    x: &[f64],
    wishart_gamma: f64,
    wishart_m: usize,
) -> f64 {
    let n = x.len() / d;
    let constant = -(n as f64) * d as f64 * 0.5 * (2.0 * std::f64::consts::PI).ln();
    let icf_sz = d * (d + 1) / 2;
    let mut qdiags = vec![0.0; d * k];
    let mut sum_qs = vec![0.0; k];
    let mut xcentered = vec![0.0; d];
    let mut qxcentered = vec![0.0; d];
    let mut main_term = vec![0.0; k];
    preprocess_qs(icf, k, d, &mut sum_qs, &mut qdiags);
    let mut slse = 0.0;
    for ix in 0..n {
        for ik in 0..k {
            for id in 0..d {
                xcentered[id] = x[ix * d + id] - means[ik * d + id];
            }
            qtimesx(
                &qdiags[ik * d..(ik + 1) * d],
                &icf[ik * icf_sz + d..(ik + 1) * icf_sz],
                &xcentered,
                &mut qxcentered,
            );
            main_term[ik] = alphas[ik] + sum_qs[ik] - 0.5 * sqnorm(&qxcentered);
        }
        slse += logsumexp(&main_term);
    }
    let lse_alphas = logsumexp(alphas);
    constant + slse - n as f64 * lse_alphas
        + log_wishart_prior(d, k, wishart_gamma, wishart_m, &sum_qs, &qdiags, icf)
}

// ---------------------------------------------------------------------------
// Hand tracking (ADBench "hand", simplified rigging): per-bone rotations
// from Euler angles as 3x3 matrices, bone transforms made inside the loop
// over bones and chained through `parents: &[i64]`, linear blend skinning.

#[differentiable]
pub fn mat_mul3(a: [f64; 9], b: [f64; 9]) -> [f64; 9] {
    let mut out = [0.0; 9];
    for i in 0..3 {
        for j in 0..3 {
            for k in 0..3 {
                out[3 * i + j] += a[3 * i + k] * b[3 * k + j];
            }
        }
    }
    out
}

#[differentiable]
pub fn euler_angles_to_rotation_matrix(xzy: [f64; 3]) -> [f64; 9] {
    let tx = xzy[0];
    let ty = xzy[2];
    let tz = xzy[1];
    let rx = [
        1.0,
        0.0,
        0.0,
        0.0,
        tx.cos(),
        -tx.sin(),
        0.0,
        tx.sin(),
        tx.cos(),
    ];
    let ry = [
        ty.cos(),
        0.0,
        ty.sin(),
        0.0,
        1.0,
        0.0,
        -ty.sin(),
        0.0,
        ty.cos(),
    ];
    let rz = [
        tz.cos(),
        -tz.sin(),
        0.0,
        tz.sin(),
        tz.cos(),
        0.0,
        0.0,
        0.0,
        1.0,
    ];
    mat_mul3(rz, mat_mul3(ry, rx))
}

/// The skinned vertex positions minus the observed points, into `err`.
#[differentiable(wrt(theta))]
pub fn hand_residuals(
    theta: &[f64],
    parents: &[i64],
    base_relatives: &[f64],
    weights: &[f64],
    base_positions: &[f64],
    points: &[f64],
    err: &mut [f64],
) {
    let n_bones = parents.len();
    let n_verts = base_positions.len() / 3;
    let mut absolutes = vec![0.0; 12 * n_bones];
    for b in 0..n_bones {
        let rot =
            euler_angles_to_rotation_matrix([theta[3 * b], theta[3 * b + 1], theta[3 * b + 2]]);
        // The bone's transform relative to its parent: its base rotation
        // times the pose rotation, and its offset.
        let mut tr = [0.0; 12];
        for i in 0..3 {
            for j in 0..3 {
                for k in 0..3 {
                    tr[4 * i + j] += base_relatives[12 * b + 4 * i + k] * rot[3 * k + j];
                }
            }
            tr[4 * i + 3] = base_relatives[12 * b + 4 * i + 3];
        }
        if parents[b] < 0 {
            for i in 0..12 {
                absolutes[12 * b + i] = tr[i];
            }
        } else {
            let p = parents[b] as usize;
            for i in 0..3 {
                for j in 0..4 {
                    let mut s = if j == 3 {
                        absolutes[12 * p + 4 * i + 3]
                    } else {
                        0.0
                    };
                    for k in 0..3 {
                        s += absolutes[12 * p + 4 * i + k] * tr[4 * k + j];
                    }
                    absolutes[12 * b + 4 * i + j] = s;
                }
            }
        }
    }
    for v in 0..n_verts {
        for i in 0..3 {
            let mut pos = 0.0;
            for b in 0..n_bones {
                let mut t = absolutes[12 * b + 4 * i + 3];
                for k in 0..3 {
                    t += absolutes[12 * b + 4 * i + k] * base_positions[3 * v + k];
                }
                pos += weights[v * n_bones + b] * t;
            }
            err[3 * v + i] = points[3 * v + i] - pos;
        }
    }
}

#[differentiable(wrt(theta))]
pub fn hand_loss(
    theta: &[f64],
    parents: &[i64],
    base_relatives: &[f64],
    weights: &[f64],
    base_positions: &[f64],
    points: &[f64],
) -> f64 {
    let mut err = vec![0.0; points.len()];
    hand_residuals(
        theta,
        parents,
        base_relatives,
        weights,
        base_positions,
        points,
        &mut err,
    );
    sqnorm(&err)
}

// ---------------------------------------------------------------------------
// LSTM (ADBench "LSTM"): layers of cells over a sequence, each layer's
// hidden and cell state a part of one buffer lent mutably.

#[differentiable]
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[differentiable]
pub fn lstm_model(
    weight: &[f64],
    bias: &[f64],
    hidden: &mut [f64],
    cell: &mut [f64],
    input: &[f64],
) {
    let h = hidden.len();
    for i in 0..h {
        let forget = sigmoid(input[i] * weight[i] + bias[i]);
        let ingate = sigmoid(hidden[i] * weight[h + i] + bias[h + i]);
        let outgate = sigmoid(input[i] * weight[2 * h + i] + bias[2 * h + i]);
        let change = (hidden[i] * weight[3 * h + i] + bias[3 * h + i]).tanh();
        cell[i] = cell[i] * forget + ingate * change;
        hidden[i] = outgate * cell[i].tanh();
    }
}

/// The log-likelihood loss of predicting each next character of `sequence`
/// (one-hot rows of `b` entries) with `l` layers.
#[differentiable(wrt(main_params, extra_params))]
pub fn lstm_objective(
    l: usize,
    b: usize,
    main_params: &[f64],
    extra_params: &[f64],
    sequence: &[f64],
) -> f64 {
    let c = sequence.len() / b;
    let mut hidden = vec![0.0; l * b];
    let mut cell = vec![0.0; l * b];
    let mut input = vec![0.0; b];
    let mut ypred = vec![0.0; b];
    let mut total = 0.0;
    for t in 0..c - 1 {
        for i in 0..b {
            input[i] = sequence[t * b + i] * extra_params[i];
        }
        for layer in 0..l {
            let w = &main_params[8 * b * layer..8 * b * layer + 4 * b];
            let bias = &main_params[8 * b * layer + 4 * b..8 * b * (layer + 1)];
            lstm_model(
                w,
                bias,
                &mut hidden[layer * b..(layer + 1) * b],
                &mut cell[layer * b..(layer + 1) * b],
                &input,
            );
            for i in 0..b {
                input[i] = hidden[layer * b + i];
            }
        }
        for i in 0..b {
            ypred[i] = input[i] * extra_params[b + i] + extra_params[2 * b + i];
        }
        let lse = logsumexp(&ypred);
        for i in 0..b {
            total += sequence[(t + 1) * b + i] * (ypred[i] - lse);
        }
    }
    -total / ((c - 1) * b) as f64
}

// ---------------------------------------------------------------------------
// ODE (ADBench "ODE"): explicit fourth-order Runge-Kutta, the right-hand
// side writing into a buffer, the step updating its state in place.

/// `z = f(x, y)`: `z[0] = x[0]`, `z[i] = x[i] * y[i - 1]`.
#[differentiable]
pub fn ode_fun(x: &[f64], y: &[f64], z: &mut [f64]) {
    z[0] = x[0];
    for i in 1..y.len() {
        z[i] = x[i] * y[i - 1];
    }
}

/// One RK4 step of size `h`, updating `y` in place.
#[differentiable]
pub fn rk4_step(x: &[f64], h: f64, y: &mut [f64]) {
    let n = y.len();
    let mut k1 = vec![0.0; n];
    let mut k2 = vec![0.0; n];
    let mut k3 = vec![0.0; n];
    let mut k4 = vec![0.0; n];
    let mut y_tmp = vec![0.0; n];
    ode_fun(x, y, &mut k1);
    for i in 0..n {
        y_tmp[i] = y[i] + h * k1[i] / 2.0;
    }
    ode_fun(x, &y_tmp, &mut k2);
    for i in 0..n {
        y_tmp[i] = y[i] + h * k2[i] / 2.0;
    }
    ode_fun(x, &y_tmp, &mut k3);
    for i in 0..n {
        y_tmp[i] = y[i] + h * k3[i];
    }
    ode_fun(x, &y_tmp, &mut k4);
    for i in 0..n {
        y[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
    }
}

/// The objective: `s` steps from `y = 0` with `y[0]` driven by `x[0]`, the
/// final state returned.
#[differentiable]
pub fn ode(x: &[f64], s: usize) -> Vec<f64> {
    let n = x.len();
    let h = 2.0 / s as f64;
    let mut y = vec![0.0; n];
    for _ in 0..s {
        rk4_step(x, h, &mut y);
    }
    y
}

/// The sum of the final state, for gradient checks.
#[differentiable]
pub fn ode_sum(x: &[f64], s: usize) -> f64 {
    let y = ode(x, s);
    let mut t = 0.0;
    for i in 0..y.len() {
        t += y[i];
    }
    t
}

// ---------------------------------------------------------------------------
// Determinant by minors (ADBench "det"): rows and columns as linked lists
// in `&mut [usize]`.

/// The determinant as ADBench writes it: rows and columns as linked lists
/// in `&mut [usize]` (`r[m]` the first row, `r[i]` the row after `i`), each
/// call removing one and restoring it before it returns.
#[differentiable]
pub fn det_of_minor(a: &[f64], m: usize, n: usize, r: &mut [usize], c: &mut [usize]) -> f64 {
    let r0 = r[m];
    let mut cj = c[m];
    if n == 1 {
        return a[r0 * m + cj];
    }
    let mut det = 0.0;
    let mut sign = 1.0;
    r[m] = r[r0];
    let mut cj1 = m;
    for _ in 0..n {
        c[cj1] = c[cj];
        let m0j = det_of_minor(a, m, n - 1, r, c);
        c[cj1] = cj;
        det += sign * a[r0 * m + cj] * m0j;
        sign = -sign;
        cj1 = cj;
        cj = c[cj];
    }
    r[m] = r0;
    det
}

#[differentiable]
pub fn det_by_minors(a: &[f64], m: usize) -> f64 {
    let mut r = vec![0usize; m + 1];
    let mut c = vec![0usize; m + 1];
    for i in 0..m {
        r[i] = i + 1;
        c[i] = i + 1;
    }
    det_of_minor(a, m, m, &mut r, &mut c)
}

// ---------------------------------------------------------------------------
// Least squares (GradBench "llsq"): half the squared residual of a linear
// model, `x` row-major with one row per observation.

#[differentiable(wrt(w))]
pub fn llsq(w: &[f64], x: &[f64], y: &[f64]) -> f64 {
    let m = w.len();
    let mut s = 0.0;
    for i in 0..y.len() {
        let mut p = 0.0;
        for j in 0..m {
            p += x[i * m + j] * w[j];
        }
        let r = y[i] - p;
        s += r * r;
    }
    0.5 * s
}

pub mod manual;

/// A reproducible source of inputs for the benchmarks and the tests that
/// share their sizes.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        lo + (hi - lo) * ((self.0 >> 11) as f64 / (1u64 << 53) as f64)
    }

    pub fn vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
}
