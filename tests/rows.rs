//! Rows of small arrays: positions and velocities as `&[[f64; 3]]`,
//! forces written into `&mut [[f64; 3]]`, displacements returned as
//! `Vec<[f64; 3]>`, with gradients of the same shape. Each is checked
//! against central differences and forward against reverse mode, and
//! against the same function flattened by hand (`pos[3 * i + k]`),
//! exactly: the derivatives are computed flat.
// Index loops, as users write them.
#![allow(clippy::needless_range_loop)]
mod common;

use autodiff::check::{self, Tolerance};
use autodiff::prelude::*;
use common::*;

/// The Lennard-Jones 12-6 potential of a cluster (Allen and Tildesley,
/// *Computer Simulation of Liquids*, eq. 1.6):
/// `U = Σ_{i<j} 4ε [(σ/r)¹² − (σ/r)⁶]`.
#[differentiable(wrt(pos))]
fn lj_energy(pos: &[[f64; 3]], epsilon: f64, sigma: f64) -> f64 {
    let mut energy = 0.0;
    for i in 0..pos.len() {
        for j in (i + 1)..pos.len() {
            let r2 = dist2(&pos[i], &pos[j]);
            let s6 = (sigma * sigma / r2).powi(3);
            energy += 4.0 * epsilon * (s6 * s6 - s6);
        }
    }
    energy
}

#[differentiable]
fn dist2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The same, flattened by hand.
#[differentiable(wrt(pos))]
fn lj_energy_flat(pos: &[f64], epsilon: f64, sigma: f64) -> f64 {
    let n = pos.len() / 3;
    let mut energy = 0.0;
    for i in 0..n {
        for j in (i + 1)..n {
            let a = [pos[3 * i], pos[3 * i + 1], pos[3 * i + 2]];
            let b = [pos[3 * j], pos[3 * j + 1], pos[3 * j + 2]];
            let r2 = dist2(&a, &b);
            let s6 = (sigma * sigma / r2).powi(3);
            energy += 4.0 * epsilon * (s6 * s6 - s6);
        }
    }
    energy
}

/// Kinetic energy `Σ ½ m |v|²`, by an iterator chain over the rows.
#[differentiable]
fn kinetic(vel: &[[f64; 3]], mass: &[f64]) -> f64 {
    vel.iter()
        .zip(mass)
        .map(|(v, m)| 0.5 * m * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]))
        .sum()
}

/// Harmonic springs between neighbours in a chain, force on each atom
/// written out: `F_i = -k Σ_neighbours (x_i - x_j)`.
#[differentiable(wrt(pos, k))]
fn spring_forces(pos: &[[f64; 3]], k: f64, forces: &mut [[f64; 3]]) {
    for f in forces.iter_mut() {
        *f = [0.0; 3];
    }
    for i in 1..pos.len() {
        let [dx, dy, dz] = [
            pos[i][0] - pos[i - 1][0],
            pos[i][1] - pos[i - 1][1],
            pos[i][2] - pos[i - 1][2],
        ];
        forces[i] = [
            forces[i][0] - k * dx,
            forces[i][1] - k * dy,
            forces[i][2] - k * dz,
        ];
        forces[i - 1][0] += k * dx;
        forces[i - 1][1] += k * dy;
        forces[i - 1][2] += k * dz;
    }
}

/// Velocity Verlet (Swope, Andersen, Berens and Wilson 1982) for the
/// spring chain: the positions after `steps` steps.
#[differentiable(wrt(pos0, vel0, k))]
fn verlet(pos0: &[[f64; 3]], vel0: &[[f64; 3]], k: f64, dt: f64, steps: usize) -> Vec<[f64; 3]> {
    let n = pos0.len();
    let mut x = pos0.to_vec();
    let mut v = vel0.to_vec();
    let mut f = vec![[0.0; 3]; n];
    spring_forces(&x, k, &mut f);
    for _ in 0..steps {
        for i in 0..n {
            for d in 0..3 {
                v[i][d] += 0.5 * dt * f[i][d];
                x[i][d] += dt * v[i][d];
            }
        }
        spring_forces(&x, k, &mut f);
        for i in 0..n {
            for d in 0..3 {
                v[i][d] += 0.5 * dt * f[i][d];
            }
        }
    }
    x
}

/// Generic over the scalar: the radius of gyration squared.
#[differentiable]
fn gyration<T: Float>(pos: &[[T; 3]]) -> T {
    let n = T::from(pos.len()).unwrap();
    let mut c = [T::zero(); 3];
    for p in pos {
        for d in 0..3 {
            c[d] = c[d] + p[d] / n;
        }
    }
    let mut s = T::zero();
    for p in pos.iter() {
        s = s
            + (p[0] - c[0]) * (p[0] - c[0])
            + (p[1] - c[1]) * (p[1] - c[1])
            + (p[2] - c[2]) * (p[2] - c[2]);
    }
    s / n
}

