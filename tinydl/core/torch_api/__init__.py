"""PyTorch's tensor API, one module per group: ``dtypes_devices``, ``creation``, ``shape``,
``reductions``, ``indexing``, ``pointwise``, and ``methods`` (the Tensor's methods).

``tinydl`` exports these at the top level; ``tinydl.core.functional`` keeps the NumPy-flavoured
op functions the library and the backward rules use internally.
"""
