//! Generates random programs in the subset `#[differentiable]` supports:
//! straight-line code, branches, `for` and `while` loops with `break` and
//! `continue`, local arrays written in place and read back, small array
//! values (mutable ones reassigned whole, in loops too), struct variables
//! (`FuzzInner`: literals, results of calls, reassigned, passed on), calls
//! of helpers taking scalars, slices and parts of slices, in-out helpers
//! lent local arrays, calls whose results are partly used, array values
//! from calls carried by loops or chosen by branches, sums over index
//! data, a generic recursive helper, calls made for their effects,
//! iterator chains (adapters, closures over the element, `sum`, `fold`,
//! `max_by`) and closures bound by `let`.
//! Each program has the signature `fn(x: &[f64], a: f64, b: f64) -> f64`;
//! `tests/fuzz.rs` checks its gradient against finite differences and its
//! JVP against its gradient.
//!
//! `AUTODIFF_FUZZ_COUNT` (default 200) programs from `AUTODIFF_FUZZ_SEED`
//! (default 1).

use std::fmt::Write as _;

include!("generator.rs");

/// The length of `x` the programs are run with.
const N: usize = 4;

struct Gen {
    rng: Rng,
    out: String,
    indent: usize,
    /// Float variables in scope, immutable and mutable.
    floats: Vec<Vec<String>>,
    muts: Vec<Vec<String>>,
    /// Local arrays of length `N` (written, read back), and array values.
    arrays: Vec<Vec<String>>,
    vectors: Vec<Vec<(String, usize)>>,
    /// Mutable array values of two elements, reassigned whole.
    mut_vectors: Vec<Vec<String>>,
    /// Struct variables (`FuzzInner`), and the mutable ones.
    structs: Vec<Vec<String>>,
    mut_structs: Vec<Vec<String>>,
    /// Whether the function has a `FuzzInner` literal, which tells the
    /// macro its fields.
    literal_struct: bool,
    /// Local arrays of indices (`vec![0usize; n]`), written and read.
    data: Vec<Vec<String>>,
    /// Closures bound by `let`, of one float.
    closures: Vec<Vec<String>>,
    /// The loop index in scope, if any, and whether `break` may appear.
    index: Option<String>,
    in_loop: bool,
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

    fn all<T: Clone>(scopes: &[Vec<T>]) -> Vec<T> {
        scopes.iter().flatten().cloned().collect()
    }

    /// Adds a name to the innermost scope of one of the scope stacks.
    fn bind<T>(&mut self, stack: impl Fn(&mut Self) -> &mut Vec<Vec<T>>, item: T) {
        if let Some(scope) = stack(self).last_mut() {
            scope.push(item);
        }
    }

    fn push_scope(&mut self) {
        self.closures.push(vec![]);
        self.data.push(vec![]);
        self.floats.push(vec![]);
        self.muts.push(vec![]);
        self.arrays.push(vec![]);
        self.vectors.push(vec![]);
        self.mut_vectors.push(vec![]);
        self.structs.push(vec![]);
        self.mut_structs.push(vec![]);
    }

    fn pop_scope(&mut self) {
        self.closures.pop();
        self.data.pop();
        self.floats.pop();
        self.muts.pop();
        self.arrays.pop();
        self.vectors.pop();
        self.mut_vectors.pop();
        self.structs.pop();
        self.mut_structs.pop();
    }

    fn literal(&mut self) -> String {
        let v = 0.25 + self.rng.below(8) as f64 * 0.25;
        format!("{v:?}")
    }

