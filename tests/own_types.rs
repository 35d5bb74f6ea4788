//! Programs over the user's own types, ported from published definitions
//! and written as a Rust user writes them: rows of positions
//! (`&[[f64; 3]]`), a type alias `Vec3`, a struct of parameters in its own
//! module used from another one, and nalgebra's `DVector`/`DMatrix`.
//! Each gradient is checked against central differences and against a
//! closed form or forward mode.
// Index loops, as users write them.
#![allow(clippy::needless_range_loop)]
mod common;

use autodiff::check;
use autodiff::prelude::*;
use common::*;

// ---------------------------------------------------------------------
// 1. N-body potential energy with Plummer softening.
// ---------------------------------------------------------------------

/// The softened gravitational potential energy of N bodies (Aarseth,
/// *Gravitational N-Body Simulations*, 2003):
/// `U = -Σ_{i<j} G m_i m_j / sqrt(|r_i - r_j|² + ε²)`.
#[differentiable(wrt(pos))]
fn plummer_energy(pos: &[[f64; 3]], mass: &[f64], g: f64, eps: f64) -> f64 {
    let mut u = 0.0;
    for i in 0..pos.len() {
        for j in (i + 1)..pos.len() {
            let mut r2 = eps * eps;
            for k in 0..3 {
                let d = pos[i][k] - pos[j][k];
                r2 += d * d;
            }
            u -= g * mass[i] * mass[j] / r2.sqrt();
        }
    }
    u
}

/// The forces by hand: `F_i = -Σ_{j≠i} G m_i m_j (r_i - r_j) / (r² + ε²)^{3/2}`.
fn plummer_forces(pos: &[[f64; 3]], mass: &[f64], g: f64, eps: f64) -> Vec<[f64; 3]> {
    let n = pos.len();
    let mut f = vec![[0.0; 3]; n];
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            let d: [f64; 3] = [0, 1, 2].map(|k| pos[i][k] - pos[j][k]);
            let s2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2] + eps * eps;
            let c = g * mass[i] * mass[j] / (s2 * s2.sqrt());
            for k in 0..3 {
                f[i][k] -= c * d[k];
            }
        }
    }
    f
}

fn flat(rows: &[[f64; 3]]) -> Vec<f64> {
    rows.as_flattened().to_vec()
}

fn rows(flat: &[f64]) -> Vec<[f64; 3]> {
    flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()
}

fn random_rows(rng: &mut Rng, n: usize, lo: f64, hi: f64) -> Vec<[f64; 3]> {
    (0..n)
        .map(|_| [0; 3].map(|_| rng.uniform(lo, hi)))
        .collect()
}

#[test]
fn plummer_forces_differences_third_law_and_forward() {
    let mut rng = Rng::new(401);
    let (g, eps) = (1.0, 0.2);
    for n in [2, 3, 7, 16] {
        let pos = random_rows(&mut rng, n, -1.0, 1.0);
        let mass: Vec<f64> = (0..n).map(|_| rng.uniform(0.5, 2.0)).collect();
        let (u, grad): (f64, Vec<[f64; 3]>) = plummer_energy_value_and_grad(&pos, &mass, g, eps);
        assert_eq!(u, plummer_energy(&pos, &mass, g, eps));
        assert!(u < 0.0, "gravity binds: U = {u}");
        assert_eq!(plummer_energy_grad(&pos, &mass, g, eps), grad);

        // Central differences on the flattened positions.
        check::gradient(
            |p| plummer_energy(&rows(p), &mass, g, eps),
            &flat(&grad),
            &flat(&pos),
            FD,
        )
        .unwrap();

        // The gradient is minus the forces written out by hand.
        let forces = plummer_forces(&pos, &mass, g, eps);
        for i in 0..n {
            for k in 0..3 {
                assert_close("-dU/dr against F", -grad[i][k], forces[i][k], FD);
            }
        }

        // Newton's third law: the net force vanishes (up to roundings of
        // the terms it sums).
        for k in 0..3 {
            let net: f64 = grad.iter().map(|r| r[k]).sum();
            let scale: f64 = grad.iter().map(|r| r[k].abs()).sum();
            assert!(
                net.abs() <= 1e-12 * scale.max(1.0),
                "net force {net} along axis {k} (scale {scale})"
            );
        }

        // Forward mode along random directions equals the gradient dotted
        // with them.
        for _ in 0..3 {
            let dir = random_rows(&mut rng, n, -1.0, 1.0);
            let (u2, du) = plummer_energy_jvp(&pos, &mass, g, eps, &dir);
            assert_eq!(u2, u);
            let dot: f64 = flat(&grad).iter().zip(flat(&dir)).map(|(a, b)| a * b).sum();
            assert_close("jvp against gradient", du, dot, EXACT);
        }
    }
}

