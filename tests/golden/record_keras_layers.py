"""Record Keras 3 (TensorFlow 2.21) reference values for tinydl.keras's layers and names.

Run from the repository root with TensorFlow installed (``pip install ".[oracle]"``):
``python tests/golden/record_keras_layers.py``. Writes ``tests/golden/keras_layers.npz`` (arrays)
and ``tests/golden/keras_layers.json`` (the cases: class names, arguments, weight shapes,
parameter counts, config keys, vocabularies). Needs only TensorFlow/Keras and NumPy.

Each layer case: a fixed input (NumPy, seeded), the layer built on it, its weights replaced by
fixed values, then the output and the gradient of ``sum(output * cotangent)`` with respect to the
input (GradientTape) for a fixed random cotangent.
"""
import json
import os

import numpy as np
import tensorflow as tf
import keras
from keras import layers

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(1234)
arrays, meta = {}, {"__version__": tf.__version__, "keras_version": keras.__version__, "layers": {}, "names": {}}


def normal(*shape):
    return rng.normal(size=shape).astype("float32")


X3 = normal(2, 6, 4)
X4 = normal(2, 5, 6, 3)
X2 = normal(2, 4)
XM = X3.copy()
XM[0, 4:] = 0.0      # masked steps for Masking
XM[1, 1] = 0.0
Q, V, K = normal(2, 3, 4), normal(2, 5, 4), normal(2, 5, 4)
IMG = rng.uniform(0, 255, size=(2, 6, 8, 3)).astype("float32")

