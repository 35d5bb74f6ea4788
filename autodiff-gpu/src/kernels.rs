//! The kernels that are not element-wise, each with its reverse: sum and
//! mean, matrix product, softmax and log-softmax, cross-entropy. Their
//! WGSL is in `src/wgsl/`.

use crate::map::WORKGROUP;
use crate::{Gpu, GpuBuffer, GpuError};

pub(crate) const REDUCE: &str = include_str!("wgsl/reduce.wgsl");
pub(crate) const FILL: &str = include_str!("wgsl/fill.wgsl");
pub(crate) const MATMUL: &str = include_str!("wgsl/matmul.wgsl");
// The row kernels start with what they share.
pub(crate) const SOFTMAX: &str = concat!(
    include_str!("wgsl/rows.wgsl"),
    include_str!("wgsl/softmax.wgsl")
);
pub(crate) const SOFTMAX_VJP: &str = include_str!("wgsl/softmax_vjp.wgsl");
pub(crate) const CROSS_ENTROPY: &str = concat!(
    include_str!("wgsl/rows.wgsl"),
    include_str!("wgsl/cross_entropy.wgsl")
);

/// Elements one workgroup of the sum kernel adds.
const SUM_CHUNK: u64 = 2048;

fn check_len(what: &str, b: &GpuBuffer, len: usize) -> Result<(), GpuError> {
    if b.len() == len {
        Ok(())
    } else {
        Err(GpuError::Length(format!(
            "{what} has {} elements, not {len}",
            b.len()
        )))
    }
}

fn u32_of(what: &str, n: usize) -> Result<u32, GpuError> {
    u32::try_from(n).map_err(|_| GpuError::TooLarge {
        what: what.to_string(),
        bytes: n as u64 * 4,
        limit: u64::from(u32::MAX),
    })
}

impl Gpu {
    /// The sum of the elements, as a buffer of one element.
    pub fn sum(&self, x: &GpuBuffer) -> Result<GpuBuffer, GpuError> {
        self.sum_scaled(x, 1.0)
    }

    /// The mean of the elements (NaN for none), as a buffer of one element.
    pub fn mean(&self, x: &GpuBuffer) -> Result<GpuBuffer, GpuError> {
        self.sum_scaled(x, 1.0 / x.len() as f32)
    }

    fn sum_scaled(&self, x: &GpuBuffer, scale: f32) -> Result<GpuBuffer, GpuError> {
        let pipeline = self.pipeline(REDUCE, "sum")?;
        let mut current: Option<GpuBuffer> = None;
        let mut len = x.len() as u64;
        loop {
            let groups = len.div_ceil(SUM_CHUNK).max(1);
            let last = groups == 1;
            let out = self.zeros(groups as usize)?;
            let params = self.uniform(&[
                u32_of("a sum", len as usize)?,
                (if last { scale } else { 1.0 }).to_bits(),
            ]);
            let src = current.as_ref().unwrap_or(x);
            self.dispatch_linear(&pipeline, &[&src.buffer, &out.buffer, &params], groups)?;
            if last {
                return Ok(out);
            }
            len = groups;
            current = Some(out);
        }
    }

    /// The reverse of [`Gpu::sum`]: `n` copies of the output cotangent
    /// `dy` (one element).
    pub fn sum_vjp(&self, dy: &GpuBuffer, n: usize) -> Result<GpuBuffer, GpuError> {
        self.fill(dy, n, 1.0)
    }

    /// The reverse of [`Gpu::mean`]: `n` copies of `dy / n`.
    pub fn mean_vjp(&self, dy: &GpuBuffer, n: usize) -> Result<GpuBuffer, GpuError> {
        self.fill(dy, n, 1.0 / n as f32)
    }

    fn fill(&self, dy: &GpuBuffer, n: usize, scale: f32) -> Result<GpuBuffer, GpuError> {
        check_len("the cotangent of a sum", dy, 1)?;
        let out = self.zeros(n)?;
        let pipeline = self.pipeline(FILL, "fill")?;
        let params = self.uniform(&[u32_of("a fill", n)?, scale.to_bits()]);
        self.dispatch_linear(
            &pipeline,
            &[&dy.buffer, &out.buffer, &params],
            (n as u64).div_ceil(WORKGROUP),
        )?;
        Ok(out)
    }