// ---------------------------------------------------------------------
// 2. Geometry over a type alias: the area of a triangle mesh.
// ---------------------------------------------------------------------

type Vec3 = [f64; 3];

#[differentiable]
fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[differentiable]
fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[differentiable]
fn norm(v: Vec3) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

/// The area of a triangle mesh, `Σ ½ |(b - a) × (c - a)|`.
///
/// As first written, each corner was a whole row, `let a = verts[t[0]];`:
/// the macro refuses it (see the end of this file). A row of an alias is
/// read here element by element instead, as docs/api.md, "Type aliases",
/// says.
#[differentiable(wrt(verts))]
fn mesh_area(verts: &[Vec3], tris: &[[usize; 3]]) -> f64 {
    let mut area = 0.0;
    for t in tris {
        let a = [verts[t[0]][0], verts[t[0]][1], verts[t[0]][2]];
        let b = [verts[t[1]][0], verts[t[1]][1], verts[t[1]][2]];
        let c = [verts[t[2]][0], verts[t[2]][1], verts[t[2]][2]];
        area += 0.5 * norm(cross(sub(b, a), sub(c, a)));
    }
    area
}

/// A perturbed `m x m` grid of vertices, two triangles per cell.
fn grid_mesh(rng: &mut Rng, m: usize) -> (Vec<Vec3>, Vec<[usize; 3]>) {
    let mut verts = Vec::new();
    for i in 0..m {
        for j in 0..m {
            verts.push([
                i as f64 + rng.uniform(-0.2, 0.2),
                j as f64 + rng.uniform(-0.2, 0.2),
                rng.uniform(-0.5, 0.5),
            ]);
        }
    }
    let mut tris = Vec::new();
    for i in 0..m - 1 {
        for j in 0..m - 1 {
            let v = |i: usize, j: usize| i * m + j;
            tris.push([v(i, j), v(i + 1, j), v(i + 1, j + 1)]);
            tris.push([v(i, j), v(i + 1, j + 1), v(i, j + 1)]);
        }
    }
    (verts, tris)
}

#[test]
fn mesh_area_against_differences() {
    let mut rng = Rng::new(402);
    for m in [2, 3, 5] {
        let (verts, tris) = grid_mesh(&mut rng, m);
        let (area, grad): (f64, Vec<Vec3>) = mesh_area_value_and_grad(&verts, &tris);
        assert_eq!(area, mesh_area(&verts, &tris));
        check::gradient(
            |p| mesh_area(&rows(p), &tris),
            &flat(&grad),
            &flat(&verts),
            FD,
        )
        .unwrap();
        // Moving the whole mesh does not change its area.
        for k in 0..3 {
            let net: f64 = grad.iter().map(|r| r[k]).sum();
            assert!(net.abs() < 1e-12 * grad.len() as f64, "translation {net}");
        }
    }
}

#[test]
fn triangle_area_closed_form() {
    // With n = (b - a) × (c - a) and n̂ = n / |n|:
    // dA/da = ½ n̂ × (c - b), dA/db = ½ n̂ × (a - c), dA/dc = ½ n̂ × (b - a).
    let mut rng = Rng::new(403);
    for _ in 0..10 {
        let verts = random_rows(&mut rng, 3, -2.0, 2.0);
        let (a, b, c) = (verts[0], verts[1], verts[2]);
        let n = cross(sub(b, a), sub(c, a));
        let len = norm(n);
        let nhat = n.map(|x| x / len);
        let expected = [
            cross(nhat, sub(c, b)).map(|x| 0.5 * x),
            cross(nhat, sub(a, c)).map(|x| 0.5 * x),
            cross(nhat, sub(b, a)).map(|x| 0.5 * x),
        ];
        let grad: Vec<Vec3> = mesh_area_grad(&verts, &[[0, 1, 2]]);
        for v in 0..3 {
            for k in 0..3 {
                assert_close("dA/dvertex", grad[v][k], expected[v][k], EXACT);
            }
        }
        // The helpers' own siblings: forward through `cross` and `norm`.
        let d = random_rows(&mut rng, 3, -1.0, 1.0);
        let (_, da) = mesh_area_jvp(&verts, &[[0, 1, 2]], &d);
        let dot: f64 = flat(&grad).iter().zip(flat(&d)).map(|(x, y)| x * y).sum();
        assert_close("jvp against gradient", da, dot, EXACT);
    }
}

