"""Printing, the issue's targets, and plots of the benchmark results."""

from __future__ import annotations

import math
import pathlib
import time
from typing import Any, TextIO

#: one colour per implementation in every plot
COLORS = {"numconv": "tab:blue", "tf": "tab:orange", "torch": "tab:red", "numpy-ml": "tab:green",
          "scipy": "tab:brown", "onnx": "tab:purple", "gemm": "tab:gray"}
#: ratio columns: peer time / numconv time (> 1: numconv is faster)
RATIO_NOTE = "ratio = peer time / numconv time (>1: numconv faster); best of interleaved rounds"


class Progress:
    """A one-line progress display on stderr (a line per case when not a terminal)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.total, self.index, self.current = stream, 0, 0, None
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.start = time.perf_counter()

    def step(self, case: str, what: str) -> None:
        if case != self.current:
            self.current = case
            self.index += 1 if self.total else 0
            if not self.tty:
                count = f"[{self.index}/{self.total}] " if self.total else ""
                print(f"  {count}{case} ...", file=self.stream, flush=True)
        if self.tty:
            count = f"[{self.index}/{self.total}] " if self.total else ""
            elapsed = time.perf_counter() - self.start
            self.stream.write(f"\r\033[K  {count}{elapsed:5.0f}s  {case}: {what}")
            self.stream.flush()

    def clear(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 10 else f"{seconds:.1f} s"


def print_header(info: dict[str, Any], quick: bool, notes: list[str]) -> None:
    blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} {b.get('architecture')} "
                     f"x{b.get('num_threads')}" for b in info["blas"]) or "unknown"
    env = ", ".join(f"{k}={v}" for k, v in info["env"].items() if v) or "none set"
    peers = ", ".join(f"{k} {v}" for k, v in info["peers"].items() if v) or "none"
    absent = ", ".join(k for k, v in info["peers"].items() if not v)
    print(f"numconv benchmarks{' (--quick)' if quick else ''}: {info['cpu']} "
          f"({info['cores']} cores), numpy {info['numpy']}, BLAS {blas}")
    print(f"  GEMM peak (np.matmul 2048^3 float32): {info['gemm_peak_gflops']:.0f} GFLOP/s; "
          f"copy bandwidth (read+write): {info['copy_gbps']:.1f} GB/s")
    print(f"  environment: {env}; numconv workers {info['numconv_workers']}"
          f"{' (BLAS limited per worker)' if info['numconv_blas_limited'] else ''}; "
          f"workspace bound {info['workspace_limit'] / 2**20:.0f} MiB")
    print(f"  peers: {peers}" + (f"; not installed: {absent}" if absent else ""))
    for note in notes:
        print(f"  note: {note}")
    print(f"  {RATIO_NOTE}\n")


def _rate(record: dict[str, Any], seconds: float) -> float:
    scale = 1e9
    return record["work"] / seconds / scale


def print_case(record: dict[str, Any], info: dict[str, Any], peers: list[str]) -> None:
    times = record["times"]
    nc = times["numconv"]["best"]
    rate = _rate(record, nc)
    unit = record["unit"]
    ref = info["gemm_peak_gflops"] if unit == "GFLOP/s" else info["copy_gbps"]
    algo = f" [{record['algorithm']}]" if record.get("algorithm") else ""
    mem = record.get("memory", {}).get("extra")
    mem_text = f"{mem / 2**20:7.1f} MiB" if mem is not None else ""
    line = (f"{record['name']:<12} {record['shape'] + algo:<46} {_ms(nc):>10} "
            f"{rate:7.1f} {unit:<7} {100 * rate / ref:4.0f}%  extra {mem_text}")
    if record["group"] == "memory":
        print(line + " | one run under tracemalloc")
        return
    parts = []
    for peer in peers:
        if peer in times:
            t = times[peer]["best"]
            parts.append(f"{peer} {_ms(t)} {t / nc:5.2f}x" + ("*" if times[peer].get(
                "samples", 2) == 1 else ""))
        else:
            parts.append(f"{peer} -")
    print(line + " | " + "  ".join(parts))


def print_notes(records: list[dict[str, Any]]) -> None:
    """Why a peer shows ``-``: each reason once, with the cases it applies to."""
    reasons: dict[tuple[str, str], list[str]] = {}
    for r in records:
        for peer, why in r.get("notes", {}).items():
            reasons.setdefault((peer, why), []).append(r["name"])
    if reasons:
        print("\npeers not run (-):")
    for (peer, why), names in sorted(reasons.items()):
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        print(f"  {peer}: {why} ({shown})")


def print_profiles(records: list[dict[str, Any]]) -> None:
    rows = [r for r in records if r.get("profile")]
    if not rows:
        return
    print("\nwhere the time goes (share of one call; worker phases scaled to wall time):")
    phases = ["pad", "patches", "gemm", "taps", "transform", "product", "epilogue", "outside"]
    print(f"  {'case':<12} {'algorithm':<10} " + " ".join(f"{p:>9}" for p in phases))
    for r in rows:
        cells = " ".join(f"{100 * r['profile'].get(p, 0.0):8.0f}%" for p in phases)
        print(f"  {r['name']:<12} {r['algorithm'] or '':<10} {cells}")


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else math.nan


def _ratios(records: list[dict[str, Any]], peer: str, kind: str, groups: tuple[str, ...]
            ) -> dict[str, float]:
    return {r["name"]: r["times"][peer]["best"] / r["times"]["numconv"]["best"]
            for r in records if r["kind"] == kind and r["group"] in groups
            and peer in r["times"]}


def _floor_vs(records: list[dict[str, Any]], peer: str) -> dict[str, float]:
    """``peer time / GEMM-floor time`` per issue case that has both."""
    return {r["name"]: r["times"][peer]["best"] / r["times"]["gemm"]["best"]
            for r in records if r["kind"] == "conv" and r["group"] == "issue"
            and peer in r["times"] and "gemm" in r["times"]}


def targets(records: list[dict[str, Any]], info: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, printed and returned."""
    out: dict[str, Any] = {}
    print("\ntargets (ratios measured side by side in this run):")
    for label, groups in (("issue cases", ("issue",)), ("all forward cases", ("issue", "conv"))):
        tf = _ratios(records, "tf", "conv", groups)
        if tf:
            worst = min(tf, key=tf.get)
            mean = _geomean(list(tf.values()))
            ok = mean >= 1.0 and tf[worst] >= 0.5
            print(f"  convolution vs TF ({label}): geometric mean {mean:.2f}x "
                  f"(target >= 1.0), lowest {tf[worst]:.2f}x on {worst} (target >= 0.5) "
                  f"-> {'met' if ok else 'NOT met'}")
            out[f"conv_vs_tf_{groups[-1]}"] = {"geomean": mean, "min": tf[worst],
                                               "min_case": worst, "ratios": tf, "met": ok}
    floor = _floor_vs(records, "tf")
    if floor:
        worst = min(floor, key=floor.get)
        print(f"  GEMM floor vs TF (np.matmul alone on a prebuilt patch matrix, the best any "
              f"im2col path can do): geometric mean {_geomean(list(floor.values())):.2f}x, "
              f"lowest {floor[worst]:.2f}x on {worst}")
        out["gemm_floor_vs_tf"] = floor
    nml = _ratios(records, "numpy-ml", "conv", ("issue", "conv"))
    if nml:
        worst = min(nml, key=nml.get)
        print(f"  convolution vs numpy-ml: lowest {nml[worst]:.1f}x on {worst} (target >= 5) "
              f"-> {'met' if nml[worst] >= 5 else 'NOT met'}")
        out["conv_vs_numpy_ml"] = {"min": nml[worst], "min_case": worst, "ratios": nml}
        floor = _floor_vs(records, "numpy-ml")
        if floor:
            print("  GEMM floor vs numpy-ml: " + ", ".join(f"{k} {v:.1f}x"
                                                          for k, v in floor.items()))
    for peer, goal in (("tf", 1.0), ("numpy-ml", 100.0)):
        pool = _ratios(records, peer, "pool", ("issue",))
        if pool:
            worst = min(pool, key=pool.get)
            print(f"  pooling vs {peer}: lowest {pool[worst]:.2f}x on {worst} (target >= {goal:g}) "
                  f"-> {'met' if pool[worst] >= goal else 'NOT met'}")
            out[f"pool_vs_{peer}"] = {"min": pool[worst], "min_case": worst, "ratios": pool}
    for r in records:
        if r["group"] == "memory":
            extra, bound = r["memory"]["extra"], info["workspace_limit"]
            n = int(r["shape"].split("x")[0])
            patches = n * 56 * 56 * 9 * 64 * 4
            print(f"  memory: {r['shape']}: full patch matrix {patches / 2**30:.2f} GiB, peak "
                  f"extra {extra / 2**20:.0f} MiB (bound {bound / 2**20:.0f} MiB) -> "
                  f"{'met' if extra <= bound else 'NOT met'}")
            out["memory"] = {"patch_bytes": patches, "extra": extra, "bound": bound,
                             "met": extra <= bound}
    return out