# name -> (class, kwargs, input names); a nested {"class": ..., "kwargs": ...} is a layer argument
LAYER_CASES = {
    "conv1d_valid": ("Conv1D", {"filters": 3, "kernel_size": 3}, ["x3"]),
    "conv1d_same_stride": ("Conv1D", {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same",
                                      "activation": "swish"}, ["x3"]),
    "conv1d_causal": ("Conv1D", {"filters": 3, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, ["x3"]),
    "maxpool1d": ("MaxPooling1D", {}, ["x3"]),
    "maxpool1d_same": ("MaxPooling1D", {"pool_size": 3, "strides": 1, "padding": "same"}, ["x3"]),
    "avgpool1d": ("AveragePooling1D", {"pool_size": 3, "strides": 2}, ["x3"]),
    "avgpool1d_same": ("AveragePooling1D", {"pool_size": 3, "strides": 1, "padding": "same"}, ["x3"]),
    "gap1d": ("GlobalAveragePooling1D", {}, ["x3"]),
    "gmp1d": ("GlobalMaxPooling1D", {}, ["x3"]),
    "gmp2d": ("GlobalMaxPooling2D", {}, ["x4"]),
    "gmp2d_keepdims": ("GlobalMaxPooling2D", {"keepdims": True}, ["x4"]),
    "gap2d": ("GlobalAveragePooling2D", {}, ["x4"]),
    "upsampling1d": ("UpSampling1D", {"size": 3}, ["x3"]),
    "upsampling2d": ("UpSampling2D", {"size": (2, 3)}, ["x4"]),
    "upsampling2d_bilinear": ("UpSampling2D", {"size": 2, "interpolation": "bilinear"}, ["x4"]),
    "zeropadding2d": ("ZeroPadding2D", {"padding": ((1, 2), (0, 1))}, ["x4"]),
    "cropping2d": ("Cropping2D", {"cropping": ((1, 0), (2, 1))}, ["x4"]),
    "depthwise": ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2}, ["x4"]),
    "depthwise_same": ("DepthwiseConv2D", {"kernel_size": 2, "strides": 2, "padding": "same",
                                           "activation": "relu"}, ["x4"]),
    "separable": ("SeparableConv2D", {"filters": 4, "kernel_size": 3, "padding": "same"}, ["x4"]),
    "separable_dm": ("SeparableConv2D", {"filters": 2, "kernel_size": 2, "strides": 2, "depth_multiplier": 2}, ["x4"]),
    "bidirectional_lstm": ("Bidirectional", {"layer": {"class": "LSTM", "kwargs": {"units": 3, "return_sequences": True}}},
                           ["x3"]),
    "bidirectional_gru_sum": ("Bidirectional", {"layer": {"class": "GRU", "kwargs": {"units": 3}}, "merge_mode": "sum"},
                              ["x3"]),
    "timedistributed": ("TimeDistributed", {"layer": {"class": "Dense", "kwargs": {"units": 2}}}, ["x3"]),
    "repeatvector": ("RepeatVector", {"n": 3}, ["x2"]),
    "permute": ("Permute", {"dims": (2, 1)}, ["x3"]),
    "masking": ("Masking", {"mask_value": 0.0}, ["xm"]),
    "prelu": ("PReLU", {}, ["x3"]),
    "prelu_shared": ("PReLU", {"shared_axes": [1]}, ["x3"]),
    "elu": ("ELU", {"alpha": 0.5}, ["x3"]),
    "relu_args": ("ReLU", {"max_value": 1.0, "negative_slope": 0.1, "threshold": 0.2}, ["x3"]),
    "softmax_axis1": ("Softmax", {"axis": 1}, ["x3"]),
    "leakyrelu": ("LeakyReLU", {}, ["x3"]),
    "attention": ("Attention", {}, ["q", "v"]),
    "attention_key": ("Attention", {"use_scale": True}, ["q", "v", "k"]),
    "attention_concat": ("Attention", {"use_scale": True, "score_mode": "concat"}, ["q", "v"]),
    "additive_attention": ("AdditiveAttention", {}, ["q", "v"]),
    "additive_attention_noscale": ("AdditiveAttention", {"use_scale": False}, ["q", "v", "k"]),
    "concatenate": ("Concatenate", {"axis": 1}, ["x3", "x3b"]),
    "add": ("Add", {}, ["x3", "x3b"]),
    "subtract": ("Subtract", {}, ["x3", "x3b"]),
    "multiply": ("Multiply", {}, ["x3", "x3b"]),
    "average": ("Average", {}, ["x3", "x3b"]),
    "maximum": ("Maximum", {}, ["x3", "x3b"]),
    "minimum": ("Minimum", {}, ["x3", "x3b"]),
    "dot_2d": ("Dot", {"axes": -1}, ["x2", "x2b"]),
    "dot_3d_normalize": ("Dot", {"axes": (1, 1), "normalize": True}, ["x3", "x3b"]),
    "dot_3d_last": ("Dot", {"axes": 2}, ["x3", "x3b"]),
    "rescaling": ("Rescaling", {"scale": 1 / 127.5, "offset": -1.0}, ["img"]),
    "resizing_down": ("Resizing", {"height": 3, "width": 4}, ["img"]),
    "resizing_up": ("Resizing", {"height": 9, "width": 11}, ["img"]),
    "resizing_nearest": ("Resizing", {"height": 5, "width": 7, "interpolation": "nearest"}, ["img"]),
    "centercrop": ("CenterCrop", {"height": 3, "width": 6}, ["img"]),
    "randomflip_inference": ("RandomFlip", {}, ["img"]),
    "randomrotation_inference": ("RandomRotation", {"factor": 0.2}, ["img"]),
    "randomzoom_inference": ("RandomZoom", {"height_factor": 0.2}, ["img"]),
    "randomtranslation_inference": ("RandomTranslation", {"height_factor": 0.1, "width_factor": 0.1}, ["img"]),
    "randomcontrast_inference": ("RandomContrast", {"factor": 0.3}, ["img"]),
    "gaussiannoise_inference": ("GaussianNoise", {"stddev": 0.5}, ["x3"]),
    "dense_swish": ("Dense", {"units": 3, "activation": "swish"}, ["x2"]),
    "mha": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, ["q", "v"]),
    "conv2d_transpose": ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, ["x4"]),
    "maxpool2d": ("MaxPooling2D", {"pool_size": 2}, ["x4"]),
    "avgpool2d_same": ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, ["x4"]),
    "flatten": ("Flatten", {}, ["x4"]),
    "reshape": ("Reshape", {"target_shape": (4, 6)}, ["x3"]),
    "dropout_inference": ("Dropout", {"rate": 0.5}, ["x3"]),
    "activation_gelu": ("Activation", {"activation": "gelu"}, ["x3"]),
    "batchnorm_inference": ("BatchNormalization", {}, ["x4"]),
    "layernorm": ("LayerNormalization", {}, ["x3"]),
    "embedding": ("Embedding", {"input_dim": 10, "output_dim": 3}, ["ids"]),
    "simple_rnn": ("SimpleRNN", {"units": 3, "return_sequences": True}, ["x3"]),
    "lstm": ("LSTM", {"units": 3}, ["x3"]),
    "gru": ("GRU", {"units": 3, "return_sequences": True}, ["x3"]),
    "gru_backwards": ("GRU", {"units": 2, "go_backwards": True}, ["x3"]),
    "conv2d_mish": ("Conv2D", {"filters": 2, "kernel_size": 2, "activation": "mish"}, ["x4"]),
}
INPUTS = {"ids": rng.integers(0, 10, size=(2, 5)), "x3": X3, "x3b": normal(2, 6, 4), "x4": X4, "x2": X2, "x2b": normal(2, 4), "xm": XM, "q": Q, "v": V, "k": K,
          "img": IMG}
