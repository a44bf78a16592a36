"""Numba CPU kernels (``tinydl.kernels.cpu``), used by ``tinydl.backends.numba_cpu``.

conv          im2col / col2im for NHWC convolution (the matrix products stay in BLAS)
pool          max and average pooling, forward and backward
activation    fused bias + activation, forward and backward (with the bias gradient)
softmax_xent  softmax + cross-entropy, forward and backward
recurrent     LSTM / GRU step gate math, forward and backward (and a float32 tanh)
elementwise   GELU (tanh form), forward and backward, called by core.ops.elementwise.GELU
layernorm     fused layer normalization over the last axis, forward and backward
softmax       the masked softmax over the last axis (attention), forward and backward
embedding     the embedding gradient (scatter-add of rows)
optim         the Adam/AdamW update of one parameter

This package file imports nothing, so that importing the package never loads Numba;
the submodules do.
"""
