"""Plain nested-loop references, written independently of numconv's code.

Slow and obvious on purpose: loops over batch items, output positions and window
taps, with the window geometry re-derived by counting window positions.
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


def ref_conv(x, w, strides, padding, dilations, bias=None):
    """Channels-last convolution by loops. ``padding``: "SAME"/"VALID" or pairs."""
    n_sp = x.ndim - 2
    pads = padding if not isinstance(padding, str) else [padding] * n_sp
    dims = [ref_dim(x.shape[1 + i], w.shape[i], strides[i], dilations[i], pads[i])
            for i in range(n_sp)]
    cin_g, cout = w.shape[-2], w.shape[-1]
    groups = x.shape[-1] // cin_g
    cout_g = cout // groups
    out = np.zeros((x.shape[0], *[dm[0] for dm in dims], cout), dtype=np.float64)
    for b in range(x.shape[0]):
        for o in itertools.product(*[range(dm[0]) for dm in dims]):
            for co in range(cout):
                g = co // cout_g
                acc = 0.0
                for t in itertools.product(*[range(k) for k in w.shape[:n_sp]]):
                    pos = [o[i] * strides[i] - dims[i][1] + t[i] * dilations[i]
                           for i in range(n_sp)]
                    if all(0 <= p < x.shape[1 + i] for i, p in enumerate(pos)):
                        for ci in range(cin_g):
                            acc += float(x[(b, *pos, g * cin_g + ci)]) * float(w[(*t, ci, co)])
                out[(b, *o, co)] = acc + (0.0 if bias is None else float(bias[co]))
    return out


def ref_pool(x, window, strides, padding, dilations, kind, *, ceil_mode=False,
             count_include_pad=False, divisor_override=None):
    """Channels-last max/avg pooling by loops; padding never counted unless asked."""
    n_sp = x.ndim - 2
    pads = padding if not isinstance(padding, str) else [padding] * n_sp
    dims = [ref_dim(x.shape[1 + i], window[i], strides[i], dilations[i], pads[i], ceil_mode)
            for i in range(n_sp)]
    out = np.zeros((x.shape[0], *[dm[0] for dm in dims], x.shape[-1]), dtype=np.float64)
    for b in range(x.shape[0]):
        for o in itertools.product(*[range(dm[0]) for dm in dims]):
            for c in range(x.shape[-1]):
                values, counted = [], 0
                for t in itertools.product(*[range(k) for k in window]):
                    pos = [o[i] * strides[i] - dims[i][1] + t[i] * dilations[i]
                           for i in range(n_sp)]
                    inside = all(0 <= p < x.shape[1 + i] for i, p in enumerate(pos))
                    if inside:
                        values.append(float(x[(b, *pos, c)]))
                    in_declared = all(-dims[i][1] <= p < x.shape[1 + i] + dims[i][3]
                                      for i, p in enumerate(pos))
                    counted += inside or (count_include_pad and in_declared)
                if kind == "MAX":
                    out[(b, *o, c)] = max(values) if values else -math.inf
                    if any(math.isnan(v) for v in values):
                        out[(b, *o, c)] = math.nan
                else:
                    divisor = divisor_override if divisor_override else counted
                    out[(b, *o, c)] = sum(values) / divisor if divisor else math.nan
    return out