    /// A float expression, `depth` levels deep at most.
    fn expr(&mut self, depth: usize) -> String {
        if depth == 0 || self.rng.chance(25) {
            return self.leaf();
        }
        let d = depth - 1;
        match self.rng.below(22) {
            19 | 20 => self.chain(d),
            21 if !Self::all(&self.closures).is_empty() => {
                let closures = Self::all(&self.closures);
                let c = closures[self.rng.below(closures.len())].clone();
                format!("{c}({})", self.expr(d))
            }
            0 => format!("({} + {})", self.expr(d), self.expr(d)),
            1 => format!("({} - {})", self.expr(d), self.expr(d)),
            2 | 3 => format!("({} * {})", self.expr(d), self.expr(d)),
            4 => format!("{}.sin()", self.paren(d)),
            5 => format!("{}.cos()", self.paren(d)),
            6 => format!("{}.tanh()", self.paren(d)),
            7 => format!("{}.tanh().exp()", self.paren(d)),
            8 => {
                let e = self.expr(d);
                format!("({e} * {e} + 1.0).sqrt()")
            }
            9 => {
                let e = self.expr(d);
                format!("{{ let t = {e}; t / (1.0 + t * t) }}")
            }
            10 => format!(
                "{}.mul_add({}, {})",
                self.paren(d),
                self.expr(d),
                self.expr(d)
            ),
            11 => format!("{}.powi(2)", self.paren(d)),
            12 => {
                let structs = Self::all(&self.structs);
                match structs.is_empty() || self.rng.chance(50) {
                    true => format!("helper_scalar({})", self.expr(d)),
                    false => {
                        let st = structs[self.rng.below(structs.len())].clone();
                        format!("helper_inner(&{st}, {})", self.expr(d))
                    }
                }
            }
            13 => {
                let slice = self.slice_arg();
                format!("helper_slice({slice}, {})", self.expr(d))
            }
            14 => {
                let k = self.rng.below(2);
                format!("helper_pair({}, {})[{k}]", self.expr(d), self.expr(d))
            }
            // A generic helper with recursion, an early return and a
            // `loop` value, at `f64`.
            17 if self.rng.chance(40) => {
                format!("helper_rec({}, {})", self.expr(d), self.rng.below(3))
            }
            // A weight from a constant table, half of them zeros: the
            // derivative of the term is skipped where it is zero.
            15 | 16 => {
                let k = self.rng.below(8);
                let w = match &self.index {
                    Some(i) => format!("W[({i} + {k}) % 8]"),
                    None => format!("W[{k}]"),
                };
                format!("({w} * {})", self.paren(d.max(2)))
            }
            _ => {
                let e = self.expr(d);
                format!("({e} * 0.5).sin().powi(2).ln_1p()")
            }
        }
    }

    /// An iterator chain over `x`, a part of it or a local array, with
    /// adapters, a closure over the element, and a consumer.
    fn chain(&mut self, depth: usize) -> String {
        let arrays = Self::all(&self.arrays);
        let mut chain = match self.rng.below(4) {
            0 if !arrays.is_empty() => format!("{}.iter()", arrays[self.rng.below(arrays.len())]),
            1 => format!("x[{}..].iter()", self.rng.below(N - 1)),
            2 => "x.windows(2).map(|w| w[1] - w[0] * 0.5)".to_string(),
            _ => "x.iter()".to_string(),
        };
        // Whether the elements are references (`&f64`) or values.
        let mut by_ref = !chain.starts_with("x.windows");
        for _ in 0..self.rng.below(3) {
            let (step, values) = match self.rng.below(8) {
                0 => (".rev()".to_string(), false),
                1 => (format!(".skip({})", self.rng.below(2)), false),
                2 => (format!(".take({})", 1 + self.rng.below(3)), false),
                3 => (format!(".step_by({})", 1 + self.rng.below(2)), false),
                4 => {
                    let t = if by_ref { "**t" } else { "*t" };
                    (format!(".filter(|t| {t} > 0.3)"), false)
                }
                5 => {
                    let q = if by_ref { "&q" } else { "q" };
                    (format!(".zip(x.iter().rev()).map(|({q}, &r)| q * r)"), true)
                }
                6 => {
                    let q = if by_ref { "&q" } else { "q" };
                    (
                        format!(".enumerate().map(|(i, {q})| q * (i as f64 + 0.5))"),
                        true,
                    )
                }
                _ if by_ref => (".copied()".to_string(), true),
                _ => (".rev()".to_string(), false),
            };
            chain += &step;
            if values {
                by_ref = false;
            }
        }
        let e = self.fresh("e");
        self.push_scope();
        self.bind(|g| &mut g.floats, e.clone());
        let body = self.expr(depth);
        self.pop_scope();
        let pat = if by_ref { format!("&{e}") } else { e.clone() };
        match self.rng.below(5) {
            0 => format!("{chain}.fold(0.25, |acc, {pat}| acc * 0.5 + {body})"),
            1 => {
                format!("{chain}.map(|{pat}| {body}).fold(f64::NEG_INFINITY, f64::max).max(-10.0)")
            }
            2 => format!(
                "{chain}.map(|{pat}| {body}).max_by(|p: &f64, q: &f64| p.total_cmp(q)).unwrap_or(0.5)"
            ),
            _ => format!("{chain}.map(|{pat}| {body}).sum::<f64>()"),
        }
    }

