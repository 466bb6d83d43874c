"""Plain nested loops that check numconv.reference (and the geometry) independently.

Slow and obvious on purpose: loops over batch items, output positions, window taps
and channels, with the window geometry re-derived by counting window positions.
They share no code with numconv.  The op tests compare numconv's fast paths with
numconv.reference (tests/oracle.py); tests/ops/test_reference.py compares
numconv.reference with these loops.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def ref_dim(n: int, k: int, s: int, d: int, padding, ceil_mode: bool = False):
    """(out, pad_before, pad_after_used, declared_after) for one dim, by counting windows."""
    eff = (k - 1) * d + 1
    if padding == "SAME":
        out = len(range(0, n, s))                      # one window per stride step
        total = max(0, (out - 1) * s + eff - n)
        return out, total // 2, total - total // 2, total - total // 2
    b, a = (0, 0) if padding == "VALID" else padding
    size = n + b + a
    if not ceil_mode:
        out = 0
        while out * s + eff <= size:
            out += 1
        return out, b, a, a
    out = 0
    # PyTorch: windows may run past the end by < stride, but must start in input/left pad
    while out * s <= size - eff + s - 1 and out * s < n + b:
        out += 1
    used_after = max(a, (out - 1) * s + eff - n - b) if out else a
    return out, b, used_after, a


def windows(x_shape, window, strides, padding, dilations, ceil_mode=False):
    """Yield ``(out position, [(tap, input position or None, inside declared pads)])``."""
    n = len(x_shape) - 2
    pads = padding if not isinstance(padding, str) else [padding] * n
    dims = [ref_dim(x_shape[1 + i], window[i], strides[i], dilations[i], pads[i], ceil_mode)
            for i in range(n)]
    for o in itertools.product(*[range(dm[0]) for dm in dims]):
        taps = []
        for t in itertools.product(*[range(k) for k in window]):
            pos = tuple(o[i] * strides[i] - dims[i][1] + t[i] * dilations[i] for i in range(n))
            inside = all(0 <= p < x_shape[1 + i] for i, p in enumerate(pos))
            declared = all(-dims[i][1] <= p < x_shape[1 + i] + dims[i][3]
                           for i, p in enumerate(pos))
            taps.append((t, pos if inside else None, declared))
        yield o, taps


def out_shape(x_shape, window, strides, padding, dilations, channels, ceil_mode=False):
    """The forward output's shape, by counting windows."""
    n = len(x_shape) - 2
    pads = padding if not isinstance(padding, str) else [padding] * n
    return (x_shape[0], *[ref_dim(x_shape[1 + i], window[i], strides[i], dilations[i],
                                  pads[i], ceil_mode)[0] for i in range(n)], channels)


def loop_conv(x, w, strides, padding, dilations):
    """Channels-last grouped convolution by loops, in float64; ``w`` is (*window, cin_g, cout)."""
    n = x.ndim - 2
    cin_g, cout = w.shape[-2:]
    cout_g = cout // (x.shape[-1] // cin_g)
    out = np.zeros(out_shape(x.shape, w.shape[:n], strides, padding, dilations, cout))
    for o, taps in windows(x.shape, w.shape[:n], strides, padding, dilations):
        for b, co, (t, pos, _) in itertools.product(range(x.shape[0]), range(cout), taps):
            if pos is not None:
                for ci in range(cin_g):
                    out[(b, *o, co)] += (float(x[(b, *pos, co // cout_g * cin_g + ci)])
                                         * float(w[(*t, ci, co)]))
    return out


def loop_conv_vjp(x, w, g, strides, padding, dilations):
    """(dx, dw) of channels-last convolution by loops: each output gradient scattered
    through each window tap."""
    n = x.ndim - 2
    cin_g, cout = w.shape[-2:]
    cout_g = cout // (x.shape[-1] // cin_g)
    dx, dw = np.zeros(x.shape), np.zeros(w.shape)
    for o, taps in windows(x.shape, w.shape[:n], strides, padding, dilations):
        for b, co, (t, pos, _) in itertools.product(range(x.shape[0]), range(cout), taps):
            if pos is not None:
                for ci in range(cin_g):
                    c = co // cout_g * cin_g + ci
                    dx[(b, *pos, c)] += float(g[(b, *o, co)]) * float(w[(*t, ci, co)])
                    dw[(*t, ci, co)] += float(g[(b, *o, co)]) * float(x[(b, *pos, c)])
    return dx, dw


def first_max(values):
    """Index of the first maximum (the first NaN if any) in a list; None if empty."""
    best = None
    for i, v in enumerate(values):
        if best is None or (math.isnan(v) and not math.isnan(values[best])) or v > values[best]:
            best = i
    return best


def loop_pool(x, window, strides, padding, dilations, kind, *, ceil_mode=False,
              count_include_pad=False, divisor_override=None):
    """Channels-last max/avg pooling by loops; padding never counted unless asked."""
    out = np.zeros(out_shape(x.shape, window, strides, padding, dilations, x.shape[-1],
                             ceil_mode))
    for o, taps in windows(x.shape, window, strides, padding, dilations, ceil_mode):
        counted = sum(pos is not None or (count_include_pad and declared)
                      for _, pos, declared in taps)
        for b, c in itertools.product(range(x.shape[0]), range(x.shape[-1])):
            values = [float(x[(b, *pos, c)]) for _, pos, _ in taps if pos is not None]
            if kind == "MAX":
                out[(b, *o, c)] = values[first_max(values)] if values else -math.inf
            else:
                divisor = divisor_override or counted
                out[(b, *o, c)] = sum(values) / divisor if divisor else math.nan
    return out


def loop_max_pool_vjp(x, g, window, strides, padding, dilations, ceil_mode=False):
    """Each window's gradient to its first maximum among the taps on the input."""
    dx = np.zeros(x.shape)
    for o, taps in windows(x.shape, window, strides, padding, dilations, ceil_mode):
        real = [pos for _, pos, _ in taps if pos is not None]
        for b, c in itertools.product(range(x.shape[0]), range(x.shape[-1])):
            k = first_max([float(x[(b, *p, c)]) for p in real])
            if k is not None:
                dx[(b, *real[k], c)] += g[(b, *o, c)]
    return dx


def loop_avg_pool_vjp(x_shape, g, window, strides, padding, dilations, ceil_mode=False,
                      count_include_pad=False, divisor_override=None):
    """Each window's gradient over its divisor, to every tap on the input."""
    dx = np.zeros(x_shape)
    for o, taps in windows(x_shape, window, strides, padding, dilations, ceil_mode):
        counted = sum(p is not None or (count_include_pad and dec) for _, p, dec in taps)
        divisor = divisor_override or counted
        for _, p, _ in taps:
            if p is not None:
                dx[(slice(None), *p, slice(None))] += g[(slice(None), *o, slice(None))] / divisor
    return dx
