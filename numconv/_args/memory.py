"""Messages of the memory checks (:mod:`numconv.budget` decides what a call charges)."""

from __future__ import annotations

import math

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


def over_limit(fn: str, args: str, parts: dict[str, int], limit: int) -> None:
    """Refuse a call whose planned allocations ``parts`` (name -> bytes, exact Python
    ints) add up to more than ``limit`` bytes; ``args`` names the arguments that decide
    those sizes."""
    total = sum(parts.values())
    if total > limit:
        detail = ", ".join(f"{name} {show_bytes(v)}" for name, v in parts.items() if v)
        fail(fn, args, f"must keep the memory this call needs under the limit of "
             f"{show_bytes(limit)} (numconv.config.memory_limit)", None,
             shown=f"{show_bytes(total)} ({detail})")


def numpy_sized(fn: str, args: str, shape: tuple[int, ...], itemsize: int, what: str) -> None:
    """Require a shape NumPy can describe: its non-zero dims times the item size < 2**63 bytes
    (NumPy refuses larger shapes even when a zero dim makes them empty)."""
    nominal = math.prod(max(v, 1) for v in shape) * max(itemsize, 1)
    if nominal >= 2**63:
        fail(fn, args, "must give arrays NumPy can describe (the product of the non-zero "
             "dims times the item size under 2**63 bytes)", None,
             shown=f"shape {tuple(shape)} for the {what}")