    fn paren(&mut self, depth: usize) -> String {
        format!("({})", self.expr(depth))
    }

    /// A slice argument: `x`, a part of it, or a local array.
    fn slice_arg(&mut self) -> String {
        let arrays = Self::all(&self.arrays);
        match self.rng.below(4) {
            0 if !arrays.is_empty() => format!("&{}", arrays[self.rng.below(arrays.len())]),
            1 => {
                let lo = self.rng.below(N - 1);
                let hi = lo + 1 + self.rng.below(N - lo - 1);
                format!("&x[{lo}..{hi}]")
            }
            2 => format!("&x[{}..]", self.rng.below(N)),
            _ => "x".to_string(),
        }
    }

    fn leaf(&mut self) -> String {
        let floats = Self::all(&self.floats);
        let muts = Self::all(&self.muts);
        let arrays = Self::all(&self.arrays);
        let vectors = Self::all(&self.vectors);
        match self.rng.below(9) {
            0 | 1 if !floats.is_empty() => floats[self.rng.below(floats.len())].clone(),
            2 if !muts.is_empty() => muts[self.rng.below(muts.len())].clone(),
            3 => format!("x[{}]", self.rng.below(N)),
            4 if self.index.is_some() => format!("x[{}]", self.index.clone().unwrap_or_default()),
            5 if !arrays.is_empty() => {
                let a = arrays[self.rng.below(arrays.len())].clone();
                match &self.index {
                    Some(i) if self.rng.chance(50) => format!("{a}[({i} + 1) % {N}]"),
                    _ => format!("{a}[{}]", self.rng.below(N)),
                }
            }
            6 if !vectors.is_empty() => {
                let (v, n) = vectors[self.rng.below(vectors.len())].clone();
                format!("{v}[{}]", self.rng.below(n))
            }
            7 if !Self::all(&self.data).is_empty() && self.rng.chance(50) => {
                let data = Self::all(&self.data);
                let d = data[self.rng.below(data.len())].clone();
                format!("x[{d}[{}]]", self.rng.below(N))
            }
            7 => self.literal(),
            8 if !Self::all(&self.structs).is_empty() && self.rng.chance(50) => {
                let structs = Self::all(&self.structs);
                format!("{}.b", structs[self.rng.below(structs.len())])
            }
            _ => ["a", "b"][self.rng.below(2)].to_string(),
        }
    }

    /// A local array in scope, lent mutably whole or from an element on:
    /// `(w, "&mut w")` or `(w, "&mut w[k..]")`.
    fn lent_array(&mut self) -> Option<(String, String)> {
        let arrays = Self::all(&self.arrays);
        if arrays.is_empty() {
            return None;
        }
        let w = arrays[self.rng.below(arrays.len())].clone();
        let target = match self.rng.below(2) {
            0 => format!("&mut {w}"),
            _ => format!("&mut {w}[{}..]", self.rng.below(N - 1)),
        };
        Some((w, target))
    }

    fn condition(&mut self) -> String {
        format!("{} > {}", self.expr(1), self.expr(1))
    }

    fn stmts(&mut self, count: usize, depth: usize) {
        for _ in 0..count {
            self.stmt(depth);
        }
    }

