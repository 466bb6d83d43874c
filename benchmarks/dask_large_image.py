"""Larger than memory: filter -> ReLU -> pool an on-disk image several times larger than
a memory budget with :mod:`numconv.dask`, and compare with the in-memory call.

The lesson's settings: 3x3 edge kernel (8 in the centre, -1 around) stride 1 SAME,
relu, max pool 2x2 stride 2 SAME, on a synthetic float32 image ``(1, size, size, 1)``
stored as a ``.npy`` file and read block by block (``np.load(mmap_mode="r")`` per
block, so nothing but the blocks in flight is resident).  The result is written to
another ``.npy`` file with ``dask.array.store`` and compared, band by band, with the
in-memory result (bit-identical expected: the ``shift`` algorithm, max and relu are
order-exact).

Each configuration (in-memory; Dask threaded scheduler and ``dask.distributed``
``LocalCluster`` of worker processes on loopback, with 1 and 2 workers; several chunk
sizes) runs in a fresh Python process.  Peak memory is the peak resident set size
(RSS) of that process and all its children (distributed nannies, workers), sampled
with psutil every 5 ms, minus its value just before the computation (imports,
cluster and graph already in place): the memory the data costs.  The absolute peak
and the peak of live Python/NumPy memory traced by ``tracemalloc`` (summed over the
processes) are recorded too, and for distributed runs each worker's ``ru_maxrss``
before and after.  (The run's own ``ru_maxrss`` is not used: Linux carries the
parent's high-water mark over fork and exec.)  Results: a table on stdout and JSON in
``benchmarks/results/``.

Run (from the repository root)::

    python -m benchmarks.dask_large_image            # 1 GiB image, 256 MiB budget
    python -m benchmarks.dask_large_image --quick    # smoke run: 64 MiB image, 32 MiB budget
    python benchmarks/dask_large_image.py --size 32768 --chunks 512 1024 2048 4096
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"
MiB = 2 ** 20
EDGE = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], np.float32)[:, :, None, None]


# --------------------------------------------------------------------------- on-disk arrays

class NpyReader:
    """A picklable, lazily read ``.npy`` file for ``dask.array.from_array``.

    (A ``np.memmap`` itself would be pickled as a full in-memory copy when sent to
    distributed workers; this object carries only the path.)
    """

    def __init__(self, path: str) -> None:
        self.path = str(path)
        m = np.load(self.path, mmap_mode="r")
        self.shape, self.dtype, self.ndim = m.shape, m.dtype, m.ndim

    def __getitem__(self, index):
        return np.array(np.load(self.path, mmap_mode="r")[index])


class NpyWriter:
    """A picklable ``.npy`` target for ``dask.array.store`` (opens, writes, flushes)."""

    def __init__(self, path: str) -> None:
        self.path = str(path)

    def __setitem__(self, index, value) -> None:
        m = np.load(self.path, mmap_mode="r+")
        m[index] = value
        m.flush()
        del m


def make_image(path: pathlib.Path, size: int, seed: int = 0, band: int = 512) -> None:
    """Write a synthetic float32 image (waves, bright squares, noise) band by band."""
    img = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(1, size, size, 1))
    cols = np.arange(size, dtype=np.float32)
    for r0 in range(0, size, band):
        rows = np.arange(r0, min(r0 + band, size), dtype=np.float32)[:, None]
        rng = np.random.default_rng([seed, r0])
        block = (np.sin(rows / 37.0) * np.cos(cols / 53.0)
                 + 2.0 * (((rows // 300) + (cols // 300)) % 7 == 0)
                 + 0.1 * rng.standard_normal((len(rows), size), dtype=np.float32))
        img[0, r0:r0 + len(rows), :, 0] = block
    img.flush()
    del img


def compare(path_a: str, path_b: str, band: int = 1024) -> tuple[bool, float]:
    """(bit-identical, max |a - b|) of two .npy files, band by band."""
    a, b = np.load(path_a, mmap_mode="r"), np.load(path_b, mmap_mode="r")
    if a.shape != b.shape or a.dtype != b.dtype:
        return False, float("inf")
    same, worst = True, 0.0
    for r0 in range(0, a.shape[1], band):
        x, y = np.asarray(a[:, r0:r0 + band]), np.asarray(b[:, r0:r0 + band])
        same = same and np.array_equal(x, y)
        worst = max(worst, float(np.max(np.abs(x - y), initial=0.0)))
    return same, worst


# --------------------------------------------------------------------------- memory

class PeakRSS(threading.Thread):
    """Samples the RSS of this process and its children; ``peak`` in bytes."""

    def __init__(self, interval: float = 0.005) -> None:
        super().__init__(daemon=True)
        import psutil
        self.me, self.interval = psutil.Process(), interval
        self.peak, self._stop_event = self.total(), threading.Event()

    def total(self) -> int:
        procs = [self.me]
        try:
            procs += self.me.children(recursive=True)
        except Exception:   # a child exiting while listed
            pass
        rss = 0
        for p in procs:
            try:
                rss += p.memory_info().rss
            except Exception:
                pass
        return rss

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, self.total())
            time.sleep(self.interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, self.total())
        return self.peak


def maxrss() -> int:
    """``ru_maxrss`` of this process in bytes (Linux reports KiB; run in the workers)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --------------------------------------------------------------------------- one run (child)

