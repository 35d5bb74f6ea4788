//! The primitives in WGSL: how each float method of Rust is computed on the
//! GPU (with Rust's meaning where WGSL's builtin differs: `signum(0) = 1`,
//! `round` half away from zero, `fract = x - trunc(x)`, `max`/`min` that
//! ignore a NaN, `powf`/`powi` of negative bases, `asin`/`acos` accurate
//! on every driver), and the helpers and
//! tuple structs every module starts with. Their derivatives are not here:
//! they are the rules of `rules/partials.rs`, translated by
//! [`super::rules`].

/// A WGSL value of the float `x` (an abstract float literal, rounded to
/// `f32` where it is used).
pub fn float_literal(x: f64) -> String {
    if x.is_finite() {
        let s = format!("{x:?}");
        if s.contains(['.', 'e']) {
            s
        } else {
            format!("{s}.0")
        }
    } else if x.is_nan() {
        "ad_nan()".to_string()
    } else if x > 0.0 {
        "ad_inf()".to_string()
    } else {
        "-ad_inf()".to_string()
    }
}

/// The struct of `n` floats that stands for a Rust tuple `(f32, ..)`.
pub fn partials_struct(n: usize) -> String {
    format!("AdTuple{n}")
}

/// The largest tuple a kernel module declares.
pub const MAX_TUPLE: usize = 16;

/// `receiver.name(args)` in WGSL, if `name` is a float method the GPU has.
pub fn method(name: &str, r: &str, args: &[String]) -> Option<String> {
    let a = |i: usize| args.get(i).cloned().unwrap_or_default();
    Some(match (name, args.len()) {
        (
            "sin" | "cos" | "tan" | "atan" | "sinh" | "cosh" | "tanh" | "asinh" | "acosh" | "atanh"
            | "exp" | "exp2" | "log2" | "sqrt" | "abs" | "floor" | "ceil" | "trunc",
            0,
        ) => format!("{name}({r})"),
        ("ln", 0) => format!("log({r})"),
        ("log10", 0) => format!("(log({r}) * {})", float_literal(std::f64::consts::LOG10_E)),
        ("log", 1) => format!("(log({r}) / log({}))", a(0)),
        ("recip", 0) => format!("(1.0 / {r})"),
        ("fract", 0) => format!("({r} - trunc({r}))"),
        ("to_degrees", 0) => format!("({r} * {})", float_literal(180.0 / std::f64::consts::PI)),
        ("to_radians", 0) => format!("({r} * {})", float_literal(std::f64::consts::PI / 180.0)),
        ("atan2", 1) => format!("atan2({r}, {})", a(0)),
        ("mul_add", 2) => format!("fma({r}, {}, {})", a(0), a(1)),
        ("rem", 1) => format!("({r} % {})", a(0)),
        (
            "asin" | "acos" | "exp_m1" | "ln_1p" | "cbrt" | "signum" | "round" | "is_nan" | "hypot"
            | "powi" | "powf" | "max" | "min" | "clamp",
            _,
        ) => {
            let all: Vec<String> = std::iter::once(r.to_string())
                .chain(args.iter().cloned())
                .collect();
            format!("ad_{name}({})", all.join(", "))
        }
        _ => return None,
    })
}

/// What every kernel module starts with: the tuple structs and the helpers
/// [`method`] calls.
pub fn prelude() -> String {
    let mut s = String::from(PRELUDE);
    for n in 2..=MAX_TUPLE {
        let fields: Vec<String> = (0..n).map(|i| format!("p{i}: f32")).collect();
        s.push_str(&format!(
            "struct {} {{ {} }}\n",
            partials_struct(n),
            fields.join(", ")
        ));
    }
    s
}

const PRELUDE: &str = r#"// autodiff: Rust's float methods in WGSL.
fn ad_is_nan(x: f32) -> bool {
    // On the bits: WGSL lets a compiler assume `x != x` is false.
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}
fn ad_nan() -> f32 {
    return bitcast<f32>(0x7fc00000u);
}
fn ad_inf() -> f32 {
    return bitcast<f32>(0x7f800000u);
}
// Through atan2: some drivers' asin and acos are accurate to 1e-4 only.
fn ad_asin(x: f32) -> f32 {
    return atan2(x, sqrt((1.0 - x) * (1.0 + x)));
}
fn ad_acos(x: f32) -> f32 {
    return atan2(sqrt((1.0 - x) * (1.0 + x)), x);
}
fn ad_exp_m1(x: f32) -> f32 {
    if abs(x) < 0.01 {
        return x * (1.0 + x * (0.5 + x * (0.16666667 + x * 0.041666668)));
    }
    return exp(x) - 1.0;
}
fn ad_ln_1p(x: f32) -> f32 {
    let u = 1.0 + x;
    if u == 1.0 {
        return x;
    }
    return log(u) * x / (u - 1.0);
}
fn ad_cbrt(x: f32) -> f32 {
    return sign(x) * pow(abs(x), 1.0 / 3.0);
}
fn ad_signum(x: f32) -> f32 {
    if ad_is_nan(x) {
        return x;
    }
    return select(1.0, -1.0, (bitcast<u32>(x) >> 31u) == 1u);
}
fn ad_round(x: f32) -> f32 {
    let t = trunc(x);
    if abs(x - t) >= 0.5 {
        return t + sign(x);
    }
    return t;
}
fn ad_hypot(x: f32, y: f32) -> f32 {
    let m = max(abs(x), abs(y));
    if m == 0.0 {
        return 0.0;
    }
    let a = x / m;
    let b = y / m;
    return m * sqrt(a * a + b * b);
}
fn ad_powi(x: f32, n: i32) -> f32 {
    var base = x;
    // Unsigned, so that |i32::MIN| = 2^31 and the loop ends.
    var e = bitcast<u32>(abs(n));
    var acc = 1.0;
    loop {
        if e == 0u {
            break;
        }
        if (e & 1u) == 1u {
            acc = acc * base;
        }
        base = base * base;
        e = e >> 1u;
    }
    if n < 0 {
        return 1.0 / acc;
    }
    return acc;
}
fn ad_powf(x: f32, p: f32) -> f32 {
    if p == 0.0 {
        return 1.0;
    }
    if x < 0.0 {
        // WGSL's pow is undefined for a negative base: an integer power by
        // the magnitude and the sign, and NaN otherwise, as in Rust.
        if p != trunc(p) {
            return ad_nan();
        }
        let m = pow(-x, p);
        if abs(p % 2.0) == 1.0 {
            return -m;
        }
        return m;
    }
    if x == 0.0 {
        return select(0.0, ad_inf(), p < 0.0);
    }
    return pow(x, p);
}
fn ad_max(x: f32, y: f32) -> f32 {
    if ad_is_nan(x) {
        return y;
    }
    if ad_is_nan(y) {
        return x;
    }
    return select(y, x, x > y);
}
fn ad_min(x: f32, y: f32) -> f32 {
    if ad_is_nan(x) {
        return y;
    }
    if ad_is_nan(y) {
        return x;
    }
    return select(y, x, x < y);
}
fn ad_clamp(x: f32, lo: f32, hi: f32) -> f32 {
    if x < lo {
        return lo;
    }
    if x > hi {
        return hi;
    }
    return x;
}
"#;
