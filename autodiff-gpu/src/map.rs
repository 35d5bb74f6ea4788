//! Map kernels: a scalar function's value, JVP or VJP run over arrays,
//! one element per invocation.
//!
//! The WGSL of the function comes from `#[differentiable(gpu)]` (or
//! `__gpu_primitives!` for the primitives): `u_f`, `u_f_jvp`, `u_f_vjp`
//! and what they call. This module adds the entry point, generated for the
//! mode and for which arguments are shared by every element (length 1):
//! their cotangents are summed, first within each workgroup in the VJP
//! kernel itself, then by [`Gpu::sum`] over the per-workgroup sums.

use crate::{Gpu, GpuBuffer, GpuError, MapArg};

/// Threads per workgroup of every kernel of this crate.
pub(crate) const WORKGROUP: u64 = 256;

/// The WGSL of a differentiable scalar function of `f32`s: its value, JVP
/// and VJP functions and what they need, and the functions it calls.
#[derive(Debug)]
pub struct Kernel {
    /// The Rust function's name.
    pub name: &'static str,
    /// How many `f32` parameters it takes.
    pub inputs: usize,
    /// WGSL functions (rules, then `u_f`, `u_f_jvp`, `u_f_vjp`).
    pub pieces: &'static [&'static str],
    /// The GPU functions it calls.
    pub callees: &'static [&'static Kernel],
}

/// What a map kernel computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `f(x..)`: one output.
    Value,
    /// `f_jvp(x.., dx..)`: the value and the tangent.
    Jvp,
    /// `f_vjp(x.., dr)`: one cotangent per parameter.
    Vjp,
}

impl Mode {
    /// How many arguments a kernel of `inputs` parameters takes.
    pub fn args(self, inputs: usize) -> usize {
        match self {
            Mode::Value => inputs,
            Mode::Jvp => 2 * inputs,
            Mode::Vjp => inputs + 1,
        }
    }

    /// How many arrays it writes.
    pub fn outputs(self, inputs: usize) -> usize {
        match self {
            Mode::Value => 1,
            Mode::Jvp => 2,
            Mode::Vjp => inputs,
        }
    }
}

impl Kernel {
    /// The WGSL functions of this kernel and of its callees, each once,
    /// after the prelude.
    pub fn functions(&self) -> String {
        let mut pieces: Vec<&'static str> = Vec::new();
        self.collect(&mut pieces);
        let mut s = String::from(crate::primitives::PRELUDE);
        for p in pieces {
            s.push_str(p);
        }
        s
    }