    fn stmt(&mut self, depth: usize) {
        let muts = Self::all(&self.muts);
        // Inside branches and loops, mostly update the variables outside.
        let nested = self.floats.len() > 1;
        let mut_vectors = Self::all(&self.mut_vectors);
        let mut_structs = Self::all(&self.mut_structs);
        let arrays = Self::all(&self.arrays);
        let pick = if nested && !muts.is_empty() && self.rng.chance(40) {
            3
        } else if !arrays.is_empty() && self.rng.chance(12) {
            // In-out helpers on the local arrays: often, for their
            // derivatives come only through the arrays' contents.
            18
        } else if nested && !mut_vectors.is_empty() && self.rng.chance(20) {
            14
        } else if nested && !mut_structs.is_empty() && self.rng.chance(20) {
            15
        } else if !nested && self.rng.chance(15) {
            // Before the loops and branches that reassign them.
            [16, 17][self.rng.below(2)]
        } else {
            self.rng.below(24)
        };
        match pick {
            // A closure of one float, capturing what is in scope.
            1 if self.rng.chance(30) => {
                let name = self.fresh("c");
                let p = self.fresh("p");
                // It captures no variable that is assigned later (rustc
                // refuses an assignment while the closure borrows it):
                // immutable floats, array values and the parameters only.
                let saved = (
                    std::mem::take(&mut self.muts),
                    std::mem::take(&mut self.arrays),
                    std::mem::take(&mut self.structs),
                    std::mem::take(&mut self.data),
                    self.vectors.clone(),
                );
                let assigned = Self::all(&self.mut_vectors);
                for scope in self.vectors.iter_mut() {
                    scope.retain(|(v, _)| !assigned.contains(v));
                }
                let depth = saved.0.len();
                self.muts = vec![vec![]; depth];
                self.arrays = vec![vec![]; depth];
                self.structs = vec![vec![]; depth];
                self.data = vec![vec![]; depth];
                let mut_vectors = std::mem::replace(&mut self.mut_vectors, vec![vec![]; depth]);
                let mut_structs = std::mem::replace(&mut self.mut_structs, vec![vec![]; depth]);
                self.push_scope();
                self.bind(|g| &mut g.floats, p.clone());
                let body = self.expr(2);
                self.pop_scope();
                (
                    self.muts,
                    self.arrays,
                    self.structs,
                    self.data,
                    self.vectors,
                ) = saved;
                (self.mut_vectors, self.mut_structs) = (mut_vectors, mut_structs);
                self.line(&format!("let {name} = |{p}: f64| {body};"));
                self.bind(|g| &mut g.closures, name);
            }
            0 | 1 => {
                let name = self.fresh("v");
                let e = self.expr(3);
                self.line(&format!("let {name} = {e};"));
                self.bind(|g| &mut g.floats, name);
            }
            2 => {
                let name = self.fresh("m");
                let e = self.expr(2);
                self.line(&format!("let mut {name} = {e};"));
                self.bind(|g| &mut g.muts, name);
            }
            3 | 4 if !muts.is_empty() => {
                let m = muts[self.rng.below(muts.len())].clone();
                let e = self.expr(2);
                let op = ["=", "+=", "-="][self.rng.below(3)];
                self.line(&format!("{m} {op} {e};"));
                if self.rng.chance(30) {
                    let e = self.expr(1);
                    self.line(&format!("{m} *= ({e}).tanh();"));
                }
            }
            5 if depth > 0 => {
                let c = self.condition();
                self.line(&format!("if {c} {{"));
                self.block(2, depth - 1);
                self.line("} else {");
                self.block(1, depth - 1);
                self.line("}");
            }
            6 if depth > 0 && self.index.is_none() => {
                let i = self.fresh("i");
                // Constant bounds too: small loops of those are unrolled.
                let bound = ["x.len()", "4", "3"][self.rng.below(3)];
                self.line(&format!("for {i} in 0..{bound} {{"));
                let (outer_index, outer_loop) = (self.index.replace(i), self.in_loop);
                self.in_loop = true;
                self.block(3, depth - 1);
                self.index = outer_index;
                self.in_loop = outer_loop;
                self.line("}");
            }
            7 if depth > 0 => {
                let k = self.fresh("k");
                self.line(&format!("let mut {k} = 0;"));
                let trips = 1 + self.rng.below(3);
                self.line(&format!("while {k} < {trips} {{"));
                self.indent += 1;
                self.line(&format!("{k} += 1;"));
                self.indent -= 1;
                let outer = self.in_loop;
                self.in_loop = true;
                self.block(2, depth - 1);
                self.in_loop = outer;
                self.line("}");
            }
            8 => {
                let w = self.fresh("w");
                let i = self.fresh("i");
                self.line(&format!("let mut {w} = vec![0.0; x.len()];"));
                let bound = ["x.len()", "4"][self.rng.below(2)];
                self.line(&format!("for {i} in 0..{bound} {{"));
                self.indent += 1;
                let outer = self.index.replace(i.clone());
                let e = self.expr(2);
                self.line(&format!("{w}[{i}] = {e};"));
                if self.rng.chance(50) {
                    let e = self.expr(1);
                    self.line(&format!("{w}[{i}] = {w}[{i}] * ({e}).tanh();"));
                }
                self.index = outer;
                self.indent -= 1;
                self.line("}");
                self.bind(|g| &mut g.arrays, w);
            }
            9 => {
                let arrays = Self::all(&self.arrays);
                if arrays.is_empty() {
                    return;
                }
                let w = arrays[self.rng.below(arrays.len())].clone();
                let e = self.expr(2);
                match &self.index {
                    Some(i) => self.line(&format!("{w}[{i}] += {e};")),
                    None => {
                        let c = self.rng.below(N);
                        self.line(&format!("{w}[{c}] = {e};"))
                    }
                }
            }
            10 => {
                let v = self.fresh("p");
                let n = 2 + self.rng.below(2);
                let items: Vec<String> = (0..n).map(|_| self.expr(1)).collect();
                self.line(&format!("let {v} = [{}];", items.join(", ")));
                self.bind(|g| &mut g.vectors, (v, n));
            }
            // A helper writing a local array, or a part of one.
            11 if !self.in_loop || self.rng.chance(50) => {
                let Some((w, target)) = self.lent_array() else {
                    return;
                };
                // Not reading the array it writes: Rust lends it once.
                let src = loop {
                    let s = self.slice_arg();
                    if !s.contains(&w) {
                        break s;
                    }
                };
                let e = self.expr(1);
                self.line(&format!("helper_write({src}, {e}, {target});"));
            }
            // Indices: made, then some swapped (data written and read
            // back, never differentiated).
            13 => {
                let d = self.fresh("d");
                let i = self.fresh("i");
                let shift = 1 + self.rng.below(N - 1);
                self.line(&format!("let mut {d} = vec![0usize; x.len()];"));
                self.line(&format!("for {i} in 0..x.len() {{"));
                self.indent += 1;
                self.line(&format!("{d}[{i}] = ({i} + {shift}) % x.len();"));
                self.indent -= 1;
                self.line("}");
                let (p, q) = (self.rng.below(N), self.rng.below(N));
                self.line(&format!("let t{} = {d}[{p}];", self.counter));
                self.line(&format!("{d}[{p}] = {d}[{q}];"));
                self.line(&format!("{d}[{q}] = t{};", self.counter));
                self.bind(|g| &mut g.data, d);
            }
            // A mutable array value reassigned whole: a literal (reading
            // itself), or what a call returns.
            14 if !mut_vectors.is_empty() => {
                let q = mut_vectors[self.rng.below(mut_vectors.len())].clone();
                let (e, f) = (self.expr(1), self.expr(1));
                match self.rng.below(3) {
                    0 => self.line(&format!("{q} = helper_pair({e}, {f});")),
                    1 => self.line(&format!("{q} = [{q}[1] * {e}, {q}[0] + {f}];")),
                    _ => self.line(&format!("{q} = [{e}, {f}];")),
                }
            }
            // A mutable struct variable reassigned whole, or its field.
            15 if !mut_structs.is_empty() => {
                let st = mut_structs[self.rng.below(mut_structs.len())].clone();
                let e = self.expr(1);
                match self.rng.below(3) {
                    0 => self.line(&format!("{st} = helper_make({e});")),
                    1 => {
                        self.literal_struct = true;
                        self.line(&format!("{st} = FuzzInner {{ b: {st}.b * {e} }};"))
                    }
                    _ => self.line(&format!("{st}.b += {e};")),
                }
            }
            16 => {
                let q = self.fresh("q");
                let (e, f) = (self.expr(1), self.expr(1));
                self.line(&format!("let mut {q} = [{e}, {f}];"));
                self.bind(|g| &mut g.vectors, (q.clone(), 2));
                self.bind(|g| &mut g.mut_vectors, q);
            }
            // A struct variable: a literal (the first, which tells the
            // macro the struct's fields) or what a call returns (typed or
            // not).
            17 => {
                let st = self.fresh("st");
                let e = self.expr(2);
                let m = if self.rng.chance(50) { "mut " } else { "" };
                if !self.literal_struct || self.rng.chance(40) {
                    self.literal_struct = true;
                    self.line(&format!("let {m}{st} = FuzzInner {{ b: {e} }};"));
                } else if self.rng.chance(50) {
                    // Untyped: the field read tells the macro its type.
                    self.line(&format!("let {m}{st} = helper_make({e});"));
                    let v = self.fresh("v");
                    self.line(&format!("let {v} = {st}.b * 0.5;"));
                    self.bind(|g| &mut g.floats, v);
                } else {
                    self.line(&format!("let {m}{st}: FuzzInner = helper_make({e});"));
                }
                self.bind(|g| &mut g.structs, st.clone());
                if !m.is_empty() {
                    self.bind(|g| &mut g.mut_structs, st);
                }
            }
            // An in-out helper lent a local array or a part of it: updated
            // only from itself, partly or wholly overwritten, its value
            // dropped, unused or used.
            18 if !self.in_loop || self.rng.chance(50) => {
                let Some((_, target)) = self.lent_array() else {
                    return;
                };
                let e = self.expr(1);
                match self.rng.below(6) {
                    0 => self.line(&format!("helper_inplace({target});")),
                    1 => self.line(&format!("helper_nudge({e}, {target});")),
                    2 => self.line(&format!("helper_fill({e}, {target});")),
                    3 => self.line(&format!("helper_step({e}, {target});")),
                    4 => self.line(&format!(
                        "let _u{} = helper_step({e}, {target});",
                        self.counter
                    )),
                    _ => {
                        let v = self.fresh("v");
                        self.line(&format!("let {v} = helper_step({e}, {target});"));
                        self.bind(|g| &mut g.floats, v);
                    }
                }
            }
            // One result of two.
            19 => {
                let v = self.fresh("v");
                let (e, f) = (self.expr(1), self.expr(1));
                match self.rng.below(2) {
                    0 => self.line(&format!("let (_, {v}) = helper_polar({e}, {f});")),
                    _ => self.line(&format!("let ({v}, _) = helper_polar({e}, {f});")),
                }
                self.bind(|g| &mut g.floats, v);
            }
            // An array value from a call, untyped: carried by the loops
            // that reassign it, or chosen by a branch.
            20 => {
                let q = self.fresh("q");
                let (e, f) = (self.expr(1), self.expr(1));
                if self.rng.chance(50) {
                    self.line(&format!("let mut {q} = helper_pair({e}, {f});"));
                    self.bind(|g| &mut g.mut_vectors, q.clone());
                } else {
                    let c = self.condition();
                    let other = match self.rng.below(2) {
                        0 => format!("[{f}, {e}]"),
                        _ => format!("helper_pair({f}, {e})"),
                    };
                    self.line(&format!(
                        "let {q} = if {c} {{ helper_pair({e}, {f}) }} else {{ {other} }};"
                    ));
                }
                self.bind(|g| &mut g.vectors, (q, 2));
            }
            // A sum over index data.
            21 => {
                let data = Self::all(&self.data);
                if data.is_empty() {
                    return;
                }
                let d = data[self.rng.below(data.len())].clone();
                let (s, k) = (self.fresh("s"), self.fresh("k"));
                let e = self.expr(1);
                self.line(&format!("let mut {s} = 0.0;"));
                self.line(&format!("for &{k} in {d}.iter() {{"));
                self.indent += 1;
                self.line(&format!("{s} += x[{k}] * ({e});"));
                self.indent -= 1;
                self.line("}");
                self.bind(|g| &mut g.muts, s);
            }
            // A call for its effect only.
            22 | 23 => {
                let e = self.expr(1);
                self.line(&format!("helper_check({e});"));
            }
            12 if self.in_loop => {
                let c = self.condition();
                let what = ["break", "continue"][self.rng.below(2)];
                self.line(&format!("if {c} {{ {what}; }}"));
            }
            _ => {}
        }
    }

