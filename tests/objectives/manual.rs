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

/// A 4x4 row-major product `a b`.
fn mat4(a: &[f64], b: &[f64]) -> [f64; 16] {
    let mut out = [0.0; 16];
    for i in 0..4 {
        for j in 0..4 {
            out[4 * i + j] = (0..4).map(|k| a[4 * i + k] * b[4 * k + j]).sum();
        }
    }
    out
}

/// A 3x3 rotation block as a 4x4 matrix (with `last` at the corner: 1 for
/// a rotation, 0 for its derivative).
fn block4(r: &[f64; 9], last: f64) -> [f64; 16] {
    let mut m = [0.0; 16];
    for i in 0..3 {
        for j in 0..3 {
            m[4 * i + j] = r[3 * i + j];
        }
    }
    m[15] = last;
    m
}

/// `euler_angles_to_rotation_matrix` and its derivatives with respect to
/// the `x` and `z` angles (`xzy[0]`, `xzy[1]`): `Rz Ry dRx` and `dRz Ry Rx`.
fn euler_d(xzy: [f64; 3]) -> ([f64; 9], [f64; 9], [f64; 9]) {
    let (tx, tz, ty) = (xzy[0], xzy[1], xzy[2]);
    let (cx, sx, cy, sy, cz, sz) = (tx.cos(), tx.sin(), ty.cos(), ty.sin(), tz.cos(), tz.sin());
    let rx = [1.0, 0.0, 0.0, 0.0, cx, -sx, 0.0, sx, cx];
    let drx = [0.0, 0.0, 0.0, 0.0, -sx, -cx, 0.0, cx, -sx];
    let ry = [cy, 0.0, sy, 0.0, 1.0, 0.0, -sy, 0.0, cy];
    let rz = [cz, -sz, 0.0, sz, cz, 0.0, 0.0, 0.0, 1.0];
    let drz = [-sz, -cz, 0.0, cz, -sz, 0.0, 0.0, 0.0, 0.0];
    let mul = super::mat_mul3;
    let rzry = mul(rz, ry);
    (mul(rzry, rx), mul(rzry, drx), mul(drz, mul(ry, rx)))
}

/// `angle_axis_to_rotation_matrix` and its derivatives with respect to the
/// three components: with `θ = |ω|`, `k = ω / θ`,
/// `R = (1 - cos θ) k kᵀ + cos θ I + sin θ [k]ₓ`; the identity, of zero
/// derivative, below `θ = 1e-4`.
fn angle_axis_d(w: [f64; 3]) -> ([f64; 9], [[f64; 9]; 3]) {
    let theta = (w[0] * w[0] + w[1] * w[1] + w[2] * w[2]).sqrt();
    if theta < 0.0001 {
        return ([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0], [[0.0; 9]; 3]);
    }
    let k = w.map(|x| x / theta);
    let (c, s) = (theta.cos(), theta.sin());
    let cross = |k: [f64; 3]| [0.0, -k[2], k[1], k[2], 0.0, -k[0], -k[1], k[0], 0.0];
    let e = cross(k);
    let delta = |a: usize, b: usize| if a == b { 1.0 } else { 0.0 };
    let mut r = [0.0; 9];
    let mut dr = [[0.0; 9]; 3];
    for a in 0..3 {
        for b in 0..3 {
            r[3 * a + b] = k[a] * k[b] * (1.0 - c) + delta(a, b) * c + s * e[3 * a + b];
        }
    }
    for (j, drj) in dr.iter_mut().enumerate() {
        let dk: [f64; 3] = std::array::from_fn(|a| (delta(a, j) - k[a] * k[j]) / theta);
        let de = cross(dk);
        for a in 0..3 {
            for b in 0..3 {
                drj[3 * a + b] = (dk[a] * k[b] + k[a] * dk[b]) * (1.0 - c) + k[a] * k[b] * s * k[j]
                    - delta(a, b) * s * k[j]
                    + c * k[j] * e[3 * a + b]
                    + s * de[3 * a + b];
            }
        }
    }
    (r, dr)
}

/// The skinning of ADBench's hand-written scheme (`hand_d.cpp`): the pose
/// parameters, the skinned vertices before the global transform (3 per
/// vertex), and their derivatives with respect to the 20 finger angles.
/// Each bone carries the derivatives of its transform with respect to the
/// finger angles that move it only (at most four: its own and its
/// ancestors'), and every vertex is skinned once per such derivative.
struct Skinned {
    pose: Vec<f64>,
    positions: Vec<f64>,
    positions_d: Vec<Vec<f64>>,
}