// ---------------------------------------------------------------------
// 3. A struct of parameters in its own module, fitted from another one.
// ---------------------------------------------------------------------

mod model {
    use autodiff::prelude::*;

    /// A damped spring of unit mass: `a = -k (x - rest) - damping v`.
    #[derive(Differentiable, Clone)]
    pub struct Spring {
        pub k: f64,
        pub rest: f64,
        pub damping: f64,
    }
}

mod fit {
    use super::model::Spring;
    use autodiff::prelude::*;

    /// The squared misfit of the spring's trajectory, integrated by
    /// semi-implicit (symplectic) Euler, `v += h a(x, v); x += h v`, one step
    /// per observation, against the observed positions.
    #[differentiable(wrt(spring))]
    pub fn misfit(spring: &Spring, x0: f64, v0: f64, h: f64, observed: &[f64]) -> f64 {
        let mut x = x0;
        let mut v = v0;
        let mut loss = 0.0;
        for i in 0..observed.len() {
            let a = -spring.k * (x - spring.rest) - spring.damping * v;
            v += h * a;
            x += h * v;
            let r = x - observed[i];
            loss += r * r;
        }
        loss
    }

    /// The same integrator, plain: the positions after each step.
    pub fn trajectory(spring: &Spring, x0: f64, v0: f64, h: f64, steps: usize) -> Vec<f64> {
        let (mut x, mut v) = (x0, v0);
        let mut xs = Vec::with_capacity(steps);
        for _ in 0..steps {
            let a = -spring.k * (x - spring.rest) - spring.damping * v;
            v += h * a;
            x += h * v;
            xs.push(x);
        }
        xs
    }
}

#[test]
fn spring_fit_gradient_against_differences() {
    use model::Spring;
    let mut rng = Rng::new(404);
    let truth = Spring {
        k: 4.0,
        rest: 1.0,
        damping: 0.3,
    };
    let (x0, v0, h, steps) = (0.0, 0.5, 0.05, 100);
    let observed: Vec<f64> = fit::trajectory(&truth, x0, v0, h, steps)
        .iter()
        .map(|x| x + rng.uniform(-0.01, 0.01))
        .collect();
    assert_eq!(observed.len(), 100);
    for _ in 0..5 {
        let spring = Spring {
            k: rng.uniform(2.0, 6.0),
            rest: rng.uniform(0.5, 1.5),
            damping: rng.uniform(0.1, 0.6),
        };
        let (loss, g) = fit::misfit_value_and_grad(&spring, x0, v0, h, &observed);
        assert_eq!(loss, fit::misfit(&spring, x0, v0, h, &observed));
        let g2 = fit::misfit_grad(&spring, x0, v0, h, &observed);
        assert_eq!([g.k, g.rest, g.damping], [g2.k, g2.rest, g2.damping]);
        let at = |p: &[f64]| Spring {
            k: p[0],
            rest: p[1],
            damping: p[2],
        };
        let point = [spring.k, spring.rest, spring.damping];
        let f = |p: &[f64]| fit::misfit(&at(p), x0, v0, h, &observed);
        // Each field on its own.
        assert_close("d misfit / dk", g.k, partial(f, &point, 0), FD);
        assert_close("d misfit / drest", g.rest, partial(f, &point, 1), FD);
        assert_close("d misfit / ddamping", g.damping, partial(f, &point, 2), FD);
        check::gradient(f, &[g.k, g.rest, g.damping], &point, FD).unwrap();
    }
    // At the truth without noise the misfit and its gradient vanish.
    let exact = fit::trajectory(&truth, x0, v0, h, steps);
    let (loss, g) = fit::misfit_value_and_grad(&truth, x0, v0, h, &exact);
    assert_eq!(loss, 0.0);
    assert_eq!([g.k, g.rest, g.damping], [0.0; 3]);
}

