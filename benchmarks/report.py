"""Printing, the targets, the markdown table and the plots of a benchmark run.

``python -m benchmarks.report RESULTS.json`` prints the markdown table (machine,
date, one row per case, the targets) of a saved run, for the README.
"""

from __future__ import annotations

import json
import math
import pathlib
import sys
import time
from typing import Any, TextIO

#: one colour per implementation in every plot
COLORS = {"numconv": "tab:blue", "numconv-fast": "tab:cyan", "tf": "tab:orange",
          "torch": "tab:red", "numpy-ml": "tab:green", "scipy": "tab:brown",
          "onnx": "tab:purple", "gemm": "tab:gray", "copy": "tab:gray"}
LABELS = {"numconv-fast": "fast", "tf": "TF", "torch": "PyTorch"}
RATIO_NOTE = ("each implementation in its own process, interleaved rounds, best sample; "
              "x = other time / numconv time (>1: numconv faster); floor x = how close "
              "numconv is to its floor (1 = at the floor); err = max |got-truth| / "
              "(|x| conv |w|) on data of magnitudes 1e-6..1e6")
FLOOR_NAMES = ("gemm", "copy")
#: implementations in the order of every line and table
ORDER = ("numconv", "numconv-fast", "tf", "torch", "numpy-ml", "scipy", "onnx") + FLOOR_NAMES


