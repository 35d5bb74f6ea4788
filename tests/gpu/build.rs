//! Generates random programs in the subset `#[differentiable(gpu)]`
//! supports, for `tests/fuzz.rs`: `fn(a: f32, b: f32, c: f32) -> f32` made of
//! `let` and `let mut`, assignments, `if`/`else`, `match` on an integer,
//! `for` loops with constant bounds (their index read as a float), float
//! methods, and calls of GPU helpers.
//!
//! `AUTODIFF_GPU_FUZZ_COUNT` (default 40) programs from
//! `AUTODIFF_GPU_FUZZ_SEED` (default 1).

use std::fmt::Write as _;

include!("../fuzz/generator.rs");

struct Gen {
    rng: Rng,
    out: String,
    indent: usize,
    floats: Vec<Vec<String>>,
    muts: Vec<Vec<String>>,
    index: Vec<String>,
    counter: usize,
}

impl Gen {
    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    fn line(&mut self, text: &str) {
        let _ = writeln!(self.out, "{}{text}", "    ".repeat(self.indent));
    }

    fn leaf(&mut self) -> String {
        let floats: Vec<String> = self.floats.iter().flatten().cloned().collect();
        let muts: Vec<String> = self.muts.iter().flatten().cloned().collect();
        match self.rng.below(6) {
            0 if !floats.is_empty() => floats[self.rng.below(floats.len())].clone(),
            1 if !muts.is_empty() => muts[self.rng.below(muts.len())].clone(),
            2 if !self.index.is_empty() => {
                let i = self.index[self.rng.below(self.index.len())].clone();
                format!("({i} as f32)")
            }
            3 => format!("{:?}", 0.25 + self.rng.below(8) as f64 * 0.25),
            _ => ["a", "b", "c"][self.rng.below(3)].to_string(),
        }
    }

    /// A float expression whose size stays moderate: the GPU's and the
    /// CPU's rounding differ, and the programs should not amplify it.
    fn expr(&mut self, depth: usize) -> String {
        if depth == 0 || self.rng.below(4) == 0 {
            return self.leaf();
        }
        let d = depth - 1;
        match self.rng.below(17) {
            0 => format!("({} + {})", self.expr(d), self.expr(d)),
            1 => format!("({} - {})", self.expr(d), self.expr(d)),
            2 | 3 => format!("({} * {})", self.expr(d), self.expr(d)),
            4 => format!("({}).sin()", self.expr(d)),
            5 => format!("({}).cos()", self.expr(d)),
            6 => format!("({}).tanh()", self.expr(d)),
            7 => format!("({}).tanh().exp()", self.expr(d)),
            8 => {
                let e = self.expr(d);
                format!("({e} * {e} + 1.0).sqrt()")
            }
            9 => {
                let e = self.expr(d);
                format!("({e} / (1.0 + {e} * {e}))")
            }
            10 => format!(
                "({}).mul_add({}, {})",
                self.expr(d),
                self.expr(d),
                self.expr(d)
            ),
            11 => format!("({}).atan2(1.5 + ({}).abs())", self.expr(d), self.expr(d)),
            12 => format!("({}).max({})", self.expr(d), self.expr(d)),
            13 => format!("({}).hypot({})", self.expr(d), self.expr(d)),
            14 => format!("helper_a({})", self.expr(d)),
            15 => format!("helper_b({}, {})", self.expr(d), self.expr(d)),
            _ => format!("(({}).powi(2) + 0.5).ln()", self.expr(d)),
        }
    }

    fn stmts(&mut self, count: usize, depth: usize) {
        for _ in 0..count {
            self.stmt(depth);
        }
    }

    fn stmt(&mut self, depth: usize) {
        let muts: Vec<String> = self.muts.iter().flatten().cloned().collect();
        match self.rng.below(if depth == 0 { 3 } else { 6 }) {
            0 => {
                let v = self.fresh("v");
                let e = self.expr(3);
                self.line(&format!("let {v} = {e};"));
                self.floats.last_mut().unwrap().push(v);
            }
            1 | 2 if !muts.is_empty() => {
                let m = muts[self.rng.below(muts.len())].clone();
                let e = self.expr(2);
                let op = ["=", "+=", "-=", "*="][self.rng.below(4)];
                let e = if op == "*=" {
                    format!("({e}).tanh()")
                } else {
                    e
                };
                self.line(&format!("{m} {op} {e};"));
            }
            1 | 2 => {
                let m = self.fresh("m");
                let e = self.expr(2);
                self.line(&format!("let mut {m} = {e};"));
                self.muts.last_mut().unwrap().push(m);
            }
            3 => {
                let cond = format!("{} > {}", self.expr(1), self.expr(1));
                self.line(&format!("if {cond} {{"));
                self.block(depth);
                self.line("} else {");
                self.block(depth);
                self.line("}");
            }
            4 => {
                let i = self.fresh("k");
                let n = 1 + self.rng.below(3);
                self.line(&format!("for {i} in 0..{n} {{"));
                self.index.push(i);
                self.block(depth);
                self.index.pop();
                self.line("}");
            }
            _ => {
                let e = self.expr(1);
                self.line(&format!("match ((({e}).tanh() + 1.0) * 1.5) as i32 {{"));
                for arm in ["0 =>", "1 | 2 =>", "_ =>"] {
                    self.line(&format!("{arm} {{"));
                    self.block(depth);
                    self.line("}");
                }
                self.line("}");
            }
        }
    }

    fn block(&mut self, depth: usize) {
        self.indent += 1;
        self.floats.push(vec![]);
        self.muts.push(vec![]);
        let n = 1 + self.rng.below(2);
        self.stmts(n, depth - 1);
        self.floats.pop();
        self.muts.pop();
        self.indent -= 1;
    }

    fn program(&mut self, name: &str) {
        self.floats = vec![vec![]];
        self.muts = vec![vec![]];
        self.index.clear();
        self.line("#[differentiable(gpu)]");
        self.line(&format!("fn {name}(a: f32, b: f32, c: f32) -> f32 {{"));
        self.indent += 1;
        let n = 2 + self.rng.below(4);
        self.stmts(n, 2);
        let muts: Vec<String> = self.muts.iter().flatten().cloned().collect();
        let mut result = self.expr(2);
        for m in muts {
            result = format!("{result} + {m}");
        }
        self.line(&result);
        self.indent -= 1;
        self.line("}");
    }
}

fn main() {
    println!("cargo::rerun-if-changed=../fuzz/generator.rs");
    let (count, seed) = count_and_seed("AUTODIFF_GPU_FUZZ", 40, 1);
    let mut g = Gen {
        rng: Rng(seed),
        out: String::new(),
        indent: 0,
        floats: vec![],
        muts: vec![],
        index: vec![],
        counter: 0,
    };
    let mut table = String::from("pub static PROGRAMS: &[Program] = &[\n");
    for k in 0..count {
        let name = format!("p{k}");
        let start = g.out.len();
        g.program(&name);
        let source = g.out[start..].to_string();
        let _ = writeln!(
            table,
            "    Program {{ name: {name:?}, f: {name}, jvp: {name}_jvp, vjp: {name}_vjp, kernel: {name}_gpu_kernel, source: {source:?} }},"
        );
    }
    table.push_str("];\n");
    let path = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("programs.rs");
    std::fs::write(path, format!("{}\n{table}", g.out)).unwrap();
}