// ---------------------------------------------------------------------
// 4. Least squares with nalgebra.
// ---------------------------------------------------------------------

use nalgebra::{DMatrix, DVector};

/// `½ |X w - y|²`, by index loops over the matrix.
#[differentiable(wrt(w))]
fn loss(w: &DVector<f64>, x: &DMatrix<f64>, y: &DVector<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..x.nrows() {
        let mut r = -y[i];
        for j in 0..x.ncols() {
            r += x[(i, j)] * w[j];
        }
        s += 0.5 * r * r;
    }
    s
}

#[test]
fn least_squares_gradient_is_normal_equations_residual() {
    let mut rng = Rng::new(405);
    for (m, n) in [(1, 1), (5, 2), (20, 4), (7, 9)] {
        let x = DMatrix::from_fn(m, n, |_, _| rng.uniform(-1.0, 1.0));
        let y = DVector::from_fn(m, |_, _| rng.uniform(-1.0, 1.0));
        for _ in 0..3 {
            let w = DVector::from_fn(n, |_, _| rng.uniform(-1.0, 1.0));
            let (value, g): (f64, DVector<f64>) = loss_value_and_grad(&w, &x, &y);
            assert_eq!(value, loss(&w, &x, &y));
            let residual = &x * &w - &y;
            assert_close("loss", value, 0.5 * residual.norm_squared(), EXACT);
            // The gradient is Xᵀ (X w - y).
            let expected = x.transpose() * &residual;
            assert_eq!(g.len(), n);
            for j in 0..n {
                assert_close("dL/dw", g[j], expected[j], EXACT);
            }
            check::gradient(
                |p| loss(&DVector::from_column_slice(p), &x, &y),
                g.as_slice(),
                w.as_slice(),
                FD,
            )
            .unwrap();
            // Forward mode: the tangent is a DVector too.
            let dw = DVector::from_fn(n, |_, _| rng.uniform(-1.0, 1.0));
            let (v2, dl) = loss_jvp(&w, &x, &y, &dw);
            assert_eq!(v2, value);
            assert_close("jvp against gradient", dl, g.dot(&dw), EXACT);
        }
    }
}

// ---------------------------------------------------------------------
// Rejected as first written.
// ---------------------------------------------------------------------
//
// Program 2, the mesh area over `verts: &[Vec3]` reading whole rows
// (`type Vec3 = [f64; 3];`, `sub`, `cross`, `norm` as above):
//
//     #[differentiable(wrt(verts))]
//     fn mesh_area(verts: &[Vec3], tris: &[[usize; 3]]) -> f64 {
//         let mut area = 0.0;
//         for t in tris {
//             let a = verts[t[0]];
//             let b = verts[t[1]];
//             let c = verts[t[2]];
//             area += 0.5 * norm(cross(sub(b, a), sub(c, a)));
//         }
//         area
//     }
//
// error: `verts` is not an f32/f64 parameter, so it cannot be differentiated; float parameters: none
//    --> tests/own_types.rs:150:22
//     |
// 150 | #[differentiable(wrt(verts))]
//     |                      ^^^^^
//
// error: `mesh_area` has no f32/f64 parameter to differentiate with respect to
//    --> tests/own_types.rs:151:14
//     |
// 151 | fn mesh_area(verts: &[Vec3], tris: &[[usize; 3]]) -> f64 {
//     |              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
//
// The same two errors with the corners annotated, `let a: Vec3 =
// verts[t[0]];`. With `#[differentiable]` and no `wrt`, only the second.
// With one more float parameter (`scale: f64`, `area += 0.5 * scale *
// ..`) and no `wrt`, it compiles, and `verts` is silently data: the
// gradient is that of `scale` alone. Replaced above by reading each corner
// element by element, `[verts[t[0]][0], verts[t[0]][1], verts[t[0]][2]]`.