fn cluster(rng: &mut Rng, n: usize) -> Vec<[f64; 3]> {
    // Atoms near a cubic lattice of spacing 1.1, so that no pair is close.
    (0..n)
        .map(|i| {
            let base = [(i % 3) as f64, ((i / 3) % 3) as f64, (i / 9) as f64];
            base.map(|b| 1.1 * b + rng.uniform(-0.1, 0.1))
        })
        .collect()
}

fn flat(rows: &[[f64; 3]]) -> Vec<f64> {
    rows.as_flattened().to_vec()
}

fn rows(flat: &[f64]) -> Vec<[f64; 3]> {
    flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()
}

#[test]
fn lennard_jones_rows_match_flat_and_differences() {
    let mut rng = Rng::new(31);
    for n in [2, 5, 12] {
        let pos = cluster(&mut rng, n);
        let (e, g): (f64, Vec<[f64; 3]>) = lj_energy_value_and_grad(&pos, 1.0, 1.0);
        let (e_flat, g_flat) = lj_energy_flat_value_and_grad(&flat(&pos), 1.0, 1.0);
        assert_eq!(e, lj_energy(&pos, 1.0, 1.0));
        assert_eq!(e, e_flat);
        assert_eq!(flat(&g), g_flat, "rows and hand-flattened gradients differ");
        // The repulsive wall makes the energy's curvature large: central
        // differences lose about 1e-7 absolute on components near zero.
        let tol = Tolerance {
            rel: 1e-6,
            abs: 1e-6,
        };
        check::gradient(
            |p| lj_energy(&rows(p), 1.0, 1.0),
            &flat(&g),
            &flat(&pos),
            tol,
        )
        .unwrap();
        // Forward mode along a random direction.
        let dir: Vec<[f64; 3]> = (0..n)
            .map(|_| [0; 3].map(|_| rng.uniform(-1.0, 1.0)))
            .collect();
        let (_, de) = lj_energy_jvp(&pos, 1.0, 1.0, &dir);
        let dot: f64 = flat(&g).iter().zip(flat(&dir)).map(|(a, b)| a * b).sum();
        assert_close("jvp against vjp", de, dot, EXACT);
        // Newton's third law: the forces sum to zero.
        for d in 0..3 {
            let total: f64 = g.iter().map(|r| r[d]).sum();
            assert!(total.abs() < 1e-9, "net force {total}");
        }
    }
}

#[test]
fn chains_over_rows() {
    let mut rng = Rng::new(32);
    let vel = cluster(&mut rng, 7);
    let mass: Vec<f64> = (0..7).map(|_| rng.uniform(0.5, 2.0)).collect();
    let (k, (gv, gm)): (f64, (Vec<[f64; 3]>, Vec<f64>)) = kinetic_value_and_grad(&vel, &mass);
    assert_eq!(k, kinetic(&vel, &mass));
    for (i, v) in vel.iter().enumerate() {
        for d in 0..3 {
            assert_close("dK/dv", gv[i][d], mass[i] * v[d], EXACT);
        }
        let v2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
        assert_close("dK/dm", gm[i], 0.5 * v2, EXACT);
    }
}

#[test]
fn output_rows_forward_against_reverse() {
    let mut rng = Rng::new(33);
    let pos = cluster(&mut rng, 6);
    let n = pos.len();
    let mut forces = vec![[0.0; 3]; n];
    spring_forces(&pos, 2.5, &mut forces);
    let w: Vec<[f64; 3]> = (0..n)
        .map(|_| [0; 3].map(|_| rng.uniform(-1.0, 1.0)))
        .collect();
    let v: Vec<[f64; 3]> = (0..n)
        .map(|_| [0; 3].map(|_| rng.uniform(-1.0, 1.0)))
        .collect();
    let dk = 0.7;
    let mut out = vec![[0.0; 3]; n];
    let mut dout = vec![[0.0; 3]; n];
    spring_forces_jvp(&pos, 2.5, &mut out, &v, dk, &mut dout);
    assert_eq!(out, forces);
    // The forces are read before written (`forces[i][0] - k * dx`): the
    // buffer takes the output cotangent and gives back the cotangent of
    // their initial value, zero, as they are reset first.
    let mut dforces = w.clone();
    let (gp, gk): (Vec<[f64; 3]>, f64) = spring_forces_vjp(&pos, 2.5, &mut out, &mut dforces);
    assert!(dforces.as_flattened().iter().all(|&d| d == 0.0));
    let lhs: f64 = flat(&dout).iter().zip(flat(&w)).map(|(a, b)| a * b).sum();
    let rhs: f64 = flat(&gp)
        .iter()
        .zip(flat(&v))
        .map(|(a, b)| a * b)
        .sum::<f64>()
        + gk * dk;
    assert_close("dot-product test", lhs, rhs, EXACT);
}