def pipeline_in_memory(x: np.ndarray) -> np.ndarray:
    import numconv as nc
    return nc.max_pool2d(nc.relu(nc.conv2d(x, EDGE, 1, "SAME")), 2, 2, "SAME")


def pipeline_lazy(x):
    import numconv.dask as ncd
    return ncd.max_pool2d(ncd.relu(ncd.conv2d(x, EDGE, 1, "SAME")), 2, 2, "SAME")


def run_child(cfg: dict) -> dict:
    """Run one configuration in this (fresh) process; return its measurements.

    A warm-up on a 64x64 image first loads every module the run needs (in the workers
    too), so the measured growth is what the data costs, not one-off imports.
    """
    mode, out = cfg["mode"], cfg["out"]
    warm = np.ones((1, 64, 64, 1), np.float32)
    if mode == "memory":
        pipeline_in_memory(warm)
        sampler = PeakRSS()
        base = sampler.total()
        sampler.start()
        tracemalloc.start()
        t0 = time.perf_counter()
        y = pipeline_in_memory(np.load(cfg["image"]))
        np.save(out, y)
        seconds = time.perf_counter() - t0
        return dict(seconds=seconds, rss_before=base, rss_peak=sampler.stop(),
                    traced_peak=tracemalloc.get_traced_memory()[1], blocks=1)

    import dask
    import dask.array as da
    from dask.diagnostics import ProgressBar

    reader = NpyReader(cfg["image"])
    c = cfg["chunk"]
    x = da.from_array(reader, chunks=(1, c, c, 1), name="image-" + dask.base.tokenize(
        reader.path, reader.shape, c), meta=np.empty((0, 0, 0, 0), reader.dtype))
    y = pipeline_lazy(x)
    np.lib.format.open_memmap(out, mode="w+", dtype=y.dtype, shape=y.shape).flush()
    store = da.store(y, NpyWriter(out), lock=False, compute=False)
    warm_y = pipeline_lazy(da.from_array(warm, chunks=(1, 32, 32, 1)))
    extra = {}
    if mode == "threads":
        warm_y.compute(scheduler="threads", num_workers=cfg["workers"])
        sampler = PeakRSS()
        base = sampler.total()
        sampler.start()
        tracemalloc.start()
        t0 = time.perf_counter()
        with ProgressBar(out=sys.stderr, minimum=1.0):
            dask.compute(store, scheduler="threads", num_workers=cfg["workers"])
        seconds = time.perf_counter() - t0
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        import distributed
        cluster = distributed.LocalCluster(
            n_workers=cfg["workers"], threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=50, local_directory=cfg["scratch"])
        client = distributed.Client(cluster)
        client.compute(warm_y).result()
        worker_base = client.run(maxrss)
        client.run(tracemalloc.start)
        sampler = PeakRSS()
        base = sampler.total()
        sampler.start()
        tracemalloc.start()
        t0 = time.perf_counter()
        future = client.compute(store)
        with contextlib.redirect_stdout(sys.stderr):
            distributed.progress(future)
            print()
        future.result()
        seconds = time.perf_counter() - t0
        traced = tracemalloc.get_traced_memory()[1] + sum(client.run(
            lambda: tracemalloc.get_traced_memory()[1]).values())
        tracemalloc.stop()
        extra["worker_ru_maxrss"] = list(client.run(maxrss).values())
        extra["worker_ru_maxrss_before"] = list(worker_base.values())
        client.close()
        cluster.close()
    return dict(seconds=seconds, rss_before=base, rss_peak=sampler.stop(), traced_peak=traced,
                blocks=int(np.prod(x.numblocks)), tasks=len(dict(store.__dask_graph__())),
                out_chunks=[list(ch) for ch in y.chunks[1:3]], **extra)


# --------------------------------------------------------------------------- driver

