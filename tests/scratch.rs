//! What the reverse sweep keeps of written arrays. Scratch arrays: a local
//! array that a region (a loop iteration, the function) overwrites
//! completely before reading it keeps no old values. Range snapshots: a
//! loop that touches an array only at its index keeps the old values of
//! the range once, before the loop. Here: gradients where the mechanisms
//! apply, and where they only look like they do (a partial cover, a read
//! before the write, a write after a read, a callee that fills half, a
//! longer buffer, a loop reading another element), each against central
//! differences and the JVP; and the memory scratch arrays save, measured by
//! a counting allocator. Arrays written first and read after (accumulated
//! over loops, then only read) keep no old values either; arrays read
//! between or during their writes keep them.
#![allow(
    clippy::needless_range_loop,
    clippy::manual_memcpy,
    clippy::assign_op_pattern
)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use autodiff::check;
use autodiff::prelude::*;
use common::*;

/// Counts the bytes allocated and not yet freed, and their peak.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The peak of heap bytes in use while `f` runs, above what was in use
/// before. Tests run on several threads: callers hold `MEASURING`.
fn peak_bytes(f: impl FnOnce()) -> usize {
    let before = CURRENT.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    f();
    PEAK.load(Ordering::SeqCst) - before
}

static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `out = Q x` for a diagonal `q` and one subdiagonal `l`: fills `out`
/// when it is as long as `x`.
#[differentiable]
fn qx(q: &[f64], l: &[f64], x: &[f64], out: &mut [f64]) {
    let d = x.len();
    for i in 0..d {
        out[i] = q[i] * x[i];
    }
    for i in 1..d {
        out[i] += l[i - 1] * x[i - 1];
    }
}

#[differentiable]
fn sqnorm(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i];
    }
    s
}

/// GMM's inner loop: `centered` rewritten by a loop, `qc` by a call, `terms`
/// by the loop over components, per data point.
#[differentiable(wrt(q, means))]
fn mixture(q: &[f64], means: &[f64], x: &[f64], k: usize) -> f64 {
    let d = q.len();
    let n = x.len() / d;
    let l = vec![0.5; d];
    let mut centered = vec![0.0; d];
    let mut qc = vec![0.0; d];
    let mut terms = vec![0.0; k];
    let mut total = 0.0;
    for ix in 0..n {
        for ik in 0..k {
            for id in 0..d {
                centered[id] = x[ix * d + id] - means[ik * d + id];
            }
            qx(q, &l[1..], &centered, &mut qc);
            terms[ik] = -0.5 * sqnorm(&qc);
        }
        let mut s = 0.0;
        for ik in 0..k {
            s += terms[ik].exp();
        }
        total += s.ln();
    }
    total
}

