"""Every validation message of the forward ops: one pytest.raises per message."""

from __future__ import annotations

import numpy as np
import pytest

import numconv

X = np.zeros((1, 5, 5, 2))
W = np.zeros((3, 3, 2, 4))


def test_input_type():
    with pytest.raises(TypeError, match=r"conv2d: input must be a real numeric array \(bool, "
                                        r"integer or float\), got dtype complex128"):
        numconv.conv2d(X.astype(complex), W)


def test_input_object_array():
    with pytest.raises(TypeError, match=r"max_pool: input must be a real numeric array .*"
                                        r"got dtype object"):
        numconv.max_pool(np.array([[[None]]], dtype=object), 1, 1, "VALID")


def test_input_ragged():
    with pytest.raises(TypeError, match=r"relu: features must be a real numeric array, got list "
                                        r"that NumPy cannot convert"):
        numconv.relu([[1.0], [1.0, 2.0]])


def test_input_none():
    with pytest.raises(TypeError, match=r"relu6: features must be a real numeric array, "
                                        r"got NoneType None"):
        numconv.relu6(None)


def test_input_rank():
    with pytest.raises(ValueError, match=r"conv2d: input must have rank 4 \(NHWC: batch, 2 "
                                         r"spatial dims, channels\), got shape \(5, 5, 2\)"):
        numconv.conv2d(X[0], W)


def test_input_rank_single_image_hint():
    with pytest.raises(ValueError, match=r"conv2d: input must have rank 4 .*got shape \(5, 5, 2\) "
                                         r"\(rank 3\); a single image needs a batch axis: "
                                         r"image\[None\]$"):
        numconv.conv2d(X[0], W)


def test_input_rank_single_channel_image_hint():
    with pytest.raises(ValueError, match=r"conv2d: input must have rank 4 .*got shape \(5, 5\) "
                                         r"\(rank 2\); a single one-channel image needs batch "
                                         r"and channel axes: image\[None, \.\.\., None\]$"):
        numconv.conv2d(X[0, :, :, 0], W[:, :, :1])


def test_input_rank_single_channel_image_hint_channels_first():
    with pytest.raises(ValueError, match=r"conv2d: input must have rank 4 \(NCHW: .*got shape "
                                         r"\(5, 5\) \(rank 2\); a single one-channel image needs "
                                         r"batch and channel axes: image\[None, None\]$"):
        numconv.conv2d(X[0, :, :, 0], W[:, :, :1], data_format="NCHW")


def test_spatial_rank():
    with pytest.raises(ValueError, match=r"max_pool: input must have rank 3 to 5 \(1 to 3 "
                                         r"spatial dims\), got shape \(5, 2\) \(rank 2\)"):
        numconv.max_pool(np.zeros((5, 2)), 2, 2, "VALID")


def test_filters_rank():
    with pytest.raises(ValueError, match=r"conv2d: filters must have rank 4 \(\*window, "
                                         r"in_channels/groups, out_channels\), got shape"):
        numconv.conv2d(X, W[0])


def test_filters_rank_2d_kernel_hint():
    with pytest.raises(ValueError, match=r"conv2d: filters must have rank 4 .*got shape \(3, 3\) "
                                         r"\(rank 2\); a 2-D kernel becomes filters with "
                                         r"numconv.as_filters\(kernel\)$"):
        numconv.conv2d(X, np.ones((3, 3)))


def test_filters_rank_kernel_hint():
    with pytest.raises(ValueError, match=r"conv1d: filters must have rank 3 .*got shape \(3,\) "
                                         r"\(rank 1\); a single 1-D kernel becomes filters with "
                                         r"kernel\[\.\.\., None, None\]$"):
        numconv.conv1d(np.ones((1, 8, 1)), np.ones(3))


def test_filters_window_positive():
    with pytest.raises(ValueError, match=r"conv2d: filters window dims must be positive, "
                                         r"got shape \(0, 3, 2, 4\)"):
        numconv.conv2d(X, np.zeros((0, 3, 2, 4)))


def test_filters_in_channels_positive():
    with pytest.raises(ValueError, match=r"conv2d: filters in_channels \(axis -2\) must be "
                                         r"positive, got shape \(3, 3, 0, 4\)"):
        numconv.conv2d(X, np.zeros((3, 3, 0, 4)))


def test_input_channels_positive():
    with pytest.raises(ValueError, match=r"conv2d: input must have at least one channel, "
                                         r"got 0 channels"):
        numconv.conv2d(np.zeros((1, 5, 5, 0)), W)


def test_channel_multiple():
    with pytest.raises(ValueError, match=r"conv2d: input channels must be a multiple of the "
                                         r"in_channels of filters \(3, its axis -2\), "
                                         r"got 2 channels"):
        numconv.conv2d(X, np.zeros((3, 3, 3, 4)))