def run(cfg: dict, workdir: pathlib.Path) -> dict:
    result_path = workdir / "result.json"
    env = dict(os.environ, NUMCONV_NUM_THREADS="1" if cfg["mode"] != "memory" else
               os.environ.get("NUMCONV_NUM_THREADS", ""))
    subprocess.run([sys.executable, str(pathlib.Path(__file__).resolve()), "--child",
                    json.dumps(cfg), "--result", str(result_path)], check=True, env=env)
    return {**cfg, **json.loads(result_path.read_text())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, help="image side in pixels (default 16384: 1 GiB)")
    ap.add_argument("--budget-mib", type=float,
                    help="memory budget (default image / 4; --quick: image / 2)")
    ap.add_argument("--chunks", type=int, nargs="+", help="chunk sides to try")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--modes", nargs="+", default=["threads", "distributed"],
                    choices=["threads", "distributed"])
    ap.add_argument("--no-memory", action="store_true", help="skip the in-memory call")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run in seconds: 64 MiB image, chunk 512")
    ap.add_argument("--workdir", help="where the image and results go (default: a temp dir)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        pathlib.Path(args.result).write_text(json.dumps(run_child(json.loads(args.child))))
        return 0

    size = args.size or (4096 if args.quick else 16384)
    chunks = args.chunks or ([512] if args.quick else [512, 1024])
    image_bytes = size * size * 4
    budget = int(args.budget_mib * MiB) if args.budget_mib else \
        image_bytes // (2 if args.quick else 4)
    workdir = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="numconv-dask-"))
    workdir.mkdir(parents=True, exist_ok=True)
    image, reference, out = (str(workdir / n) for n in ("image.npy", "reference.npy",
                                                        "out.npy"))
    print(f"image {size}x{size} float32 = {image_bytes / MiB:.0f} MiB on disk ({image}); "
          f"memory budget {budget / MiB:.0f} MiB", flush=True)
    t0 = time.perf_counter()
    make_image(pathlib.Path(image), size)
    print(f"wrote the image in {time.perf_counter() - t0:.1f} s", flush=True)

    common = dict(image=image, size=size, scratch=str(workdir / "scratch"))
    runs = []
    if not args.no_memory:
        runs.append(run(dict(common, mode="memory", workers=0, chunk=size, out=reference),
                        workdir))
    for mode in args.modes:
        for workers in args.workers:
            for chunk in chunks:
                r = run(dict(common, mode=mode, workers=workers, chunk=chunk, out=out), workdir)
                if not args.no_memory:
                    r["identical"], r["max_abs_diff"] = compare(out, reference)
                runs.append(r)
    for r in runs:
        r["growth"] = r["rss_peak"] - r["rss_before"]
        r["within_budget"] = r["growth"] <= budget

    header = (f"{'mode':<12}{'workers':>8}{'chunk':>7}{'blocks':>7}{'seconds':>9}"
              f"{'RSS growth MiB':>16}{'RSS total MiB':>15}{'NumPy peak MiB':>16}"
              f"{'<= budget':>10}{'identical':>10}")
    print("\n" + header + "\n" + "-" * len(header))
    for r in runs:
        print(f"{r['mode']:<12}{r['workers'] or '-':>8}{r['chunk']:>7}{r['blocks']:>7}"
              f"{r['seconds']:>9.2f}{r['growth'] / MiB:>16.0f}{r['rss_peak'] / MiB:>15.0f}"
              f"{r['traced_peak'] / MiB:>16.0f}"
              f"{'yes' if r['within_budget'] else 'NO':>10}"
              f"{'-' if 'identical' not in r else 'yes' if r['identical'] else 'NO':>10}")
    print(f"\nimage {image_bytes / MiB:.0f} MiB, budget {budget / MiB:.0f} MiB.  RSS growth: peak "
          "RSS of the run's processes (workers included) minus their RSS just before "
          "computing (<= budget is judged on it); RSS total: that peak; NumPy peak: peak "
          "memory traced by tracemalloc (live arrays, summed over processes).")

    import dask
    import numconv
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "dask_large_image_quick.json" if args.quick else "dask_large_image.json"
    payload = dict(benchmark="dask_large_image", image_side=size, image_mib=image_bytes / MiB,
                   budget_mib=budget / MiB, pipeline="conv2d edge 3x3 s1 SAME -> relu -> "
                   "max_pool2d 2x2 s2 SAME", numconv=numconv.__version__,
                   dask=dask.__version__, numpy=np.__version__, python=platform.python_version(),
                   cpus=os.cpu_count(), runs=runs)
    (RESULTS / name).write_text(json.dumps(payload, indent=1))
    print(f"wrote {RESULTS / name}")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