for k, v in INPUTS.items():
    arrays[f"input/{k}"] = v


def cotangent(name, shape):
    """The fixed random output weights of a case (the test draws the same from the case name)."""
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(name))
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def make(cls, kwargs):
    kw = {}
    for k, v in kwargs.items():
        kw[k] = make(v["class"], v["kwargs"]) if isinstance(v, dict) and "class" in v else v
    return getattr(layers, cls)(**kw)


for name, (cls, kwargs, input_names) in LAYER_CASES.items():
    layer = make(cls, kwargs)
    xs = [tf.constant(INPUTS[n]) for n in input_names]
    arg = xs if len(xs) > 1 else xs[0]
    call = (lambda a, **kw: layer(*a, **kw)) if cls == "MultiHeadAttention" else layer
    call(arg)  # build
    weights = []
    for i, w in enumerate(layer.get_weights()):
        value = rng.uniform(-0.5, 0.5, size=w.shape).astype("float32")
        if cls == "BatchNormalization" and i == 3:  # the moving variance is positive
            value = value + 1.0
        weights.append(value)
        arrays[f"layer/{name}/weight_{i}"] = value
    layer.set_weights(weights)
    with tf.GradientTape() as tape:
        for x in xs:
            if x.dtype.is_floating:
                tape.watch(x)
        y = call(arg, training=False)
    cot = cotangent(name, y.shape)
    grads = tape.gradient(y, xs, output_gradients=tf.constant(cot),
                          unconnected_gradients=tf.UnconnectedGradients.NONE)
    arrays[f"layer/{name}/output"] = y.numpy()
    for n, g in zip(input_names, grads):
        if g is not None:
            arrays[f"layer/{name}/grad_{n}"] = np.asarray(g)
    meta["layers"][name] = {"class": cls, "kwargs": kwargs, "inputs": input_names,
                            "weight_shapes": [list(w.shape) for w in layer.get_weights()],
                            "count_params": int(layer.count_params()),
                            "config_keys": sorted(layer.get_config())}

# Normalization: adapt, then the output; weights after adapt
norm = layers.Normalization()
norm.adapt(X2 * 3 + 1)
arrays["layer/normalization_adapt/output"] = norm(X2).numpy()
arrays["layer/normalization_adapt/adapt_data"] = X2 * 3 + 1
meta["layers_special"] = {"normalization": {"weight_shapes": [list(w.shape) for w in norm.get_weights()],
                                            "count_params": int(norm.count_params())}}
norm2 = layers.Normalization(mean=[1.0, 2.0, 3.0, 4.0], variance=[1.0, 4.0, 9.0, 0.0])
arrays["layer/normalization_given/output"] = norm2(X2).numpy()
norm3 = layers.Normalization(mean=[1.0, 2.0, 3.0, 4.0], variance=[1.0, 4.0, 9.0, 16.0], invert=True)
arrays["layer/normalization_invert/output"] = norm3(X2).numpy()

# ---- activations
GRID = np.concatenate([np.linspace(-6, 6, 49), [-30.0, 30.0]]).astype("float32")
arrays["activation/x"] = GRID
for act in ["relu", "sigmoid", "tanh", "softmax", "linear", "swish", "silu", "elu", "selu", "softplus", "softsign",
            "relu6", "gelu", "exponential", "hard_sigmoid", "mish", "leaky_relu", "hard_swish", "log_softmax"]:
    fn = keras.activations.get(act)
    x = tf.constant(GRID[None, :] if act in ("softmax", "log_softmax") else GRID)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
        weighted = tf.reduce_sum(y * tf.constant(np.cos(x.numpy())))
    arrays[f"activation/{act}/value"] = y.numpy()
    arrays[f"activation/{act}/grad"] = tape.gradient(weighted, x).numpy()

