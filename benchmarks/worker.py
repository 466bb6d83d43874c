"""One implementation in its own process: ``python -m benchmarks.worker NAME``.

The runner (:mod:`benchmarks.measure`) starts one worker per implementation
(``numconv``, ``numconv-fast``, a peer of :mod:`benchmarks.peers`, a floor of
:mod:`benchmarks.floors`) and talks to it in JSON lines: a request on stdin, one
reply on the protocol stream (the process's original stdout; anything a library
prints goes to stderr).  The worker imports its library once, then per case:

``prepare``   build the case's seeded inputs and the runner; one or two timed calls
              (warm-up and cost estimate);
``time``      one untimed call, then ``samples`` samples of ``loops`` calls each;
``accuracy``  one call on the wide-range inputs, the NHWC result saved to ``path``;
``memory``    extra memory of one call (tracemalloc), numconv only;
``profile``   where one call's time goes, numconv only;
``quit``.

Between requests the runner stops the process (SIGSTOP), so no thread of an idle
library can spin while another library is timed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import signal
import sys
import time
from typing import Any, Callable

import numpy as np

import numconv

from . import cases as C
from . import floors, peers, subject

#: implementations that are numconv itself: name -> precision keyword
NUMCONV = {"numconv": None, "numconv-fast": "fast"}


def _maker(name: str) -> tuple[Callable[..., Any], str | None, dict[str, Any]]:
    """``(make(case, arrays) -> (run, to_nhwc, scale), version, info)`` for ``name``."""
    if name in NUMCONV:
        precision = NUMCONV[name]
        if precision is not None and not subject.HAS_PRECISION:
            raise peers.Unavailable("numconv.conv2d has no precision= keyword")
        return ((lambda case, a: (*subject.make(case, a, precision), 1.0)),
                numconv.__version__, subject.info())
    if name in floors.FLOORS:
        def make_floor(case: Any, a: dict[str, np.ndarray]) -> tuple[Any, Any, float]:
            run, scale = floors.make(name, case, a)
            return run, None, scale
        return make_floor, np.__version__, {}
    if peers.load(name) is None:
        raise peers.Unavailable("not installed")
    return (lambda case, a: (*peers.make(name, case, a), 1.0)), peers.version(name), {}


class Worker:
    """The state of one worker: its implementation and the current case."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.make, self.version, self.info = _maker(name)
        self.case: Any = None
        self.arrays: dict[str, np.ndarray] = {}
        self.run: Callable[[], Any] = lambda: None
        self.scale = 1.0

    def prepare(self, msg: dict[str, Any]) -> dict[str, Any]:
        self.case, self.run = C.from_dict(msg["case"]), lambda: None
        self.arrays = self.case.arrays()
        self.run, _, self.scale = self.make(self.case, self.arrays)
        first = self._once()
        if first < 1.0:       # the first call may pay one-time costs (plans, caches)
            first = self._once()
        reply: dict[str, Any] = {"first": first * self.scale, "scale": self.scale}
        if self.name in NUMCONV:
            reply["algorithm"] = subject.algorithm(self.case, self.arrays, NUMCONV[self.name])
        return reply

    def _once(self) -> float:
        start = time.perf_counter()
        self.run()
        return time.perf_counter() - start

    def time(self, msg: dict[str, Any]) -> dict[str, Any]:
        run, loops = self.run, msg["loops"]
        run()     # untimed: caches and this library's threads warm again after the pause
        times = []
        for _ in range(msg["samples"]):
            start = time.perf_counter()
            for _ in range(loops):
                run()
            times.append((time.perf_counter() - start) / loops * self.scale)
        return {"times": times}

    def accuracy(self, msg: dict[str, Any]) -> dict[str, Any]:
        wide = self.case.arrays(wide=True)
        run, to_nhwc, _ = self.make(self.case, wide)
        np.save(msg["path"], np.asarray(to_nhwc(run()), dtype=np.float32))
        return {}

    def memory(self, msg: dict[str, Any]) -> dict[str, Any]:
        return subject.extra_memory(self.run)

    def profile(self, msg: dict[str, Any]) -> dict[str, Any]:
        return {"profile": subject.profile(self.case, self.arrays, self.run,
                                           NUMCONV.get(self.name))}


def _die_with_parent() -> None:
    """Linux: SIGKILL this worker when the runner dies (a stopped worker would otherwise
    outlive it)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)           # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main(argv: list[str]) -> int:
    """Serve requests until ``quit`` or end of input."""
    if sys.platform.startswith("linux"):
        _die_with_parent()
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)               # prints from libraries go to stderr, not the protocol

    def reply(**fields: Any) -> None:
        protocol.write(json.dumps(fields, default=str) + "\n")
        protocol.flush()

    try:
        worker = Worker(argv[0])
    except Exception as exc:  # noqa: BLE001 - told to the runner, which leaves it out
        reply(ready=False, why=str(exc) or type(exc).__name__)
        return 0
    reply(ready=True, version=worker.version, info=worker.info, pid=os.getpid())
    for line in sys.stdin:
        msg = json.loads(line)
        if msg["cmd"] == "quit":
            break
        try:
            reply(ok=True, **getattr(worker, msg["cmd"])(msg))
        except peers.Unavailable as exc:
            reply(ok=False, why=str(exc))
        except Exception as exc:  # noqa: BLE001 - one case failing must not end the run
            reply(ok=False, why=f"{type(exc).__name__}: {exc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