def test_out_channels_multiple_of_groups():
    with pytest.raises(ValueError, match=r"conv2d: filters out_channels must be a multiple of "
                                         r"the group count 2 .* got 3 out_channels"):
        numconv.conv2d(X, np.zeros((3, 3, 1, 3)))


def test_depthwise_channels():
    with pytest.raises(ValueError, match=r"depthwise_conv2d: filter in_channels \(axis -2\) "
                                         r"must equal the input's channels \(2\), got shape"):
        numconv.depthwise_conv2d(X, np.zeros((3, 3, 3, 1)))


def test_bias_shape():
    with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(4,\) \(one value per "
                                         r"output channel\), got shape \(2,\)"):
        numconv.conv2d(X, W, bias=np.zeros(2))


def test_strides_positive():
    with pytest.raises(ValueError, match=r"conv2d: strides must be positive integers, "
                                         r"got \(2, 0\)"):
        numconv.conv2d(X, W, (2, 0))


def test_strides_length():
    with pytest.raises(ValueError, match=r"conv2d: strides must have 1 or 2 or 4 elements for "
                                         r"2 spatial dims, got \(1, 2, 3\)"):
        numconv.conv2d(X, W, (1, 2, 3))


def test_strides_full_form():
    with pytest.raises(ValueError, match=r"conv2d: strides in its 4-element form \(NHWC\) must "
                                         r"be 1 at the batch and channel positions, "
                                         r"got \[2, 2, 2, 1\]"):
        numconv.conv2d(X, W, [2, 2, 2, 1])


def test_strides_float_element():
    with pytest.raises(TypeError, match=r"conv2d: strides must contain only integers "
                                        r"\(element 1.5\)"):
        numconv.conv2d(X, W, (1.5, 1))


def test_dilations_type():
    with pytest.raises(TypeError, match=r"conv2d: dilations must be an int or a sequence of 2 "
                                        r"ints, got str 'x'"):
        numconv.conv2d(X, W, dilations="x")


def test_integer_refuses_bool():
    with pytest.raises(TypeError, match=r"avg_pool: divisor_override must be an integer, "
                                        r"got bool True"):
        numconv.avg_pool(X, 2, 2, "VALID", divisor_override=True)


def test_integer_positive():
    with pytest.raises(ValueError, match=r"avg_pool: divisor_override must be positive, got 0"):
        numconv.avg_pool(X, 2, 2, "VALID", divisor_override=0)


def test_integer_minimum():
    with pytest.raises(ValueError, match=r"set_workspace_limit: nbytes must be >= 1024, got 10"):
        numconv.set_workspace_limit(10)


def test_integer_string():
    with pytest.raises(TypeError, match=r"avg_pool: divisor_override must be an integer, not a "
                                        r"string, got str '2'"):
        numconv.avg_pool(X, 2, 2, "VALID", divisor_override="2")


def test_int_tuple_string_element():
    with pytest.raises(TypeError, match=r"explain: input must contain only integers "
                                        r"\(element '224'\), got list \['224'\]"):
        numconv.explain(["224"], 3)


def test_explain_needs_a_dimension():
    with pytest.raises(ValueError, match=r"explain: input must give at least one spatial size, "
                                         r"got \[\]"):
        numconv.explain([], [])


def test_padding_unknown_string():
    with pytest.raises(ValueError, match=r"conv2d: padding must be 'SAME', 'VALID', 'SAME_LOWER', "
                                         r"'SAME_UPPER', an int or "
                                         r"explicit \(before, after\) pairs, got 'FULL'"):
        numconv.conv2d(X, W, 1, "FULL")


def test_padding_type():
    with pytest.raises(TypeError, match=r"conv2d: padding must be 'SAME', 'VALID', 'SAME_LOWER', "
                                        r"'SAME_UPPER', an int or "
                                        r"explicit \(before, after\) pairs, got NoneType None"):
        numconv.conv2d(X, W, 1, None)


def test_padding_int_sequence_length():
    with pytest.raises(ValueError, match=r"conv2d: padding as a sequence of ints must have 2 "
                                         r"elements \(symmetric padding per spatial dim\), "
                                         r"got \[1, 2, 3\]"):
        numconv.conv2d(X, W, 1, [1, 2, 3])


def test_padding_pairs():
    with pytest.raises(ValueError, match=r"conv2d: padding must be a sequence of \(before, "
                                         r"after\) pairs, got \[\(1, 2, 3\), \(1, 2\)\]"):
        numconv.conv2d(X, W, 1, [(1, 2, 3), (1, 2)])


def test_padding_pair_count():
    with pytest.raises(ValueError, match=r"conv2d: padding must have 2 \(before, after\) pairs "
                                         r"\(or 4 in TF's form with batch and channel pairs\), "
                                         r"got \[\(1, 1\)\]"):
        numconv.conv2d(X, W, 1, [(1, 1)])