    fn block(&mut self, count: usize, depth: usize) {
        self.indent += 1;
        self.push_scope();
        self.stmts(count, depth);
        self.pop_scope();
        self.indent -= 1;
    }

    fn function(&mut self, name: &str) -> String {
        self.out.clear();
        self.counter = 0;
        self.floats = vec![];
        self.muts = vec![];
        self.arrays = vec![];
        self.vectors = vec![];
        self.mut_vectors = vec![];
        self.structs = vec![];
        self.mut_structs = vec![];
        self.literal_struct = false;
        self.data = vec![];
        self.closures = vec![];
        self.push_scope();
        self.indent = 1;
        let count = 3 + self.rng.below(5);
        self.stmts(count, 2);
        let mut terms: Vec<String> = Self::all(&self.muts);
        terms.extend(Self::all(&self.floats));
        terms.extend(
            Self::all(&self.arrays)
                .iter()
                .map(|w| format!("{w}[{}]", self.rng.below(N))),
        );
        terms.extend(
            Self::all(&self.mut_vectors)
                .iter()
                .map(|q| format!("{q}[1]")),
        );
        terms.extend(Self::all(&self.structs).iter().map(|st| format!("{st}.b")));
        terms.push("a * b".to_string());
        self.line(&terms.join(" + "));
        format!(
            "#[differentiable]\nfn {name}(x: &[f64], a: f64, b: f64) -> f64 {{\n{}}}\n",
            self.out
        )
    }
}

