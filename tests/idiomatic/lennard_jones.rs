//! The Lennard-Jones 12-6 potential of a cluster (Lennard-Jones 1924;
//! Allen and Tildesley, *Computer Simulation of Liquids*, eq. 1.6):
//!
//! `U = Σ_{i<j} 4ε [(σ/r_ij)¹² − (σ/r_ij)⁶]`,
//!
//! and the force on atom `i`, `F_i = −∇_i U = Σ_{j≠i} 24ε [2 (σ/r)¹² −
//! (σ/r)⁶] (r_i − r_j) / r²` (eq. 2.3 form), with `Σ_i F_i = 0`.
//! Coordinates are flat, `[x0, y0, z0, x1, ..]`.

use crate::common::*;
use crate::{assert_directional, uniform_vec};
use autodiff::check::Tolerance;
use autodiff::prelude::*;

#[differentiable(wrt(pos))]
pub fn lj_energy(pos: &[f64], epsilon: f64, sigma: f64) -> f64 {
    assert_eq!(pos.len() % 3, 0, "coordinates come in triples");
    let atoms: Vec<&[f64]> = pos.chunks_exact(3).collect();
    let mut energy = 0.0;
    for i in 0..atoms.len() {
        for j in (i + 1)..atoms.len() {
            let r2: f64 = atoms[i].iter().zip(atoms[j]).map(|(a, b)| (a - b) * (a - b)).sum();
            let s6 = (sigma * sigma / r2).powi(3);
            energy += 4.0 * epsilon * (s6 * s6 - s6);
        }
    }
    energy
}

/// The same energy generic over the scalar, pairs by index ranges.
#[differentiable(wrt(pos))]
pub fn lj_energy_generic<T: Float>(pos: &[T], epsilon: T, sigma: T) -> T {
    let n = pos.len() / 3;
    let four = T::from(4.0).unwrap();
    let mut energy = T::zero();
    for i in 0..n {
        for j in (i + 1)..n {
            let (a, b) = (&pos[3 * i..3 * i + 3], &pos[3 * j..3 * j + 3]);
            let r2 = a
                .iter()
                .zip(b)
                .fold(T::zero(), |acc, (&p, &q)| acc + (p - q) * (p - q));
            let s6 = (sigma * sigma / r2).powi(3);
            energy = energy + four * epsilon * (s6 * s6 - s6);
        }
    }
    energy
}

/// The analytic forces, flat like the coordinates.
fn forces(pos: &[f64], epsilon: f64, sigma: f64) -> Vec<f64> {
    let n = pos.len() / 3;
    let mut f = vec![0.0; pos.len()];
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            let d: Vec<f64> = (0..3).map(|c| pos[3 * i + c] - pos[3 * j + c]).collect();
            let r2: f64 = d.iter().map(|v| v * v).sum();
            let s6 = (sigma * sigma / r2).powi(3);
            let scale = 24.0 * epsilon * (2.0 * s6 * s6 - s6) / r2;
            for c in 0..3 {
                f[3 * i + c] += scale * d[c];
            }
        }
    }
    f
}

/// `n` atoms on a cubic lattice of spacing 1.2σ, each moved by up to
/// 0.1σ per coordinate: no two closer than 1.0σ.
fn cluster(rng: &mut Rng, n: usize, sigma: f64) -> Vec<f64> {
    let mut pos = Vec::with_capacity(3 * n);
    for a in 0..n {
        let site = [a % 2, (a / 2) % 2, a / 4];
        for c in site {
            pos.push(sigma * (1.2 * c as f64 + rng.uniform(-0.1, 0.1)));
        }
    }
    pos
}

/// Central differences of a stiff potential: the truncation error is
/// `h²/6 |U'''|` with `h ≤ 6e-6 · 1.6` and `|U'''|` up to about
/// `3 · 8736 ε/σ³ (r/σ)^-15 ≈ 5e4` at the closest pairs, about `1e-6`
/// absolute, where `FD` allows `1e-8`; the relative part is `FD`'s.
const LJ_FD: Tolerance = Tolerance {
    rel: 1e-6,
    abs: 5e-6,
};

