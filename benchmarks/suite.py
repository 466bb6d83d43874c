"""The benchmark runner: ``python -m benchmarks`` and ``numconv bench``.

Measures, in one run: the machine's GEMM peak and copy bandwidth, then every case
with numconv, each installed peer and the case's floor, each in its own worker
process, interleaved round by round (:mod:`benchmarks.measure`); the per-element
errors of the convolution cases (:mod:`benchmarks.accuracy`); numconv's extra
memory and, for convolutions, where its time goes.  Prints one line per case and
the targets, writes JSON, a markdown table and plots of the sweeps to
``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import json
import math
import pathlib
import sys
import tempfile
import time
from typing import Any, Sequence

import numpy as np

from . import accuracy as A
from . import cases as C
from . import measure as M
from . import peers as P
from .floors import FLOORS
from .report import (Progress, markdown, plot_results, print_case, print_header, print_notes,
                     print_profiles, targets)

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
#: the choices of --peers: frameworks and NumPy peers, then the floors
CHOICES = P.PEER_NAMES + FLOORS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The suite's options (shared by ``python -m benchmarks`` and ``numconv bench``)."""
    parser.add_argument("--quick", action="store_true",
                        help="a short run (under two minutes): the target cases unless "
                        "--cases says otherwise, two rounds, smaller sweeps and memory case")
    parser.add_argument("--cases", default="*", metavar="PATTERNS",
                        help="comma-separated glob patterns of case names or groups "
                        "(targets, conv, backward, sweep, memory); default all")
    parser.add_argument("--peers", default=",".join(CHOICES), metavar="NAMES",
                        help="comma-separated peers and floors to run beside numconv "
                        "(default: " + ",".join(CHOICES) + "; absent ones are skipped)")
    parser.add_argument("--baseline", default=None, metavar="REV",
                        help="also time numconv as of git revision REV of this checkout "
                        "(its own process, same rounds): column numconv@REV, and whether "
                        "any case got more than 5%% slower")
    parser.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                        help="timing budget per case (default 2, --quick 0.3)")
    parser.add_argument("--no-sweeps", action="store_true", help="skip the scaling sweeps")
    parser.add_argument("--no-plots", action="store_true", help="write no PNG plots")
    parser.add_argument("--no-profile", action="store_true", help="skip the profile breakdown")
    parser.add_argument("--no-errors", action="store_true",
                        help="skip the error columns (wide-range data, float64 truth)")
    parser.add_argument("--output", default=str(RESULTS), metavar="DIR",
                        help="directory for the JSON results, markdown table and plots "
                        "(default benchmarks/results)")


def collect(patterns: list[str], sweeps: bool = True, quick: bool = False) -> list[C.Case]:
    """The cases whose name or group matches a pattern, in order (sweeps and the memory
    case smaller when ``quick``)."""
    everything = (C.TARGET_CASES + C.EXTRA_CASES + (C.sweeps(quick) if sweeps else [])
                  + [C.memory_case(quick)])
    return [c for c in everything
            if any(fnmatch.fnmatch(c.name, p) or fnmatch.fnmatch(c.group, p) for p in patterns)]


def implementations(case: C.Case, available: list[str], quick: bool) -> tuple[list[str], dict]:
    """The implementations that run a case, and why the others do not."""
    if case.group == "memory":
        return ["numconv"], {}
    notes: dict[str, str] = {}
    names = []
    for p in available:
        if p.startswith("numconv@"):        # a baseline revision: every case
            names.append(p)
            continue
        if p == "numconv-fast" and case.kind != "conv" or p in FLOORS and p != case.floor:
            continue
        if quick and p in P.SLOW_PEERS and case.kind != "conv":
            notes[p] = "skipped in --quick"
        else:
            names.append(p)
    return names, notes


def run_case(case: C.Case, workers: dict[str, M.Worker], quick: bool, budget: float,
             progress: Progress, errors: bool, profile: bool) -> dict[str, Any]:
    """Prepare, time, measure errors, memory and profile of one case: its record."""
    names, notes = implementations(case, list(workers), quick)
    amount, unit = C.work(case)
    record: dict[str, Any] = {
        "name": case.name, "group": case.group, "kind": case.kind, "shape": case.describe(),
        "sweep": case.sweep, "x": case.x_value, "work": amount, "unit": unit,
        "traffic": case.traffic(), "floor": case.floor, "algorithm": {}, "notes": notes,
        "times": {}, "errors": {}}
    first: dict[str, float] = {}
    for name in names:
        progress.step(case.name, f"{name}: inputs and warm-up")
        reply = workers[name].ask("prepare", case=case.to_dict())
        if not reply["ok"]:
            notes[name] = reply["why"]
            continue
        first[name] = reply["first"]
        if reply.get("algorithm"):
            record["algorithm"][name] = reply["algorithm"]
        if reply.get("scale", 1.0) != 1.0:
            record.setdefault("scale", {})[name] = reply["scale"]
    if "numconv" not in first:
        return record
    if case.group == "memory":
        record["times"]["numconv"] = {"best": first["numconv"], "median": first["numconv"],
                                      "samples": 1}
    else:
        record["times"] = M.time_case(
            {n: workers[n] for n in first}, first, budget, slow=P.SLOW_PEERS,
            min_rounds=2 if quick else 3, max_rounds=3 if quick else 30,
            samples=2 if quick else 3, on_progress=lambda what: progress.step(case.name, what))
    if errors and case.kind == "conv" and case.group != "memory":
        progress.step(case.name, "errors on wide-range data")
        record["errors"] = _errors(case, [n for n in first if n not in FLOORS], workers, notes)
    progress.step(case.name, "extra memory (tracemalloc)")
    reply = workers["numconv"].ask("memory")
    if reply["ok"]:
        record["memory"] = {"extra": reply["extra"], "result": reply["result"]}
        if case.kind == "conv":
            record["memory"]["patches"] = case.patch_bytes()
    if profile and case.kind == "conv" and case.group != "memory":
        reply = workers["numconv"].ask("profile")
        if reply["ok"]:
            record["profile"] = reply["profile"]
    return record