# ---- losses
YT_BIN = rng.integers(0, 2, size=(6, 3)).astype("float32")
YP_PROB = rng.uniform(0.05, 0.95, size=(6, 3)).astype("float32")
YT_CAT = np.eye(4, dtype="float32")[rng.integers(0, 4, size=6)]
YP_LOGIT = normal(6, 4)
YP_CAT = tf.nn.softmax(YP_LOGIT).numpy()
YT_REG, YP_REG = normal(6, 3), normal(6, 3)
YT_HINGE = np.where(rng.random((6, 3)) < 0.5, -1.0, 1.0).astype("float32")
YT_POS = rng.uniform(0, 3, size=(6, 3)).astype("float32")
YP_POS = rng.uniform(0.1, 3, size=(6, 3)).astype("float32")
YT_DIST = tf.nn.softmax(normal(6, 4)).numpy()
SW = rng.uniform(0, 2, size=(6,)).astype("float32")
for k, v in dict(yt_bin=YT_BIN, yp_prob=YP_PROB, yt_cat=YT_CAT, yp_logit=YP_LOGIT, yp_cat=YP_CAT, yt_reg=YT_REG,
                 yp_reg=YP_REG, yt_hinge=YT_HINGE, yt_pos=YT_POS, yp_pos=YP_POS, yt_dist=YT_DIST, sw=SW).items():
    arrays[f"loss_input/{k}"] = v
LOSS_CASES = {
    "bce": ("BinaryCrossentropy", {}, "yt_bin", "yp_prob"),
    "bce_smooth": ("BinaryCrossentropy", {"label_smoothing": 0.2}, "yt_bin", "yp_prob"),
    "bce_logits_smooth": ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "yt_bin", "yp_reg"),
    "cce": ("CategoricalCrossentropy", {}, "yt_cat", "yp_cat"),
    "cce_smooth": ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "yt_cat", "yp_cat"),
    "cce_logits_smooth": ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, "yt_cat", "yp_logit"),
    "mse": ("MeanSquaredError", {}, "yt_reg", "yp_reg"),
    "mae": ("MeanAbsoluteError", {}, "yt_reg", "yp_reg"),
    "mape": ("MeanAbsolutePercentageError", {}, "yt_pos", "yp_pos"),
    "msle": ("MeanSquaredLogarithmicError", {}, "yt_pos", "yp_pos"),
    "huber": ("Huber", {}, "yt_reg", "yp_reg"),
    "huber_delta": ("Huber", {"delta": 0.5}, "yt_reg", "yp_reg"),
    "kld": ("KLDivergence", {}, "yt_dist", "yp_cat"),
    "cosine": ("CosineSimilarity", {}, "yt_reg", "yp_reg"),
    "cosine_axis0": ("CosineSimilarity", {"axis": 0}, "yt_reg", "yp_reg"),
    "hinge": ("Hinge", {}, "yt_hinge", "yp_reg"),
    "squared_hinge": ("SquaredHinge", {}, "yt_hinge", "yp_reg"),
    "categorical_hinge": ("CategoricalHinge", {}, "yt_cat", "yp_logit"),
    "logcosh": ("LogCosh", {}, "yt_reg", "yp_reg"),
    "poisson": ("Poisson", {}, "yt_pos", "yp_pos"),
    "mse_sum": ("MeanSquaredError", {"reduction": "sum"}, "yt_reg", "yp_reg"),
    "scce": ("SparseCategoricalCrossentropy", {}, "yt_sparse", "yp_cat"),
    "scce_logits": ("SparseCategoricalCrossentropy", {"from_logits": True}, "yt_sparse", "yp_logit"),
}
arrays["loss_input/yt_sparse"] = YT_CAT.argmax(-1)
meta["losses"] = {}
for name, (cls, kwargs, yt, yp) in LOSS_CASES.items():
    loss = getattr(keras.losses, cls)(**kwargs)
    ypv = tf.constant(arrays[f"loss_input/{yp}"])
    with tf.GradientTape() as tape:
        tape.watch(ypv)
        value = loss(arrays[f"loss_input/{yt}"], ypv)
    arrays[f"loss/{name}/value"] = value.numpy()
    arrays[f"loss/{name}/grad"] = tape.gradient(value, ypv).numpy()
    if "axis" not in kwargs:
        arrays[f"loss/{name}/weighted"] = loss(arrays[f"loss_input/{yt}"], ypv, sample_weight=SW).numpy()
    meta["losses"][name] = {"class": cls, "kwargs": kwargs, "y_true": yt, "y_pred": yp}

