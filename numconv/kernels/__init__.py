"""Kernels other than the forward convolution algorithms: pooling forward
(:mod:`.pool`), convolution backward (:mod:`.conv_grad`) and pooling backward
(:mod:`.pool_grad`). Each runs block by block on :mod:`numconv.engine`."""
