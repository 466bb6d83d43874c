"""Argument validation and normalisation: every user-facing error message lives here.

Public functions call these helpers once, at the boundary, and hand canonical
values (plain ints, tuples, "SAME"/"VALID" or explicit ``(before, after)`` pairs,
a :class:`~numconv.layout.Layout`) to the compute code, which never re-checks.

Messages follow one pattern: ``"<function>: <argument> <rule>, got <value>"``;
TypeError for a wrong type, ValueError for a wrong value or shape.

The helpers are grouped by area: :mod:`.core` (shared rules), :mod:`.memory` (the messages of
:mod:`numconv.budget`),
:mod:`.grads`, :mod:`.media` (figures, images, kernels) and :mod:`.frameworks`
(cross-checking, layers); callers use them as ``_args.<helper>``.
"""

from __future__ import annotations

from .core import (
    Padding, PaddingSpec, _is_sequence, _show, algorithm_fits, array, bias, bind, ceil_mode,
    check_input_rank, check_rank, choice, dask_array, data_format, fail, filters, flag, groups,
    int_tuple, integer, nan_policy, number, padding, pool_algorithm, precision, rank_range,
    relu_options, spatial_rank, type_fail)
from .memory import numpy_sized, over_limit, show_bytes
from .grads import (
    grad_shape, index_range, indices, registered, same_shape, shape_spec, transpose_output)
from .media import (
    FIGURE_AREA, FIGURE_INCHES, activation, batch_image, figure_size, file_path, float_image,
    grid_position, image_channels, instance, kernel2d, kernel_name, names, number_range,
    patch_figure, pool_windows, positive_number, stage_list, unbatched_image,
    undecodable_image, unreadable_file)
from .frameworks import (
    _broadcasts, float_array, float_dtype, framework_names, from_inner, inexpressible,
    install_hint, missing_frameworks, missing_text, model_file, onnx_label, onnx_node, only_for,
    port_spec, relabel, shape_arg, tolerance, unbuilt_model, unsupported_layer,
    unsupported_option, weights_shapes)

