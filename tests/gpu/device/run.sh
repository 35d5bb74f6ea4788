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
        .gpu-run/bench-gpu --bench --output-format bencher --discard-baseline 2>&1 |
            grep -E "^test |adapter" >"$out/bench-$i.txt" || true
    done
    if python3 -c "import torch" 2>/dev/null; then
        python3 .gpu-run/baselines.py torch 2>&1 | tee "$out/baselines.txt" || true
    fi
    if python3 -c "import jax" 2>/dev/null; then
        XLA_PYTHON_CLIENT_PREALLOCATE=false python3 .gpu-run/baselines.py jax 2>&1 | tee -a "$out/baselines.txt" || true
    fi
    report "$out" | tee "$out/report.txt"
}

# The median over the runs of each benchmark, in milliseconds, and the
# ratios the issue asks for.
report() {
    local out=$1
    grep -h "adapter:" "$out"/bench-*.txt | head -1
    cat "$out"/bench-*.txt | awk '
        /^test / {
            name = $0; sub(/^test /, "", name); sub(/ \.\.\. bench:.*/, "", name);
            ns = $0; sub(/.*bench: */, "", ns); sub(/ .*/, "", ns); gsub(",", "", ns);
            t[name] = t[name] " " ns / 1e6;
        }
        END {
            for (k in t) {
                n = split(t[k], v, " ");
                # Median by insertion sort (three runs).
                for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { x = v[j]; v[j] = v[j - 1]; v[j - 1] = x; }
                med[k] = v[int((n + 1) / 2)];
                printf "%-40s %12.4f ms\n", k, med[k];
            }
            print "";
            for (k in med) if (k ~ /gpu generated/) {
                size = k; sub(/.*\//, "", size);
                hand = med["f_vjp/gpu hand-written/" size]; copy = med["f_vjp/gpu copy/" size]; cpu = med["f_vjp/cpu/" size];
                printf "n = %-10s generated / hand-written %.3f, copy / generated %.2f", size, med[k] / hand, copy / med[k];
                if (cpu) printf ", cpu / generated %.2f", cpu / med[k];
                printf "\n";
            }
            for (k in med) if (k ~ /matmul\/gpu backward/) {
                size = k; sub(/.*\//, "", size);
                printf "matmul %s: backward / forward %.2f\n", size, med[k] / med["matmul/gpu forward/" size];
            }
        }' | sort
    if [ -f "$out/baselines.txt" ]; then cat "$out/baselines.txt"; fi
}

case "${1:-}" in
build) build ;;
run) run ;;
report) report "${2:-target/gpu-report}" ;;
*) echo "usage: $0 build|run|report [dir]" >&2; exit 2 ;;
esac
