"""TF golden: the lesson's feature extraction on the bundled photograph.

``demo.npz``, the lesson's code on the whole photo (600 x 512)::

    image  = convert_image_dtype(decode_jpeg(read_file(photo), channels=3), float32)
    input  = expand_dims(rgb_to_grayscale(image), 0)                  # (1, 600, 512, 1)
    filter = conv2d(input, reshape(edge, [3, 3, 1, 1]), strides=1, padding="SAME")
    detect = relu(filter)
    pool   = pool(detect, (2, 2), "MAX", strides=(2, 2), padding="SAME")  # "Pool"
    pool2  = pool(detect, (3, 3), "MAX", strides=(2, 2), padding="SAME")  # "Pool2"

The lesson's photo is already grayscale, so its ``decode_jpeg`` yields one channel;
the bundled photo is in colour and is made grayscale with ``rgb_to_grayscale``, which
is what ``numconv.read_image(path, channels=1)`` does.

``demo_variants.npz``: a 29 x 37 crop of that grayscale input (rows 200-228, columns
150-186) run through every named kernel with other settings (strides, VALID padding,
relu6 / leaky_relu / no activation, AVG pooling, non-square windows).  Keys
``v<i>__<field>``; the kernels are typed here from the lesson's table, independently
of numconv.lesson.filters.
"""

from __future__ import annotations

import pathlib

import numpy as np

DATA = pathlib.Path(__file__).resolve().parent.parent

EDGE = [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]
_B3, _B5 = np.array([1, 2, 1]), np.array([1, 4, 6, 4, 1])
KERNELS = {
    "edge": np.array(EDGE),
    "laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "bottom_sobel": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
    "top_sobel": np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]]),
    "left_sobel": np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]]),
    "right_sobel": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "blur": np.ones((3, 3)) / 9,
    "gaussian": np.outer(_B3, _B3) / 16,
    "gaussian5": np.outer(_B5, _B5) / 256,
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
}

#: kernel, conv strides, conv padding, activation, pooling type, window, pool strides, padding
VARIANTS = [
    ("edge", (1, 1), "SAME", "relu", "MAX", (2, 2), (2, 2), "SAME"),
    ("bottom_sobel", (1, 1), "VALID", "relu", "MAX", (3, 3), (2, 2), "SAME"),
    ("emboss", (2, 2), "SAME", "relu6", "AVG", (2, 2), (2, 2), "VALID"),
    ("sharpen", (1, 1), "SAME", "leaky_relu", "AVG", (3, 3), (1, 1), "SAME"),
    ("blur", (2, 2), "VALID", "none", "MAX", (3, 3), (3, 3), "VALID"),
    ("gaussian5", (1, 1), "SAME", "relu", "MAX", (2, 3), (1, 2), "SAME"),
    ("top_sobel", (1, 1), "SAME", "relu", "MAX", (2, 2), (2, 2), "SAME"),
    ("left_sobel", (1, 2), "SAME", "relu", "AVG", (2, 2), (2, 2), "SAME"),
    ("right_sobel", (1, 1), "SAME", "leaky_relu", "MAX", (2, 2), (2, 2), "VALID"),
    ("laplacian", (1, 1), "VALID", "relu6", "MAX", (2, 2), (2, 2), "SAME"),
    ("gaussian", (1, 1), "SAME", "none", "AVG", (3, 3), (2, 2), "SAME"),
    ("identity", (1, 1), "SAME", "relu", "MAX", (2, 2), (2, 2), "SAME"),
]


def _stages(tf, x, kernel, conv_strides, conv_padding, activation, kind, window, strides,
            padding):
    w = tf.reshape(tf.constant(kernel, tf.float32), [*kernel.shape, 1, 1])
    filt = tf.nn.conv2d(x, w, strides=list(conv_strides), padding=conv_padding)
    act = {"relu": tf.nn.relu, "relu6": tf.nn.relu6,
           "leaky_relu": lambda t: tf.nn.leaky_relu(t, alpha=0.2), "none": tf.identity}
    detect = act[activation](filt)
    condense = tf.nn.pool(detect, window_shape=window, pooling_type=kind, strides=strides,
                          padding=padding)
    return filt.numpy(), detect.numpy(), condense.numpy()


def generate(tf, out_dir: pathlib.Path) -> list[pathlib.Path]:
    raw = tf.io.read_file(str(DATA / "grace_hopper.jpg"))
    image = tf.image.convert_image_dtype(tf.io.decode_jpeg(raw, channels=3), tf.float32)
    x = tf.expand_dims(tf.image.rgb_to_grayscale(image), axis=0)
    kernel = tf.constant(EDGE, dtype=tf.float32)
    filters = tf.reshape(kernel, [*kernel.shape, 1, 1])
    image_filter = tf.nn.conv2d(input=x, filters=filters, strides=1, padding="SAME")
    image_detect = tf.nn.relu(image_filter)
    pool = tf.nn.pool(input=image_detect, window_shape=(2, 2), pooling_type="MAX",
                      strides=(2, 2), padding="SAME")
    pool2 = tf.nn.pool(input=image_detect, window_shape=(3, 3), pooling_type="MAX",
                       strides=(2, 2), padding="SAME")
    version = np.array(tf.__version__)
    path = out_dir / "demo.npz"
    np.savez_compressed(path, tf_version=version, input=x.numpy(), kernel=kernel.numpy(),
                        filter=image_filter.numpy(), detect=image_detect.numpy(),
                        pool=pool.numpy(), pool2=pool2.numpy())
    written = [path]

    crop = x[:, 200:229, 150:187, :]
    out: dict[str, np.ndarray] = {"tf_version": version, "input": crop.numpy(),
                                  "count": np.array(len(VARIANTS))}
    for i, (name, cs, cp, act, kind, window, strides, padding) in enumerate(VARIANTS):
        kernel = KERNELS[name]
        filt, detect, condense = _stages(tf, crop, kernel, cs, cp, act, kind, window,
                                         strides, padding)
        out.update({
            f"v{i}__kernel_name": np.array(name), f"v{i}__kernel": kernel.astype(np.float32),
            f"v{i}__conv_stride": np.array(cs), f"v{i}__conv_padding": np.array(cp),
            f"v{i}__activation": np.array(act), f"v{i}__pooling_type": np.array(kind),
            f"v{i}__pool_size": np.array(window), f"v{i}__pool_stride": np.array(strides),
            f"v{i}__pool_padding": np.array(padding),
            f"v{i}__filter": filt, f"v{i}__detect": detect, f"v{i}__condense": condense,
        })
    path = out_dir / "demo_variants.npz"
    np.savez_compressed(path, **out)
    written.append(path)
    return written
