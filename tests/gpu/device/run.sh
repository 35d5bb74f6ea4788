#!/usr/bin/env bash
# The GPU checks on a real GPU: the GPU tests with an adapter required, the
# benchmark three times (the report takes medians), and the same workload
# in JAX and PyTorch on the same GPU where python3 has them.
#
# Built here, run there (the device machine has no Rust toolchain and no
# network; docs/gpu.md says how it was used):
#
#   bash tests/gpu/device/run.sh build  # binaries into .gpu-run/, libvulkan1 into .gl/
#   bash tests/gpu/device/run.sh run    # with .gpu-run and .gl carried: report in $OUT
#
# `run` works on any machine with a Vulkan driver (lavapipe too, slowly).
set -euo pipefail
cd "$(dirname "$0")/../../.."

build() {
    rm -rf .gpu-run
    mkdir -p .gpu-run
    # The test binaries that need a GPU (not `shaders`: its snapshots are
    # found by a path of this machine), and the benchmark.
    local json
    json=$(cargo test -p autodiff-gpu-tests --release --no-run --message-format=json 2>/dev/null)
    for t in functions primitives kernels gpu_fit; do
        exe=$(grep -o "\"executable\":\"[^\"]*/deps/$t-[^\"]*\"" <<<"$json" | head -1 | cut -d'"' -f4)
        cp "$exe" ".gpu-run/test-$t"
    done
    json=$(cargo bench -p autodiff-gpu-tests --bench gpu --no-run --message-format=json 2>/dev/null)
    exe=$(grep -o '"executable":"[^"]*/deps/gpu-[^"]*"' <<<"$json" | head -1 | cut -d'"' -f4)
    cp "$exe" .gpu-run/bench-gpu
    strip .gpu-run/*
    cp tests/gpu/device/baselines.py .gpu-run/
    # The Vulkan loader, which the device machine lacks.
    if [ ! -d .gl ]; then
        mkdir -p .gl /tmp/amd64/partial
        local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
        # shellcheck disable=SC2086
        apt-get $o update >/dev/null
        # shellcheck disable=SC2086
        (cd .gl && apt-get $o download libvulkan1)
    fi
    mkdir -p .git/info
    touch .git/info/exclude
    grep -qx '/.gpu-run/' .git/info/exclude || echo /.gpu-run/ >>.git/info/exclude
    grep -qx '/.gl/' .git/info/exclude || echo /.gl/ >>.git/info/exclude
    du -sh .gpu-run .gl
}

run() {
    local out=${OUT:-target/gpu-report}
    mkdir -p "$out"
    if [ -d .gl ] && ! ldconfig -p | grep -q libvulkan; then
        for f in .gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
    fi
    local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    if [ -f "$icd" ]; then
        export VK_DRIVER_FILES=$icd
    fi
    export WGPU_BACKEND=vulkan AUTODIFF_REQUIRE_GPU=1
    {
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || true
        for t in .gpu-run/test-*; do
            echo "== $t"
            "$t" --nocapture 2>&1 | grep -E "^test |result|primitives on|panicked" || true
        done
    } 2>&1 | tee "$out/tests.txt"
    for i in 1 2 3; do
        .gpu-run/bench-gpu --bench 2>&1 | grep -v "^$" >"$out/bench-$i.txt" || true
    done
    if python3 -c "import torch" 2>/dev/null; then
        python3 .gpu-run/baselines.py torch 2>&1 | tee "$out/baselines.txt" || true
    fi
    if python3 -c "import jax" 2>/dev/null; then
        XLA_PYTHON_CLIENT_PREALLOCATE=false python3 .gpu-run/baselines.py jax 2>&1 | tee -a "$out/baselines.txt" || true
    fi
    report "$out" | tee "$out/report.txt"
}

# The median over the three runs of each benchmark's middle estimate, in
# milliseconds, and the ratios the issue asks for.
report() {
    local out=$1
    grep -h "adapter:" "$out"/bench-*.txt | head -1
    cat "$out"/bench-*.txt | awk '
        /^[a-z_]+\/[a-z -]+\/[0-9]+/ { name = $1 "/" $2; for (i = 3; i <= NF; i++) if ($i ~ /^[a-z-]+\/[0-9]+$/) name = name " " $i; }
        /time:/ {
            line = $0; sub(/.*time: *\[/, "", line); split(line, f, " ");
            v = f[3]; u = f[4];
            ms = (u == "s") ? v * 1000 : (u == "ms") ? v : (u == "µs") ? v / 1000 : v / 1e6;
            id = $1; if (id == "time:") id = last; else id = $1;
            t[id] = t[id] " " ms;
        }
        { if ($1 !~ /time:|thrpt:/ && $1 ~ /\//) last = $1; }
        END { for (k in t) print k, t[k] }' | sort | while read -r id a b c; do
        med=$(printf '%s\n' "$a" "$b" "$c" | sort -g | sed -n 2p)
        printf '%-40s %12.4f ms\n' "$id" "${med:-$a}"
    done
    [ -f "$out/baselines.txt" ] && cat "$out/baselines.txt"
}

case "${1:-}" in
build) build ;;
run) run ;;
report) report "${2:-target/gpu-report}" ;;
*) echo "usage: $0 build|run|report [dir]" >&2; exit 2 ;;
esac
