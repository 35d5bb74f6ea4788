//! `examples/gpu_fit.rs`: its GPU gradient against the CPU's, and the fit
//! lowering the loss at least tenfold.

#[allow(dead_code)]
#[path = "../../../examples/gpu_fit.rs"]
mod gpu_fit;

use autodiff_gpu_tests::gpu;

#[test]
fn gpu_gradient_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    let n = 1_000_000;
    let (x, y) = gpu_fit::data(n);
    let (xb, yb) = (gpu.upload(&x).unwrap(), gpu.upload(&y).unwrap());
    for theta in [[1.0f32, 0.5, 0.0], [2.5, 0.8, 0.2], [1.9, 1.4, 0.45]] {
        let (loss, g) = gpu_fit::loss_and_gradient(gpu, &xb, &yb, theta).unwrap();
        let cpu = gpu_fit::gradient_cpu(&x, &y, theta);
        let scale = cpu.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for k in 0..3 {
            // f32 sums of 10^6 terms on the GPU (in a tree) against an f64
            // sum of the CPU's f32 terms.
            assert!(
                (f64::from(g[k]) - cpu[k]).abs() <= 1e-3 * scale,
                "theta {theta:?}: component {k}: GPU {}, CPU {}",
                g[k],
                cpu[k]
            );
        }
        let cpu_loss: f64 = x
            .iter()
            .zip(&y)
            .map(|(&x, &y)| f64::from(gpu_fit::sq_error(x, y, theta[0], theta[1], theta[2])))
            .sum::<f64>()
            / n as f64;
        assert!(
            (f64::from(loss) - cpu_loss).abs() <= 1e-4 * cpu_loss,
            "{loss} {cpu_loss}"
        );
    }
}

#[test]
fn fit_lowers_the_loss_tenfold() {
    let Some(gpu) = gpu() else { return };
    let (x, y) = gpu_fit::data(1_000_000);
    let (xb, yb) = (gpu.upload(&x).unwrap(), gpu.upload(&y).unwrap());
    let (losses, theta) = gpu_fit::fit(gpu, &xb, &yb, 300).unwrap();
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    assert!(first / last >= 10.0, "loss {first} -> {last}");
    for k in 0..3 {
        assert!((theta[k] - gpu_fit::TRUE[k]).abs() < 0.05, "{theta:?}");
    }
}
