"""The lesson's figures (:mod:`numconv.lesson.figures`) under their public name.

Every function returns a matplotlib :class:`~matplotlib.figure.Figure`; importing this
module imports matplotlib (``import numconv`` does not).
"""

from __future__ import annotations

from .lesson.figures import *  # noqa: F401,F403
from .lesson.figures import __all__  # noqa: F401