fn skinned_d(model: &super::hand::HandModel, theta: &[f64]) -> Skinned {
    let n_bones = model.parents.len();
    let n_verts = model.base_positions.len() / 4;
    let mut pose = vec![0.0; 3 * (n_bones + 3)];
    super::hand::to_pose_params(theta, n_bones, &mut pose);
    // The parameters that drive each bone's angles: (theta index, x or z).
    let mut drives: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n_bones];
    let (mut i_theta, mut bone) = (6, 2);
    for _finger in 0..5 {
        for i in 2..5 {
            drives[bone].push((i_theta, 0));
            i_theta += 1;
            if i == 2 {
                drives[bone].push((i_theta, 1));
                i_theta += 1;
            }
            bone += 1;
        }
        bone += 1;
    }
    // Transforms and their nonzero derivatives, along the skeleton.
    let mut absolutes: Vec<[f64; 16]> = Vec::with_capacity(n_bones);
    let mut absolutes_d: Vec<Vec<(usize, [f64; 16])>> = Vec::with_capacity(n_bones);
    let mut transforms_d: Vec<Vec<(usize, [f64; 16])>> = Vec::with_capacity(n_bones);
    let mut transforms: Vec<[f64; 16]> = Vec::with_capacity(n_bones);
    for b in 0..n_bones {
        let c = 3 * (b + 3);
        let (r, drx, drz) = euler_d([pose[c], pose[c + 1], pose[c + 2]]);
        let base = &model.base_relatives[16 * b..16 * b + 16];
        let relative = mat4(base, &block4(&r, 1.0));
        let (absolute, mut d) = match model.parents[b] {
            p if p < 0 => (relative, Vec::new()),
            p => {
                let parent = &absolutes[p as usize];
                let inherited = absolutes_d[p as usize]
                    .iter()
                    .map(|(j, m): &(usize, [f64; 16])| (*j, mat4(m, &relative)))
                    .collect();
                (mat4(parent, &relative), inherited)
            }
        };
        let parent = match model.parents[b] {
            p if p < 0 => block4(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0], 1.0),
            p => absolutes[p as usize],
        };
        for &(j, axis) in &drives[b] {
            let dr = if axis == 0 { &drx } else { &drz };
            let drel = mat4(base, &block4(dr, 0.0));
            d.push((j, mat4(&parent, &drel)));
        }
        let inverse = &model.inverse_base_absolutes[16 * b..16 * b + 16];
        transforms.push(mat4(&absolute, inverse));
        transforms_d.push(d.iter().map(|(j, m)| (*j, mat4(m, inverse))).collect());
        absolutes.push(absolute);
        absolutes_d.push(d);
    }
    // Skinning, and the skinned derivatives per finger angle.
    let mut positions = vec![0.0; 3 * n_verts];
    let mut positions_d = vec![vec![0.0; 3 * n_verts]; 20];
    let skin = |t: &[f64; 16], w_row: &[f64], out: &mut [f64]| {
        for v in 0..n_verts {
            let p = &model.base_positions[4 * v..4 * v + 4];
            for i in 0..3 {
                let s: f64 = (0..4).map(|k| t[4 * i + k] * p[k]).sum();
                out[3 * v + i] += w_row[v] * s;
            }
        }
    };
    for b in 0..n_bones {
        let w_row = &model.weights[b * n_verts..(b + 1) * n_verts];
        skin(&transforms[b], w_row, &mut positions);
        for (j, dt) in &transforms_d[b] {
            skin(dt, w_row, &mut positions_d[*j - 6]);
        }
    }
    Skinned {
        pose,
        positions,
        positions_d,
    }
}

/// The global transform and its derivatives, for the rows of one point:
/// `err = point - (R (scale ⊙ p) + t)`, with `p` a skinned position and
/// `pd` its derivatives with respect to the finger angles; the 26 pose
/// columns of the point's three rows.
struct Global {
    r: [f64; 9],
    dr: [[f64; 9]; 3],
    scale: [f64; 3],
}

impl Global {
    fn new(pose: &[f64]) -> Self {
        let (r, dr) = angle_axis_d([pose[0], pose[1], pose[2]]);
        Global {
            r,
            dr,
            scale: [pose[3], pose[4], pose[5]],
        }
    }

    fn rotate(&self, r: &[f64; 9], p: &[f64]) -> [f64; 3] {
        std::array::from_fn(|i| (0..3).map(|k| r[3 * i + k] * self.scale[k] * p[k]).sum())
    }

