//! The ADBench/GradBench objectives (`tests/objectives`, written as users
//! write them) at several sizes each: the primal, the generated gradient,
//! the hand-written gradient (`tests/objectives/manual.rs`) and the peers
//! from crates.io (`peers.rs`); their ratios to the primal, and the peak
//! heap memory of each at the largest size, measured by a counting
//! allocator.
//!
//! `cargo bench --bench adbench` prints the tables; `bash docs/benchmarks.sh`
//! runs it with `--runs 3 --write-docs docs/benchmarks.md`, which replaces
//! the section between the `adbench` markers of that file. Other
//! arguments: `--quick` (the smallest size of each, one sample: a check
//! that it runs, not a measurement), `--runs N` (the whole benchmark N
//! times, each time the median over the runs) and any other word, a filter
//! on the objective's name.
//!
//! Timing: each measurement is the median of 5 samples (3 above half a
//! second a call), a sample running the function enough times to last
//! 50 ms; primal and gradients of a size are measured back to back. Before
//! timing, the generated gradient is checked against the hand-written one
//! to 1e-10 and against the peers' to 1e-8.

#![allow(clippy::needless_range_loop, clippy::too_many_arguments)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

#[path = "../../tests/objectives/mod.rs"]
mod objectives;
mod peers;

use objectives::*;

// ---------------------------------------------------------------------------
// Measuring.

/// Counts the heap bytes in use and their peak.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The peak of heap bytes `f` adds to what is in use.
fn peak_bytes(f: impl FnOnce()) -> usize {
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed) - before
}

/// Seconds per call: the median of a few samples.
fn time(quick: bool, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    f();
    let once = start.elapsed().as_secs_f64().max(1e-9);
    if quick {
        return once;
    }
    let reps = ((0.05 / once) as usize).max(1);
    let samples = if once > 0.5 { 3 } else { 5 };
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[samples / 2]
}

fn assert_agree(what: &str, got: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    let scale = expected.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (a, b)) in got.iter().zip(expected).enumerate() {
        assert!(
            (a - b).abs() <= tol * scale,
            "{what}[{i}]: {a:e} against {b:e}"
        );
    }
}

// ---------------------------------------------------------------------------
// Results.

/// One size of one objective.
struct Row {
    objective: &'static str,
    size: String,
    primal: f64,
    ours: f64,
    manual: Option<f64>,
    /// (peer, seconds)
    peers: Vec<(&'static str, f64)>,
}

/// Peak memory at the largest size of one objective.
struct Memory {
    objective: &'static str,
    size: String,
    primal: usize,
    ours: usize,
    manual: Option<usize>,
    /// The gradient itself (what the gradient function returns).
    gradient: usize,
    /// The inputs.
    inputs: usize,
}

impl Row {
    /// A row with the primal and our gradient only.
    fn timed(objective: &'static str, size: String, primal: f64, ours: f64) -> Row {
        Row {
            objective,
            size,
            primal,
            ours,
            manual: None,
            peers: vec![],
        }
    }
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    memory: Vec<Memory>,
}

struct Bench {
    quick: bool,
    filters: Vec<String>,
    report: Report,
}

impl Bench {
    fn wants(&self, objective: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| objective.contains(f.as_str()))
    }

    fn row(&mut self, row: Row) {
        let ratio = row.ours / row.primal;
        eprintln!(
            "{:<10} {:<22} primal {:>11}  ours {:>11} ({ratio:.2}x){}{}",
            row.objective,
            row.size,
            seconds(row.primal),
            seconds(row.ours),
            row.manual
                .map(|m| format!("  manual {} ({:.2}x)", seconds(m), m / row.primal))
                .unwrap_or_default(),
            row.peers
                .iter()
                .map(|(p, t)| format!("  {p} {} ({:.1}x)", seconds(*t), t / row.primal))
                .collect::<String>(),
        );
        self.report.rows.push(row);
    }
}