class Progress:
    """A one-line progress display on stderr (a line per case when not a terminal)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.total, self.index, self.current = stream, 0, 0, None
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.start = time.perf_counter()

    def step(self, case: str, what: str) -> None:
        count = f"[{self.index}/{self.total}] " if self.total else ""
        if case != self.current:
            self.current = case
            self.index += 1 if self.total else 0
            count = f"[{self.index}/{self.total}] " if self.total else ""
            if not self.tty:
                print(f"  {count}{case} ...", file=self.stream, flush=True)
        if self.tty:
            elapsed = time.perf_counter() - self.start
            self.stream.write(f"\r\033[K  {count}{elapsed:5.0f}s  {case}: {what}")
            self.stream.flush()

    def clear(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}" if seconds < 10 else f"{seconds:.0f}s"


def _blas(info: dict[str, Any]) -> str:
    libs = info.get("numconv", {}).get("blas", [])
    return ", ".join(f"{b.get('internal_api')} {b.get('version')} {b.get('architecture')} "
                     f"x{b.get('num_threads')}" for b in libs) or "unknown"


def _load(info: dict[str, Any]) -> str:
    la = info.get("load_average")
    return "/".join(f"{v:.1f}" for v in la) if la else "?"


def print_header(info: dict[str, Any], quick: bool, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    nc = info.get("numconv", {})
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items()) or "none"
    print(f"numconv benchmarks{' (--quick)' if quick else ''}, {info['date']}: {info['cpu']} "
          f"({info['cores']} cores), numpy {info['numpy']}, BLAS {_blas(info)}; "
          f"load average {_load(info)}", file=out)
    blas = ", BLAS 1 thread each" if nc.get("blas_limited") else ""
    print(f"  GEMM peak (np.matmul 2048^3 float32) {info['gemm_peak_gflops']:.0f} GFLOP/s; "
          f"copy bandwidth (read+write, 1 thread) {info['copy_gbps']:.1f} GB/s; numconv "
          f"workers {nc.get('workers', '?')}{blas}", file=out)
    print(f"  implementations: {versions}", file=out)
    for name, why in info.get("absent", {}).items():
        print(f"  not run: {name} ({why})", file=out)
    print(f"  {RATIO_NOTE}\n", file=out)


def _baselines(records: list[dict[str, Any]]) -> list[str]:
    """The ``numconv@REV`` implementations (``--baseline``) that ran a case."""
    return sorted({n for r in records for n in r["times"] if n.startswith("numconv@")})


def _best(record: dict[str, Any], name: str) -> float | None:
    t = record["times"].get(name)
    return t["best"] if t else None


def print_case(record: dict[str, Any], out: TextIO | None = None) -> None:
    """One line: numconv's time, each other implementation's ratio (times in the JSON
    and the markdown), the floor's time and ratio, the errors of numconv, its fast path,
    TF and PyTorch.  Implementations that did not run are left out (reasons in the JSON)."""
    out = out or sys.stdout
    nc = _best(record, "numconv")
    head = f"{record['name']:<13}{record['shape']:<27}"
    if nc is None:
        print(head + " numconv did not run: " + record["notes"].get("numconv", "?"), file=out)
        return
    algo = record["algorithm"].get("numconv")
    line = head + f"{_ms(nc):>8} ms" + (f" {algo}" if algo else "")
    times = record["times"]
    others = [f"{LABELS.get(n, n)} {times[n]['best'] / nc:.2f}x"
              + ("*" if times[n]["samples"] == 1 else "")
              for n in ORDER + tuple(_baselines([record]))
              if n in times and n != "numconv" and n not in FLOOR_NAMES]
    if others:
        line += " | " + " ".join(others)
    floor = _best(record, record["floor"])
    if floor is not None:
        line += f" | floor {record['floor']} {_ms(floor)} ms {floor / nc:.2f}x"
    errors = record.get("errors", {})
    if "numconv" in errors:
        peers = [f"{LABELS.get(n, n)} {errors[n]:.0e}" for n in ORDER[1:4] if n in errors]
        line += f" | err {errors['numconv']:.0e}" + (f" ({' '.join(peers)})" if peers else "")
    if record.get("memory") and record["group"] == "memory":
        line += f" | extra memory {record['memory']['extra'] / 2**20:.0f} MiB"
    print(line, file=out)


def print_notes(records: list[dict[str, Any]], out: TextIO | None = None) -> None:
    """Why an implementation is missing from a line: each reason once, with its cases."""
    out = out or sys.stdout
    reasons: dict[tuple[str, str], list[str]] = {}
    for r in records:
        for name, why in r.get("notes", {}).items():
            reasons.setdefault((name, why), []).append(r["name"])
    if reasons:
        print("\nnot run:", file=out)
    for (name, why), names in sorted(reasons.items()):
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        print(f"  {name}: {why} ({shown})", file=out)


def print_profiles(records: list[dict[str, Any]], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    rows = [r for r in records if r.get("profile")]
    if not rows:
        return
    print("\nwhere numconv's time goes (share of one call; worker phases scaled to wall time):",
          file=out)
    phases = sorted({p for r in rows for p in r["profile"]} - {"outside"}) + ["outside"]
    print(f"  {'case':<13}{'algorithm':<11}" + "".join(f"{p:>10}" for p in phases), file=out)
    for r in rows:
        cells = "".join(f"{100 * r['profile'].get(p, 0.0):9.0f}%" for p in phases)
        print(f"  {r['name']:<13}{r['algorithm'].get('numconv') or '':<11}{cells}", file=out)


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else math.nan


def _ratios(records: list[dict[str, Any]], kind: str, peer: str = "tf",
            subject: str = "numconv") -> dict[str, float]:
    return {r["name"]: r["times"][peer]["best"] / r["times"][subject]["best"]
            for r in records if r["kind"] == kind and r["group"] == "targets"
            and peer in r["times"] and subject in r["times"]}


def targets(records: list[dict[str, Any]], out: TextIO | None = None,
            workspace: int | None = None) -> dict[str, Any]:
    """The targets, from this run's TF ratios (TF time / numconv time), each case's
    distance to its floor, and the memory case's extra memory (under 1 GiB and the
    ``workspace`` bound): printed, returned."""
    out = out or sys.stdout
    summary: dict[str, Any] = {}
    lines = []
    for label, kind, mean_goal, low_goal in (("convolutions", "conv", 1.0, 0.7),
                                             ("gradients", "grad", 0.8, 0.5)):
        ratios = _ratios(records, kind)
        if ratios:
            low = min(ratios, key=ratios.get)
            mean = _geomean(list(ratios.values()))
            met = mean >= mean_goal and ratios[low] >= low_goal
            lines.append(f"{label} vs TF: geometric mean {mean:.2f}x over {len(ratios)} "
                         f"(target >= {mean_goal}), lowest {ratios[low]:.2f}x on {low} "
                         f"(target >= {low_goal}) -> {'met' if met else 'NOT met'}")
            summary[kind] = {"geomean": mean, "min": ratios[low], "min_case": low,
                             "ratios": ratios, "met": met}
    pools = _ratios(records, "pool")
    if pools:
        low = min(pools, key=pools.get)
        lines.append("pools vs TF: " + ", ".join(f"{k} {v:.2f}x" for k, v in pools.items())
                     + f" (target each >= 1.0) -> {'met' if pools[low] >= 1.0 else 'NOT met'}")
        summary["pool"] = {"min": pools[low], "min_case": low, "ratios": pools,
                           "met": pools[low] >= 1.0}
    fast = {k: v for k, v in _ratios(records, "conv", subject="numconv-fast").items()
            if k in ("vgg", "deep")}
    if fast:
        met = len(fast) == 2 and min(fast.values()) >= 1.2
        lines.append("fast path vs TF: " + ", ".join(f"{k} {v:.2f}x" for k, v in fast.items())
                     + f" (target >= 1.2) -> {'met' if met else 'NOT met'}")
        summary["fast"] = {"ratios": fast, "met": met}
    floors = {r["name"]: (r["floor"], r["times"][r["floor"]]["best"] / r["times"]["numconv"]
                          ["best"])
              for r in records if r["group"] == "targets" and r["floor"] in r["times"]
              and "numconv" in r["times"]}
    if floors:
        lines.append("numconv vs its floor (floor time / numconv time): " + ", ".join(
            f"{k} {v:.2f}x ({f})" for k, (f, v) in floors.items()))
        summary["floors"] = {k: v for k, (_, v) in floors.items()}
    for base in _baselines(records):
        ratios = {r["name"]: r["times"][base]["best"] / r["times"]["numconv"]["best"]
                  for r in records if base in r["times"] and "numconv" in r["times"]}
        low = min(ratios, key=ratios.get)
        met = ratios[low] >= 1 / 1.05
        lines.append(f"numconv vs {base} ({base} time / numconv time): geometric mean "
                     f"{_geomean(list(ratios.values())):.2f}x over {len(ratios)}, lowest "
                     f"{ratios[low]:.2f}x on {low} (no case more than 5% slower: "
                     f">= {1 / 1.05:.3f}) -> {'met' if met else 'NOT met'}")
        summary[base] = {"min": ratios[low], "min_case": low, "ratios": ratios, "met": met}
    for r in records:
        if r["group"] == "memory" and "memory" in r:
            extra = r["memory"]["extra"]
            met = extra < 2**30 and (workspace is None or extra <= workspace)
            bound = f", workspace bound {workspace / 2**20:.0f} MiB" if workspace else ""
            lines.append(f"memory: {r['shape']} (full patch matrix "
                         f"{r['memory']['patches'] / 2**30:.1f} GiB) ran in "
                         f"{extra / 2**20:.0f} MiB extra (target < 1024 MiB{bound}) -> "
                         f"{'met' if met else 'NOT met'}")
            summary["memory"] = {"extra": extra, "workspace": workspace, "met": met,
                                 "patches": r["memory"]["patches"]}
    if lines:
        print("\ntargets (TF time / numconv time, measured side by side in this run):", file=out)
        for line in lines:
            print("  " + line, file=out)
    return summary


def markdown(data: dict[str, Any]) -> str:
    """The README's benchmark table of a run: machine, date, one row per case, targets."""
    info, records = data["machine"], data["cases"]
    v = info.get("versions", {})
    names = [n for n in ("numconv-fast", "tf", "torch")
             if any(n in r["times"] for r in records)] + _baselines(records)
    lines = [f"Measured {info['date']} on {info['cpu']} ({info['cores']} cores), Python "
             f"{info['python']}, NumPy {info['numpy']} (BLAS {_blas(info)}), "
             + ", ".join(f"{LABELS[n]} {v[n]}" for n in ("tf", "torch") if v.get(n))
             + f"; load average {_load(info)} at the start, "
             f"{_load({'load_average': info.get('load_average_end')})} at the end. Float32, NHWC, SAME unless "
             "said. Each implementation in its own process, interleaved rounds, best "
             "sample; ratio = other time / numconv time (> 1: numconv faster). Floor: "
             "numconv's blocked GEMM (gemm) or its copy bandwidth (copy) on the same threads. "
             "Error: max |got - truth| / (|x| conv |w|) on data of magnitudes 1e-6..1e6."
             + (' fast: numconv with precision="fast" (Winograd and FFT allowed).'
                if "numconv-fast" in names else ""), ""]
    head = ["case", "shape", "numconv ms"]
    for n in names:
        head += [f"{LABELS.get(n, n)} ms", "ratio"]
    head += ["floor ms", "floor / numconv", "error numconv"] + [
        f"error {LABELS.get(n, n)}" for n in names]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in records:
        if r["group"] not in ("targets", "conv", "backward") or "numconv" not in r["times"]:
            continue
        nc = r["times"]["numconv"]["best"]
        row = [r["name"], r["shape"], f"{nc * 1e3:.2f}"]
        for n in names:
            t = _best(r, n)
            row += [f"{t * 1e3:.2f}", f"{t / nc:.2f}"] if t else ["-", "-"]
        floor = _best(r, r["floor"])
        row += [f"{floor * 1e3:.2f} ({r['floor']})", f"{floor / nc:.2f}"] if floor else ["-", "-"]
        errors = r.get("errors", {})
        row += [f"{errors[n]:.1e}" if n in errors else "-" for n in ["numconv"] + names]
        lines.append("| " + " | ".join(row) + " |")
    summary = data.get("targets", {})
    if summary:
        lines.append("")
        for key, label in (("conv", "convolutions"), ("grad", "gradients")):
            if key in summary:
                s = summary[key]
                lines.append(f"- {label} vs TF: geometric mean {s['geomean']:.2f}x, lowest "
                             f"{s['min']:.2f}x ({s['min_case']})")
        if "pool" in summary:
            lines.append("- pools vs TF: " + ", ".join(f"{k} {x:.2f}x" for k, x in
                                                      summary["pool"]["ratios"].items()))
        if "fast" in summary:
            lines.append("- fast path vs TF: " + ", ".join(f"{k} {x:.2f}x" for k, x in
                                                          summary["fast"]["ratios"].items()))
        for base in _baselines(records):
            if base in summary:
                b = summary[base]
                lines.append(f"- vs {base}: lowest {b['min']:.2f}x ({b['min_case']}), "
                             + ("no case" if b["met"] else "a case") + " more than 5% slower")
        if "patches" in summary.get("memory", {}):
            m = summary["memory"]
            lines.append(f"- memory: {m['patches'] / 2**30:.1f} GiB of patches computed in "
                         f"{m['extra'] / 2**20:.0f} MiB of extra memory")
    return "\n".join(lines) + "\n"


