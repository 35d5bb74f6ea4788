use autodiff::prelude::*;

/// Lennard-Jones energy, positions as `x, y, z` triples.
#[differentiable]
fn lj_energy(pos: &[f64], epsilon: f64, sigma: f64) -> f64 {
    let atoms: Vec<&[f64]> = pos.chunks_exact(3).collect();
    let mut e = 0.0;
    for i in 0..atoms.len() {
        for j in (i + 1)..atoms.len() {
            let r2: f64 = atoms[i].iter().zip(atoms[j]).map(|(a, b)| (a - b) * (a - b)).sum();
            let s6 = (sigma * sigma / r2).powi(3);
            e += 4.0 * epsilon * (s6 * s6 - s6);
        }
    }
    e
}

fn main() {}