fn seconds(t: f64) -> String {
    if t >= 1.0 {
        format!("{t:.3} s")
    } else if t >= 1e-3 {
        format!("{:.3} ms", t * 1e3)
    } else {
        format!("{:.2} µs", t * 1e6)
    }
}

fn bytes(b: usize) -> String {
    if b >= 1 << 20 {
        format!("{:.1} MB", b as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} kB", b as f64 / 1024.0)
    }
}

// ---------------------------------------------------------------------------
// The objectives.

fn gmm(b: &mut Bench, r: &mut Lcg) {
    if !b.wants("gmm") {
        return;
    }
    let sizes: &[(usize, usize, usize)] = if b.quick {
        &[(2, 5, 1000)]
    } else {
        &[
            (2, 5, 1000),
            (10, 25, 1000),
            (20, 50, 1000),
            (64, 100, 1000),
        ]
    };
    for (si, &(d, k, n)) in sizes.iter().enumerate() {
        let icf_sz = d * (d + 1) / 2;
        let (alphas, means, icf) = (
            r.vec(k, -1.0, 1.0),
            r.vec(d * k, -1.0, 1.0),
            r.vec(icf_sz * k, -0.5, 0.5),
        );
        let x = r.vec(d * n, -1.0, 1.0);
        let ours = gmm_objective_grad(d, k, &alphas, &means, &icf, &x, 1.5, 2);
        let manual = manual::gmm_objective_grad(d, k, &alphas, &means, &icf, &x, 1.5, 2);
        let flat = |g: &(Vec<f64>, Vec<f64>, Vec<f64>)| -> Vec<f64> {
            g.0.iter().chain(&g.1).chain(&g.2).copied().collect()
        };
        assert_agree(
            "gmm: generated against hand-written",
            &flat(&ours),
            &flat(&manual),
            1e-10,
        );
        let q = b.quick;
        let primal = time(q, || {
            black_box(gmm_objective(
                d,
                k,
                black_box(&alphas),
                &means,
                &icf,
                &x,
                1.5,
                2,
            ));
        });
        let t_ours = time(q, || {
            black_box(gmm_objective_grad(
                d,
                k,
                black_box(&alphas),
                &means,
                &icf,
                &x,
                1.5,
                2,
            ));
        });
        let t_manual = time(q, || {
            black_box(manual::gmm_objective_grad(
                d,
                k,
                black_box(&alphas),
                &means,
                &icf,
                &x,
                1.5,
                2,
            ));
        });
        // The peers at the second size, on 100 points (their cost grows
        // with the points like ours; one pass per input makes num-dual
        // slow), timed against our gradient on the same points.
        let mut peer_times = Vec::new();
        if si == 1.min(sizes.len() - 1) {
            let n_peer = 100;
            let xs = &x[..d * n_peer];
            let params: Vec<f64> = alphas.iter().chain(&means).chain(&icf).copied().collect();
            let ours = flat(&gmm_objective_grad(d, k, &alphas, &means, &icf, xs, 1.5, 2));
            let tape = peers::tape_gradient(|p| peers::gmm(d, k, p, xs, 1.5, 2), &params);
            assert_agree("gmm: echidna", &tape, &ours, 1e-8);
            let dual = peers::dual_vec_gradient(|p| peers::gmm(d, k, p, xs, 1.5, 2), &params);
            assert_agree("gmm: num-dual", &dual, &ours, 1e-8);
            let primal = time(q, || {
                black_box(gmm_objective(
                    d,
                    k,
                    black_box(&alphas),
                    &means,
                    &icf,
                    xs,
                    1.5,
                    2,
                ));
            });
            let ours = time(q, || {
                black_box(gmm_objective_grad(
                    d,
                    k,
                    black_box(&alphas),
                    &means,
                    &icf,
                    xs,
                    1.5,
                    2,
                ));
            });
            let tape = time(q, || {
                black_box(peers::tape_gradient(
                    |p| peers::gmm(d, k, p, xs, 1.5, 2),
                    &params,
                ));
            });
            let dual = time(true, || {
                black_box(peers::dual_gradient(
                    |p| peers::gmm(d, k, p, xs, 1.5, 2),
                    &params,
                ));
            });
            let dual_vec = time(q, || {
                black_box(peers::dual_vec_gradient(
                    |p| peers::gmm(d, k, p, xs, 1.5, 2),
                    &params,
                ));
            });
            peer_times.push(PeerRow {
                objective: "gmm",
                size: format!("d={d} K={k} n={n_peer} ({} inputs)", params.len()),
                primal,
                ours,
                tape,
                dual,
                dual_vec,
            });
        }
        b.row(Row {
            objective: "gmm",
            size: format!("d={d} K={k} n={n}"),
            primal,
            ours: t_ours,
            manual: Some(t_manual),
            peers: vec![],
        });
        for p in peer_times {
            PEERS.with(|v| v.borrow_mut().push(p));
        }
        if si == sizes.len() - 1 {
            let inputs = 8 * (alphas.len() + means.len() + icf.len() + x.len());
            b.report.memory.push(Memory {
                objective: "gmm",
                size: format!("d={d} K={k} n={n}"),
                primal: peak_bytes(|| {
                    black_box(gmm_objective(d, k, &alphas, &means, &icf, &x, 1.5, 2));
                }),
                ours: peak_bytes(|| {
                    black_box(gmm_objective_grad(d, k, &alphas, &means, &icf, &x, 1.5, 2));
                }),
                manual: Some(peak_bytes(|| {
                    black_box(manual::gmm_objective_grad(
                        d, k, &alphas, &means, &icf, &x, 1.5, 2,
                    ));
                })),
                gradient: 8 * (alphas.len() + means.len() + icf.len()),
                inputs,
            });
        }
    }
}

