"""numconv's benchmark suite: ``python -m benchmarks [--quick]`` or ``numconv bench``.

Not tests: it prints tables, writes JSON and plots to ``benchmarks/results/``
(gitignored) and compares numconv with TensorFlow, PyTorch, numpy-ml, scipy.ndimage
and ONNX's reference evaluator, when installed, in the same run.
"""
