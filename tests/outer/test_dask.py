"""numconv.dask: lazy results equal the in-memory numconv results, for any chunking.

Identity tests: the in-memory functions (validated against TensorFlow elsewhere) are
the reference.  ReLU and pooling must be bit-identical; convolution too with the
``shift`` algorithm (a fixed per-tap multiply-add order), and within the float
summation-order tolerance of ``assert_matches`` with the GEMM-based algorithms.
Geometry of the block plan is checked against hand-derived numbers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from helpers import assert_matches

import numconv as nc
import numconv.config

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
ncd = pytest.importorskip("numconv.dask")
from numconv.dask._plan import plan_axis  # noqa: E402
from numconv.geometry import resolve  # noqa: E402

EDGE = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], float)[:, :, None, None]


def _chunks(rng: np.random.Generator, size: int) -> tuple[int, ...]:
    """Random chunks along one axis, often smaller than a window."""
    cuts = np.sort(rng.choice(np.arange(1, size), size=min(size - 1, int(rng.integers(0, 4))),
                              replace=False)) if size > 1 else np.array([], int)
    return tuple(np.diff([0, *cuts.tolist(), size]).tolist()) or (size,)


def _case(seed: int):
    """A random op, shape, chunking, stride, dilation, padding mode and layout."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4))
    layout = nc.Layout(n, bool(rng.integers(0, 2)))
    spatial = tuple(int(v) for v in rng.integers(1, 13 if n < 3 else 7, n))
    channels = int(rng.integers(1, 4))
    shape = tuple(layout.full_index(spatial, int(rng.integers(1, 3)), channels))
    dtype = [np.float64, np.float32, np.int16][int(rng.integers(0, 3))]
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    chunks = tuple(_chunks(rng, s) for s in shape)
    k = tuple(int(v) for v in rng.integers(1, 5, n))
    strides = tuple(int(v) for v in rng.integers(1, 4, n))
    dilations = tuple(int(v) for v in rng.integers(1, 3, n))
    padding = ["SAME", "VALID", tuple(tuple(int(p) for p in pair)
                                      for pair in rng.integers(0, 4, (n, 2)))][seed % 3]
    common = dict(strides=strides, padding=padding, data_format=layout.name,
                  dilations=dilations)
    kind = ["conv", "depthwise", "max", "avg"][seed % 4] if n == 2 else \
        ["conv", "max", "avg"][seed % 3]
    ceil = padding != "SAME" and bool(rng.integers(0, 2))
    if kind == "conv":
        w = rng.standard_normal((*k, channels, 2)).astype(dtype)
        algo = "shift" if rng.integers(0, 2) else "auto"
        return "convolution", x, chunks, (w,), dict(common, algorithm=algo)
    if kind == "depthwise":
        w = rng.standard_normal((*k, channels, 2)).astype(dtype)
        return "depthwise_conv2d", x, chunks, (w,), dict(common, bias=np.arange(2.0 * channels))
    if kind == "max":
        return "max_pool", x, chunks, (k,), dict(common, ceil_mode=ceil)
    return "avg_pool", x, chunks, (k,), dict(common, ceil_mode=ceil,
                                            count_include_pad=bool(rng.integers(0, 2)))


def _check(name, x, chunks, args, kwargs, scheduler="threads", quiet=True):
    expected = getattr(nc, name)(x, *args, **kwargs)
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", ncd.RechunkWarning)   # tested on its own below
        lazy = getattr(ncd, name)(da.from_array(x, chunks=chunks), *args, **kwargs)
    assert lazy.shape == expected.shape and lazy.dtype == expected.dtype
    got = lazy.compute(scheduler=scheduler)
    exact = not name.endswith("conv2d") and name != "convolution" \
        or kwargs.get("algorithm") == "shift"
    assert_matches(got, expected, exact=exact, dtype=expected.dtype, scale=10)
    return lazy


# --------------------------------------------------------------------------- plan


def test_plan_axis_hand_checked():
    # SAME 224, window 7, stride 2: out 112, pads (2, 3); halo (2, 7 - 2 - 2) = (2, 3)
    p = plan_axis(resolve((224,), (7,), (2,), (1,), "SAME").dims[0], (56,) * 4)
    assert p.chunks == (56,) * 4 and p.out_chunks == (28,) * 4 and p.halo == (2, 3)
    assert p.pads == ((2, 0), (0, 0), (0, 0), (0, 3))
    assert p.stops == (59, 61, 61, 58)       # own 56 + right 3, + left 2; last: left 2 + 56
    # VALID 10, window 3 dilated 3 (spans 7): windows start at 0..3, the blocks at 4 and
    # 8 hold none
    p = plan_axis(resolve((10,), (3,), (1,), (3,), "VALID").dims[0], (4, 4, 2))
    assert p.chunks == (10,) and p.out_chunks == (4,) and p.pads == ((0, 0),)


