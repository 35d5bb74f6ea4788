//! Fits `y = a exp(-b x) + c` to 10^6 noisy points by gradient descent,
//! with the gradient of the mean squared error computed on the GPU: one
//! fused VJP kernel generated from `sq_error` below, the three shared
//! parameters' cotangents summed on the device.
//!
//! `cargo run --release --example gpu_fit --features gpu`
//! (without a GPU: `apt-get install mesa-vulkan-drivers libvulkan1` and
//! `WGPU_BACKEND=vulkan`; see docs/gpu.md).

use autodiff::gpu::{Gpu, GpuBuffer, GpuError};
use autodiff::prelude::*;

/// The squared error of the model at one point.
#[differentiable(gpu)]
pub fn sq_error(x: f32, y: f32, a: f32, b: f32, c: f32) -> f32 {
    let r = a * (-b * x).exp() + c - y;
    r * r
}

/// The parameters the data is made with.
pub const TRUE: [f32; 3] = [2.0, 1.3, 0.5];

/// `n` points on `0..4` with noise of standard deviation about 0.05.
pub fn data(n: usize) -> (Vec<f32>, Vec<f32>) {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let x: Vec<f32> = (0..n).map(|_| (4.0 * uniform()) as f32).collect();
    let y = x
        .iter()
        .map(|&x| {
            let noise = 0.05 * 3f64.sqrt() * (2.0 * uniform() - 1.0);
            TRUE[0] * (-TRUE[1] * x).exp() + TRUE[2] + noise as f32
        })
        .collect();
    (x, y)
}

/// The mean squared error and its gradient with respect to `(a, b, c)`,
/// on the GPU.
pub fn loss_and_gradient(
    gpu: &Gpu,
    x: &GpuBuffer,
    y: &GpuBuffer,
    theta: [f32; 3],
) -> Result<(f32, [f32; 3]), GpuError> {
    let [a, b, c] = theta.map(|t| [t]);
    let errors = sq_error_gpu_buffer(gpu, x, y, &a, &b, &c)?;
    let loss = gpu.read(&gpu.mean(&errors)?)?[0];
    // dr = 1/n for every element: the gradient of the mean.
    let dr = [1.0 / x.len() as f32];
    let (_, _, ga, gb, gc) = sq_error_vjp_gpu(gpu, x, y, &a, &b, &c, &dr)?;
    Ok((loss, [ga[0], gb[0], gc[0]]))
}

/// The same gradient on the CPU, from the generated `sq_error_vjp`,
/// summed in f64.
pub fn gradient_cpu(x: &[f32], y: &[f32], theta: [f32; 3]) -> [f64; 3] {
    let dr = 1.0 / x.len() as f32;
    let mut g = [0.0f64; 3];
    for (&x, &y) in x.iter().zip(y) {
        let (_, (_, _, ga, gb, gc)) = sq_error_vjp(x, y, theta[0], theta[1], theta[2], dr);
        g[0] += f64::from(ga);
        g[1] += f64::from(gb);
        g[2] += f64::from(gc);
    }
    g
}

/// Gradient descent with momentum from `(1, 0.5, 0)`: the loss after each
/// step, and the parameters at the end.
pub fn fit(
    gpu: &Gpu,
    x: &GpuBuffer,
    y: &GpuBuffer,
    steps: usize,
) -> Result<(Vec<f32>, [f32; 3]), GpuError> {
    let mut theta = [1.0f32, 0.5, 0.0];
    let mut velocity = [0.0f32; 3];
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        let (loss, g) = loss_and_gradient(gpu, x, y, theta)?;
        losses.push(loss);
        for k in 0..3 {
            velocity[k] = 0.9 * velocity[k] - 0.05 * g[k];
            theta[k] += velocity[k];
        }
    }
    Ok((losses, theta))
}

fn main() -> Result<(), GpuError> {
    let gpu = Gpu::shared()?;
    println!("adapter: {}", gpu.adapter());
    let n = 1_000_000;
    let (x, y) = data(n);
    let (xb, yb) = (gpu.upload(&x)?, gpu.upload(&y)?);
    let start = std::time::Instant::now();
    let (losses, theta) = fit(gpu, &xb, &yb, 300)?;
    let elapsed = start.elapsed();
    let first = losses[0];
    let last = losses[losses.len() - 1];
    println!("{n} points, {} steps in {elapsed:.2?}", losses.len());
    println!("loss {first:.5} -> {last:.5} ({:.0}x lower)", first / last);
    println!(
        "fitted (a, b, c) = ({:.3}, {:.3}, {:.3}), true {TRUE:?}",
        theta[0], theta[1], theta[2]
    );
    // The last gradient against the CPU's.
    let (_, g) = loss_and_gradient(gpu, &xb, &yb, theta)?;
    let cpu = gradient_cpu(&x, &y, theta);
    println!("gradient GPU {g:?}, CPU {cpu:?}");
    Ok(())
}
