//! A two-layer network whose parameters are a struct, trained by gradient
//! descent on synthetic data: `loss_grad` returns an `MlpTangent`, and the
//! struct steps along it.
//!
//! `cargo run --release --example mlp`

use autodiff::prelude::*;

/// `y = w2 · tanh(W1 x + b1) + b2`, `W1` row-major (`hidden x inputs`).
#[derive(Differentiable, Clone, Debug)]
pub struct Mlp {
    pub w1: Vec<f64>,
    pub b1: Vec<f64>,
    pub w2: Vec<f64>,
    pub b2: f64,
    #[no_diff]
    pub inputs: usize,
    #[no_diff]
    pub hidden: usize,
}

/// The network's output for one input.
pub fn predict(p: &Mlp, x: &[f64]) -> f64 {
    let mut out = p.b2;
    for j in 0..p.hidden {
        let row = &p.w1[j * p.inputs..(j + 1) * p.inputs];
        let a: f64 = p.b1[j] + row.iter().zip(x).map(|(w, x)| w * x).sum::<f64>();
        out += p.w2[j] * a.tanh();
    }
    out
}

/// The mean squared error over the samples (`xs` row-major, `inputs` per
/// sample).
#[differentiable(wrt(p))]
pub fn loss(p: &Mlp, xs: &[f64], ys: &[f64]) -> f64 {
    let (d, h) = (p.inputs, p.hidden);
    let mut total = 0.0;
    for s in 0..ys.len() {
        let mut out = p.b2;
        for j in 0..h {
            let mut a = p.b1[j];
            for i in 0..d {
                a += p.w1[j * d + i] * xs[s * d + i];
            }
            out += p.w2[j] * a.tanh();
        }
        let e = out - ys[s];
        total += e * e;
    }
    total / ys.len() as f64
}

/// A reproducible generator: uniform in `lo..hi`.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        lo + (hi - lo) * ((self.0 >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// 200 samples of `y = sin(2 x0) + x1²/2` on `[-1, 1]²`.
pub fn data() -> (Vec<f64>, Vec<f64>) {
    let mut r = Lcg(7);
    let n = 200;
    let xs: Vec<f64> = (0..2 * n).map(|_| r.uniform(-1.0, 1.0)).collect();
    let ys = (0..n)
        .map(|s| (2.0 * xs[2 * s]).sin() + 0.5 * xs[2 * s + 1] * xs[2 * s + 1])
        .collect();
    (xs, ys)
}

/// A network of `hidden` units with small random weights.
pub fn init(hidden: usize) -> Mlp {
    let mut r = Lcg(11);
    let inputs = 2;
    Mlp {
        w1: (0..hidden * inputs).map(|_| r.uniform(-1.0, 1.0)).collect(),
        b1: (0..hidden).map(|_| r.uniform(-0.5, 0.5)).collect(),
        w2: (0..hidden).map(|_| r.uniform(-0.5, 0.5)).collect(),
        b2: 0.0,
        inputs,
        hidden,
    }
}

/// Gradient descent: the loss before each step.
pub fn train(p: &mut Mlp, xs: &[f64], ys: &[f64], steps: usize, rate: f64) -> Vec<f64> {
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        let (l, g) = loss_value_and_grad(p, xs, ys);
        losses.push(l);
        p.step(&g, -rate);
    }
    losses
}

fn main() {
    let (xs, ys) = data();
    let mut p = init(16);
    let losses = train(&mut p, &xs, &ys, 500, 0.2);
    let last = loss(&p, &xs, &ys);
    println!(
        "loss {:.5} -> {:.5} ({:.0}x lower) after {} steps",
        losses[0],
        last,
        losses[0] / last,
        losses.len()
    );
    println!(
        "f(0.5, -0.5) = {:.4}, target {:.4}",
        predict(&p, &[0.5, -0.5]),
        1f64.sin() + 0.125
    );
}