def test_aligned_chunks_kept_and_output_chunks_are_input_over_stride():
    x = np.random.default_rng(0).standard_normal((2, 12, 12, 3))
    y = _check("max_pool2d", x, (1, 4, 6, 3), (3, 2, "SAME"), {}, quiet=False)  # no warning
    assert y.chunks == ((1, 1), (2, 2, 2), (3, 3), (3,))


def test_unaligned_chunks_are_rechunked_with_a_warning():
    x = np.random.default_rng(1).standard_normal((1, 15, 8, 1))
    with pytest.warns(ncd.RechunkWarning, match=r"axis 1 \(5, 5, 5\) -> \(6, 4, 5\)"):
        y = ncd.conv2d(da.from_array(x, chunks=(1, 5, 8, 1)), EDGE, 2, "SAME")
    assert y.chunks[1] == (3, 2, 3)
    assert_matches(y.compute(), nc.conv2d(x, EDGE, 2, "SAME"), exact=True)


def test_chunks_smaller_than_the_window_are_merged():
    x = np.random.default_rng(2).standard_normal((1, 9, 9, 2))
    with pytest.warns(ncd.RechunkWarning, match="blocks at least as long as the halo"):
        y = ncd.avg_pool2d(da.from_array(x, chunks=1), 5, 1, "SAME", dilations=2)
    assert min(y.chunks[1]) >= 4                 # halo: pad_before 4 = (5-1)*2 // 2
    assert_matches(y.compute(), nc.avg_pool2d(x, 5, 1, "SAME", dilations=2), exact=True)


def test_convolution_merges_channel_chunks_pooling_keeps_them():
    x = np.random.default_rng(3).standard_normal((2, 6, 6, 4))
    xd = da.from_array(x, chunks=(1, 6, 6, 2))
    with pytest.warns(ncd.RechunkWarning, match="channel axis 3 merged"):
        y = ncd.conv2d(xd, np.ones((3, 3, 4, 5)), padding="SAME")
    assert y.chunks[3] == (5,)
    assert ncd.max_pool2d(xd, 2, 2, "VALID").chunks[3] == (2, 2)


@pytest.mark.parametrize("seed", range(48))
def test_random_cases_threaded(seed):
    _check(*_case(seed))


def test_seed_pipeline_is_bit_identical():
    x = np.random.default_rng(4).standard_normal((1, 40, 36, 1)).astype(np.float32)
    xd = da.from_array(x, chunks=(1, 8, 12, 1))     # even chunks: no rechunk anywhere
    y = ncd.max_pool2d(ncd.relu(ncd.conv2d(xd, EDGE, 1, "SAME")), 2, 2, "SAME")
    expected = nc.max_pool2d(nc.relu(nc.conv2d(x, EDGE, 1, "SAME")), 2, 2, "SAME")
    assert y.chunks == ((1,), (4,) * 5, (6,) * 3, (1,))
    assert_matches(y.compute(scheduler="threads"), expected, exact=True, dtype=np.float64)


@pytest.mark.parametrize("name, kwargs", [
    ("relu", {}), ("relu", dict(max_value=2.0, negative_slope=0.5, threshold=-1.0)),
    ("relu6", {}), ("leaky_relu", dict(alpha=0.3))])
def test_relu_family_blockwise(name, kwargs):
    x = np.random.default_rng(5).standard_normal((3, 7, 5)) * 5
    y = getattr(ncd, name)(da.from_array(x, chunks=(2, 3, 4)), **kwargs)
    assert y.chunks == ((2, 1), (3, 3, 1), (4, 1))
    assert_matches(y.compute(), getattr(nc, name)(x, **kwargs), exact=True, dtype=np.float64)