fn params(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

#[test]
fn gmm_inner_loop_gradient() {
    let (d, k, n) = (3, 2, 4);
    let mut rng = Rng::new(7);
    for _ in 0..10 {
        let (q, means, x) = (
            params(&mut rng, d),
            params(&mut rng, d * k),
            params(&mut rng, d * n),
        );
        let (y, (gq, gm)) = mixture_value_and_grad(&q, &means, &x, k);
        assert_eq!(y, mixture(&q, &means, &x, k));
        check::gradient(|q| mixture(q, &means, &x, k), &gq, &q, FD).unwrap();
        check::gradient(|m| mixture(&q, m, &x, k), &gm, &means, FD).unwrap();
        let (dq, dm) = (params(&mut rng, d), params(&mut rng, d * k));
        let (_, t) = mixture_jvp(&q, &means, &x, k, &dq, &dm);
        let dot: f64 = gq.iter().zip(&dq).map(|(a, b)| a * b).sum::<f64>()
            + gm.iter().zip(&dm).map(|(a, b)| a * b).sum::<f64>();
        assert_close("mixture JVP", t, dot, EXACT);
    }
}

/// The gradient's memory does not grow with the data points times the
/// components times the dimension: no old element of the three scratch
/// arrays is kept. (Saving them took 16 bytes per write: 1000 points more,
/// at d = 8 and k = 8, would be 2 MB; the tapes of the loops over points
/// hold a few values per point.)
#[test]
fn gmm_inner_loop_keeps_no_old_values() {
    let _guard = MEASURING.lock().unwrap();
    let (d, k) = (8, 8);
    let mut rng = Rng::new(3);
    let (q, means) = (params(&mut rng, d), params(&mut rng, d * k));
    let peak = |n: usize| {
        let x = vec![0.25; d * n];
        peak_bytes(|| {
            std::hint::black_box(mixture_grad(&q, &means, &x, k));
        })
    };
    let (small, large) = (peak(1000), peak(2000));
    let per_point = (large - small) / 1000;
    assert!(
        per_point <= 64,
        "{per_point} bytes per data point ({small} bytes at 1000 points, {large} at 2000)"
    );
}

fn check_1d(
    name: &str,
    f: impl Fn(&[f64]) -> f64,
    jvp: impl Fn(&[f64], &[f64]) -> (f64, f64),
    vg: impl Fn(&[f64]) -> (f64, Vec<f64>),
    n: usize,
) {
    let mut rng = Rng::new(n as u64 + 11);
    for _ in 0..20 {
        let x = params(&mut rng, n);
        let (y, g) = vg(&x);
        assert_eq!(y, f(&x), "{name}: value");
        check::gradient(&f, &g, &x, FD).unwrap_or_else(|e| panic!("{name}: {e}"));
        let v = params(&mut rng, n);
        let (_, t) = jvp(&x, &v);
        let dot: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert_close(&format!("{name}: JVP"), t, dot, EXACT);
    }
}

/// Covers all but the first element, which keeps the last row's value:
/// not scratch, the old values are needed.
#[differentiable]
fn partial_cover(x: &[f64]) -> f64 {
    let n = x.len();
    let mut buf = vec![0.0; n];
    let mut total = 0.0;
    for r in 0..3 {
        for i in 1..n {
            buf[i] = x[i] * (r as f64 + 1.0) + buf[0];
        }
        buf[0] = buf[n - 1].sin();
        total += sqnorm(&buf);
    }
    total
}

/// Reads an element before writing it.
#[differentiable]
fn read_first(x: &[f64]) -> f64 {
    let n = x.len();
    let mut buf = vec![0.0; n];
    let mut total = 0.0;
    for r in 0..3 {
        let carry = buf[n - 1];
        for i in 0..n {
            buf[i] = x[i] * (r as f64 + 2.0) + carry;
        }
        total += sqnorm(&buf);
    }
    total
}

/// Writes again after a callee read it.
#[differentiable]
fn rewritten(x: &[f64]) -> f64 {
    let n = x.len();
    let mut buf = vec![0.0; n];
    let mut total = 0.0;
    for r in 0..2 {
        for i in 0..n {
            buf[i] = x[i] * (r as f64 + 1.0);
        }
        total += sqnorm(&buf);
        buf[0] = buf[1] * x[0];
        total += sqnorm(&buf);
    }
    total
}

/// Writes the first half of `out` only.
#[differentiable]
fn half(x: &[f64], out: &mut [f64]) {
    for i in 0..x.len() / 2 {
        out[i] = x[i] * x[i];
    }
}

/// A callee that does not fill the buffer: the old values are kept.
#[differentiable]
fn half_filled(x: &[f64]) -> f64 {
    let n = x.len();
    let mut buf = vec![0.0; n];
    for i in 0..n {
        buf[i] = x[i];
    }
    let mut total = 0.0;
    for _ in 0..2 {
        half(x, &mut buf);
        total += sqnorm(&buf);
        for i in 0..n {
            buf[i] = buf[i] * 0.5 + x[i];
        }
    }
    total
}

/// A callee that fills a buffer as long as `x`, given a longer one: the
/// lengths differ, so the old values are kept.
#[differentiable]
fn longer(x: &[f64]) -> f64 {
    let n = x.len();
    let l = vec![0.5; n];
    let mut buf = vec![1.0; n + 1];
    let mut total = 0.0;
    for r in 0..2 {
        qx(x, &l[1..], x, &mut buf);
        total += sqnorm(&buf) * (r as f64 + 1.0);
        buf[n] = total.sin();
    }
    total
}

#[test]
fn arrays_that_only_look_scratch() {
    check_1d(
        "partial_cover",
        partial_cover,
        partial_cover_jvp,
        partial_cover_value_and_grad,
        4,
    );
    check_1d(
        "read_first",
        read_first,
        read_first_jvp,
        read_first_value_and_grad,
        4,
    );
    check_1d(
        "rewritten",
        rewritten,
        rewritten_jvp,
        rewritten_value_and_grad,
        4,
    );
    check_1d(
        "half_filled",
        half_filled,
        half_filled_jvp,
        half_filled_value_and_grad,
        4,
    );
    check_1d("longer", longer, longer_jvp, longer_value_and_grad, 4);
}

/// Accumulated over nested loops, then read: written first and read
/// after, no old values kept (`written_then_read`).
#[differentiable]
fn accumulated_then_read(x: &[f64]) -> f64 {
    let n = x.len();
    let mut acc = vec![0.0; n];
    for r in 0..3 {
        for i in 0..n {
            acc[(i + r) % n] += (x[i] * (r as f64 + 1.0)).sin() * x[(i + 1) % n];
        }
        if x[r % n] > 0.0 {
            acc[r % n] = x[0] * x[r % n];
        }
    }
    let mut total = 0.0;
    for i in 0..n {
        total += acc[i] * acc[(i + 1) % n];
    }
    total + sqnorm(&acc)
}

/// Accumulated, read, then accumulated again: the first read must see
/// the array as it was then, so the old values are kept.
#[differentiable]
fn accumulated_read_accumulated(x: &[f64]) -> f64 {
    let n = x.len();
    let mut acc = vec![0.0; n];
    for i in 0..n {
        acc[i] += x[i] * x[(i + 1) % n];
    }
    let first = sqnorm(&acc);
    for i in 0..n {
        acc[(i + 1) % n] += (x[i] * first).sin();
    }
    first + acc[0] * acc[n - 1]
}

/// Read inside the loop that accumulates it: the old values are kept.
#[differentiable]
fn accumulated_and_read(x: &[f64]) -> f64 {
    let n = x.len();
    let mut acc = vec![0.0; n];
    for r in 0..3 {
        for i in 0..n {
            acc[i] += (x[i] + acc[(i + r) % n]).sin();
        }
    }
    sqnorm(&acc)
}

#[test]
fn arrays_written_first_and_read_after() {
    check_1d(
        "accumulated_then_read",
        accumulated_then_read,
        accumulated_then_read_jvp,
        accumulated_then_read_value_and_grad,
        5,
    );
    check_1d(
        "accumulated_read_accumulated",
        accumulated_read_accumulated,
        accumulated_read_accumulated_jvp,
        accumulated_read_accumulated_value_and_grad,
        4,
    );
    check_1d(
        "accumulated_and_read",
        accumulated_and_read,
        accumulated_and_read_jvp,
        accumulated_and_read_value_and_grad,
        4,
    );
}

#[test]
fn fills_constants() {
    // `qx` fills `out` when it is as long as `x` (parameter 2).
    assert_eq!(__qx_fills, [None, None, None, Some(2)]);
    // `half` does not fill its output.
    assert_eq!(__half_fills, [None, None]);
}

/// Loops that touch `y` and `t` only at their index, reading the old value
/// first (`y[i] += ..`, `t[i] = t[i] * ..`): saved as ranges before each
/// loop, read back by the reverse of the callee that reads them after.
#[differentiable]
fn updates_in_place(x: &[f64], y: &mut [f64]) {
    let n = y.len();
    let mut t = vec![1.0; n];
    for r in 0..3 {
        for i in 0..n {
            let old = t[i];
            t[i] = old * x[i].sin() + y[i];
        }
        let s = sqnorm(&t);
        for i in 0..n {
            y[i] += t[i] * s * 0.1 + (r as f64);
        }
    }
}

/// The same loop shape reading a neighbour: not a range snapshot.
#[differentiable]
fn neighbour(x: &[f64], y: &mut [f64]) {
    let n = y.len();
    for _ in 0..2 {
        for i in 1..n {
            y[i] = y[i - 1] * x[i] + y[i];
        }
    }
}

fn check_in_place(
    name: &str,
    f: impl Fn(&[f64], &mut [f64]),
    vjp: impl Fn(&[f64], &mut [f64], &mut [f64]) -> Vec<f64>,
) {
    let n = 4;
    let mut rng = Rng::new(5);
    for _ in 0..10 {
        let (x, y0, w) = (
            params(&mut rng, n),
            params(&mut rng, n),
            params(&mut rng, n),
        );
        // The weighted sum of the final state, as a function of x and y0.
        let objective = |z: &[f64]| {
            let mut y = z[n..].to_vec();
            f(&z[..n], &mut y);
            y.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>()
        };
        let mut y = y0.clone();
        let mut dy = w.clone();
        let gx = vjp(&x, &mut y, &mut dy);
        let mut expected_y = y0.clone();
        f(&x, &mut expected_y);
        assert_eq!(y, expected_y, "{name}: the state the function leaves");
        let z: Vec<f64> = x.iter().chain(&y0).copied().collect();
        let g: Vec<f64> = gx.iter().chain(&dy).copied().collect();
        check::gradient(objective, &g, &z, FD).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn loops_saved_as_ranges() {
    check_in_place("updates_in_place", updates_in_place, updates_in_place_vjp);
    check_in_place("neighbour", neighbour, neighbour_vjp);
}

#[differentiable]
fn first_two(x: &[f64], r: &[usize]) -> f64 {
    x[r[0]] * x[r[1]]
}

/// Index data written after a callee read it, by a loop whose reverse has
/// no adjoint to carry: its old values must still come back before the
/// callee's pullback reads the data again.
#[differentiable]
fn rewritten_after_a_call(x: &[f64], r: &mut [usize]) -> f64 {
    let a = first_two(x, r);
    r[0] = 2;
    for i in 1..r.len() {
        r[i] = 0;
    }
    a * x[r[0]]
}

#[test]
fn old_values_of_a_loop_without_adjoint() {
    let r0 = vec![0usize, 1, 3];
    let f = |x: &[f64]| rewritten_after_a_call(x, &mut r0.clone());
    check_1d(
        "rewritten_after_a_call",
        f,
        |x, v| rewritten_after_a_call_jvp(x, &mut r0.clone(), v),
        |x| rewritten_after_a_call_value_and_grad(x, &mut r0.clone()),
        4,
    );
}