#[test]
fn gradient_against_central_differences() {
    let mut rng = Rng::new(0x111);
    for n in [2, 3, 5, 8] {
        for _ in 0..5 {
            let (epsilon, sigma) = (rng.uniform(0.5, 1.5), rng.uniform(0.9, 1.3));
            let pos = cluster(&mut rng, n, sigma);
            let g = lj_energy_grad(&pos, epsilon, sigma);
            for i in 0..3 * n {
                let fd = partial(|p: &[f64]| lj_energy(p, epsilon, sigma), &pos, i);
                assert_close(&format!("n={n}: dU/dpos[{i}]"), g[i], fd, LJ_FD);
            }
        }
    }
}

#[test]
fn gradient_is_minus_the_force() {
    let mut rng = Rng::new(0x112);
    for n in [2, 4, 8] {
        for _ in 0..10 {
            let (epsilon, sigma) = (rng.uniform(0.5, 1.5), rng.uniform(0.9, 1.3));
            let pos = cluster(&mut rng, n, sigma);
            let g = lj_energy_grad(&pos, epsilon, sigma);
            let f = forces(&pos, epsilon, sigma);
            // A sum of pair forces of size up to about 100 ε/σ with
            // cancellation: 1e-12 relative to the largest.
            let scale = f.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let tol = Tolerance {
                rel: 1e-11,
                abs: 1e-12 * scale,
            };
            for i in 0..3 * n {
                assert_close(&format!("n={n}: dU/dpos[{i}] = −F"), g[i], -f[i], tol);
            }
            // Translation invariance: the net force is zero.
            for c in 0..3 {
                let net: f64 = g.iter().skip(c).step_by(3).sum();
                assert!(net.abs() <= 1e-11 * scale, "net force along {c}: {net:e}");
            }
        }
    }
}

#[test]
fn forward_mode_against_reverse_mode() {
    let mut rng = Rng::new(0x113);
    for n in [2, 5, 8] {
        for _ in 0..10 {
            let (epsilon, sigma) = (rng.uniform(0.5, 1.5), rng.uniform(0.9, 1.3));
            let pos = cluster(&mut rng, n, sigma);
            let v = uniform_vec(&mut rng, 3 * n, -1.0, 1.0);
            let (value, dv) = lj_energy_jvp(&pos, epsilon, sigma, &v);
            assert_eq!(value, lj_energy(&pos, epsilon, sigma));
            assert_directional("lj_energy", dv, &lj_energy_grad(&pos, epsilon, sigma), &v);
            let (gvalue, gdv) = lj_energy_generic_jvp(&pos[..], epsilon, sigma, &v[..]);
            assert_close("generic value", gvalue, value, EXACT);
            assert_directional("lj_energy_generic", gdv, &lj_energy_generic_grad(&pos[..], epsilon, sigma), &v);
        }
    }
}

#[test]
fn generic_version_at_f64_and_f32() {
    let mut rng = Rng::new(0x114);
    for n in [2, 4, 8] {
        for _ in 0..10 {
            let (epsilon, sigma) = (rng.uniform(0.5, 1.5), rng.uniform(0.9, 1.3));
            let pos = cluster(&mut rng, n, sigma);
            let g = lj_energy_grad(&pos, epsilon, sigma);
            let g64: Vec<f64> = lj_energy_generic_grad(&pos[..], epsilon, sigma);
            let pos32: Vec<f32> = pos.iter().map(|&v| v as f32).collect();
            let g32: Vec<f32> = lj_energy_generic_grad(&pos32[..], epsilon as f32, sigma as f32);
            // f32 rounding of the coordinates (6e-8 relative) moves
            // r^-13 terms by about 1e-6 relative; forces are sums with
            // cancellation, so compare to the largest component.
            let scale = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let tol32 = Tolerance {
                rel: 1e-4,
                abs: 1e-4 * scale,
            };
            let tol64 = Tolerance {
                rel: 1e-12,
                abs: 1e-13 * scale,
            };
            for i in 0..3 * n {
                assert_close(&format!("generic f64 [{i}]"), g64[i], g[i], tol64);
                assert_close(&format!("generic f32 [{i}]"), g32[i] as f64, g[i], tol32);
            }
        }
    }
}
