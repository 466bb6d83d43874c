"""numconv's benchmark harness: ``python -m benchmarks [--quick]`` or ``numconv bench``.

Not tests: it times numconv beside TensorFlow, PyTorch, numpy-ml, scipy.ndimage and
ONNX's reference evaluator (when installed) and beside each case's floor, every
implementation in its own worker process, measures their per-element errors, prints a
line per case and the targets, and writes JSON, a markdown table and plots to
``benchmarks/results/`` (gitignored).  See benchmarks/README.md.
"""
