"""The benchmark runner: ``python -m benchmarks`` and ``numconv bench``.

Measures, in one run: the machine's GEMM peak and copy bandwidth, then every case
(numconv and each installed peer, interleaved), numconv's extra memory, and the
profile breakdown of the convolution cases; prints a table per group, the
issue's targets, writes JSON to ``benchmarks/results/`` and plots of the sweeps.
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import json
import math
import pathlib
import sys
import time
from typing import Any, Sequence

from . import cases as C
from . import measure as M
from . import peers as P
from .report import (Progress, plot_results, print_case, print_header, print_notes,
                     print_profiles, targets)

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The suite's options (shared by ``python -m benchmarks`` and ``numconv bench``)."""
    parser.add_argument("--quick", action="store_true",
                        help="a short run (under a minute): fewer rounds and sweep points, "
                        "no ONNX, numpy-ml on the forward convolution cases only, a 512 MiB "
                        "memory case")
    parser.add_argument("--cases", default="*", metavar="PATTERNS",
                        help="comma-separated glob patterns of case names or groups "
                        "(issue, conv, backward, sweep, memory); default all")
    parser.add_argument("--peers", default=",".join(P.PEER_NAMES), metavar="NAMES",
                        help="comma-separated peers to compare (default: "
                        + ",".join(P.PEER_NAMES) + "; absent ones are skipped)")
    parser.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                        help="timing budget per case (default 2, --quick 0.3)")
    parser.add_argument("--no-sweeps", action="store_true", help="skip the scaling sweeps")
    parser.add_argument("--no-plots", action="store_true", help="write no PNG plots")
    parser.add_argument("--no-profile", action="store_true", help="skip the profile breakdown")
    parser.add_argument("--output", default=str(RESULTS), metavar="DIR",
                        help="directory for the JSON results and plots (default "
                        "benchmarks/results)")


def _selected(case: Any, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(case.name, p) or fnmatch.fnmatch(case.group, p)
               for p in patterns)


def collect(quick: bool, patterns: list[str], sweeps: bool) -> tuple[list[Any], list[str]]:
    """The cases to run, in order, and notes on skipped groups."""
    notes: list[str] = []
    everything = C.ISSUE_CASES + C.EXTRA_CASES + C.backward_cases()
    if sweeps:
        for group in C.sweeps(quick).values():
            everything += group
    everything.append(C.memory_case(quick))
    return [c for c in everything if _selected(c, patterns)], notes


def run_case(case: Any, wanted: list[str], quick: bool, budget: float, progress: Progress,
             profile: bool) -> dict[str, Any]:
    """Prepare, time, measure memory and profile one case; its result record."""
    peers = [p for p in wanted if not (quick and (p == "onnx" or (
        p == "numpy-ml" and (case.kind != "conv" or case.group == "sweep"))))]
    progress.step(case.name, "preparing inputs")
    if case.group == "memory":
        peers = []
    prepared = case.prepare(peers)
    for p in wanted:
        if p not in peers and p not in prepared.notes and case.group != "memory":
            prepared.notes[p] = "skipped in --quick"
    record: dict[str, Any] = {
        "name": case.name, "group": case.group, "kind": case.kind, "shape": case.describe(),
        "sweep": case.sweep, "x": case.x_value, "work": prepared.work, "unit": prepared.unit,
        "algorithm": prepared.algorithm, "notes": prepared.notes, "times": {}}
    if case.group == "memory":
        progress.step(case.name, "one run under tracemalloc")
        start = time.perf_counter()
        extra, nbytes = M.extra_memory(prepared.runners["numconv"])
        record["times"]["numconv"] = {"best": time.perf_counter() - start, "samples": 1}
        record["memory"] = {"extra": extra, "result": nbytes}
        return record
    record["times"] = M.time_interleaved(
        prepared.runners, budget, slow=P.SLOW_PEERS, max_rounds=5 if quick else 30,
        on_progress=lambda what: progress.step(case.name, what), spinning=P.OPENBLAS_PEERS)
    progress.step(case.name, "extra memory (tracemalloc)")
    extra, nbytes = M.extra_memory(prepared.runners["numconv"])
    record["memory"] = {"extra": extra, "result": nbytes}
    if profile and prepared.profile is not None:
        progress.step(case.name, "profile breakdown")
        record["profile"] = prepared.profile()
    return record


def main(argv: Sequence[str] | None = None, args: argparse.Namespace | None = None) -> int:
    """Run the suite; returns the exit status."""
    if args is None:
        parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
        add_arguments(parser)
        args = parser.parse_args(argv)
    quick = args.quick
    budget = args.budget if args.budget is not None else (0.3 if quick else 2.0)
    patterns = [p.strip() for p in args.cases.split(",") if p.strip()]
    wanted = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in wanted if p not in P.PEER_NAMES]
    if unknown:
        raise ValueError(f"--peers: unknown peer {unknown[0]!r}, choose from "
                         + ", ".join(P.PEER_NAMES))
    from numconv.config import get_workspace_limit

    started = time.perf_counter()
    progress = Progress(sys.stderr)
    progress.step("machine", "GEMM peak and copy bandwidth")
    info = M.machine()
    info["gemm_peak_gflops"] = M.gemm_peak()
    info["copy_gbps"] = M.copy_bandwidth()
    info["workspace_limit"] = get_workspace_limit()
    progress.step("peers", "importing " + ", ".join(wanted))
    info["peers"] = {p: P.version(p) for p in wanted}
    selected, notes = collect(quick, patterns, not args.no_sweeps)
    progress.total = len(selected)
    print_header(info, quick, notes)
    records = []
    for case in selected:
        record = run_case(case, wanted, quick, budget, progress, not args.no_profile)
        records.append(record)
        progress.clear()
        print_case(record, info, wanted)
    progress.clear()
    print_notes(records)
    if not args.no_profile:
        print_profiles(records)
    summary = targets(records, info)
    info["elapsed_s"] = time.perf_counter() - started
    out_dir = pathlib.Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out_dir / f"bench-{stamp}{'-quick' if quick else ''}.json"
    path.write_text(json.dumps({"machine": info, "quick": quick, "budget": budget,
                                "cases": records, "targets": summary}, indent=1,
                               default=_json_default))
    print(f"\nresults: {path}")
    if not args.no_plots:
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