# per-sample loss functions
LOSS_FUNCTIONS = {"huber": ("yt_reg", "yp_reg"), "kl_divergence": ("yt_dist", "yp_cat"),
                  "cosine_similarity": ("yt_reg", "yp_reg"), "hinge": ("yt_hinge", "yp_reg"),
                  "squared_hinge": ("yt_hinge", "yp_reg"), "categorical_hinge": ("yt_cat", "yp_logit"),
                  "log_cosh": ("yt_reg", "yp_reg"), "poisson": ("yt_pos", "yp_pos"),
                  "mean_absolute_percentage_error": ("yt_pos", "yp_pos"),
                  "mean_squared_logarithmic_error": ("yt_pos", "yp_pos"), "mean_squared_error": ("yt_reg", "yp_reg"),
                  "mean_absolute_error": ("yt_reg", "yp_reg"), "binary_crossentropy": ("yt_bin", "yp_prob"),
                  "categorical_crossentropy": ("yt_cat", "yp_cat"),
                  "sparse_categorical_crossentropy": ("yt_sparse", "yp_cat")}
meta["loss_functions"] = {}
for fn, (yt, yp) in LOSS_FUNCTIONS.items():
    arrays[f"loss_fn/{fn}"] = np.asarray(getattr(keras.losses, fn)(arrays[f"loss_input/{yt}"], arrays[f"loss_input/{yp}"]))
    meta["loss_functions"][fn] = [yt, yp]

# ---- metrics (two update_state calls, then result)
YS_SCORE = rng.uniform(0, 1, size=(40,)).astype("float32")
YS_TRUE = (rng.uniform(0, 1, size=(40,)) < YS_SCORE * 0.8 + 0.1).astype("float32")
YK_TRUE = rng.integers(0, 5, size=(12,))
YK_PRED = tf.nn.softmax(normal(12, 5)).numpy()
YF_TRUE = np.eye(3, dtype="float32")[rng.integers(0, 3, size=12)]
YF_PRED = tf.nn.softmax(normal(12, 3)).numpy()
for k, v in dict(ys_score=YS_SCORE, ys_true=YS_TRUE, yk_true=YK_TRUE, yk_pred=YK_PRED, yf_true=YF_TRUE,
                 yf_pred=YF_PRED).items():
    arrays[f"metric_input/{k}"] = v
METRIC_CASES = {
    "auc_roc": ("AUC", {}, "ys_true", "ys_score"),
    "auc_pr": ("AUC", {"curve": "PR"}, "ys_true", "ys_score"),
    "auc_roc_50": ("AUC", {"num_thresholds": 50}, "ys_true", "ys_score"),
    "auc_minoring": ("AUC", {"summation_method": "minoring"}, "ys_true", "ys_score"),
    "precision": ("Precision", {}, "ys_true", "ys_score"),
    "recall": ("Recall", {}, "ys_true", "ys_score"),
    "precision_t03": ("Precision", {"thresholds": 0.3}, "ys_true", "ys_score"),
    "binary_accuracy": ("BinaryAccuracy", {}, "ys_true", "ys_score"),
    "top2": ("TopKCategoricalAccuracy", {"k": 2}, "yf_true", "yf_pred"),
    "sparse_top2": ("SparseTopKCategoricalAccuracy", {"k": 2}, "yk_true", "yk_pred"),
    "sparse_cat_acc": ("SparseCategoricalAccuracy", {}, "yk_true", "yk_pred"),
    "f1_macro": ("F1Score", {"average": "macro"}, "yf_true", "yf_pred"),
    "f1_micro": ("F1Score", {"average": "micro", "threshold": 0.4}, "yf_true", "yf_pred"),
    "f1_none": ("F1Score", {}, "yf_true", "yf_pred"),
    "f1_weighted": ("F1Score", {"average": "weighted"}, "yf_true", "yf_pred"),
    "rmse": ("RootMeanSquaredError", {}, "ys_true", "ys_score"),
    "fbeta2": ("FBetaScore", {"beta": 2.0, "average": "macro"}, "yf_true", "yf_pred"),
    "categorical_accuracy": ("CategoricalAccuracy", {}, "yf_true", "yf_pred"),
    "accuracy": ("Accuracy", {}, "ys_true", "ys_true_noisy"),
    "mse_metric": ("MeanSquaredError", {}, "ys_true", "ys_score"),
    "mae_metric": ("MeanAbsoluteError", {}, "ys_true", "ys_score"),
}
arrays["metric_input/ys_true_noisy"] = np.where(rng.random(40) < 0.3, 1 - YS_TRUE, YS_TRUE).astype("float32")
METRIC_FUNCTIONS = {"binary_accuracy": ("ys_true", "ys_score"), "categorical_accuracy": ("yf_true", "yf_pred"),
                    "sparse_categorical_accuracy": ("yk_true", "yk_pred"),
                    "top_k_categorical_accuracy": ("yf_true", "yf_pred"),
                    "sparse_top_k_categorical_accuracy": ("yk_true", "yk_pred")}
