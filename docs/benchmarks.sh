#!/usr/bin/env bash
# Regenerates the ADBench section of docs/benchmarks.md (between the
# `adbench` markers) from a run of the benchmark: times, ratios, peers,
# peak memory, and the size of the generated code.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test -q -p autodiff-macros --lib generated_code_size -- --nocapture > /dev/null
cargo bench --bench adbench -- --runs 3 --write-docs docs/benchmarks.md "$@"
