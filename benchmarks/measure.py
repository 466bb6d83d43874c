"""The runner's side of the measurements: the machine, worker processes, timing.

Every implementation runs in its own worker process (:mod:`benchmarks.worker`), as
pyperf and asv run benchmarks: no library's spinning worker threads can slow another
library inside one process, and a library's process is stopped (SIGSTOP) whenever
another one is timed, so its threads cannot compete for the two cores either.  The
implementations of a case are timed in interleaved rounds, a different one first in
each round; every round's batch begins with an untimed call, and the best and the
median sample are kept.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import pathlib
import platform
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import Any, Callable

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent


def gemm_peak(size: int = 2048, repeats: int = 5) -> float:
    """Best float32 ``np.matmul`` GFLOP/s on ``size``^3 (BLAS's own threads)."""
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    c = np.empty_like(a)
    np.matmul(a, a, out=c)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, a, out=c)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best / 1e9


def copy_bandwidth(nbytes: int = 64 << 20, repeats: int = 5) -> float:
    """Best single-thread ``np.copyto`` GB/s, counting bytes read plus bytes written."""
    src = np.ones(nbytes // 4, dtype=np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    return 2.0 * nbytes / best / 1e9


def machine() -> dict[str, Any]:
    """What the results depend on: CPU, cores, Python, NumPy, environment, load."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count()
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), "")
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(), "cores": cores,
        "python": platform.python_version(), "numpy": np.__version__,
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS",
                                               "OMP_NUM_THREADS", "NUMCONV_NUM_THREADS")},
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


class WorkerError(RuntimeError):
    """A worker process died or answered nonsense."""


class Worker:
    """A worker process: one implementation, stopped whenever it is not asked anything."""

    def __init__(self, name: str, home: pathlib.Path | None = None) -> None:
        """``name``: an implementation of :mod:`benchmarks.worker`, or ``numconv@REV``
        with ``home``, a directory holding that revision's ``numconv`` package (the
        worker runs there, so that its ``import numconv`` finds that one first)."""
        self.name = name
        self.log = tempfile.TemporaryFile("w+")
        # the numconv this process imported (if any), else the checkout's
        imported = sys.modules.get("numconv")
        paths = ([str(home)] if home else []) + (
            [str(pathlib.Path(imported.__file__).resolve().parents[1])]
            if imported is not None and imported.__file__ else []) + [str(ROOT)]
        paths += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths),
                   TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
        impl = name.split("@")[0] if home else name
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.worker", impl],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, env=env, cwd=home or ROOT)
        self.hello: dict[str, Any] | None = None
        self.dead = ""

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.log.seek(0)
            tail = self.log.read()[-600:].strip().replace("\n", " | ")
            raise WorkerError(f"worker {self.name} exited ({self.proc.poll()}): {tail}")
        return json.loads(line)

    def ready(self) -> dict[str, Any]:
        """The worker's greeting (``ready``, ``version``, ``info`` or ``why``); stops it."""
        if self.hello is None:
            try:
                self.hello = self._read()
            except WorkerError as exc:
                self.hello = {"ready": False, "why": str(exc)}
            self._signal(signal.SIGSTOP)
        return self.hello

    def _signal(self, sig: Any) -> None:
        if sig is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def ask(self, cmd: str, **fields: Any) -> dict[str, Any]:
        """Resume the worker, send one request, read its reply, stop it again.

        A worker that died answers every request with ``ok: False`` and the reason.
        """
        assert self.proc.stdin is not None
        if self.dead:
            return {"ok": False, "why": self.dead}
        self._signal(getattr(signal, "SIGCONT", None))
        try:
            self.proc.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
            self.proc.stdin.flush()
            return self._read()
        except (OSError, WorkerError) as exc:
            self.dead = str(exc) if isinstance(exc, WorkerError) else \
                f"worker {self.name}: {exc}"
            return {"ok": False, "why": self.dead}
        finally:
            self._signal(getattr(signal, "SIGSTOP", None))

    def close(self) -> None:
        self._signal(getattr(signal, "SIGCONT", None))
        try:
            if self.proc.stdin is not None and self.proc.poll() is None:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.log):
            if stream is not None and not stream.closed:
                with contextlib.suppress(OSError):     # a dead worker's pipe
                    stream.close()


def start_workers(names: list[str], homes: dict[str, pathlib.Path] | None = None
                  ) -> tuple[dict[str, Worker], dict[str, Any]]:
    """Start every worker at once (``homes``: name -> the directory of another
    revision's numconv); ``(ready workers, greeting per name)``."""
    homes = homes or {}
    started = {name: Worker(name, homes.get(name)) for name in names}
    hellos = {name: w.ready() for name, w in started.items()}
    for name, hello in hellos.items():
        if not hello.get("ready"):
            started.pop(name).close()
    return started, hellos


def time_case(workers: dict[str, Worker], first: dict[str, float], budget: float,
              slow: tuple[str, ...] = (), min_rounds: int = 3, max_rounds: int = 30,
              samples: int = 3, on_progress: Callable[[str], None] | None = None
              ) -> dict[str, dict[str, Any]]:
    """Best and median seconds per call of every prepared worker, in interleaved rounds.

    ``first`` holds each worker's warm-up time (from ``prepare``).  A worker whose
    warm-up took more than ``budget`` (a third of it for those in ``slow``) is not
    repeated: its warm-up is its only sample.  The others run ``rounds`` times in
    rotating order (those in ``slow`` only the first ``min_rounds``, and the budget
    sets the rounds without them); each turn is one untimed call and ``samples``
    samples, each timing enough calls to last about 5 ms.
    """
    results: dict[str, dict[str, Any]] = {}
    repeat = {n: t for n, t in first.items() if t <= (budget / 3 if n in slow else budget)}
    for name, t in first.items():
        if name not in repeat:
            results[name] = {"best": t, "median": t, "samples": 1}
    loops = {n: max(1, int(0.005 / max(t, 1e-7))) for n, t in repeat.items()}
    per_round = sum(t * (1 + samples * loops[n]) for n, t in repeat.items() if n not in slow)
    rounds = int(min(max_rounds, max(min_rounds, budget / max(per_round, 1e-9))))
    got: dict[str, list[float]] = {n: [] for n in repeat}
    order = list(repeat)
    for r in range(rounds if order else 0):
        if on_progress:
            on_progress(f"round {r + 1}/{rounds}")
        for name in order[r % len(order):] + order[:r % len(order)]:
            if name in slow and r >= min_rounds:      # slow peers: the first rounds only
                continue
            reply = workers[name].ask("time", loops=loops[name], samples=samples)
            if reply.get("ok"):
                got[name] += reply["times"]
    for name, values in got.items():
        if values:
            results[name] = {"best": min(values), "median": statistics.median(values),
                             "samples": len(values)}
    return results


def _git(*args: str) -> bytes:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True,
                          check=True).stdout


def revision(rev: str) -> str:
    """The commit git revision ``rev`` of this checkout names (abbreviated); ValueError
    naming the revision when git does not know it (or is missing)."""
    try:
        return _git("rev-parse", "--verify", "--short", f"{rev}^{{commit}}").decode().strip()
    except (OSError, subprocess.CalledProcessError):
        raise ValueError(f"argument --baseline: {rev!r} is not a commit of the git "
                         f"checkout {ROOT}") from None


def export_revision(rev: str, into: pathlib.Path) -> pathlib.Path:
    """The ``numconv`` package of git revision ``rev`` of this checkout, extracted into
    ``into`` (ValueError as :func:`revision`)."""
    tar = _git("archive", "--format=tar", revision(rev), "numconv")
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")
    return into