/// A comparison with the peers.
struct PeerRow {
    objective: &'static str,
    size: String,
    primal: f64,
    ours: f64,
    tape: f64,
    dual: f64,
    dual_vec: f64,
}

thread_local! {
    static PEERS: std::cell::RefCell<Vec<PeerRow>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn ode(b: &mut Bench, r: &mut Lcg) {
    if !b.wants("ode") {
        return;
    }
    let sizes: &[usize] = if b.quick {
        &[1000]
    } else {
        &[1000, 10_000, 100_000]
    };
    let s = 100;
    for (si, &n) in sizes.iter().enumerate() {
        let x = r.vec(n, 0.5, 1.5);
        assert_agree(
            "ode",
            &ode_sum_grad(&x, s),
            &manual::ode_sum_grad(&x, s),
            1e-10,
        );
        let q = b.quick;
        let primal = time(q, || {
            black_box(ode_sum(black_box(&x), s));
        });
        let ours = time(q, || {
            black_box(ode_sum_grad(black_box(&x), s));
        });
        let manual = time(q, || {
            black_box(manual::ode_sum_grad(black_box(&x), s));
        });
        b.row(Row {
            objective: "ode",
            size: format!("n={n} steps={s}"),
            primal,
            ours,
            manual: Some(manual),
            peers: vec![],
        });
        if si == sizes.len() - 1 {
            b.report.memory.push(Memory {
                objective: "ode",
                size: format!("n={n} steps={s}"),
                primal: peak_bytes(|| {
                    black_box(ode_sum(&x, s));
                }),
                ours: peak_bytes(|| {
                    black_box(ode_sum_grad(&x, s));
                }),
                manual: Some(peak_bytes(|| {
                    black_box(manual::ode_sum_grad(&x, s));
                })),
                gradient: 8 * n,
                inputs: 8 * n,
            });
        }
    }
}

fn det(b: &mut Bench, r: &mut Lcg) {
    if !b.wants("det") {
        return;
    }
    let sizes: &[usize] = if b.quick { &[5] } else { &[7, 9, 10] };
    for &m in sizes {
        let a = r.vec(m * m, -1.0, 1.0);
        let q = b.quick;
        let primal = time(q, || {
            black_box(det_by_minors(black_box(&a), m));
        });
        let ours = time(q, || {
            black_box(det_by_minors_grad(black_box(&a), m));
        });
        b.row(Row::timed("det", format!("{m}x{m}"), primal, ours));
    }
}

fn ba(b: &mut Bench, r: &mut Lcg) {
    if !b.wants("ba") {
        return;
    }
    let sizes: &[(usize, usize, usize)] = if b.quick {
        &[(20, 200, 2000)]
    } else {
        &[(20, 200, 2000), (50, 2000, 20_000)]
    };
    for &(n_cams, n_points, n_obs) in sizes {
        let mut cams = Vec::new();
        for _ in 0..n_cams {
            cams.extend(r.vec(3, -0.3, 0.3));
            cams.extend([
                r.uniform(-0.5, 0.5),
                r.uniform(-0.5, 0.5),
                r.uniform(-5.0, -4.0),
            ]);
            cams.extend([
                r.uniform(0.8, 1.2),
                r.uniform(-0.1, 0.1),
                r.uniform(-0.1, 0.1),
            ]);
            cams.extend(r.vec(2, -0.05, 0.05));
        }
        let points = r.vec(3 * n_points, -1.0, 1.0);
        let weights = r.vec(n_obs, 0.5, 1.5);
        let obs: Vec<usize> = (0..n_obs)
            .flat_map(|k| [k % n_cams, (k * 7) % n_points])
            .collect();
        let feats = r.vec(2 * n_obs, -0.5, 0.5);
        let q = b.quick;
        let primal = time(q, || {
            black_box(ba_objective(
                black_box(&cams),
                &points,
                &weights,
                &obs,
                &feats,
            ));
        });
        let ours = time(q, || {
            black_box(ba_objective_grad(
                black_box(&cams),
                &points,
                &weights,
                &obs,
                &feats,
            ));
        });
        b.row(Row::timed(
            "ba",
            format!("{n_cams} cams, {n_points} points, {n_obs} obs"),
            primal,
            ours,
        ));
    }
}

fn hand(b: &mut Bench, r: &mut Lcg) {
    if !b.wants("hand") {
        return;
    }
    let sizes: &[usize] = if b.quick { &[500] } else { &[500, 5000] };
    let n_bones = 22;
    for &n_verts in sizes {
        let parents: Vec<i64> = (0..n_bones as i64)
            .map(|b| if b == 0 { -1 } else { (b - 1) / 2 })
            .collect();
        let (base_relatives, weights) = (
            r.vec(12 * n_bones, -1.0, 1.0),
            r.vec(n_verts * n_bones, 0.0, 1.0),
        );
        let (base_positions, points) =
            (r.vec(3 * n_verts, -1.0, 1.0), r.vec(3 * n_verts, -1.0, 1.0));
        let theta = r.vec(3 * n_bones, -1.0, 1.0);
        let q = b.quick;
        let args = (
            &parents,
            &base_relatives,
            &weights,
            &base_positions,
            &points,
        );
        let primal = time(q, || {
            black_box(hand_loss(
                black_box(&theta),
                args.0,
                args.1,
                args.2,
                args.3,
                args.4,
            ));
        });
        let ours = time(q, || {
            black_box(hand_loss_grad(
                black_box(&theta),
                args.0,
                args.1,
                args.2,
                args.3,
                args.4,
            ));
        });
        b.row(Row::timed(
            "hand",
            format!("{n_bones} bones, {n_verts} vertices"),
            primal,
            ours,
        ));
    }
}

fn lstm(b: &mut Bench, r: &mut Lcg) {
    if !b.wants("lstm") {
        return;
    }
    let sizes: &[(usize, usize, usize)] = if b.quick {
        &[(2, 64, 20)]
    } else {
        &[(2, 64, 20), (4, 1024, 20)]
    };
    for &(l, c, len) in sizes {
        let (main_params, extra_params) = (r.vec(8 * c * l, -1.0, 1.0), r.vec(3 * c, -1.0, 1.0));
        let sequence: Vec<f64> = (0..len * c)
            .map(|k| if k % c == (k / c * 7) % c { 1.0 } else { 0.0 })
            .collect();
        let q = b.quick;
        let primal = time(q, || {
            black_box(lstm_objective(
                l,
                c,
                black_box(&main_params),
                &extra_params,
                &sequence,
            ));
        });
        let ours = time(q, || {
            black_box(lstm_objective_grad(
                l,
                c,
                black_box(&main_params),
                &extra_params,
                &sequence,
            ));
        });
        b.row(Row::timed(
            "lstm",
            format!("l={l} c={c} len={len}"),
            primal,
            ours,
        ));
    }
}

fn logsumexp_and_llsq(b: &mut Bench, r: &mut Lcg) {
    let q = b.quick;
    if b.wants("logsumexp") {
        let sizes: &[usize] = if q {
            &[1000]
        } else {
            &[1000, 100_000, 1_280_000]
        };
        for &n in sizes {
            let v = r.vec(n, -3.0, 3.0);
            assert_agree(
                "logsumexp",
                &logsumexp_grad(&v),
                &manual::logsumexp_grad(&v),
                1e-10,
            );
            let mut peers = Vec::new();
            if n == 1000 {
                let ours = logsumexp_grad(&v);
                let tape = peers::tape_gradient(peers::logsumexp, &v);
                assert_agree("logsumexp: echidna", &tape, &ours, 1e-8);
                let dual = peers::dual_gradient(peers::logsumexp, &v);
                assert_agree("logsumexp: num-dual", &dual, &ours, 1e-8);
                peers.push((
                    "echidna",
                    time(q, || {
                        black_box(peers::tape_gradient(peers::logsumexp, black_box(&v)));
                    }),
                ));
                peers.push((
                    "num-dual",
                    time(q, || {
                        black_box(peers::dual_gradient(peers::logsumexp, black_box(&v)));
                    }),
                ));
                peers.push((
                    "num-dual x8",
                    time(q, || {
                        black_box(peers::dual_vec_gradient(peers::logsumexp, black_box(&v)));
                    }),
                ));
            }
            let primal = time(q, || {
                black_box(logsumexp(black_box(&v)));
            });
            let ours = time(q, || {
                black_box(logsumexp_grad(black_box(&v)));
            });
            let manual = time(q, || {
                black_box(manual::logsumexp_grad(black_box(&v)));
            });
            b.row(Row {
                objective: "logsumexp",
                size: format!("n={n}"),
                primal,
                ours,
                manual: Some(manual),
                peers,
            });
        }
    }
    if b.wants("llsq") {
        let sizes: &[(usize, usize)] = if q {
            &[(32, 1024)]
        } else {
            &[(32, 4096), (1000, 1000), (128, 65_536)]
        };
        for &(m, n) in sizes {
            let (w, x, y) = (
                r.vec(m, -1.0, 1.0),
                r.vec(m * n, -1.0, 1.0),
                r.vec(n, -1.0, 1.0),
            );
            assert_agree(
                "llsq",
                &llsq_grad(&w, &x, &y),
                &manual::llsq_grad(&w, &x, &y),
                1e-10,
            );
            let mut peers = Vec::new();
            if m == 1000 {
                let ours = llsq_grad(&w, &x, &y);
                let tape = peers::tape_gradient(|w| peers::llsq(w, &x, &y), &w);
                assert_agree("llsq: echidna", &tape, &ours, 1e-8);
                let dual = peers::dual_vec_gradient(|w| peers::llsq(w, &x, &y), &w);
                assert_agree("llsq: num-dual", &dual, &ours, 1e-8);
                peers.push((
                    "echidna",
                    time(q, || {
                        black_box(peers::tape_gradient(
                            |w| peers::llsq(w, &x, &y),
                            black_box(&w),
                        ));
                    }),
                ));
                peers.push((
                    "num-dual",
                    time(true, || {
                        black_box(peers::dual_gradient(
                            |w| peers::llsq(w, &x, &y),
                            black_box(&w),
                        ));
                    }),
                ));
                peers.push((
                    "num-dual x8",
                    time(q, || {
                        black_box(peers::dual_vec_gradient(
                            |w| peers::llsq(w, &x, &y),
                            black_box(&w),
                        ));
                    }),
                ));
            }
            let primal = time(q, || {
                black_box(llsq(black_box(&w), &x, &y));
            });
            let ours = time(q, || {
                black_box(llsq_grad(black_box(&w), &x, &y));
            });
            let manual = time(q, || {
                black_box(manual::llsq_grad(black_box(&w), &x, &y));
            });
            b.row(Row {
                objective: "llsq",
                size: format!("m={m} n={n}"),
                primal,
                ours,
                manual: Some(manual),
                peers,
            });
        }
    }
}

// ---------------------------------------------------------------------------
// The report.

/// The targets of the speed issue: gradient time over primal time, summed
/// over the sizes.
const TARGETS: &[(&str, f64)] = &[
    ("gmm", 4.0),
    ("ode", 3.0),
    ("det", 8.0),
    ("ba", 6.0),
    ("lstm", 4.0),
    ("logsumexp", 1.5),
    ("llsq", 2.0),
    ("hand", f64::NAN),
];

fn markdown(report: &Report, quick: bool, runs: usize) -> String {
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "Generated by `bash docs/benchmarks.sh` (`cargo bench --bench adbench -- --runs 3 --write-docs docs/benchmarks.md`){}.", if quick { " with `--quick`: one sample of the smallest sizes, not a measurement" } else { "" }).ok();
    writeln!(w).ok();
    writeln!(
        w,
        "Machine: {}, {} logical CPUs, one thread. {}. Peers: {}.",
        cpu_model(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        rustc_version(),
        peer_versions()
    )
    .ok();
    writeln!(w).ok();
    writeln!(w, "### Gradient time / primal time").ok();
    writeln!(w).ok();
    writeln!(w, "Each time is the median over {runs} run(s) of the whole benchmark of the median of 5 samples (3 above half a second). \"sum\" is the sum of the gradient times over the sum of the primal times of an objective's sizes, the figure the targets are stated in.").ok();
    writeln!(w).ok();
    writeln!(
        w,
        "| objective | size | primal | generated gradient | ratio | hand-written gradient | ratio |"
    )
    .ok();
    writeln!(w, "|---|---|---|---|---|---|---|").ok();
    for r in &report.rows {
        let (m, mr) = match r.manual {
            Some(m) => (seconds(m), format!("{:.2}", m / r.primal)),
            None => ("–".into(), "–".into()),
        };
        writeln!(
            w,
            "| {} | {} | {} | {} | **{:.2}** | {} | {} |",
            r.objective,
            r.size,
            seconds(r.primal),
            seconds(r.ours),
            r.ours / r.primal,
            m,
            mr
        )
        .ok();
    }
    writeln!(w).ok();
    writeln!(
        w,
        "| objective | sum: generated / primal | target | sum: hand-written / primal |"
    )
    .ok();
    writeln!(w, "|---|---|---|---|").ok();
    for &(objective, target) in TARGETS {
        let rows: Vec<&Row> = report
            .rows
            .iter()
            .filter(|r| r.objective == objective)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let primal: f64 = rows.iter().map(|r| r.primal).sum();
        let ours: f64 = rows.iter().map(|r| r.ours).sum();
        let manual = if rows.iter().all(|r| r.manual.is_some()) {
            format!(
                "{:.2}",
                rows.iter().map(|r| r.manual.unwrap_or(0.0)).sum::<f64>() / primal
            )
        } else {
            "–".into()
        };
        let ratio = ours / primal;
        let target = if target.is_nan() {
            "–".to_string()
        } else if ratio <= target {
            format!("<= {target} (met)")
        } else {
            format!("<= {target} (**missed**)")
        };
        writeln!(w, "| {objective} | **{ratio:.2}** | {target} | {manual} |").ok();
    }
    writeln!(w).ok();
    writeln!(w, "### Peers").ok();
    writeln!(w).ok();
    writeln!(w, "The same objectives written generic over the scalar (`benches/adbench/peers.rs`) for `echidna`'s reverse-mode tape and `num-dual`'s forward mode (one pass per input with `Dual64`, eight per pass with `DualSVec64<8>`); gradients checked against ours to 1e-8. GMM on its first 100 points.").ok();
    writeln!(w).ok();
    writeln!(w, "| objective | size | primal | generated | echidna (tape) | num-dual, one pass per input | num-dual x8 | echidna / generated | num-dual / generated |").ok();
    writeln!(w, "|---|---|---|---|---|---|---|---|---|").ok();
    let mut peer_rows: Vec<PeerRow> = PEERS.with(|v| std::mem::take(&mut *v.borrow_mut()));
    for r in &report.rows {
        if r.peers.len() == 3 {
            peer_rows.push(PeerRow {
                objective: r.objective,
                size: format!("{} (1000 inputs)", r.size),
                primal: r.primal,
                ours: r.ours,
                tape: r.peers[0].1,
                dual: r.peers[1].1,
                dual_vec: r.peers[2].1,
            });
        }
    }
    for p in &peer_rows {
        writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | **{:.1}** | **{:.0}** |",
            p.objective,
            p.size,
            seconds(p.primal),
            seconds(p.ours),
            seconds(p.tape),
            seconds(p.dual),
            seconds(p.dual_vec),
            p.tape / p.ours,
            p.dual / p.ours
        )
        .ok();
    }
    writeln!(w).ok();
    writeln!(w, "### Peak heap memory at the largest size").ok();
    writeln!(w).ok();
    writeln!(w, "Bytes allocated and not yet freed, at their peak during one call, above what was in use before it (a counting global allocator); the inputs are not counted.").ok();
    writeln!(w).ok();
    writeln!(w, "| objective | size | inputs | primal | generated gradient | gradient itself | (generated - gradient) / primal | hand-written gradient |").ok();
    writeln!(w, "|---|---|---|---|---|---|---|---|").ok();
    for m in &report.memory {
        writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {:.1} | {} |",
            m.objective,
            m.size,
            bytes(m.inputs),
            bytes(m.primal),
            bytes(m.ours),
            bytes(m.gradient),
            (m.ours as f64 - m.gradient as f64) / m.primal.max(1) as f64,
            m.manual.map(bytes).unwrap_or_else(|| "–".into())
        )
        .ok();
    }
    writeln!(w).ok();
    if let Ok(size) = std::fs::read_to_string("target/generated-code-size.md") {
        writeln!(w, "### Size of the generated code").ok();
        writeln!(w).ok();
        w.push_str(&size);
        writeln!(w).ok();
    }
    out
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn rustc_version() -> String {
    std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "rustc (unknown version)".into())
}