    /// `C = A B` for row-major `A` (`m x k`) and `B` (`k x n`).
    pub fn matmul(
        &self,
        a: &GpuBuffer,
        b: &GpuBuffer,
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<GpuBuffer, GpuError> {
        check_len("A", a, m * k)?;
        check_len("B", b, k * n)?;
        self.matmul_op(a, b, (m, k, n), 0)
    }

    /// The reverse of [`Gpu::matmul`]: `(dA, dB) = (dC Bᵀ, Aᵀ dC)`.
    pub fn matmul_vjp(
        &self,
        a: &GpuBuffer,
        b: &GpuBuffer,
        dc: &GpuBuffer,
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<(GpuBuffer, GpuBuffer), GpuError> {
        check_len("A", a, m * k)?;
        check_len("B", b, k * n)?;
        check_len("dC", dc, m * n)?;
        let da = self.matmul_op(dc, b, (m, n, k), 2)?;
        let db = self.matmul_op(a, dc, (k, m, n), 1)?;
        Ok((da, db))
    }

    /// `op(A) op(B)` with `op(A)` `m x k`, `op(B)` `k x n`; `flags` bit 0
    /// transposes A, bit 1 transposes B.
    fn matmul_op(
        &self,
        a: &GpuBuffer,
        b: &GpuBuffer,
        (m, k, n): (usize, usize, usize),
        flags: u32,
    ) -> Result<GpuBuffer, GpuError> {
        let c = self.zeros(m * n)?;
        let pipeline = self.pipeline(MATMUL, "matmul")?;
        let dims = self.uniform(&[
            u32_of("a matrix", m)?,
            u32_of("a matrix", n)?,
            u32_of("a matrix", k)?,
            flags,
        ]);
        let grid = (
            u32_of("a matrix", n.div_ceil(64))?,
            u32_of("a matrix", m.div_ceil(64))?,
        );
        self.dispatch(&pipeline, &[&a.buffer, &b.buffer, &c.buffer, &dims], grid)?;
        Ok(c)
    }

    /// The softmax of each row of `x` (`rows x cols`, row-major).
    pub fn softmax(&self, x: &GpuBuffer, rows: usize, cols: usize) -> Result<GpuBuffer, GpuError> {
        self.softmax_rows(x, rows, cols, false)
    }

    /// The log-softmax of each row of `x`.
    pub fn log_softmax(
        &self,
        x: &GpuBuffer,
        rows: usize,
        cols: usize,
    ) -> Result<GpuBuffer, GpuError> {
        self.softmax_rows(x, rows, cols, true)
    }

    fn softmax_rows(
        &self,
        x: &GpuBuffer,
        rows: usize,
        cols: usize,
        log: bool,
    ) -> Result<GpuBuffer, GpuError> {
        check_len("x", x, rows * cols)?;
        let y = self.zeros(rows * cols)?;
        let pipeline = self.pipeline(SOFTMAX, "softmax")?;
        let shape = self.uniform(&[u32_of("rows", rows)?, u32_of("cols", cols)?, u32::from(log)]);
        self.dispatch_linear(&pipeline, &[&x.buffer, &y.buffer, &shape], rows as u64)?;
        Ok(y)
    }

    /// The reverse of [`Gpu::softmax`], from its output `y` and the
    /// cotangent `dy`: `y (dy - sum(dy y))` per row.
    pub fn softmax_vjp(
        &self,
        y: &GpuBuffer,
        dy: &GpuBuffer,
        rows: usize,
        cols: usize,
    ) -> Result<GpuBuffer, GpuError> {
        self.softmax_rows_vjp(y, dy, rows, cols, false)
    }

    /// The reverse of [`Gpu::log_softmax`], from its output `y` and the
    /// cotangent `dy`: `dy - exp(y) sum(dy)` per row.
    pub fn log_softmax_vjp(
        &self,
        y: &GpuBuffer,
        dy: &GpuBuffer,
        rows: usize,
        cols: usize,
    ) -> Result<GpuBuffer, GpuError> {
        self.softmax_rows_vjp(y, dy, rows, cols, true)
    }

    fn softmax_rows_vjp(
        &self,
        y: &GpuBuffer,
        dy: &GpuBuffer,
        rows: usize,
        cols: usize,
        log: bool,
    ) -> Result<GpuBuffer, GpuError> {
        check_len("y", y, rows * cols)?;
        check_len("dy", dy, rows * cols)?;
        let dx = self.zeros(rows * cols)?;
        let pipeline = self.pipeline(SOFTMAX_VJP, "softmax_vjp")?;
        let shape = self.uniform(&[u32_of("rows", rows)?, u32_of("cols", cols)?, u32::from(log)]);
        self.dispatch_linear(
            &pipeline,
            &[&y.buffer, &dy.buffer, &dx.buffer, &shape],
            rows as u64,
        )?;
        Ok(dx)
    }

    /// The cross-entropy of each row of `logits` (`rows x cols`) against
    /// its label: `logsumexp(row) - row[label]`, one loss per row.
    pub fn cross_entropy(
        &self,
        logits: &GpuBuffer,
        labels: &[u32],
        rows: usize,
        cols: usize,
    ) -> Result<GpuBuffer, GpuError> {
        self.check_labels(logits, labels, rows, cols)?;
        let labels = self.upload_u32(labels)?;
        let loss = self.zeros(rows)?;
        let pipeline = self.pipeline(CROSS_ENTROPY, "cross_entropy")?;
        let shape = self.uniform(&[u32_of("rows", rows)?, u32_of("cols", cols)?]);
        self.dispatch_linear(
            &pipeline,
            &[&logits.buffer, &labels, &loss.buffer, &shape],
            rows as u64,
        )?;
        Ok(loss)
    }

    /// The reverse of [`Gpu::cross_entropy`]: `(softmax(row) -
    /// onehot(label)) dloss[row]`; `dloss` has one element per row, or one
    /// for all.
    pub fn cross_entropy_vjp(
        &self,
        logits: &GpuBuffer,
        labels: &[u32],
        dloss: &GpuBuffer,
        rows: usize,
        cols: usize,
    ) -> Result<GpuBuffer, GpuError> {
        self.check_labels(logits, labels, rows, cols)?;
        if dloss.len() != rows && dloss.len() != 1 {
            return Err(GpuError::Length(format!(
                "dloss has {} elements, not {rows} (one per row) or 1",
                dloss.len()
            )));
        }
        let labels = self.upload_u32(labels)?;
        let dx = self.zeros(rows * cols)?;
        let pipeline = self.pipeline(CROSS_ENTROPY, "cross_entropy_vjp")?;
        let shape = self.uniform(&[u32_of("rows", rows)?, u32_of("cols", cols)?]);
        self.dispatch_linear(
            &pipeline,
            &[&logits.buffer, &labels, &dx.buffer, &shape, &dloss.buffer],
            rows as u64,
        )?;
        Ok(dx)
    }

    fn check_labels(
        &self,
        logits: &GpuBuffer,
        labels: &[u32],
        rows: usize,
        cols: usize,
    ) -> Result<(), GpuError> {
        check_len("logits", logits, rows * cols)?;
        if labels.len() != rows {
            return Err(GpuError::Length(format!(
                "{} labels for {rows} rows",
                labels.len()
            )));
        }
        if let Some(l) = labels.iter().find(|&&l| l as usize >= cols) {
            return Err(GpuError::Length(format!(
                "label {l} out of range for {cols} columns"
            )));
        }
        Ok(())
    }
}

/// Every WGSL module this crate ships or builds, by name: the kernels
/// above, and each element-wise primitive's value, JVP and VJP modules (with
/// and without a shared argument), for validation without a GPU.
pub fn all_wgsl() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = [
        ("reduce", REDUCE),
        ("fill", FILL),
        ("matmul", MATMUL),
        ("softmax", SOFTMAX),
        ("softmax_vjp", SOFTMAX_VJP),
        ("cross_entropy", CROSS_ENTROPY),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s.to_string()))
    .collect();
    for (name, kernel) in crate::primitives::PRIMITIVES {
        out.extend(kernel.modules().map(|(m, s)| (format!("{name} {m}"), s)));
    }
    out
}