    fn collect(&self, out: &mut Vec<&'static str>) {
        for c in self.callees {
            c.collect(out);
        }
        for &p in self.pieces {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }

    /// The whole WGSL module of `mode`, entry point `main`; `shared[j]`
    /// says that argument `j` has one value for every element.
    pub fn module(&self, mode: Mode, shared: &[bool]) -> String {
        let k = self.inputs;
        let nargs = mode.args(k);
        let nout = mode.outputs(k);
        let mut s = self.functions();
        s.push_str("\n// The entry point: one element per invocation.\n");
        for j in 0..nargs {
            s.push_str(&format!(
                "@group(0) @binding({j}) var<storage, read> a{j}: array<f32>;\n"
            ));
        }
        for j in 0..nout {
            s.push_str(&format!(
                "@group(0) @binding({}) var<storage, read_write> r{j}: array<f32>;\n",
                nargs + j
            ));
        }
        s.push_str(&format!(
            "@group(0) @binding({}) var<uniform> ad_shape: vec4<u32>;\n",
            nargs + nout
        ));
        // Outputs summed over the elements: the cotangents of shared
        // parameters.
        let reduced: Vec<bool> = (0..nout)
            .map(|j| mode == Mode::Vjp && shared.get(j).copied().unwrap_or(false))
            .collect();
        let any_reduced = reduced.iter().any(|&r| r);
        if any_reduced {
            s.push_str("var<workgroup> ad_red: array<f32, 256>;\n");
        }
        s.push_str(
            "@compute @workgroup_size(256)\n\
             fn main(@builtin(global_invocation_id) gid: vec3<u32>, \
             @builtin(local_invocation_index) li: u32, \
             @builtin(workgroup_id) wid: vec3<u32>, \
             @builtin(num_workgroups) nwg: vec3<u32>) {\n\
             \x20   let i = gid.x + gid.y * nwg.x * 256u;\n\
             \x20   let live = i < ad_shape.x;\n\
             \x20   let e = select(0u, i, live);\n",
        );
        let args: Vec<String> = (0..nargs)
            .map(|j| {
                if shared.get(j).copied().unwrap_or(false) {
                    format!("a{j}[0]")
                } else {
                    format!("a{j}[e]")
                }
            })
            .collect();
        let (function, results): (String, Vec<String>) = match mode {
            Mode::Value => (format!("u_{}", self.name), vec!["t".into()]),
            Mode::Jvp => (
                format!("u_{}_jvp", self.name),
                vec!["t.p0".into(), "t.p1".into()],
            ),
            Mode::Vjp => (
                format!("u_{}_vjp", self.name),
                if k == 1 {
                    vec!["t".into()]
                } else {
                    (0..k).map(|j| format!("t.p{j}")).collect()
                },
            ),
        };
        s.push_str(&format!("    let t = {function}({});\n", args.join(", ")));
        for (j, r) in results.iter().enumerate() {
            if reduced[j] {
                s.push_str(&format!(
                    "    ad_red[li] = select(0.0, {r}, live);\n\
                     \x20   workgroupBarrier();\n\
                     \x20   for (var s = 128u; s > 0u; s = s >> 1u) {{\n\
                     \x20       if li < s {{\n\
                     \x20           ad_red[li] = ad_red[li] + ad_red[li + s];\n\
                     \x20       }}\n\
                     \x20       workgroupBarrier();\n\
                     \x20   }}\n\
                     \x20   let g{j} = wid.x + wid.y * nwg.x;\n\
                     \x20   if li == 0u && g{j} < arrayLength(&r{j}) {{\n\
                     \x20       r{j}[g{j}] = ad_red[0];\n\
                     \x20   }}\n\
                     \x20   workgroupBarrier();\n"
                ));
            } else {
                s.push_str(&format!("    if live {{\n        r{j}[i] = {r};\n    }}\n"));
            }
        }
        s.push_str("}\n");
        s
    }

    /// Its modules for each mode, with no argument shared and with the first
    /// one shared: what a test validates without a GPU.
    pub fn modules(&self) -> impl Iterator<Item = (String, String)> + '_ {
        [Mode::Value, Mode::Jvp, Mode::Vjp]
            .into_iter()
            .flat_map(move |mode| {
                let n = mode.args(self.inputs);
                let mut first = vec![false; n];
                first[0] = true;
                [
                    (format!("{mode:?}"), self.module(mode, &vec![false; n])),
                    (
                        format!("{mode:?}, first argument shared"),
                        self.module(mode, &first),
                    ),
                ]
            })
    }

