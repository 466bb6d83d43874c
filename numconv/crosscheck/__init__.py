"""Cross-check frameworks: translate one op into TF, Keras, PyTorch, JAX and ONNX, run, compare.

Describe an op once (:class:`OpConfig`), get the code that reproduces it in each
framework -- or a plain statement that the framework cannot express it, and why
(:func:`translate`, :func:`explain_port`) -- then run the frameworks and numconv on the
same input and measure each against numconv's float64 result (:func:`compare`).  No
framework is imported until a translation is built or run; :func:`compare` leaves out
the frameworks that are not installed and names them in its report, and raises
ModuleNotFoundError naming the extras to install (``pip install "numconv[torch]"``) only
when none of those asked for can run.

Examples
--------
>>> from numconv.crosscheck import OpConfig, translate
>>> c = OpConfig("max_pool2d", "1x5x5x1", window=2, strides=2, padding="SAME")
>>> print(translate(c, "tf").code.splitlines()[-2].strip())
y = tf.nn.max_pool2d(x, ksize=(2, 2), strides=(2, 2), padding="SAME")
>>> "padding=(0, 0), dilation=(1, 1), ceil_mode=True)" in translate(c, "torch").code
True
>>> translate(c.replace(dilations=2), "keras").reason
"Keras's pooling layers have no dilation"
"""

from __future__ import annotations

from ._common import ALIASES, DEFAULT_FRAMEWORKS, FRAMEWORKS, Translation, require
from .config import OPS, OpConfig
from .divergences import DIVERGENCES, Divergence, applicable
from .metrics import ConvError, ErrorStats, conv_error, error_stats, ulp_distance
from .report import DivergenceResult, FrameworkResult, Report, compare
from .translate import explain_port, frameworks, translate

__all__ = ["OpConfig", "OPS", "Translation", "translate", "explain_port", "frameworks",
           "compare", "Report", "FrameworkResult", "DivergenceResult", "Divergence",
           "DIVERGENCES", "applicable", "ErrorStats", "error_stats", "ulp_distance",
           "ConvError", "conv_error",
           "FRAMEWORKS", "ALIASES", "DEFAULT_FRAMEWORKS", "require"]