meta["metric_functions"] = {}
meta["metrics"] = {}
for name, (cls, kwargs, yt, yp) in METRIC_CASES.items():
    m = getattr(keras.metrics, cls)(**kwargs)
    t, p = arrays[f"metric_input/{yt}"], arrays[f"metric_input/{yp}"]
    half = len(t) // 2
    if cls.startswith("F1") or cls.startswith("TopK") or cls.startswith("SparseTop") or cls.startswith("SparseCat"):
        m.update_state(t[:half], p[:half])
        m.update_state(t[half:], p[half:])
    else:
        m.update_state(t[:half], p[:half])
        m.update_state(t[half:], p[half:])
    arrays[f"metric/{name}/value"] = np.asarray(m.result())
    meta["metrics"][name] = {"class": cls, "kwargs": kwargs, "y_true": yt, "y_pred": yp}
for fn, (yt, yp) in METRIC_FUNCTIONS.items():
    t, p = arrays[f"metric_input/{yt}"], arrays[f"metric_input/{yp}"]
    arrays[f"metric_fn/{fn}"] = np.asarray(getattr(keras.metrics, fn)(t[:, None] if fn == "binary_accuracy" else t,
                                                                   p[:, None] if fn == "binary_accuracy" else p))
    meta["metric_functions"][fn] = [yt, yp]

# ---- optimizers: 6 steps on loss = sum(c * (w - target)^2) + 0.1 * sum(w^4)
W0 = normal(5)
TARGET = normal(5)
C = rng.uniform(0.5, 2, size=5).astype("float32")
arrays["optimizer_input/w0"], arrays["optimizer_input/target"], arrays["optimizer_input/c"] = W0, TARGET, C
OPT_CASES = {
    "sgd": ("SGD", {"learning_rate": 0.05}),
    "sgd_momentum": ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    "sgd_nesterov": ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    "adam": ("Adam", {"learning_rate": 0.1}),
    "adam_amsgrad": ("Adam", {"learning_rate": 0.1, "amsgrad": True}),
    "adamw": ("AdamW", {"learning_rate": 0.1}),
    "adamw_wd": ("AdamW", {"learning_rate": 0.1, "weight_decay": 0.1}),
    "rmsprop": ("RMSprop", {"learning_rate": 0.05}),
    "rmsprop_centered_momentum": ("RMSprop", {"learning_rate": 0.05, "momentum": 0.5, "centered": True}),
    "adagrad": ("Adagrad", {"learning_rate": 0.1}),
    "adagrad_defaults": ("Adagrad", {}),
    "nadam": ("Nadam", {"learning_rate": 0.1}),
    "adamax": ("Adamax", {"learning_rate": 0.1}),
    "adam_schedule": ("Adam", {"learning_rate": {"schedule": "ExponentialDecay",
                                                 "kwargs": {"initial_learning_rate": 0.1, "decay_steps": 2,
                                                            "decay_rate": 0.5}}}),
}
meta["optimizers"] = {}
for name, (cls, kwargs) in OPT_CASES.items():
    kw = dict(kwargs)
    if isinstance(kw.get("learning_rate"), dict):
        spec = kw["learning_rate"]
        kw["learning_rate"] = getattr(keras.optimizers.schedules, spec["schedule"])(**spec["kwargs"])
    opt = getattr(keras.optimizers, cls)(**kw)
    w = tf.Variable(W0)
    traj = []
    for _ in range(6):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(C * (w - TARGET) ** 2) + 0.1 * tf.reduce_sum(w ** 4)
        opt.apply_gradients([(tape.gradient(loss, w), w)])
        traj.append(w.numpy().copy())
    arrays[f"optimizer/{name}/trajectory"] = np.stack(traj)
    cfg = opt.get_config()
    meta["optimizers"][name] = {"class": cls, "kwargs": kwargs,
                                "defaults": {k: v for k, v in cfg.items() if isinstance(v, (int, float, bool, str))
                                             or v is None}}