def _errors(case: C.Case, names: list[str], workers: dict[str, M.Worker],
            notes: dict[str, str]) -> dict[str, float]:
    truth, scale = A.reference(case)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            path = pathlib.Path(tmp) / f"{name}.npy"
            reply = workers[name].ask("accuracy", path=str(path))
            if not reply["ok"]:
                notes[f"{name} error"] = reply["why"]
                continue
            try:
                out[name] = A.error(np.load(path), truth, scale)
            except ValueError as exc:
                notes[f"{name} error"] = str(exc)
    return out


def select(args: argparse.Namespace) -> list[C.Case]:
    """The cases ``--cases`` selects (``--quick`` alone: the target cases); ValueError,
    naming the groups and cases, when the patterns select nothing (or naming the
    revision, when git does not know ``--baseline``'s)."""
    if getattr(args, "baseline", None):
        M.revision(args.baseline)
    patterns = [p.strip() for p in args.cases.split(",") if p.strip()]
    if args.quick and patterns == ["*"]:
        patterns = ["targets"]
    selected = collect(patterns, not args.no_sweeps, args.quick)
    if selected:
        return selected
    every = collect(["*"], True, args.quick)
    groups = sorted({c.group for c in every})
    names = [c.name for c in every if c.group != "sweep"]
    raise ValueError(f"argument --cases: {args.cases!r} matches no case; use groups "
                     f"({', '.join(groups)}) or case names ({', '.join(names)}), glob "
                     "patterns allowed" + ("" if not args.no_sweeps else
                                           ", without --no-sweeps for the sweep group"))


def main(argv: Sequence[str] | None = None, args: argparse.Namespace | None = None) -> int:
    """Run the suite; returns the exit status."""
    if args is None:
        parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
        add_arguments(parser)
        args = parser.parse_args(argv)
        try:
            select(args)
        except ValueError as exc:      # one line, as argparse's own errors
            parser.error(str(exc))
    quick = args.quick
    budget = args.budget if args.budget is not None else (0.3 if quick else 2.0)
    wanted = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in wanted if p not in CHOICES]
    if unknown:
        raise ValueError(f"--peers: unknown peer {unknown[0]!r}, choose from "
                         + ", ".join(CHOICES))
    selected = select(args)
    baseline = getattr(args, "baseline", None)
    with tempfile.TemporaryDirectory(prefix="numconv-baseline-") as tmp:
        homes = {f"numconv@{baseline}": M.export_revision(baseline, pathlib.Path(tmp))} \
            if baseline else {}
        return run(selected, wanted, quick, budget, pathlib.Path(args.output),
                   errors=not args.no_errors, profile=not args.no_profile,
                   plots=not args.no_plots, homes=homes)


def run(selected: list[C.Case], wanted: list[str], quick: bool, budget: float,
        out_dir: pathlib.Path, errors: bool = True, profile: bool = True,
        plots: bool = True, homes: dict[str, pathlib.Path] | None = None) -> int:
    """Run ``selected`` cases with numconv and the ``wanted`` peers (and ``homes``:
    ``numconv@REV`` -> the directory of that revision's numconv); write the results."""
    started = time.perf_counter()
    progress = Progress(sys.stderr)
    progress.step("machine", "GEMM peak and copy bandwidth")
    info = M.machine()
    info["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    info["gemm_peak_gflops"] = M.gemm_peak()
    info["copy_gbps"] = M.copy_bandwidth()
    progress.step("workers", "starting numconv, " + ", ".join(wanted))
    workers, hellos = M.start_workers(["numconv", "numconv-fast"] + wanted + list(homes or {}),
                                      homes)
    try:
        if "numconv" not in workers:
            raise M.WorkerError(f"numconv's worker did not start: {hellos['numconv']['why']}")
        info["numconv"] = hellos["numconv"].get("info", {})
        info["baselines"] = {n: hellos[n].get("info", {}).get("home") for n in homes or {}}
        info["versions"] = {n: h.get("version") for n, h in hellos.items() if h.get("ready")}
        info["absent"] = {n: h.get("why") for n, h in hellos.items() if not h.get("ready")}
        progress.total = len(selected)
        print_header(info, quick)
        records = []
        for case in selected:
            record = run_case(case, workers, quick, budget, progress, errors, profile)
            records.append(record)
            progress.clear()
            print_case(record, sys.stdout)
    finally:
        for worker in workers.values():
            worker.close()
    progress.clear()
    print_notes(records)
    if profile:
        print_profiles(records)
    info["load_average_end"] = M.machine()["load_average"]
    summary = targets(records, sys.stdout, info["numconv"].get("workspace_limit"))
    info["elapsed_s"] = time.perf_counter() - started
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ("-quick" if quick else "")
    data = {"machine": info, "quick": quick, "budget": budget, "cases": records,
            "targets": summary}
    path = out_dir / f"bench-{stamp}.json"
    path.write_text(json.dumps(data, indent=1, default=_json_default))
    table = out_dir / f"bench-{stamp}.md"
    table.write_text(markdown(data))
    print(f"\nresults: {path}\nmarkdown table: {table}")
    if plots:
        for figure in plot_results(records, out_dir, stamp, info["gemm_peak_gflops"]):
            print(f"plot: {figure}")
    print(f"elapsed: {info['elapsed_s']:.1f} s")
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