def test_padding_tf_form_nonzero_batch():
    with pytest.raises(ValueError, match=r"conv2d: padding in TF's 4-pair form \(NHWC\) must be "
                                         r"\[0, 0\] at the batch and channel positions"):
        numconv.conv2d(X, W, 1, [[1, 0], [1, 1], [1, 1], [0, 0]])


def test_padding_negative():
    with pytest.raises(ValueError, match=r"conv2d: padding pads must be non-negative, "
                                         r"got \[\(1, -1\), \(0, 0\)\]"):
        numconv.conv2d(X, W, 1, [(1, -1), (0, 0)])


def test_padding_int_negative():
    with pytest.raises(ValueError, match=r"max_pool: padding must be >= 0, got -1"):
        numconv.max_pool(X, 2, 2, -1)


def test_padding_non_integer_pad():
    with pytest.raises(TypeError, match=r"conv2d: padding pads must be integers "
                                        r"\(element 1.5\)"):
        numconv.conv2d(X, W, 1, [(1.5, 1), (0, 0)])


def test_data_format_unknown():
    with pytest.raises(ValueError, match=r"conv2d: data_format must be one of NCDHW, NCHW, NCW, "
                                         r"NDHWC, NHWC, NWC, 'channels_last' or 'channels_first',"
                                         r" got 'HWNC'"):
        numconv.conv2d(X, W, data_format="HWNC")


def test_data_format_rank():
    with pytest.raises(ValueError, match=r"conv2d: data_format must describe 2 spatial dims "
                                         r"\(NHWC or NCHW\) here, got 'NWC'"):
        numconv.conv2d(X, W, data_format="NWC")


def test_data_format_type():
    with pytest.raises(TypeError, match=r"max_pool2d: data_format must be a string such as "
                                        r"'NHWC' or 'NCHW', got int 1"):
        numconv.max_pool2d(X, 2, 2, "VALID", data_format=1)


def test_pooling_type():
    with pytest.raises(ValueError, match=r"pool: pooling_type must be one of 'MAX', 'AVG', "
                                         r"got 'MIN'"):
        numconv.pool(X, [2, 2], "MIN")


def test_ceil_mode_with_same():
    with pytest.raises(ValueError, match=r"max_pool: ceil_mode cannot be combined with "
                                         r"padding='SAME'"):
        numconv.max_pool(X, 2, 2, "SAME", ceil_mode=True)


def test_flag_type():
    with pytest.raises(TypeError, match=r"avg_pool: count_include_pad must be True or False, "
                                        r"got str 'yes'"):
        numconv.avg_pool(X, 2, 2, "VALID", count_include_pad="yes")


def test_choice_type():
    with pytest.raises(TypeError, match=r"conv2d: algorithm must be one of 'auto'"):
        numconv.conv2d(X, W, algorithm=3)


def test_pool_algorithm_value():
    with pytest.raises(ValueError, match=r"max_pool2d: algorithm must be one of 'auto', "
                                         r"'reference', got 'im2col'"):
        numconv.max_pool2d(X, 2, 2, "VALID", algorithm="im2col")


def test_reference_pool_propagates_nan_only():
    with pytest.raises(ValueError, match=r"max_pool: nan_policy 'ignore' needs "
                                         r"algorithm='auto' \(the reference propagates NaN\), "
                                         r"got 'ignore'"):
        numconv.max_pool(X, 2, 2, "VALID", nan_policy="ignore", algorithm="reference")


def test_precision_value():
    with pytest.raises(ValueError, match=r"conv2d_transpose: precision must be one of 'exact', "
                                         r"'fast', got 'fastest'"):
        numconv.conv2d_transpose(X, W, (1, 5, 5, 4), 1, precision="fastest")


def test_global_pool_empty():
    with pytest.raises(ValueError, match=r"global_max_pool: input must have non-empty spatial "
                                         r"dims for a global pool, got shape \(1, 0, 3, 2\)"):
        numconv.global_max_pool(np.zeros((1, 0, 3, 2)))


def test_number_type():
    with pytest.raises(TypeError, match=r"leaky_relu: alpha must be a real number, got str"):
        numconv.leaky_relu(X, alpha="0.2")


def test_number_finite():
    with pytest.raises(ValueError, match=r"relu: threshold must be finite, got nan"):
        numconv.relu(X, threshold=float("nan"))


def test_relu_max_value_negative():
    with pytest.raises(ValueError, match=r"relu: max_value must be non-negative \(Keras's "
                                         r"rule\), got -1"):
        numconv.relu(X, max_value=-1)


def test_relu_negative_slope_negative():
    with pytest.raises(ValueError, match=r"relu: negative_slope must be non-negative "
                                         r"\(Keras's rule\), got -0.5"):
        numconv.relu(X, negative_slope=-0.5)


def test_no_error_leaves_input_untouched():
    x = X.copy()
    with pytest.raises(ValueError, match="strides"):
        numconv.conv2d(x, W, 0)
    np.testing.assert_array_equal(x, X)
