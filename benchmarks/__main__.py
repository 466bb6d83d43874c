"""``python -m benchmarks``: run the benchmark suite (see :mod:`benchmarks.suite`)."""

from __future__ import annotations

from .suite import main

raise SystemExit(main())