/// The same program over a struct of parameters: `x`, `a`, `b` read as
/// `s.x` (as a slice, `(&s.x[..])`), `s.a` and `s.inner.b`, the struct
/// differentiated with respect to (`wrt(s)`), and a wrapper that builds the
/// struct and gives the gradient in the flat function's shape.
fn struct_version(name: &str, source: &str) -> String {
    let body = &source[source.find('{').unwrap_or(0)..];
    let mut out = String::new();
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // A field or method after `.` (not a range's `..`), or a field
            // named in a struct literal (`b: ..`).
            let t = out.trim_end();
            let rest: String = chars[i..].iter().take(2).collect();
            let field = (t.ends_with('.') && !t.ends_with(".."))
                || (rest.starts_with(':') && !rest.starts_with("::"));
            out.push_str(match (word.as_str(), field) {
                ("x", false) => "(&s.x[..])",
                ("a", false) => "s.a",
                ("b", false) => "s.inner.b",
                _ => &word,
            });
        } else {
            out.push(c);
            i += 1;
        }
    }
    format!(
        "#[differentiable(wrt(s))]\nfn {name}_s(s: &FuzzState) -> f64 {out}\n\
         fn {name}_sg(x: &[f64], a: f64, b: f64) -> (f64, (Vec<f64>, f64, f64)) {{\n    \
         let s = FuzzState {{ x: x.to_vec(), a, inner: FuzzInner {{ b }} }};\n    \
         let (v, g) = {name}_s_value_and_grad(&s);\n    \
         (v, (g.x, g.a, g.inner.b))\n}}\n"
    )
}