    /// The residuals `point - (R (scale ⊙ p) + t)` of point `i` and the
    /// pose columns (the first 26) of their rows.
    fn rows<const N: usize>(
        &self,
        pose: &[f64],
        (p, pd): ([f64; 3], &[[f64; 3]; 20]),
        (i, points): (usize, &[f64]),
        err: &mut [f64],
        jac: &mut [[f64; N]],
    ) {
        let (point, err, rows) = (&points[3 * i..], &mut err[3 * i..], &mut jac[3 * i..]);
        let y = self.rotate(&self.r, &p);
        let d_rot: [[f64; 3]; 3] = std::array::from_fn(|j| self.rotate(&self.dr[j], &p));
        let d_fingers: [[f64; 3]; 20] = std::array::from_fn(|j| self.rotate(&self.r, &pd[j]));
        for a in 0..3 {
            let row = &mut rows[a];
            err[a] = point[a] - (y[a] + pose[6 + a]);
            for j in 0..3 {
                row[j] = -d_rot[j][a];
                row[3 + j] = if j == a { -1.0 } else { 0.0 };
            }
            for j in 0..20 {
                row[6 + j] = -d_fingers[j][a];
            }
        }
    }
}

/// The skinned position of vertex `v` and its finger derivatives.
fn vertex(sk: &Skinned, v: usize) -> ([f64; 3], [[f64; 3]; 20]) {
    let p = std::array::from_fn(|k| sk.positions[3 * v + k]);
    let pd = std::array::from_fn(|j| std::array::from_fn(|k| sk.positions_d[j][3 * v + k]));
    (p, pd)
}

/// The Jacobian of `hand_objective` (the simple variant) by hand, the way
/// ADBench's hand-written C++ (`hand_d.cpp`) computes it ([`Skinned`]);
/// the global rotation and translation, applied after skinning, are
/// differentiated at the corresponding vertices only. Row `3i + j` of
/// `jac` is the gradient of `err[3i + j]` with respect to the 26
/// parameters.
pub fn hand_jacobian(
    model: &super::hand::HandModel,
    theta: &[f64],
    vertices: &[usize],
    points: &[f64],
    err: &mut [f64],
    jac: &mut [[f64; 26]],
) {
    let sk = skinned_d(model, theta);
    let global = Global::new(&sk.pose);
    for (i, &v) in vertices.iter().enumerate() {
        let (p, pd) = vertex(&sk, v);
        global.rows(&sk.pose, (p, &pd), (i, points), err, jac);
    }
}

/// The Jacobian of `hand_objective_complicated` by hand, as ADBench's
/// hand-written C++ computes it: the point of the triangle `u0 a + u1 b +
/// (1 - u0 - u1) c` and its finger derivatives blended from the vertices',
/// then the global transform as in [`hand_jacobian`]; columns 26 and 27 are
/// the derivatives with respect to the point's own `u0` and `u1`
/// (`-(P_a - P_c)`, `-(P_b - P_c)`, `P` the posed vertices).
pub fn hand_jacobian_complicated(
    model: &super::hand::HandModel,
    (theta, us): (&[f64], &[f64]),
    correspondences: &[usize],
    points: &[f64],
    err: &mut [f64],
    jac: &mut [[f64; 28]],
) {
    let sk = skinned_d(model, theta);
    let global = Global::new(&sk.pose);
    for (i, &t) in correspondences.iter().enumerate() {
        let (u0, u1) = (us[2 * i], us[2 * i + 1]);
        let w = [u0, u1, 1.0 - u0 - u1];
        let parts: [_; 3] = std::array::from_fn(|x| vertex(&sk, model.triangles[3 * t + x]));
        let p = std::array::from_fn(|k| (0..3).map(|x| w[x] * parts[x].0[k]).sum());
        let pd = std::array::from_fn(|j| {
            std::array::from_fn(|k| (0..3).map(|x| w[x] * parts[x].1[j][k]).sum())
        });
        global.rows(&sk.pose, (p, &pd), (i, points), err, jac);
        let (pa, pb, pc) = (parts[0].0, parts[1].0, parts[2].0);
        let da = global.rotate(
            &global.r,
            &std::array::from_fn::<f64, 3, _>(|k| pa[k] - pc[k]),
        );
        let db = global.rotate(
            &global.r,
            &std::array::from_fn::<f64, 3, _>(|k| pb[k] - pc[k]),
        );
        for a in 0..3 {
            jac[3 * i + a][26] = -da[a];
            jac[3 * i + a][27] = -db[a];
        }
    }
}
