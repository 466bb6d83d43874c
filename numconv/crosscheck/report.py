"""Run frameworks and numconv on one input and report how far each is from the truth.

The truth is numconv's result in float64 on the very inputs the frameworks get (so the
only differences are the frameworks' rounding and their conventions).  Beside each
framework's error stands numconv's own error in the framework's dtype, and the stated
tolerance (:meth:`OpConfig.error_bound`).
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .. import _args, budget
from ..pooling import avg_divisor
from ._common import DEFAULT_FRAMEWORKS, FRAMEWORKS, Translation, unavailable
from .config import OpConfig
from .divergences import applicable
from .metrics import ErrorStats, error_stats
from .translate import _geometry_line, frameworks, translate

__all__ = ["compare", "Report", "FrameworkResult", "DivergenceResult"]


@dataclass
class DivergenceResult:
    """A known divergence that applies, and what it did here (when measured)."""

    id: str
    summary: str
    measured: str | None = None
    stats: ErrorStats | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "summary": self.summary, "measured": self.measured,
                "stats": None if self.stats is None else self.stats.to_dict()}


@dataclass
class FrameworkResult:
    """One framework's run.

    ``status`` is one of ``"ok"`` (within the tolerance), ``"exceeds tolerance"``,
    ``"shape mismatch"``, ``"cannot express"``, ``"error"`` (the framework raised).
    """

    framework: str
    status: str
    translation: Translation
    stats: ErrorStats | None = None
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    message: str | None = None
    warnings: list[str] = field(default_factory=list)
    divergences: list[DivergenceResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"framework": self.framework, "status": self.status,
                "stats": None if self.stats is None else self.stats.to_dict(),
                "shape": None if self.shape is None else list(self.shape),
                "dtype": self.dtype, "message": self.message, "warnings": self.warnings,
                "notes": list(self.translation.notes), "code": self.translation.code,
                "divergences": [d.to_dict() for d in self.divergences]}


@dataclass
class Report:
    """The comparison of one configuration across frameworks; ``str()`` is the table."""

    config: OpConfig
    seed: int | None
    tolerance: str
    numconv: ErrorStats
    results: list[FrameworkResult]
    #: frameworks asked for that cannot be imported -> why (``"no module 'jax'"``)
    missing: dict[str, str] = field(default_factory=dict)

    def missing_line(self) -> str:
        """One line naming the frameworks not installed and the pip command ("" if none).

        >>> from numconv.crosscheck import OpConfig, error_stats
        >>> r = Report(OpConfig("relu", "2"), 0, "exact", error_stats([0.0], [0.0]), [],
        ...            {"jax": "no module 'jax'", "onnx": "no module 'onnx'"})
        >>> print(r.missing_line())  # doctest: +NORMALIZE_WHITESPACE
        not installed: jax (no module 'jax'), onnx (no module 'onnx');
        pip install "numconv[jax,onnx]"
        """
        if not self.missing:
            return ""
        return "not installed: " + _args.missing_text(
            {name: (why, FRAMEWORKS[name][2]) for name, why in self.missing.items()})

    @property
    def ok(self) -> bool:
        """Every framework that ran stayed within the tolerance with the right shape."""
        return all(r.status in ("ok", "cannot express") for r in self.results)

    def result(self, framework: str) -> FrameworkResult:
        (name,) = frameworks([framework], "Report.result")
        for r in self.results:
            if r.framework == name:
                return r
        _args.fail("Report.result", "framework", "must be one of the compared frameworks "
                   f"({', '.join(r.framework for r in self.results)})", framework)

    def to_dict(self) -> dict[str, Any]:
        c = self.config
        return {"config": c.describe(), "op": c.op, "input_shape": list(c.input_shape),
                "out_shape": list(c.out_shape), "dtype": c.dtype, "seed": self.seed,
                "geometry": _geometry_line(c), "tolerance": self.tolerance,
                "numconv": self.numconv.to_dict(),
                "frameworks": {r.framework: r.to_dict() for r in self.results},
                "not_installed": dict(self.missing)}

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **{"indent": 2, **kwargs})

    def table(self) -> str:
        """The human-readable report."""
        c = self.config
        lines = [c.describe(), f"geometry: {_geometry_line(c)}; numconv's output {c.out_shape}",
                 f"truth: numconv in float64 on the same {c.dtype} inputs"
                 + (f" (seed {self.seed})" if self.seed is not None else ""),
                 f"tolerance: {self.tolerance}", ""]
        head = ("", "status", "max abs", "max rel", "ULP max", "ULP mean", "ULP p99", "exact",
                "NaN diff", "err/bound", "worst index")
        rows = [head, ("numconv " + c.dtype, "ok" if self.numconv.within_bound in (True, None)
                       else "exceeds tolerance", *_cells(self.numconv))]
        for r in self.results:
            rows.append((r.framework, r.status, *(_cells(r.stats) if r.stats is not None
                                                  else [""] * 9)))
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
        for row in rows:
            lines.append("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
        if self.missing:
            lines.append(self.missing_line())
        for r in self.results:
            extra = [f"  {r.message}"] if r.message else []
            extra += [f"  note: {n}" for n in r.translation.notes]
            extra += [f"  warning: {w}" for w in r.warnings]
            if r.dtype is not None and r.dtype != c.dtype:
                extra.append(f"  returned dtype {r.dtype}, not {c.dtype}")
            if extra:
                lines += ["", f"{r.framework}:"] + extra
        groups: dict[tuple[str, str | None], tuple[list[str], DivergenceResult]] = {}
        for r in self.results:
            for d in r.divergences:
                groups.setdefault((d.id, d.measured), ([], d))[0].append(r.framework)
        if groups:
            lines += ["", "known divergences that apply:"]
            for names, d in groups.values():
                lines.append(f"  [{d.id}] ({', '.join(names)}) {d.summary}")
                if d.measured:
                    lines.append(f"      measured: {d.measured}")
        return "\n".join(lines) + "\n"

    __str__ = table


def _cells(s: ErrorStats) -> list[str]:
    ratio = "" if s.bound_ratio is None else f"{s.bound_ratio:.3g}"
    return [f"{s.max_abs:.3g}", f"{s.max_rel:.3g}", f"{s.ulp_max:.4g}", f"{s.ulp_mean:.3g}",
            f"{s.ulp_p99:.3g}", f"{100 * s.exact_fraction:.1f}%", str(s.nan_mismatches), ratio,
            "" if s.worst_index is None or s.max_abs == 0 else str(s.worst_index)]


def _tolerance_text(config: OpConfig) -> str:
    k = config.n_terms
    if config.kind in ("conv", "depthwise", "avg"):
        return (f"|error| <= gamma(K+1) * sum|terms| per output, gamma(m) = m*u/(1 - m*u), "
                f"K = {k} terms, u = unit roundoff of {config.dtype}")
    if config.kind == "leaky" or (config.kind == "relu" and not config.relu_is_plain):
        return "|error| <= 4u * (|x| * max(slope, 1) + |threshold| * slope + |max_value|)"
    return "exact (0 ULP)"


def _run(t: Translation, x: np.ndarray, w: Any, b: Any) -> tuple[Any, list[str], str | None]:
    run = t.build()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            y = np.asarray(run(x, w, b))
            error = None
        except Exception as exc:  # the framework refused: report it, do not crash
            y, error = None, f"{type(exc).__name__}: " + " ".join(str(exc).split())[:300]
    seen = []
    for item in caught:
        text = f"{item.category.__name__}: {' '.join(str(item.message).split())[:200]}"
        if text not in seen:
            seen.append(text)
    return y, seen, error


def compare(config: OpConfig, against: Sequence[str] | str | None = None, *,
            inputs: dict[str, Any] | None = None, seed: int = 0,
            nan_fraction: float = 0.0) -> Report:
    """Run ``config`` in each framework and numconv on the same input; measure every error.

    Parameters
    ----------
    config : OpConfig
    against : str or sequence of str, optional
        Frameworks (``"tf"``, ``"keras"``, ``"torch"``, ``"jax"``, ``"onnx"``;
        ``"tf,torch"`` accepted); default :data:`DEFAULT_FRAMEWORKS`.  Those that are not
        installed are left out and named in :attr:`Report.missing`.
    inputs : dict, optional
        ``{"x": ..., "w": ..., "b": ...}`` in numconv's conventions; cast to the config's
        dtype.  Default: standard-normal arrays from ``seed``.
    seed : int
        Seed of the random inputs.
    nan_fraction : float
        Share of input elements set to NaN (to show NaN policies), 0 to 1.

    Returns
    -------
    Report

    Raises
    ------
    ModuleNotFoundError
        If none of the frameworks asked for is installed (the message names them all and
        the pip command installing them).
    ValueError
        Before allocating or importing anything, if the inputs and outputs the
        comparison holds exceed :func:`numconv.config.get_memory_limit`.
    """
    fn = "compare"
    if not isinstance(config, OpConfig):
        _args.type_fail(fn, "config", "must be an OpConfig", config)
    seed = _args.integer(fn, "seed", seed, minimum=0)
    frac = _args.number(fn, "nan_fraction", nan_fraction)
    if not 0 <= frac <= 1:
        _args.fail(fn, "nan_fraction", "must lie in [0, 1]", nan_fraction)
    budget.charge(fn, "config's input, filter and output shapes", _footprint(config))
    names = DEFAULT_FRAMEWORKS if against is None else frameworks(against, fn, "against")
    failed = {name: why for name in names if (why := unavailable(name)) is not None}
    if len(failed) == len(names):   # every check above runs before importing a framework
        _args.missing_frameworks(fn, {n: (why, FRAMEWORKS[n][2]) for n, (_, why)
                                      in failed.items()}, next(iter(failed.values()))[0],
                                 len(names))
    names = tuple(n for n in names if n not in failed)
    dt = np.dtype(config.dtype)
    arrays = config.random_inputs(seed) if inputs is None else {
        k: None if v is None else np.asarray(v).astype(dt) for k, v in inputs.items()}
    x, w, b = arrays["x"], arrays.get("w"), arrays.get("b")
    if frac:
        rng = np.random.default_rng(seed + 1)
        x = np.where(rng.random(x.shape) < frac, dt.type(np.nan), x).astype(dt)
    f64 = config.replace(dtype="float64")
    cast = (lambda a: None if a is None else a.astype(np.float64))
    if config.kind == "max":  # exact in any dtype; its lowest float is the dtype's own
        truth = config.run_numconv(x).astype(np.float64)
    else:
        truth = f64.run_numconv(cast(x), cast(w), cast(b))
    bound = config.error_bound(x, w, b)
    own = error_stats(config.run_numconv(x, w, b), truth, bound)
    results = []
    for name in names:
        t = translate(config, name)
        res = FrameworkResult(name, "cannot express", t, message=t.reason)
        if t.expressible:
            y, caught, error = _run(t, x, w, b)
            res.warnings = caught
            if error is not None:
                res.status, res.message = "error", error
            elif y.shape != truth.shape:
                res.status, res.shape, res.dtype = "shape mismatch", y.shape, str(y.dtype)
                res.message = f"returned shape {y.shape}; numconv's is {truth.shape}"
            else:
                res.shape, res.dtype = y.shape, str(y.dtype)
                res.stats = error_stats(y, truth, bound)
                res.status = "ok" if res.stats.within_bound else "exceeds tolerance"
        res.divergences = [_measure(d, config, name, x, w, b, truth, bound, res.stats)
                           for d in applicable(config, name, x)]
        results.append(res)
    return Report(config, seed if inputs is None else None, _tolerance_text(config), own,
                  results, {name: why for name, (_, why) in failed.items()})


def _footprint(config: OpConfig) -> dict[str, int]:
    """Bytes a comparison holds at least: inputs drawn in float64 and cast; per output the
    float64 truth and error temporaries, numconv's and a framework's result."""
    item = np.dtype(config.dtype).itemsize
    size = (lambda shape: 0 if shape is None else math.prod(shape))
    return {"input": size(config.input_shape) * (8 + item),
            "filters": size(config.filter_shape) * (8 + item),
            "outputs": size(config.out_shape) * (3 * 8 + 2 * item)}


def _measure(d: Any, config: OpConfig, name: str, x: np.ndarray, w: Any, b: Any,
             truth: np.ndarray, bound: Any, stats: ErrorStats | None) -> DivergenceResult:
    out = DivergenceResult(d.id, d.summary)
    if d.naive_code is not None:
        t = translate(config, name)
        if not t.expressible:
            return out
        code, text = d.naive_code(t.code)
        naive_t = Translation(name, config, code)
        y, _, error = _run(naive_t, x, w, b)
        return _describe(out, text, y, error, truth, bound, f"run in {name}")
    if d.naive is None:
        if d.needs_input is not None:
            parts = [f"{n} {what}" for n, what in ((int(np.isnan(x).sum()), "NaN"),
                                                     (int(np.isneginf(x).sum()), "-inf")) if n]
            if config.geometry is not None:
                empty = int(np.sum(avg_divisor(config.geometry) == 0))
                if empty:
                    parts.append(f"{empty} window position(s) with no input element")
            out.measured = "the input holds " + ", ".join(parts) if parts else None
            if stats is not None and out.measured:
                out.measured += (f"; {stats.nan_mismatches} of {stats.size} outputs are NaN on "
                                 f"one side only, {100 * (1 - stats.exact_fraction):.1f}% differ")
        return out
    naive, text = d.naive(config)
    t = translate(naive, name)
    if t.expressible:
        y, _, error = _run(t, x, w, b)
        how = f"run in {name}"
    else:
        y, error, how = naive.run_numconv(x, w, b), None, "numconv's model of it"
    return _describe(out, text, y, error, truth, bound, how)


def _describe(out: DivergenceResult, text: str, y: Any, error: str | None, truth: np.ndarray,
              bound: Any, how: str) -> DivergenceResult:
    if error is not None:
        out.measured = f"a port with {text} fails: {error}"
    elif y.shape != truth.shape:
        out.measured = (f"a port with {text} returns shape {y.shape} instead of {truth.shape} "
                        f"({how})")
    else:
        s = error_stats(y, truth, bound)
        wrong = "" if s.within_bound else \
            f", {100 * (1 - _close(y, truth, bound)):.1f}% of outputs wrong"
        out.stats = s
        out.measured = (f"a port with {text} differs from numconv by max abs {s.max_abs:.3g} "
                        f"(worst at {s.worst_index}){wrong} ({how})")
    return out


def _close(y: np.ndarray, truth: np.ndarray, bound: Any) -> float:
    bound = np.broadcast_to(np.asarray(bound, float), truth.shape)
    diff = np.abs(y.astype(np.float64) - truth)
    ok = (diff <= bound) | (np.isnan(y) & np.isnan(truth))
    return float(ok.mean()) if ok.size else 1.0