#[test]
fn verlet_trajectory() {
    let mut rng = Rng::new(34);
    let pos = cluster(&mut rng, 5);
    let vel: Vec<[f64; 3]> = (0..5)
        .map(|_| [0; 3].map(|_| rng.uniform(-0.2, 0.2)))
        .collect();
    let (k, dt, steps) = (3.0, 0.05, 40);
    let w: Vec<[f64; 3]> = (0..5)
        .map(|_| [0; 3].map(|_| rng.uniform(-1.0, 1.0)))
        .collect();
    let (x, (gp, gv, gk)) = verlet_vjp(&pos, &vel, k, dt, steps, w.clone());
    assert_eq!(x, verlet(&pos, &vel, k, dt, steps));
    // Reverse against central differences of <w, x(pos, vel, k)>.
    let objective = |p: &[f64]| -> f64 {
        let (pos, rest) = p.split_at(15);
        let (vel, k) = rest.split_at(15);
        let x = verlet(&rows(pos), &rows(vel), k[0], dt, steps);
        flat(&x).iter().zip(flat(&w)).map(|(a, b)| a * b).sum()
    };
    let mut point = flat(&pos);
    point.extend(flat(&vel));
    point.push(k);
    let mut grad = flat(&gp);
    grad.extend(flat(&gv));
    grad.push(gk);
    check::gradient(objective, &grad, &point, FD).unwrap();
    // Forward mode: the output tangent has rows too.
    let (dp, dv) = (rows(&[0.3; 15]), rows(&[-0.1; 15]));
    let (x2, dx): (Vec<[f64; 3]>, Vec<[f64; 3]>) =
        verlet_jvp(&pos, &vel, k, dt, steps, &dp, &dv, 0.2);
    assert_eq!(x2, x);
    let lhs: f64 = flat(&dx).iter().zip(flat(&w)).map(|(a, b)| a * b).sum();
    let rhs = flat(&gp).iter().sum::<f64>() * 0.3 - flat(&gv).iter().sum::<f64>() * 0.1 + gk * 0.2;
    assert_close("dot-product test", lhs, rhs, EXACT);
    // The pullback gives the same as the VJP.
    let (x3, pb) = verlet_pullback(&pos, &vel, k, dt, steps);
    assert_eq!(x3, x);
    let (gp2, _, gk2) = pb(w);
    assert_eq!(gp2, gp);
    assert_eq!(gk2, gk);
}

#[test]
fn generic_rows() {
    let mut rng = Rng::new(35);
    let pos = cluster(&mut rng, 8);
    let g: Vec<[f64; 3]> = gyration_grad(&pos);
    check::gradient(|p| gyration(&rows(p)), &flat(&g), &flat(&pos), FD).unwrap();
    // Second order through the rows: the Hessian-vector product by dual
    // numbers equals central differences of the gradient.
    let grad_at = |x: &[autodiff::Dual<f64>]| -> Vec<autodiff::Dual<f64>> {
        let rows: Vec<[autodiff::Dual<f64>; 3]> =
            x.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
        gyration_grad(&rows).as_flattened().to_vec()
    };
    let v: Vec<f64> = (0..flat(&pos).len())
        .map(|i| (i as f64 * 0.7).sin())
        .collect();
    let hv = autodiff::hvp(grad_at, &flat(&pos), &v);
    for (i, &h) in hv.iter().enumerate() {
        let fd = check::central_difference(
            |t| {
                let x: Vec<f64> = flat(&pos)
                    .iter()
                    .zip(&v)
                    .map(|(a, b)| a + t[0] * b)
                    .collect();
                flat(&gyration_grad(&rows(&x)))[i]
            },
            &[0.0],
        )[0];
        assert_close("Hessian-vector product", h, fd, FD);
    }
    // And in f32.
    let pos32: Vec<[f32; 3]> = pos.iter().map(|r| r.map(|x| x as f32)).collect();
    let g32: Vec<[f32; 3]> = gyration_grad(&pos32);
    for (a, b) in flat(&g).iter().zip(g32.as_flattened()) {
        assert_close("f32 against f64", f64::from(*b), *a, F32);
    }
}

#[test]
fn lanes_over_rows() {
    let mut rng = Rng::new(36);
    let pos = cluster(&mut rng, 4);
    let g: Vec<[f64; 3]> = lj_energy_grad(&pos, 1.0, 1.0);
    // Two directions at once: the unit vectors of atom 0's x and atom 3's z.
    let mut dirs = vec![[autodiff::Lanes([0.0; 2]); 3]; 4];
    dirs[0][0].0[0] = 1.0;
    dirs[3][2].0[1] = 1.0;
    let (_, de) = lj_energy_jvp_lanes(&pos, 1.0, 1.0, &dirs);
    assert_close("lane 0", de.0[0], g[0][0], EXACT);
    assert_close("lane 1", de.0[1], g[3][2], EXACT);
}