def plot_results(records: list[dict[str, Any]], out_dir: pathlib.Path, stamp: str,
                 peak: float | None = None) -> list[pathlib.Path]:
    """One PNG per sweep (rate against the swept value, per implementation)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    written = []
    sweeps = sorted({r["sweep"] for r in records if r.get("sweep")})
    for sweep in sweeps:
        rows = [r for r in records if r.get("sweep") == sweep]
        fig, ax = plt.subplots(figsize=(6, 4))
        impls = sorted({k for r in rows for k in r["times"]}, key=lambda k: k != "numconv")
        for impl in impls:
            pts = [(r["x"], _rate(r, r["times"][impl]["best"])) for r in rows if impl in r["times"]]
            if pts:
                xs, ys = zip(*pts)
                ax.plot(xs, ys, marker="o", label=impl, color=COLORS.get(impl),
                        linewidth=2.5 if impl == "numconv" else 1)
        if peak and rows[0]["unit"] == "GFLOP/s":
            ax.axhline(peak, color="grey", linestyle="--", linewidth=1,
                       label="GEMM peak (np.matmul)")
        if sweep != "kernel":
            ax.set_xscale("log", base=2)
        ax.set_xticks([r["x"] for r in rows], [str(r["x"]) for r in rows])
        ax.set_xlabel(sweep)
        ax.set_ylabel(rows[0]["unit"])
        ax.set_title(f"convolution, {sweep} sweep: {rows[0]['shape']} ... {rows[-1]['shape']}",
                     fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out_dir / f"sweep-{sweep}-{stamp}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written
