"""The issue's workload on the same GPU in PyTorch and JAX, for comparison
with the generated kernel: f(x) = sin(x) x + exp(-x), f32, n = 2^28, the
VJP g = dy f'(x); and a device-to-device copy. Median of 20 timed calls
after 3 warm-ups, in milliseconds.

    python3 baselines.py torch|jax
"""
import statistics
import sys
import time

N = 1 << 28


def median_ms(call, sync):
    for _ in range(3):
        call()
    sync()
    times = []
    for _ in range(20):
        t = time.perf_counter()
        call()
        sync()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def torch_baselines():
    import torch

    x = torch.rand(N, device="cuda") * 6 - 3
    dy = torch.rand(N, device="cuda")
    out = torch.empty_like(x)

    def f(x):
        return torch.sin(x) * x + torch.exp(-x)

    def fwd_bwd(x, dy):
        x = x.detach().requires_grad_()
        (g,) = torch.autograd.grad(f(x), x, dy)
        return g

    sync = torch.cuda.synchronize
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}")
    print(f"torch copy            {median_ms(lambda: out.copy_(x), sync):8.3f} ms")
    print(f"torch eager fwd+bwd   {median_ms(lambda: fwd_bwd(x, dy), sync):8.3f} ms")
    compiled = torch.compile(fwd_bwd)
    print(f"torch.compile fwd+bwd {median_ms(lambda: compiled(x, dy), sync):8.3f} ms")


def jax_baselines():
    import jax
    import jax.numpy as jnp

    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    x = jax.random.uniform(k1, (N,), jnp.float32, -3.0, 3.0)
    dy = jax.random.uniform(k2, (N,), jnp.float32)

    def f(x):
        return jnp.sin(x) * x + jnp.exp(-x)

    vjp = jax.jit(lambda x, dy: jax.vjp(f, x)[1](dy)[0])
    copy = jax.jit(lambda x: x + 0.0)
    last = [None]

    def run(fn, *args):
        last[0] = fn(*args)

    def sync():
        last[0].block_until_ready()

    print(f"jax {jax.__version__} on {jax.devices()[0].device_kind}")
    print(f"jax copy (x + 0)      {median_ms(lambda: run(copy, x), sync):8.3f} ms")
    print(f"jax jit(vjp)          {median_ms(lambda: run(vjp, x, dy), sync):8.3f} ms")


if __name__ == "__main__":
    {"torch": torch_baselines, "jax": jax_baselines}[sys.argv[1]]()
