"""What the golden sections share: a golden file's cases and arrays, and id helpers.

Not a section (``make_tf_reference.py`` skips modules whose name starts with ``_``).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np

LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


class GoldenFile:
    """The cases of one golden file ``<prefix>_<name>.npz``; sections add the cases."""

    prefix = ""

    def __init__(self, name: str, seed: int):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.cases: list[dict] = []
        self.arrays: dict[str, np.ndarray] = {}

    def _next(self, id: str) -> int:
        """The index of a new case, whose id must be unique in the file."""
        assert all(c["id"] != id for c in self.cases), id
        return len(self.cases)

    def save(self, out_dir: pathlib.Path, tf_version: str) -> pathlib.Path:
        path = out_dir / f"{self.prefix}_{self.name}.npz"
        np.savez_compressed(path, tf_version=np.array(tf_version),
                            cases=np.array(json.dumps(self.cases)), **self.arrays)
        return path


def first(a: Any) -> np.ndarray:
    """Channels-last -> channels-first."""
    return np.ascontiguousarray(np.moveaxis(np.asarray(a), -1, 1))


def tag(values: Any) -> str:
    return "x".join(map(str, values)) if isinstance(values, (tuple, list)) else str(values)


def pad_tag(padding: Any) -> str:
    return padding if isinstance(padding, str) else "P" + "_".join(f"{b}{a}" for b, a in padding)
