"""Gradient testing for users: ``gradcheck`` and hypothesis strategies (``tinydl.testing.strategies``).

>>> import tinydl
>>> from tinydl.testing import gradcheck
>>> gradcheck(lambda x: (x * x).sum(), tinydl.Tensor([1.0, -2.0]))
True
"""
from .gradcheck import (gradcheck, gradgradcheck, GradcheckError, OpSpec, check_op_spec,
                        check_op_spec_second_order)

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError", "OpSpec", "check_op_spec",
           "check_op_spec_second_order"]
