// What the build scripts of the two differential fuzzers share (included
// by `tests/fuzz/build.rs` and `tests/gpu/build.rs`): the random source and
// the variables that set how many programs, from which seed.

/// SplitMix64.
struct Rng(u64);

#[allow(dead_code)]
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// `(count, seed)` from the variables `{prefix}_COUNT` and `{prefix}_SEED`,
/// each defaulting; the build script reruns when they change.
fn count_and_seed(prefix: &str, count: usize, seed: u64) -> (usize, u64) {
    println!("cargo::rerun-if-env-changed={prefix}_COUNT");
    println!("cargo::rerun-if-env-changed={prefix}_SEED");
    let number = |name: String| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    (
        number(format!("{prefix}_COUNT")).map_or(count, |c| c as usize),
        number(format!("{prefix}_SEED")).unwrap_or(seed),
    )
}
