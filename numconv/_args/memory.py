"""Memory checks: a call whose output, padded copy or workspace would exceed the memory
limit (:mod:`numconv.config`) is refused before anything is allocated."""

from __future__ import annotations

from typing import Any

from .core import fail


def show_bytes(nbytes: int) -> str:
    """``1536`` -> ``'1.5 KiB'``; binary units up to EiB.

    >>> show_bytes(512), show_bytes(3 * 2**40)
    ('512 B', '3.0 TiB')
    """
    value, unit = float(nbytes), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if value < 1024 or unit == "EiB":
            break
        value /= 1024
    return f"{nbytes} B" if unit == "B" else f"{value:.1f} {unit}" if value < 1e4 else \
        f"{value:.3g} {unit}"


def memory(fn: str, args: str, parts: dict[str, int]) -> None:
    """Refuse a call whose planned allocations exceed the memory limit, before allocating.

    ``parts`` maps a name ("output", "padded input", "workspace") to its size in bytes
    (exact Python ints, so terabyte requests do not overflow); ``args`` names the
    arguments that decide those sizes.  The limit is
    :func:`numconv.config.get_memory_limit`.
    """
    from ..config import get_memory_limit
    limit = get_memory_limit()
    total = sum(parts.values())
    if total > limit:
        detail = ", ".join(f"{name} {show_bytes(v)}" for name, v in parts.items() if v)
        fail(fn, args, f"must keep the memory this call needs under the limit of "
             f"{show_bytes(limit)} (numconv.config.memory_limit)", None,
             shown=f"{show_bytes(total)} ({detail})")


def window_memory(fn: str, args: str, batch: int, channels: int, geometry: Any,
                  in_itemsize: int, out_channels: int, out_itemsize: int,
                  per_position: int = 0) -> None:
    """:func:`memory` for a windowed op: output, padded input copy and chunked workspace.

    ``geometry`` is a resolved :class:`~numconv.geometry.Geometry`; the padded copy is
    counted when it pads (``windows.pad`` allocates the whole padded input); the
    workspace of ``per_position`` bytes per output position is chunked under the
    workspace bound, but one chunk holds at least one row of the first spatial dim.
    """
    import math

    from ..config import get_workspace_limit
    out_shape = tuple(d.out_size for d in geometry.dims)
    positions = batch * math.prod(out_shape)

    def nominal(dims: tuple[int, ...]) -> int:
        # zero dims count as 1: an empty result of (0, 10**9, 10**9) is refused too,
        # as NumPy cannot even describe it
        return math.prod(max(v, 1) for v in dims)

    parts = {"output": nominal((batch, *out_shape, out_channels)) * out_itemsize}
    if any(d.pad_before or d.pad_after for d in geometry.dims):
        parts["padded input"] = nominal((batch, *(d.padded_size for d in geometry.dims),
                                         channels)) * in_itemsize
    if per_position and positions:
        row = math.prod(out_shape[1:]) * per_position
        parts["workspace"] = min(positions * per_position, max(get_workspace_limit(), row))
    memory(fn, args, parts)


def grad_memory(fn: str, args: str, geometry: Any, batch: int, channels: int, itemsize: int,
                per_position: int = 0, extra: int = 0) -> None:
    """:func:`memory` for a backward pass that scatters onto a padded input-sized array.

    Counts that array (``batch * padded spatial * channels``), the chunked workspace of
    ``per_position`` bytes per output position (at least one output row per chunk), and
    ``extra`` bytes (outputs and masks of other shapes).
    """
    import math

    from ..config import get_workspace_limit
    out_shape = tuple(d.out_size for d in geometry.dims)
    padded = (batch, *(d.padded_size for d in geometry.dims), channels)
    numpy_sized(fn, args, padded, itemsize, "padded gradient")
    numpy_sized(fn, args, (batch, *out_shape, channels), itemsize, "output positions")
    positions = batch * math.prod(out_shape)
    parts = {"padded gradient": math.prod(padded) * itemsize, "other arrays": extra}
    if per_position and positions:
        row = math.prod(out_shape[1:]) * per_position
        parts["workspace"] = min(positions * per_position, max(get_workspace_limit(), row))
    memory(fn, args, parts)


def numpy_sized(fn: str, args: str, shape: tuple[int, ...], itemsize: int, what: str) -> None:
    """Require a shape NumPy can describe: its non-zero dims times the item size < 2**63 bytes
    (NumPy refuses larger shapes even when a zero dim makes them empty)."""
    import math

    nominal = math.prod(max(v, 1) for v in shape) * max(itemsize, 1)
    if nominal >= 2**63:
        fail(fn, args, "must give arrays NumPy can describe (the product of the non-zero "
             "dims times the item size under 2**63 bytes)", None,
             shown=f"shape {tuple(shape)} for the {what}")