# ---- schedules
SCHED_CASES = {
    "exponential": ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5}),
    "exponential_staircase": ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5,
                                                   "staircase": True}),
    "piecewise": ("PiecewiseConstantDecay", {"boundaries": [3, 8], "values": [1.0, 0.5, 0.1]}),
    "cosine": ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 10}),
    "cosine_alpha_warmup": ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.1,
                                            "warmup_target": 0.2, "warmup_steps": 4}),
    "inverse_time": ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 4, "decay_rate": 0.5}),
    "inverse_time_staircase": ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 4, "decay_rate": 0.5,
                                                    "staircase": True}),
    "polynomial": ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "end_learning_rate": 0.01,
                                       "power": 2.0}),
    "polynomial_cycle": ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 4, "end_learning_rate": 0.01,
                                             "cycle": True}),
}
meta["schedules"] = {}
for name, (cls, kwargs) in SCHED_CASES.items():
    s = getattr(keras.optimizers.schedules, cls)(**kwargs)
    arrays[f"schedule/{name}/values"] = np.array([float(s(step)) for step in range(0, 21)])
    meta["schedules"][name] = {"class": cls, "kwargs": kwargs}

# ---- text and lookups
CORPUS = ["The cat sat on the mat.", "The dog ate my homework!", "A cat, a dog; and a bird?", "the end", "Dogs & cats"]
TEST_TEXT = ["the cat ate the bird", "zebras sat on dogs", ""]
meta["text"] = {"corpus": CORPUS, "test": TEST_TEXT, "cases": {}}
TEXT_CASES = {
    "int": {},
    "int_len": {"output_sequence_length": 4},
    "int_max_tokens": {"max_tokens": 6, "output_sequence_length": 6},
    "multi_hot": {"output_mode": "multi_hot"},
    "count": {"output_mode": "count"},
    "tf_idf": {"output_mode": "tf_idf"},
    "multi_hot_max": {"output_mode": "multi_hot", "max_tokens": 5, "pad_to_max_tokens": True},
    "lower_only": {"standardize": "lower"},
    "char": {"split": "character", "standardize": None, "output_sequence_length": 8},
}
for name, kwargs in TEXT_CASES.items():
    tv = layers.TextVectorization(**kwargs)
    tv.adapt(CORPUS)
    arrays[f"text/{name}/output"] = np.asarray(tv(TEST_TEXT))
    meta["text"]["cases"][name] = {"kwargs": kwargs, "vocabulary": [str(t) for t in tv.get_vocabulary()]}
SL = layers.StringLookup()
SL.adapt(np.array(["b", "a", "c", "a", "b", "a"]))
arrays["lookup/string/output"] = SL(np.array([["a", "d"], ["c", "b"]])).numpy()
meta["lookup"] = {"string_vocab": [str(t) for t in SL.get_vocabulary()]}
SLM = layers.StringLookup(vocabulary=["x", "y"], mask_token="[M]")
arrays["lookup/string_mask/output"] = SLM(np.array(["y", "[M]", "q", "x"])).numpy()
SLH = layers.StringLookup(vocabulary=["x", "y", "z"], output_mode="multi_hot")
arrays["lookup/string_multi_hot/output"] = SLH(np.array([["x", "z"], ["q", "q"]])).numpy()
IL = layers.IntegerLookup()
IL.adapt(np.array([7, 3, 7, 9, 3, 7]))
arrays["lookup/integer/output"] = IL(np.array([3, 7, 42, 9])).numpy()
meta["lookup"]["integer_vocab"] = [int(t) for t in IL.get_vocabulary()]
ILI = layers.IntegerLookup(vocabulary=[10, 20, 30], invert=True)
arrays["lookup/integer_invert/output"] = ILI(np.array([1, 3, 0])).numpy()
for mode in ("one_hot", "multi_hot", "count"):
    ce = layers.CategoryEncoding(num_tokens=5, output_mode=mode)
    data = np.array([3, 1, 4]) if mode == "one_hot" else np.array([[0, 1, 1], [4, 4, 2]])
    arrays[f"lookup/category_{mode}/output"] = ce(data).numpy()