def _rate(record: dict[str, Any], seconds: float) -> float:
    return record["work"] / seconds / 1e9


def plot_results(records: list[dict[str, Any]], out_dir: pathlib.Path, stamp: str,
                 peak: float | None = None) -> list[pathlib.Path]:
    """One PNG per sweep (rate against the swept value, per implementation)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    written = []
    for sweep in sorted({r["sweep"] for r in records if r.get("sweep")}):
        rows = [r for r in records if r.get("sweep") == sweep]
        fig, ax = plt.subplots(figsize=(6, 4))
        impls = sorted({k for r in rows for k in r["times"]}, key=lambda k: k != "numconv")
        for impl in impls:
            pts = [(r["x"], _rate(r, r["times"][impl]["best"])) for r in rows
                   if impl in r["times"]]
            xs, ys = zip(*pts)
            ax.plot(xs, ys, marker="o", color=COLORS.get(impl),
                    label=f"{impl} floor" if impl in FLOOR_NAMES else impl,
                    linewidth=2.5 if impl == "numconv" else 1,
                    linestyle=":" if impl in FLOOR_NAMES else "-")
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


def main(argv: list[str]) -> int:
    """Print the markdown table of saved runs."""
    for name in argv:
        print(markdown(json.loads(pathlib.Path(name).read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