def test_channels_first_3d_and_nan_policy():
    x = np.random.default_rng(6).standard_normal((2, 3, 7, 6, 5))
    x[0, 1, 2:4, 1:3, 0:2] = np.nan
    xd = da.from_array(x, chunks=(1, 2, 3, 3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ncd.RechunkWarning)
        y = ncd.max_pool3d(xd, 3, (2, 1, 2), "SAME", "NCDHW", nan_policy="ignore")
        z = ncd.conv3d(xd, np.ones((2, 3, 2, 3, 2)), 1, "SAME", "NCDHW")
    assert_matches(y.compute(), nc.max_pool3d(x, 3, (2, 1, 2), "SAME", "NCDHW",
                                              nan_policy="ignore"), exact=True)
    assert_matches(z.compute(), nc.conv3d(x, np.ones((2, 3, 2, 3, 2)), 1, "SAME", "NCDHW"))


def test_empty_output_keeps_shape_and_dtype():
    x = np.ones((2, 3, 3, 1), np.float32)
    y = ncd.conv2d(da.from_array(x, chunks=1), np.ones((4, 4, 1, 2), np.float32))
    expected = nc.conv2d(x, np.ones((4, 4, 1, 2), np.float32))
    assert y.shape == expected.shape == (2, 0, 0, 2) and y.dtype == expected.dtype


def test_graph_is_proportional_to_blocks():
    def tasks(blocks):
        x = da.zeros((1, 96, 96, 1), chunks=(1, 96 // blocks, 96 // blocks, 1))
        return len(dict(ncd.conv2d(x, EDGE, 1, "SAME").__dask_graph__()))

    # per block: its source, the strips it lends, the numconv call; plus the filters
    assert tasks(4) == 3 * 4 ** 2 + 1 and tasks(16) == 3 * 16 ** 2 + 1


def test_no_task_holds_a_neighbours_block_and_memory_stays_near_a_few_rows():
    from dask.callbacks import Callback

    x = da.ones((1, 1024, 1024, 1), chunks=(1, 64, 64, 1), dtype=np.float32) * 2
    y = ncd.max_pool2d(ncd.relu(ncd.conv2d(x, EDGE.astype(np.float32), 1, "SAME")), 2, 2,
                       "SAME")
    graph = dict(y.__dask_graph__())
    calls = [k for k in graph if k[0].startswith("numconv-conv2d")]
    for key in calls:                                  # one input block per call: its own
        deps = dask.core.get_dependencies(graph, key)
        assert [d for d in deps if d[0] == x.name] == [(x.name, *key[1:])]

    peak = [0]

    class Held(Callback):
        def _posttask(self, key, result, dsk, state, id):
            peak[0] = max(peak[0], sum(v.nbytes for v in state["cache"].values()
                                       if isinstance(v, np.ndarray)))

    with Held():
        total = y.sum().compute(scheduler="threads")
    # edge filter of a constant 2 with zero padding: 0 inside, 6 on the edges, 10 in the
    # corners; pooled 2x2: 4 corner windows of 10 and 4 * 510 edge windows of 6
    assert total == 4 * 10 + 4 * 510 * 6
    assert peak[0] <= 4 * 16 * 64 * 64 * 4             # 4 rows of 16 blocks: 1/4 of the array


def test_arguments_are_validated_eagerly():
    x = da.zeros((1, 5, 5, 1), chunks=2)
    with pytest.raises(ValueError) as info:         # before any compute
        ncd.conv2d(x, EDGE, strides=0)
    assert str(info.value).startswith("conv2d: strides")


def test_limits_in_force_at_call_apply_to_blocks():
    x = da.ones((1, 4096, 1), chunks=(1, 2048, 1))
    with nc.config.memory_limit(4096):
        y = ncd.max_pool1d(x, 3, 1, "SAME")
    with pytest.raises(ValueError) as info:
        y.compute(scheduler="threads")
    assert str(info.value).startswith("pool: ")


def test_input_must_be_a_dask_array():
    with pytest.raises(TypeError, match="conv2d: input must be a dask array"):
        ncd.conv2d(np.ones((1, 3, 3, 1)), EDGE)


def test_input_must_have_known_chunks():
    x = da.ones((4, 3, 3, 1), chunks=2)
    x = x[x[:, 0, 0, 0] > 0]                        # unknown row count
    with pytest.raises(ValueError, match="relu: features must have known chunk sizes"):
        ncd.relu(x)


def test_missing_dask_is_explained(monkeypatch):
    monkeypatch.setattr(ncd, "da", None)
    with pytest.raises(ImportError, match=r"numconv.dask.relu needs dask"):
        ncd.relu(np.ones(3))


# --------------------------------------------------------------------------- distributed


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, local_directory=str(tmp_path_factory.mktemp("dask")),
        silence_logs=50)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.mark.parametrize("seed", [0, 2, 3, 5, 6, 9, 13, 16])
def test_random_cases_on_local_cluster(client, seed):
    _check(*_case(seed), scheduler=client)


def test_seed_pipeline_on_local_cluster(client):
    x = np.random.default_rng(7).standard_normal((2, 30, 34, 1))
    xd = da.from_array(x, chunks=(1, 10, 8, 1))
    y = ncd.max_pool2d(ncd.relu(ncd.conv2d(xd, EDGE, 1, "SAME")), 2, 2, "SAME")
    expected = nc.max_pool2d(nc.relu(nc.conv2d(x, EDGE, 1, "SAME")), 2, 2, "SAME")
    assert_matches(client.compute(y).result(), expected, exact=True, dtype=np.float64)