/// The versions of the peers, from the lock file.
fn peer_versions() -> String {
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    ["echidna", "num-dual"]
        .iter()
        .map(|name| {
            let version = lock
                .split("[[package]]")
                .find(|p| p.contains(&format!("name = \"{name}\"\n")))
                .and_then(|p| p.lines().find(|l| l.starts_with("version")))
                .and_then(|l| l.split('"').nth(1))
                .unwrap_or("?");
            format!("{name} {version}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Replaces the section between the markers of `path`.
fn write_docs(path: &str, section: &str) {
    const BEGIN: &str = "<!-- adbench:begin -->";
    const END: &str = "<!-- adbench:end -->";
    let doc = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("{path} has no `{BEGIN}` ... `{END}` section");
    };
    let new = format!("{}{BEGIN}\n{section}{}", &doc[..b], &doc[e..]);
    std::fs::write(path, new).unwrap_or_else(|e| panic!("{path}: {e}"));
    eprintln!("wrote {path}");
}

/// The median of each time over the runs, row by row (the runs measure the
/// same rows in the same order).
fn median_of(mut runs: Vec<Report>, peer_runs: Vec<Vec<PeerRow>>) -> (Report, Vec<PeerRow>) {
    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
    let mut first = runs.remove(0);
    for (k, row) in first.rows.iter_mut().enumerate() {
        let all = |f: &dyn Fn(&Row) -> f64| -> Vec<f64> {
            std::iter::once(&*row)
                .map(f)
                .chain(runs.iter().map(|r| f(&r.rows[k])))
                .collect()
        };
        let (primal, ours) = (median(all(&|r| r.primal)), median(all(&|r| r.ours)));
        let manual = row
            .manual
            .map(|_| median(all(&|r| r.manual.unwrap_or(f64::NAN))));
        let peers: Vec<f64> = (0..row.peers.len())
            .map(|p| median(all(&|r| r.peers[p].1)))
            .collect();
        row.primal = primal;
        row.ours = ours;
        row.manual = manual;
        for (p, t) in row.peers.iter_mut().zip(peers) {
            p.1 = t;
        }
    }
    let mut peer_runs = peer_runs.into_iter();
    let mut peers = peer_runs.next().unwrap_or_default();
    let rest: Vec<Vec<PeerRow>> = peer_runs.collect();
    for (k, p) in peers.iter_mut().enumerate() {
        let all = |f: &dyn Fn(&PeerRow) -> f64| -> Vec<f64> {
            std::iter::once(f(p))
                .chain(rest.iter().map(|r| f(&r[k])))
                .collect()
        };
        let times = (
            median(all(&|p| p.primal)),
            median(all(&|p| p.ours)),
            median(all(&|p| p.tape)),
            median(all(&|p| p.dual)),
            median(all(&|p| p.dual_vec)),
        );
        (p.primal, p.ours, p.tape, p.dual, p.dual_vec) = times;
    }
    (first, peers)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut quick, mut filters, mut docs, mut runs) = (false, vec![], None, 1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => {}
            "--quick" => quick = true,
            "--write-docs" => docs = args.next(),
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            f if !f.starts_with('-') => filters.push(f.to_string()),
            _ => {}
        }
    }
    let mut reports = Vec::new();
    let mut peer_runs = Vec::new();
    for run in 0..runs.max(1) {
        eprintln!("run {} of {runs}", run + 1);
        let mut bench = Bench {
            quick,
            filters: filters.clone(),
            report: Report::default(),
        };
        let mut r = Lcg(42);
        gmm(&mut bench, &mut r);
        ode(&mut bench, &mut r);
        det(&mut bench, &mut r);
        ba(&mut bench, &mut r);
        hand(&mut bench, &mut r);
        lstm(&mut bench, &mut r);
        logsumexp_and_llsq(&mut bench, &mut r);
        reports.push(bench.report);
        peer_runs.push(PEERS.with(|v| std::mem::take(&mut *v.borrow_mut())));
    }
    let (report, peers) = median_of(reports, peer_runs);
    PEERS.with(|v| *v.borrow_mut() = peers);
    let md = markdown(&report, quick, runs);
    match docs {
        Some(path) => write_docs(&path, &md),
        None => println!("{md}"),
    }
}
