"""Interpretability: saliency, SmoothGrad, Grad-CAM and attention maps, and their pictures.

Attention weights come from the layers themselves: Keras's
``MultiHeadAttention(...)(q, v, return_attention_scores=True)`` and PyTorch's
``MultiheadAttention(...)(q, k, v, need_weights=True)``; :func:`capture_attention` records them
from inside a model. Pictures are written with ``tinydl.data.png.write_png``.
"""
from .attribution import class_scores, saliency, smoothgrad, grad_cam, capture_attention, intercept_output
from .render import colormap, overlay, heatmap, panel, normalize

__all__ = ["class_scores", "saliency", "smoothgrad", "grad_cam", "capture_attention", "intercept_output",
           "colormap", "overlay", "heatmap", "panel", "normalize"]
