"""The benchmark cases: the issue's table, depthwise, dilated, backward passes, sweeps.

A case is an object with ``name``, ``group`` and ``prepare(peers) -> Prepared``:
inputs are made (seeded, float32, NHWC) and converted for every peer before any
timing.  Add a case by appending an object to one of the lists below; backward
cases are built by :func:`backward_cases`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import numconv
from numconv.algorithms import ALGORITHMS, choose, profiling
from numconv.geometry import resolve

from . import peers as P

Runner = Callable[[], Any]


@dataclass
class Prepared:
    """Everything needed to time one case."""

    runners: dict[str, Runner]          # "numconv" first, then peers that can run it
    notes: dict[str, str]               # peer -> why it does not run this case
    work: float                         # FLOPs (conv) or bytes moved (pooling)
    unit: str                           # "GFLOP/s" or "GB/s"
    algorithm: str | None = None
    profile: Callable[[], dict[str, float]] | None = None


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(sum(map(ord, name)))


def _add_peers(prepared: Prepared, wanted: list[str], makers: dict[str, Callable[[], Runner]]
               ) -> Prepared:
    for peer in wanted:
        if peer not in makers:
            prepared.notes[peer] = "n/a"
            continue
        if P.load(peer) is None:
            prepared.notes[peer] = "not installed"
            continue
        try:
            prepared.runners[peer] = makers[peer]()
        except P.Unavailable as exc:
            prepared.notes[peer] = str(exc)
    return prepared


def conv_flops(x_shape, w_shape, geometry, depthwise: bool) -> float:
    cout = w_shape[-1] * (w_shape[-2] if depthwise else 1)
    cin_g = 1 if depthwise else w_shape[-2]
    out = x_shape[0] * math.prod(geometry.out_shape)
    return 2.0 * out * cout * math.prod(w_shape[:-2]) * cin_g


@dataclass
class ConvCase:
    """A 2-D convolution (``depthwise`` uses ``depthwise_conv2d``'s filter layout)."""

    name: str
    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    strides: tuple[int, int] = (1, 1)
    padding: str = "SAME"
    dilations: tuple[int, int] = (1, 1)
    depthwise: bool = False
    group: str = "conv"
    sweep: str | None = None
    x_value: float | None = None
    kind: str = field(default="conv", init=False)

    def describe(self) -> str:
        n, h, w, c = self.x_shape
        k = "x".join(map(str, self.w_shape[:2]))
        out = self.w_shape[-1] * (c if self.depthwise else 1)
        extra = "".join([f" s{self.strides[0]}" if self.strides != (1, 1) else "",
                         f" d{self.dilations[0]}" if self.dilations != (1, 1) else "",
                         " depthwise" if self.depthwise else ""])
        return f"{n}x{h}x{w}x{c} {k}{extra} -> {out} {self.padding}"

    def geometry(self) -> Any:
        return resolve(self.x_shape[1:3], self.w_shape[:2], self.strides, self.dilations,
                       self.padding)

    def prepare(self, wanted: list[str]) -> Prepared:
        rng = _rng(self.name)
        x = rng.standard_normal(self.x_shape, dtype=np.float32)
        w = rng.standard_normal(self.w_shape, dtype=np.float32)
        g = self.geometry()
        s, d, pad = self.strides, self.dilations, self.padding
        if self.depthwise:
            run = lambda: numconv.depthwise_conv2d(x, w, s, pad, dilations=d)  # noqa: E731
            wg = w.reshape(*self.w_shape[:2], 1, -1)
            groups = self.x_shape[-1]
        else:
            run = lambda: numconv.conv2d(x, w, s, pad, dilations=d)  # noqa: E731
            wg, groups = w, self.x_shape[-1] // self.w_shape[-2]
        algorithm = choose(x.shape, wg.shape, g, groups, np.dtype(np.float32))

        def profile() -> dict[str, float]:
            return profile_breakdown(run, lambda: ALGORITHMS[algorithm](
                x, wg, g, groups, np.dtype(np.float32)))

        prepared = Prepared({"numconv": run}, {}, conv_flops(self.x_shape, self.w_shape, g,
                                                              self.depthwise),
                            "GFLOP/s", algorithm, profile)
        return _add_peers(prepared, wanted, {
            "tf": lambda: P.tf_conv(x, w, s, pad, d, self.depthwise),
            "torch": lambda: P.torch_conv(x, wg, s, g, d, groups),
            "numpy-ml": lambda: P.numpy_ml_conv(x, wg, s, g, d, groups),
            "scipy": lambda: P.scipy_conv(x, wg, s, g, d, groups),
            "onnx": lambda: P.onnx_conv(x, wg, s, g, d, groups),
            "gemm": lambda: P.gemm_floor(x, wg, s, g, d, groups),
        })


@dataclass
class PoolCase:
    """A 2-D max or average pool."""

    name: str
    x_shape: tuple[int, ...]
    pool: str
    ksize: tuple[int, int]
    strides: tuple[int, int]
    padding: str
    group: str = "pool"
    sweep: str | None = None
    x_value: float | None = None
    kind: str = field(default="pool", init=False)

    def describe(self) -> str:
        n, h, w, c = self.x_shape
        return (f"{self.pool.lower()} {self.ksize[0]}x{self.ksize[1]}/{self.strides[0]} "
                f"{self.padding} {n}x{h}x{w}x{c}")

    def geometry(self) -> Any:
        return resolve(self.x_shape[1:3], self.ksize, self.strides, (1, 1), self.padding)

    def prepare(self, wanted: list[str]) -> Prepared:
        x = _rng(self.name).standard_normal(self.x_shape, dtype=np.float32)
        g = self.geometry()
        op = numconv.max_pool2d if self.pool == "MAX" else numconv.avg_pool2d
        k, s, pad = self.ksize, self.strides, self.padding
        out_bytes = self.x_shape[0] * math.prod(g.out_shape) * self.x_shape[-1] * 4
        prepared = Prepared({"numconv": lambda: op(x, k, s, pad)}, {},
                            float(x.nbytes + out_bytes), "GB/s")
        return _add_peers(prepared, wanted, {
            "tf": lambda: P.tf_pool(x, self.pool, k, s, pad),
            "torch": lambda: P.torch_pool(x, self.pool, k, s, g),
            "numpy-ml": lambda: P.numpy_ml_pool(x, self.pool, k, s, g),
            "onnx": lambda: P.onnx_pool(x, self.pool, k, s, g),
        })


@dataclass
class GradCase:
    """A backward pass: ``op`` in conv_input, conv_filter, max_pool, avg_pool, argmax.

    ``argmax`` is ``max_pool_with_argmax``, the forward half of a max pool's gradient.
    """

    name: str
    op: str
    base: Any            # the forward ConvCase / PoolCase
    group: str = "backward"
    sweep: str | None = None
    x_value: float | None = None
    kind: str = field(default="grad", init=False)

    def describe(self) -> str:
        if self.op == "argmax":
            return f"argmax of {self.base.describe()}"
        return f"d/d{'w' if self.op == 'conv_filter' else 'x'} of {self.base.describe()}"

    def prepare(self, wanted: list[str]) -> Prepared:
        b = self.base
        rng = _rng(self.name)
        g = b.geometry()
        x = rng.standard_normal(b.x_shape, dtype=np.float32)
        if self.op.startswith("conv"):
            w = rng.standard_normal(b.w_shape, dtype=np.float32)
            cout = b.w_shape[-1] * (b.x_shape[-1] if b.depthwise else 1)
            grad = rng.standard_normal((b.x_shape[0], *g.out_shape, cout), dtype=np.float32)
            arrays = {"x": x, "w": w, "g": grad}
            params = {"strides": b.strides, "padding": b.padding, "depthwise": b.depthwise}
            s4 = [1, *b.strides, 1]
            if self.op == "conv_input" and b.depthwise:
                run = lambda: numconv.depthwise_conv2d_backprop_input(  # noqa: E731
                    x.shape, w, grad, s4, b.padding)
            elif self.op == "conv_input":
                run = lambda: numconv.conv_backprop_input(  # noqa: E731
                    x.shape, w, grad, b.strides, b.padding)
            elif b.depthwise:
                run = lambda: numconv.depthwise_conv2d_backprop_filter(  # noqa: E731
                    x, w.shape, grad, s4, b.padding)
            else:
                run = lambda: numconv.conv_backprop_filter(  # noqa: E731
                    x, w.shape, grad, b.strides, b.padding)
            work, unit = conv_flops(b.x_shape, b.w_shape, g, b.depthwise), "GFLOP/s"
        elif self.op == "argmax":
            arrays, params = {"x": x}, {"strides": b.strides, "padding": b.padding,
                                        "ksize": b.ksize}
            run = lambda: numconv.max_pool_with_argmax(  # noqa: E731
                x, b.ksize, b.strides, b.padding)
            out_bytes = b.x_shape[0] * math.prod(g.out_shape) * b.x_shape[-1] * (4 + 8)
            work, unit = float(x.nbytes + out_bytes), "GB/s"
        else:
            grad = rng.standard_normal((b.x_shape[0], *g.out_shape, b.x_shape[-1]),
                                       dtype=np.float32)
            arrays = {"x": x, "g": grad}
            params = {"strides": b.strides, "padding": b.padding, "ksize": b.ksize}
            if self.op == "max_pool":
                run = lambda: numconv.max_pool_grad(  # noqa: E731
                    x, grad, b.ksize, b.strides, b.padding)
            else:
                run = lambda: numconv.avg_pool_grad(  # noqa: E731
                    x.shape, grad, b.ksize, b.strides, b.padding)
            work, unit = float(2 * x.nbytes + grad.nbytes), "GB/s"
        prepared = Prepared({"numconv": run}, {}, work, unit)
        return _add_peers(prepared, wanted, {
            "tf": lambda: P.tf_grad(self.op, arrays, params),
            "torch": lambda: P.torch_grad(self.op, arrays, params, g),
        })


# --------------------------------------------------------------------------- the lists

#: The issue's table (NHWC, SAME unless said, float32).
ISSUE_CASES: list[Any] = [
    ConvCase("seed", (1, 400, 600, 1), (3, 3, 1, 1), group="issue"),
    ConvCase("vgg", (8, 56, 56, 64), (3, 3, 64, 64), group="issue"),
    ConvCase("stem", (8, 224, 224, 3), (7, 7, 3, 64), (2, 2), group="issue"),
    ConvCase("1x1", (8, 28, 28, 256), (1, 1, 256, 128), group="issue"),
    ConvCase("deep", (8, 14, 14, 256), (3, 3, 256, 256), group="issue"),
    PoolCase("max pool", (8, 112, 112, 64), "MAX", (2, 2), (2, 2), "VALID", group="issue"),
    PoolCase("avg pool", (8, 112, 112, 64), "AVG", (3, 3), (2, 2), "SAME", group="issue"),
]

EXTRA_CASES: list[Any] = [
    ConvCase("depthwise", (8, 56, 56, 64), (3, 3, 64, 1), depthwise=True),
    ConvCase("dilated", (8, 56, 56, 64), (3, 3, 64, 64), dilations=(2, 2)),
]

def backward_cases() -> list[Any]:
    """Backward-pass cases: the issue's layers, strided, depthwise, and the pools."""
    vgg, stem, mp, ap = ISSUE_CASES[1], ISSUE_CASES[2], ISSUE_CASES[5], ISSUE_CASES[6]
    strided = ConvCase("strided", (8, 56, 56, 64), (3, 3, 64, 128), (2, 2))
    depthwise = EXTRA_CASES[0]
    return [GradCase("vgg dx", "conv_input", vgg), GradCase("vgg dw", "conv_filter", vgg),
            GradCase("strided dx", "conv_input", strided),
            GradCase("strided dw", "conv_filter", strided),
            GradCase("stem dw", "conv_filter", stem),
            GradCase("depthwise dx", "conv_input", depthwise),
            GradCase("depthwise dw", "conv_filter", depthwise),
            GradCase("max pool dx", "max_pool", mp), GradCase("avg pool dx", "avg_pool", ap),
            GradCase("argmax", "argmax", mp)]


def sweeps(quick: bool) -> dict[str, list[Any]]:
    """Scaling sweeps: batch size, image size, kernel size, channels (convolution)."""
    batch = [1, 4] if quick else [1, 2, 4, 8, 16]
    size = [32, 64] if quick else [28, 56, 112, 224]
    kernel = [1, 3] if quick else [1, 3, 5, 7, 9, 11]
    chans = [16, 64] if quick else [8, 16, 32, 64, 128, 256]
    return {
        "batch": [ConvCase(f"batch {n}", (n, 56, 56, 64), (3, 3, 64, 64), group="sweep",
                           sweep="batch", x_value=n) for n in batch],
        "image": [ConvCase(f"image {s}", (1, s, s, 32), (3, 3, 32, 32), group="sweep",
                           sweep="image", x_value=s) for s in size],
        "kernel": [ConvCase(f"kernel {k}", (1, 64, 64, 32), (k, k, 32, 32), group="sweep",
                            sweep="kernel", x_value=k) for k in kernel],
        "channels": [ConvCase(f"channels {c}", (4, 28, 28, c), (3, 3, c, c), group="sweep",
                              sweep="channels", x_value=c) for c in chans],
    }


def memory_case(quick: bool) -> ConvCase:
    """The vgg layer on a batch whose full patch matrix needs 4 GiB (512 MiB in --quick)."""
    target = (512 if quick else 4096) * 2**20
    per_image = 56 * 56 * 9 * 64 * 4
    n = -(-target // per_image)
    return ConvCase("memory", (n, 56, 56, 64), (3, 3, 64, 64), group="memory")


# --------------------------------------------------------------------------- profile

def profile_breakdown(full: Runner, algorithm_only: Runner, repeats: int = 3
                      ) -> dict[str, float]:
    """Share of one call's wall time per phase (worker phases scaled to wall time).

    ``outside`` is the time spent outside the algorithm: validation, layout, bias and
    the result dtype cast.
    """
    import time
    best_total = best_algo = math.inf
    phases: dict[str, float] = {}
    for _ in range(repeats):
        start = time.perf_counter()
        full()
        best_total = min(best_total, time.perf_counter() - start)
        with profiling() as got:
            start = time.perf_counter()
            algorithm_only()
            elapsed = time.perf_counter() - start
        if elapsed < best_algo:
            best_algo, phases = elapsed, dict(got)
    inside = min(best_algo / best_total, 1.0)
    total = sum(phases.values()) or 1.0
    shares = {k: inside * v / total for k, v in phases.items()}
    shares["outside"] = 1.0 - inside
    return shares