# ---- utils
SEQS = [[1, 2, 3], [4, 5], [], [6, 7, 8, 9, 10]]
meta["utils"] = {"sequences": SEQS, "pad_cases": {}}
PAD_CASES = {"default": {}, "post": {"padding": "post"}, "maxlen3": {"maxlen": 3},
             "maxlen3_post_trunc": {"maxlen": 3, "truncating": "post"}, "value": {"value": -1, "padding": "post"},
             "float": {"dtype": "float32", "value": 0.5, "maxlen": 6}}
for name, kwargs in PAD_CASES.items():
    arrays[f"utils/pad/{name}"] = keras.utils.pad_sequences(SEQS, **kwargs)
    meta["utils"]["pad_cases"][name] = kwargs
arrays["utils/to_categorical"] = keras.utils.to_categorical(np.array([0, 2, 1, 2]), num_classes=4)
arrays["utils/normalize_input"] = normal(3, 4)
arrays["utils/normalize"] = keras.utils.normalize(arrays["utils/normalize_input"], axis=-1, order=2)

# ---- initializers: moments of a large draw, and the deterministic ones
meta["initializers"] = {}
for cls, shape in [("GlorotUniform", (200, 300)), ("GlorotNormal", (200, 300)), ("HeNormal", (200, 300)),
                   ("HeUniform", (200, 300)), ("LecunNormal", (200, 300)), ("LecunUniform", (200, 300)),
                   ("RandomNormal", (200, 300)), ("RandomUniform", (200, 300)), ("TruncatedNormal", (200, 300)),
                   ("Orthogonal", (30, 20)), ("Zeros", (3, 4)), ("Ones", (3, 4)), ("Identity", (3, 4))]:
    v = getattr(keras.initializers, cls)(seed=1)(shape) if cls not in ("Zeros", "Ones", "Identity") else \
        getattr(keras.initializers, cls)()(shape)
    v = np.asarray(v)
    meta["initializers"][cls] = {"shape": list(shape), "mean": float(v.mean()), "std": float(v.std()),
                                 "max_abs": float(np.abs(v).max())}
    if cls in ("Zeros", "Ones", "Identity"):
        arrays[f"initializer/{cls}"] = v
arrays["initializer/Constant"] = np.asarray(keras.initializers.Constant(2.5)((2, 3)))

# ---- constraints and regularizers
CW = normal(4, 3) * 2
arrays["constraint_input"] = CW
for cls, kwargs in [("MaxNorm", {"max_value": 1.5}), ("NonNeg", {}), ("UnitNorm", {}), ("UnitNorm", {"axis": 1}),
                    ("MinMaxNorm", {"min_value": 0.5, "max_value": 1.0, "rate": 0.7})]:
    key = cls + ("_" + "_".join(f"{k}{v}" for k, v in kwargs.items()) if kwargs else "")
    arrays[f"constraint/{key}"] = np.asarray(getattr(keras.constraints, cls)(**kwargs)(tf.constant(CW)))
    meta["names"].setdefault("constraints", {})[key] = {"class": cls, "kwargs": kwargs}
for key, reg in [("l1", keras.regularizers.l1(0.3)), ("l2", keras.regularizers.l2(0.2)),
                 ("l1_l2", keras.regularizers.l1_l2(l1=0.1, l2=0.4)), ("L1L2_default", keras.regularizers.L1L2())]:
    arrays[f"regularizer/{key}"] = np.asarray(reg(tf.constant(CW)))

# All arrays packed into one byte buffer (one .npz entry keeps the file small); the index
# (name -> offset, shape, dtype) goes in the JSON. tests/test_keras_layers_golden.py unpacks it.
index, chunks, offset = {}, [], 0
for key in sorted(arrays):
    a = np.asarray(arrays[key])
    a = np.ascontiguousarray(a) if a.ndim else a  # (ascontiguousarray would make a scalar 1-d)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{key}: {a.dtype} is not numeric")
    index[key] = [offset, list(a.shape), a.dtype.str]
    chunks.append(a.tobytes())
    offset += a.nbytes
meta["index"] = index
np.savez_compressed(os.path.join(HERE, "keras_layers.npz"), blob=np.frombuffer(b"".join(chunks), dtype=np.uint8))
with open(os.path.join(HERE, "keras_layers.json"), "w") as f:
    json.dump(meta, f, indent=None, sort_keys=True, default=lambda o: list(o) if isinstance(o, tuple) else str(o))
print("wrote", len(arrays), "arrays")
