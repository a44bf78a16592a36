"""Model compression: magnitude pruning (unstructured and structured) and int8 quantization.

* ``prune`` — masks, per-layer and global magnitude pruning, Zhu & Gupta's gradual schedule.
* ``structured`` — removing whole filters/units, giving smaller layers.
* ``quantize`` — post-training int8 (per-channel weight scales, calibrated activation scales,
  int8 kernels with int32 accumulation through the backend providers), saving.
* ``qat`` — quantization-aware training with fake quantization and the straight-through estimator.
"""
from .prune import (PruneMask, prunable_weights, prune_magnitude, sparsity_report, PolynomialSparsity,
                    GradualPruner, apply_masks, strip_pruning, prepare_masks, load_pruned)
from .structured import prune_filters, count_parameters
from .quantize import (weight_scales, quantize_weight, QuantizedDense, QuantizedConv2D, quantize_model,
                       calibrate, save_quantized, load_quantized, error_bound, model_nbytes)
from .qat import FakeQuantSTE, fake_quant, FakeQuant, WeightFakeQuant, prepare_qat, strip_qat
