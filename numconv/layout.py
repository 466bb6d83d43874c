"""Data layouts: TensorFlow ``data_format`` strings and the canonical channels-last form.

Every op computes on channels-last arrays of shape ``(N, *spatial, C)``.  A
channels-first input (``NCW``, ``NCHW``, ``NCDHW``) is viewed as channels-last at
the boundary (:meth:`Layout.to_canonical`, no copy) and the result is moved back
(:meth:`Layout.from_canonical`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Layout"]

#: data_format string -> (number of spatial dims, channels_last)
DATA_FORMATS: dict[str, tuple[int, bool]] = {
    "NWC": (1, True),
    "NHWC": (2, True),
    "NDHWC": (3, True),
    "NCW": (1, False),
    "NCHW": (2, False),
    "NCDHW": (3, False),
}

_CHANNELS_LAST_NAMES = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
_CHANNELS_FIRST_NAMES = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


@dataclass(frozen=True)
class Layout:
    """A resolved data layout.

    Parameters
    ----------
    n_spatial : int
        Number of spatial dimensions (1 to 3).
    channels_last : bool
        True for ``N...C`` (TensorFlow's default), False for ``NC...``.

    Examples
    --------
    >>> lay = Layout(2, channels_last=False)
    >>> lay.name, lay.channel_axis, lay.spatial_axes
    ('NCHW', 1, (2, 3))
    >>> x = np.zeros((5, 3, 7, 9))
    >>> lay.to_canonical(x).shape
    (5, 7, 9, 3)
    """

    n_spatial: int
    channels_last: bool = True

    @classmethod
    def default(cls, n_spatial: int) -> Layout:
        """The channels-last layout with ``n_spatial`` spatial dimensions."""
        return cls(n_spatial, True)

    @property
    def name(self) -> str:
        """TensorFlow's name for this layout (``NHWC``, ``NCDHW``, ...)."""
        names = _CHANNELS_LAST_NAMES if self.channels_last else _CHANNELS_FIRST_NAMES
        return names.get(self.n_spatial, ("N" + "S" * self.n_spatial + "C") if self.channels_last
                         else ("NC" + "S" * self.n_spatial))

    @property
    def rank(self) -> int:
        """Rank of an array in this layout (batch + spatial + channels)."""
        return self.n_spatial + 2

    @property
    def channel_axis(self) -> int:
        """Axis holding the channels."""
        return self.n_spatial + 1 if self.channels_last else 1

    @property
    def spatial_axes(self) -> tuple[int, ...]:
        """Axes holding the spatial dimensions, in order."""
        first = 1 if self.channels_last else 2
        return tuple(range(first, first + self.n_spatial))

    def spatial_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The spatial part of an array shape in this layout."""
        return tuple(shape[a] for a in self.spatial_axes)

    def to_canonical(self, x: np.ndarray) -> np.ndarray:
        """View ``x`` (in this layout) as channels-last ``(N, *spatial, C)``; no copy."""
        return x if self.channels_last else np.moveaxis(x, 1, -1)

    def from_canonical(self, y: np.ndarray) -> np.ndarray:
        """Turn a channels-last result back into this layout (C-contiguous)."""
        if self.channels_last:
            return y
        return np.ascontiguousarray(np.moveaxis(y, -1, 1))

    def full_index(self, spatial_values: tuple, batch_value, channel_value) -> list:
        """Place per-spatial-dim values into a full per-axis list (batch and channel filled).

        >>> Layout(2, False).full_index((3, 4), 1, 1)
        [1, 1, 3, 4]
        """
        out = [batch_value] * self.rank
        out[self.channel_axis] = channel_value
        for axis, v in zip(self.spatial_axes, spatial_values):
            out[axis] = v
        return out
