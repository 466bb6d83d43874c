"""Kernels other than the forward convolution algorithms, one file per family:
pooling forward (:mod:`.pool`), convolution backward (:mod:`.conv_input_grad` for
``dL/dx``, :mod:`.conv_filter_grad` for ``dL/dw``), max pooling with argmax and its
gradient (:mod:`.pool_grad`), the average pool's gradient (:mod:`.avg_pool_grad`) and
max unpooling (:mod:`.unpool`).  Each runs block by block on :mod:`numconv.engine`."""
