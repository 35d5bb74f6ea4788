//! Hand-written gradients of four objectives, as a careful person writes
//! them: one forward pass that keeps what the adjoint needs, one backward
//! pass, buffers allocated once. The reference the generated gradients are
//! measured against (`benches/adbench`) and tested against to 1e-10
//! (`tests/manual_gradients.rs`).

/// The gradient of `logsumexp`: the softmax.
pub fn logsumexp_grad(x: &[f64]) -> Vec<f64> {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut g: Vec<f64> = x.iter().map(|&v| (v - m).exp()).collect();
    let s: f64 = g.iter().sum();
    let inv = 1.0 / s;
    for v in &mut g {
        *v *= inv;
    }
    g
}

/// The gradient of `llsq` with respect to `w`: `-Xᵀ r`.
pub fn llsq_grad(w: &[f64], x: &[f64], y: &[f64]) -> Vec<f64> {
    let m = w.len();
    let mut g = vec![0.0; m];
    for (i, &yi) in y.iter().enumerate() {
        let row = &x[i * m..(i + 1) * m];
        let p: f64 = row.iter().zip(w).map(|(a, b)| a * b).sum();
        let r = yi - p;
        for (gj, &xj) in g.iter_mut().zip(row) {
            *gj -= r * xj;
        }
    }
    g
}

/// `z = f(x, y)` of the ODE objective.
fn ode_rhs(x: &[f64], y: &[f64], z: &mut [f64]) {
    z[0] = x[0];
    for i in 1..y.len() {
        z[i] = x[i] * y[i - 1];
    }
}

/// The adjoint of `ode_rhs`: adds `x̄` and `ȳ` for the cotangent `z̄`.
fn ode_rhs_adjoint(x: &[f64], y: &[f64], gz: &[f64], gx: &mut [f64], gy: &mut [f64]) {
    gx[0] += gz[0];
    for i in 1..y.len() {
        gx[i] += gz[i] * y[i - 1];
        gy[i - 1] += gz[i] * x[i];
    }
}

