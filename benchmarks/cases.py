"""The benchmark cases: plain data, rebuilt in every worker process from a dict.

A case is a frozen dataclass: ``ConvCase``, ``PoolCase`` or ``GradCase`` (a backward
pass of a forward case).  ``to_dict`` / ``from_dict`` carry it to a worker process,
where ``arrays()`` makes its seeded float32 NHWC inputs: every implementation times
the same values without any array crossing a process boundary.  ``floor`` says which
floor bounds the case: ``"gemm"`` (the case's GEMM, for convolutions with many
channels) or ``"copy"`` (its bytes read and written, for pools, depthwise and
single-channel convolutions).

The padding arithmetic here is TensorFlow's (``kernel_shape_util.cc``), written out
again rather than imported from numconv: the peers' inputs do not depend on the code
under test.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: the kinds of case, one dataclass each
KINDS = ("conv", "pool", "grad")


@dataclass(frozen=True)
class Geometry:
    """Output size and (before, after) pads per spatial dim, TensorFlow's rules."""

    out_shape: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]

    @property
    def padded(self) -> bool:
        return any(b or a for b, a in self.pads)


def geometry(in_sizes: Any, window: Any, strides: Any, dilations: Any, padding: str
             ) -> Geometry:
    """SAME: ``out = ceil(n / s)``, pad ``max(0, (out-1)*s + eff - n)``, the odd pixel
    after; VALID: ``out = (n - eff + s) // s``, no pads.

    >>> geometry((224, 224), (7, 7), (2, 2), (1, 1), "SAME")
    Geometry(out_shape=(112, 112), pads=((2, 3), (2, 3)))
    """
    out, pads = [], []
    for n, k, s, d in zip(in_sizes, window, strides, dilations):
        eff = (k - 1) * d + 1
        if padding == "SAME":
            o = -(-n // s)
            total = max(0, (o - 1) * s + eff - n)
            out.append(o)
            pads.append((total // 2, total - total // 2))
        else:
            out.append(max(0, (n - eff + s) // s))
            pads.append((0, 0))
    return Geometry(tuple(out), tuple(pads))


def _rng(name: str, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng(sum(map(ord, name)) + 7919 * salt)


def wide_range(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Float32 values of magnitudes 1e-6 .. 1e6, random signs (the error columns' data)."""
    return (rng.standard_normal(shape) * 10.0 ** rng.uniform(-6, 6, shape)).astype(np.float32)


def _make(name: str, shapes: dict[str, tuple[int, ...]], wide: bool) -> dict[str, np.ndarray]:
    rng = _rng(name, salt=int(wide))
    if wide:
        return {k: wide_range(rng, s) for k, s in shapes.items()}
    return {k: rng.standard_normal(s, dtype=np.float32) for k, s in shapes.items()}


class _Case:
    name: str
    group: str

    def to_dict(self) -> dict[str, Any]:
        """The fields, the kind, and the base case's dict for a gradient (JSON-ready)."""
        data = {f.name: getattr(self, f.name)
                for f in dataclasses.fields(self)}   # type: ignore[arg-type]
        if "base" in data:
            data["base"] = data["base"].to_dict()
        data["kind"] = self.kind          # type: ignore[attr-defined]
        return data

    def arrays(self, wide: bool = False) -> dict[str, np.ndarray]:
        """The case's inputs (seeded from its name); ``wide``: the error columns' data."""
        return _make(self.name, self.shapes(), wide)   # type: ignore[attr-defined]

    def traffic(self) -> float:
        """Bytes an ideal kernel reads and writes: every input once, the result once."""
        shapes = list(self.shapes().values()) + [self.result_shape()]  # type: ignore
        return 4.0 * sum(math.prod(s) for s in shapes)


@dataclass(frozen=True)
class ConvCase(_Case):
    """A 2-D convolution, NHWC / HWIO (``depthwise``: ``depthwise_conv2d``'s (kh, kw, C, 1))."""

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
    kind = "conv"

    def describe(self) -> str:
        n, h, w, c = self.x_shape
        k = "x".join(map(str, self.w_shape[:2]))
        out = self.w_shape[-1] * (c if self.depthwise else 1)
        extra = "".join([f"/{self.strides[0]}" if self.strides != (1, 1) else "",
                         f" d{self.dilations[0]}" if self.dilations != (1, 1) else "",
                         " dw" if self.depthwise else "",
                         " VALID" if self.padding == "VALID" else ""])
        return f"{n}x{h}x{w}x{c} {k}{extra}->{out}"

    def geometry(self) -> Geometry:
        return geometry(self.x_shape[1:3], self.w_shape[:2], self.strides, self.dilations,
                        self.padding)

    @property
    def groups(self) -> int:
        return self.x_shape[-1] if self.depthwise else self.x_shape[-1] // self.w_shape[-2]

    def grouped_filters(self, w: np.ndarray) -> np.ndarray:
        """Filters as a grouped convolution's ``(kh, kw, C/groups, C_out)``."""
        return w.reshape(*self.w_shape[:2], 1, -1) if self.depthwise else w

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {"x": self.x_shape, "w": self.w_shape}

    def result_shape(self) -> tuple[int, ...]:
        cout = self.w_shape[-1] * (self.x_shape[-1] if self.depthwise else 1)
        return (self.x_shape[0], *self.geometry().out_shape, cout)

    def flops(self) -> float:
        return 2.0 * math.prod(self.result_shape()) * math.prod(self.w_shape[:2]) * (
            1 if self.depthwise else self.w_shape[-2])

    def patch_bytes(self) -> int:
        """Bytes of the full float32 patch matrix (positions x window x C_in)."""
        return 4 * math.prod(self.result_shape()[:-1]) * math.prod(self.w_shape[:2]) \
            * self.x_shape[-1]

    @property
    def floor(self) -> str:
        cin_g, cout_g = self.w_shape[-2], self.w_shape[-1]
        return "copy" if self.depthwise or cin_g * cout_g < 64 else "gemm"


@dataclass(frozen=True)
class PoolCase(_Case):
    """A 2-D max (``MAX``) or average (``AVG``) pool."""

    name: str
    x_shape: tuple[int, ...]
    pool: str
    ksize: tuple[int, int]
    strides: tuple[int, int]
    padding: str
    group: str = "pool"
    sweep: str | None = None
    x_value: float | None = None
    kind = "pool"
    floor = "copy"

    def describe(self) -> str:
        n, h, w, c = self.x_shape
        return (f"{self.pool.lower()} {self.ksize[0]}x{self.ksize[1]}/{self.strides[0]} "
                f"{self.padding} {n}x{h}x{w}x{c}")

    def geometry(self) -> Geometry:
        return geometry(self.x_shape[1:3], self.ksize, self.strides, (1, 1), self.padding)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {"x": self.x_shape}

    def result_shape(self) -> tuple[int, ...]:
        return (self.x_shape[0], *self.geometry().out_shape, self.x_shape[-1])


@dataclass(frozen=True)
class GradCase(_Case):
    """A backward pass of ``base``: ``op`` in conv_input, conv_filter, max_pool, avg_pool,
    argmax (``max_pool_with_argmax``, the forward half of a max pool's gradient)."""

    name: str
    op: str
    base: Any            # the forward ConvCase / PoolCase
    group: str = "backward"
    sweep: str | None = None
    x_value: float | None = None
    kind = "grad"

    def describe(self) -> str:
        if self.op == "argmax":
            return f"argmax {self.base.describe()}"
        return f"d{'w' if self.op == 'conv_filter' else 'x'} {self.base.describe()}"

    def shapes(self) -> dict[str, tuple[int, ...]]:
        b, op = self.base, self.op
        g = b.result_shape()
        if op == "conv_input":
            return {"w": b.w_shape, "g": g}
        if op == "avg_pool":
            return {"g": g}
        return {"x": b.x_shape} if op == "argmax" else {"x": b.x_shape, "g": g}

    def result_shape(self) -> tuple[int, ...]:
        return self.base.w_shape if self.op == "conv_filter" else self.base.x_shape

    def flops(self) -> float:
        return self.base.flops()

    @property
    def floor(self) -> str:
        return self.base.floor


Case = Any   # ConvCase | PoolCase | GradCase


def from_dict(data: dict[str, Any]) -> Case:
    """The case ``to_dict`` described (tuples restored)."""
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    kind = data.pop("kind")
    if kind == "grad":
        data["base"] = from_dict(data["base"])
        return GradCase(**data)
    return (ConvCase if kind == "conv" else PoolCase)(**data)


def work(case: Case) -> tuple[float, str]:
    """``(amount, unit)``: FLOPs of convolutions, bytes moved by pools."""
    if case.kind == "pool" or (case.kind == "grad" and case.op not in ("conv_input",
                                                                        "conv_filter")):
        return case.traffic(), "GB/s"
    return case.flops(), "GFLOP/s"


# --------------------------------------------------------------------------- the lists

_VGG = ConvCase("vgg", (8, 56, 56, 64), (3, 3, 64, 64), group="targets")
_STEM = ConvCase("stem", (8, 224, 224, 3), (7, 7, 3, 64), (2, 2), group="targets")
_DEPTHWISE = ConvCase("depthwise", (8, 56, 56, 128), (3, 3, 128, 1), depthwise=True,
                      group="targets")
_MAX_POOL = PoolCase("max pool", (8, 112, 112, 64), "MAX", (2, 2), (2, 2), "VALID",
                     group="targets")
_AVG_POOL = PoolCase("avg pool", (8, 112, 112, 64), "AVG", (3, 3), (2, 2), "SAME",
                     group="targets")

#: The targets' cases (NHWC float32, SAME unless said): six convolutions, three pools,
#: five gradients (TensorFlow's timed as its raw backprop kernels).
TARGET_CASES: list[Case] = [
    ConvCase("seed", (1, 400, 600, 1), (3, 3, 1, 1), group="targets"),
    _VGG, _STEM,
    ConvCase("1x1", (8, 28, 28, 256), (1, 1, 256, 128), group="targets"),
    ConvCase("deep", (8, 14, 14, 256), (3, 3, 256, 256), group="targets"),
    _DEPTHWISE, _MAX_POOL, _AVG_POOL,
    PoolCase("max pool 3x3", (8, 112, 112, 64), "MAX", (3, 3), (2, 2), "SAME", group="targets"),
    GradCase("vgg dx", "conv_input", _VGG, group="targets"),
    GradCase("vgg dw", "conv_filter", _VGG, group="targets"),
    GradCase("stem dw", "conv_filter", _STEM, group="targets"),
    GradCase("depthwise dx", "conv_input", _DEPTHWISE, group="targets"),
    GradCase("depthwise dw", "conv_filter", _DEPTHWISE, group="targets"),
]

_STRIDED = ConvCase("strided", (8, 56, 56, 64), (3, 3, 64, 128), (2, 2))

EXTRA_CASES: list[Case] = [
    ConvCase("dilated", (8, 56, 56, 64), (3, 3, 64, 64), dilations=(2, 2)),
    GradCase("strided dx", "conv_input", _STRIDED),
    GradCase("strided dw", "conv_filter", _STRIDED),
    GradCase("max pool dx", "max_pool", _MAX_POOL),
    GradCase("avg pool dx", "avg_pool", _AVG_POOL),
    GradCase("argmax", "argmax", _MAX_POOL),
]


def sweeps(quick: bool) -> list[Case]:
    """Scaling sweeps of a 3x3 convolution: batch, image size, kernel size, channels."""
    batch = [1, 4] if quick else [1, 2, 4, 8, 16]
    size = [32, 64] if quick else [28, 56, 112, 224]
    kernel = [1, 3] if quick else [1, 3, 5, 7, 9, 11]
    chans = [16, 64] if quick else [8, 16, 32, 64, 128, 256]
    return ([ConvCase(f"batch {n}", (n, 56, 56, 64), (3, 3, 64, 64), group="sweep",
                      sweep="batch", x_value=n) for n in batch]
            + [ConvCase(f"image {s}", (1, s, s, 32), (3, 3, 32, 32), group="sweep",
                        sweep="image", x_value=s) for s in size]
            + [ConvCase(f"kernel {k}", (1, 64, 64, 32), (k, k, 32, 32), group="sweep",
                        sweep="kernel", x_value=k) for k in kernel]
            + [ConvCase(f"channels {c}", (4, 28, 28, c), (3, 3, c, c), group="sweep",
                        sweep="channels", x_value=c) for c in chans])


def memory_case(quick: bool) -> ConvCase:
    """The vgg layer on a batch whose full patch matrix needs 4 GiB (512 MiB in --quick)."""
    target = (512 if quick else 4096) * 2**20
    n = -(-target // (56 * 56 * 9 * 64 * 4))
    return ConvCase("memory", (n, 56, 56, 64), (3, 3, 64, 64), group="memory")