    /// Runs `mode` of this kernel over `args` (see [`Mode::args`]): each of
    /// length `n`, or 1 for a value shared by every element. The outputs
    /// have length `n`, except a VJP's cotangents of shared arguments,
    /// which are summed (length 1).
    pub fn run(
        &self,
        gpu: &Gpu,
        mode: Mode,
        args: &[MapArg<'_>],
    ) -> Result<Vec<GpuBuffer>, GpuError> {
        self.check_args(mode, args)?;
        let n = elements(self.name, args)?;
        let outputs: Vec<GpuBuffer> = (0..mode.outputs(self.inputs))
            .map(|j| gpu.zeros(if reduced(mode, args, n, j) { 1 } else { n }))
            .collect::<Result<_, _>>()?;
        let refs: Vec<&GpuBuffer> = outputs.iter().collect();
        self.run_into(gpu, mode, args, &refs)?;
        Ok(outputs)
    }

    /// [`Kernel::run`] into buffers the caller keeps (of the lengths `run`
    /// returns): no allocation, and no clearing of new buffers, per call.
    pub fn run_into(
        &self,
        gpu: &Gpu,
        mode: Mode,
        args: &[MapArg<'_>],
        outputs: &[&GpuBuffer],
    ) -> Result<(), GpuError> {
        self.check_args(mode, args)?;
        let n = elements(self.name, args)?;
        let nout = mode.outputs(self.inputs);
        if outputs.len() != nout {
            return Err(GpuError::Length(format!(
                "`{}` ({mode:?}) writes {nout} arrays, not {}",
                self.name,
                outputs.len()
            )));
        }
        for (j, out) in outputs.iter().enumerate() {
            let want = if reduced(mode, args, n, j) { 1 } else { n };
            if out.len() != want {
                return Err(GpuError::Length(format!(
                    "output {j} of `{}` ({mode:?}) has {} elements, not {want}",
                    self.name,
                    out.len()
                )));
            }
        }
        if n == 0 {
            for (j, out) in outputs.iter().enumerate() {
                if reduced(mode, args, n, j) {
                    gpu.queue.write_buffer(&out.buffer, 0, &[0; 4]);
                }
            }
            return Ok(());
        }
        let shared: Vec<bool> = args.iter().map(|a| a.len() == 1 && n != 1).collect();
        let uploaded: Vec<Option<GpuBuffer>> = args
            .iter()
            .map(|a| match a {
                MapArg::Host(x) => gpu.upload(x).map(Some),
                MapArg::Device(_) => Ok(None),
            })
            .collect::<Result<_, _>>()?;
        let mut buffers: Vec<&wgpu::Buffer> = Vec::new();
        for (a, u) in args.iter().zip(&uploaded) {
            match (a, u) {
                (MapArg::Device(b), _) => buffers.push(&b.buffer),
                (MapArg::Host(_), Some(b)) => buffers.push(&b.buffer),
                (MapArg::Host(_), None) => {
                    return Err(GpuError::Wgpu("an argument was not uploaded".into()));
                }
            }
        }
        let groups = (n as u64).div_ceil(WORKGROUP);
        let grid = crate::context::grid(groups, gpu.limits().max_compute_workgroups_per_dimension)?;
        // Reduced outputs: one partial sum per workgroup, summed after.
        let partials: Vec<Option<GpuBuffer>> = (0..nout)
            .map(|j| {
                if reduced(mode, args, n, j) {
                    gpu.zeros((u64::from(grid.0) * u64::from(grid.1)) as usize)
                        .map(Some)
                } else {
                    Ok(None)
                }
            })
            .collect::<Result<_, _>>()?;
        for (out, partial) in outputs.iter().zip(&partials) {
            buffers.push(match partial {
                Some(p) => &p.buffer,
                None => &out.buffer,
            });
        }
        let shape = gpu.uniform(&[n as u32]);
        buffers.push(&shape);
        let pipeline = gpu.map_pipeline(self, mode, &shared)?;
        gpu.dispatch(&pipeline, &buffers, grid)?;
        for (out, partial) in outputs.iter().zip(&partials) {
            if let Some(p) = partial {
                gpu.copy(&gpu.sum(p)?, out);
            }
        }
        Ok(())
    }

    fn check_args(&self, mode: Mode, args: &[MapArg<'_>]) -> Result<(), GpuError> {
        let nargs = mode.args(self.inputs);
        if args.len() != nargs {
            return Err(GpuError::Length(format!(
                "`{}` ({mode:?}) takes {nargs} arrays, not {}",
                self.name,
                args.len()
            )));
        }
        Ok(())
    }
}

/// Whether output `j` of `mode` is summed over the elements: the
/// cotangent of an argument shared by all of them.
fn reduced(mode: Mode, args: &[MapArg<'_>], n: usize, j: usize) -> bool {
    mode == Mode::Vjp && n != 1 && args[j].len() == 1
}

/// The number of elements of a map over `args`: their common length, the
/// arguments of length 1 aside.
fn elements(name: &str, args: &[MapArg<'_>]) -> Result<usize, GpuError> {
    let mut n: Option<usize> = None;
    for a in args {
        let len = a.len();
        if len == 1 {
            continue;
        }
        match n {
            None => n = Some(len),
            Some(m) if m == len => {}
            Some(m) => {
                return Err(GpuError::Length(format!(
                    "`{name}` maps arrays of one length (or of length 1, shared by every \
                     element): got lengths {m} and {len}"
                )));
            }
        }
    }
    Ok(match n {
        Some(n) => n,
        None if args.is_empty() => 0,
        None => 1,
    })
}

/// What a host function generated by `#[differentiable(gpu)]` calls.
pub fn run(
    gpu: &Gpu,
    kernel: &Kernel,
    mode: Mode,
    args: Vec<MapArg<'_>>,
) -> Result<Vec<GpuBuffer>, GpuError> {
    kernel.run(gpu, mode, &args)
}

/// The outputs of a run as an array of `N` (the generated code knows `N`).
pub fn outputs<const N: usize>(buffers: Vec<GpuBuffer>) -> [GpuBuffer; N] {
    match buffers.try_into() {
        Ok(array) => array,
        Err(v) => panic!("a kernel returned {} arrays, not {N}", v.len()),
    }
}

/// The element-wise primitive `name` (`"sin"`, `"add"`, `"powf"`, ...):
/// its value, JVP and VJP kernels, with the rules of the CPU runtime.
pub fn elementwise(name: &str) -> Option<&'static Kernel> {
    crate::primitives::PRIMITIVES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, k)| k)
}

/// The names of the element-wise primitives.
pub fn elementwise_names() -> impl Iterator<Item = &'static str> {
    crate::primitives::PRIMITIVES.iter().map(|(n, _)| *n)
}