fn main() {
    println!("cargo::rerun-if-changed=generator.rs");
    println!("cargo::rerun-if-changed=build.rs");
    let (count, seed) = count_and_seed("AUTODIFF_FUZZ", 200, 1);
    let mut g = Gen {
        rng: Rng(seed),
        out: String::new(),
        indent: 0,
        floats: vec![],
        muts: vec![],
        arrays: vec![],
        vectors: vec![],
        mut_vectors: vec![],
        structs: vec![],
        mut_structs: vec![],
        literal_struct: false,
        data: vec![],
        closures: vec![],
        index: None,
        in_loop: false,
        counter: 0,
    };
    let mut file = String::new();
    let mut cases = String::new();
    for k in 0..count {
        let name = format!("f{k}");
        let source = g.function(&name);
        file.push_str(&source);
        file.push('\n');
        file.push_str(&struct_version(&name, &source));
        file.push('\n');
        let _ = writeln!(
            cases,
            "    Case {{ name: \"{name}\", f: {name}, jvp: {name}_jvp, jvp_lanes: {name}_jvp_lanes::<3>, value_and_grad: {name}_value_and_grad, struct_value_and_grad: {name}_sg, source: {source:?} }},"
        );
    }
    let _ = writeln!(file, "pub const SEED: u64 = {seed};");
    let _ = writeln!(file, "pub const CASES: &[Case] = &[\n{cases}];");
    let out =
        std::path::Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("programs.rs");
    if let Err(e) = std::fs::write(&out, file) {
        panic!("cannot write {}: {e}", out.display());
    }
}
