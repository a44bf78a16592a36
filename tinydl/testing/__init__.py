"""Gradient testing for users: ``gradcheck`` and hypothesis strategies (``tinydl.testing.strategies``).

>>> import tinydl
>>> from tinydl.testing import gradcheck
>>> gradcheck(lambda x: (x * x).sum(), tinydl.Tensor([1.0, -2.0]))
True
"""
from .gradcheck import gradcheck, GradcheckError, OpSpec, check_op_spec

__all__ = ["gradcheck", "GradcheckError", "OpSpec", "check_op_spec"]