/// The gradient of `ode_sum(x, s)` (RK4, `s` steps of `h = 2/s` from
/// `y = 0`) with respect to `x`: the states of every step are kept (n x s),
/// the stages recomputed per step backwards.
pub fn ode_sum_grad(x: &[f64], s: usize) -> Vec<f64> {
    let n = x.len();
    let h = 2.0 / s as f64;
    let mut states = vec![0.0; n * (s + 1)];
    let (mut k1, mut k2, mut k3, mut k4) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let (mut t1, mut t2, mut t3) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let stages = |y: &[f64],
                  k1: &mut [f64],
                  k2: &mut [f64],
                  k3: &mut [f64],
                  k4: &mut [f64],
                  t1: &mut [f64],
                  t2: &mut [f64],
                  t3: &mut [f64]| {
        ode_rhs(x, y, k1);
        for i in 0..n {
            t1[i] = y[i] + h * k1[i] / 2.0;
        }
        ode_rhs(x, t1, k2);
        for i in 0..n {
            t2[i] = y[i] + h * k2[i] / 2.0;
        }
        ode_rhs(x, t2, k3);
        for i in 0..n {
            t3[i] = y[i] + h * k3[i];
        }
        ode_rhs(x, t3, k4);
    };
    for step in 0..s {
        let (done, next) = states.split_at_mut((step + 1) * n);
        let y = &done[step * n..];
        stages(
            y, &mut k1, &mut k2, &mut k3, &mut k4, &mut t1, &mut t2, &mut t3,
        );
        for i in 0..n {
            next[i] = y[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
    }
    let mut gx = vec![0.0; n];
    let mut gy = vec![1.0; n];
    let (mut g1, mut g2, mut g3, mut g4) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut gt = vec![0.0; n];
    for step in (0..s).rev() {
        let y = &states[step * n..(step + 1) * n];
        stages(
            y, &mut k1, &mut k2, &mut k3, &mut k4, &mut t1, &mut t2, &mut t3,
        );
        for i in 0..n {
            g1[i] = h / 6.0 * gy[i];
            g2[i] = h / 3.0 * gy[i];
            g3[i] = h / 3.0 * gy[i];
            g4[i] = h / 6.0 * gy[i];
        }
        // k4 = f(t3), t3 = y + h k3.
        gt.fill(0.0);
        ode_rhs_adjoint(x, &t3, &g4, &mut gx, &mut gt);
        for i in 0..n {
            gy[i] += gt[i];
            g3[i] += h * gt[i];
        }
        // k3 = f(t2), t2 = y + h/2 k2.
        gt.fill(0.0);
        ode_rhs_adjoint(x, &t2, &g3, &mut gx, &mut gt);
        for i in 0..n {
            gy[i] += gt[i];
            g2[i] += h / 2.0 * gt[i];
        }
        // k2 = f(t1), t1 = y + h/2 k1.
        gt.fill(0.0);
        ode_rhs_adjoint(x, &t1, &g2, &mut gx, &mut gt);
        for i in 0..n {
            gy[i] += gt[i];
            g1[i] += h / 2.0 * gt[i];
        }
        // k1 = f(y).
        ode_rhs_adjoint(x, y, &g1, &mut gx, &mut gy);
    }
    gx
}

/// The gradient of `gmm_objective` with respect to `alphas`, `means` and
/// `icf`, by the published derivation: per point, the softmax of the
/// component terms weighs each component's `-½‖Q(x - μ)‖²` adjoint.
#[allow(clippy::too_many_arguments)]
pub fn gmm_objective_grad(
    d: usize,
    k: usize,
    alphas: &[f64],
    means: &[f64],
    icf: &[f64],
    x: &[f64],
    wishart_gamma: f64,
    wishart_m: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = x.len() / d;
    let icf_sz = d * (d + 1) / 2;
    let (mut galphas, mut gmeans, mut gicf) =
        (vec![0.0; k], vec![0.0; d * k], vec![0.0; icf_sz * k]);
    let qdiags: Vec<f64> = (0..k)
        .flat_map(|ik| (0..d).map(move |id| (ik, id)))
        .map(|(ik, id)| icf[ik * icf_sz + id].exp())
        .collect();
    let sum_qs: Vec<f64> = (0..k)
        .map(|ik| icf[ik * icf_sz..ik * icf_sz + d].iter().sum())
        .collect();
    let mut xc = vec![0.0; d];
    let mut qxc = vec![0.0; d * k];
    let mut main = vec![0.0; k];
    let mut v = vec![0.0; d];
    for ix in 0..n {
        let xi = &x[ix * d..(ix + 1) * d];
        for ik in 0..k {
            let (q, l) = (
                &qdiags[ik * d..(ik + 1) * d],
                &icf[ik * icf_sz + d..(ik + 1) * icf_sz],
            );
            let mu = &means[ik * d..(ik + 1) * d];
            let out = &mut qxc[ik * d..(ik + 1) * d];
            for id in 0..d {
                out[id] = q[id] * (xi[id] - mu[id]);
            }
            let mut idx = 0;
            for i in 0..d {
                let xci = xi[i] - mu[i];
                for j in i + 1..d {
                    out[j] += l[idx] * xci;
                    idx += 1;
                }
            }
            main[ik] = alphas[ik] + sum_qs[ik] - 0.5 * out.iter().map(|o| o * o).sum::<f64>();
        }
        let m = main.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut s = 0.0;
        for t in main.iter_mut() {
            *t = (*t - m).exp();
            s += *t;
        }
        let inv = 1.0 / s;
        for ik in 0..k {
            let p = main[ik] * inv;
            galphas[ik] += p;
            let base = ik * icf_sz;
            let mu = &means[ik * d..(ik + 1) * d];
            let (q, l) = (&qdiags[ik * d..(ik + 1) * d], &icf[base + d..base + icf_sz]);
            for id in 0..d {
                xc[id] = xi[id] - mu[id];
                v[id] = -p * qxc[ik * d + id];
            }
            // out = diag(q) xc + L xc: adjoints of q (through exp), L, xc.
            for id in 0..d {
                gicf[base + id] += p + v[id] * q[id] * xc[id];
                gmeans[ik * d + id] -= v[id] * q[id];
            }
            let mut idx = 0;
            for i in 0..d {
                let mut acc = 0.0;
                for j in i + 1..d {
                    gicf[base + d + idx] += v[j] * xc[i];
                    acc += l[idx] * v[j];
                    idx += 1;
                }
                gmeans[ik * d + i] -= acc;
            }
        }
    }
    // - n logsumexp(alphas).
    let g = logsumexp_grad(alphas);
    for (ga, gi) in galphas.iter_mut().zip(g) {
        *ga -= n as f64 * gi;
    }
    // The Wishart prior: ½γ²(‖exp(q)‖² + ‖L‖²) - m Σq.
    let g2 = wishart_gamma * wishart_gamma;
    for ik in 0..k {
        let base = ik * icf_sz;
        for id in 0..d {
            let qd = qdiags[ik * d + id];
            gicf[base + id] += g2 * qd * qd - wishart_m as f64;
        }
        for j in d..icf_sz {
            gicf[base + j] += g2 * icf[base + j];
        }
    }
    (galphas, gmeans, gicf)
}
