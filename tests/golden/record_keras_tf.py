"""Record TensorFlow 2.21 / Keras 3 golden values for tests/test_tf_api.py and
tests/test_keras_subclassing.py: tf.* function outputs, GradientTape gradients, subclassed
layers and models with fixed weights, a frozen BatchNormalization under fit, mask_zero recurrent
outputs, parameter counts and a multi-output model's history keys and values.

Run from the repository root under the oracle extra: ``python tests/golden/record_keras_tf.py``.
Needs TensorFlow and NumPy only; writes tests/golden/keras_tf.npz and keras_tf.json.
"""
import json
import os

import numpy as np
import tensorflow as tf
import keras
from keras import layers

import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from subclassed_models import define

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(1234)
out, meta = {}, {}


def put(name, value):
    out[name] = np.asarray(value.numpy() if hasattr(value, "numpy") else value)


# ---- tf.* functions -------------------------------------------------------------------------------
a = rng.normal(size=(3, 4)).astype(np.float32)
b = rng.normal(size=(5, 4)).astype(np.float32)
idx = np.array([2, 0, 2], dtype=np.int32)
labels = np.array([1, 0, 3], dtype=np.int32)
probs = np.abs(rng.normal(size=(3, 4))).astype(np.float32)
probs /= probs.sum(1, keepdims=True)
put("in_a", a), put("in_b", b), put("in_idx", idx), put("in_labels", labels), put("in_probs", probs)
put("tf_split_int", tf.split(a, 2, axis=1)[1])
put("tf_split_sizes", tf.split(a, [1, -1], axis=1)[1])
put("tf_transpose", tf.transpose(a))
put("tf_gather", tf.gather(a, idx))
put("tf_gather_axis1", tf.gather(a, idx, axis=1))
put("tf_where1", tf.where(a > 0))
put("tf_where3", tf.where(a > 0, a, tf.zeros_like(a)))
put("tf_argmax", tf.argmax(a))
put("tf_argmax1", tf.argmax(a, axis=1))
put("tf_reduce_sum_keep", tf.reduce_sum(a, axis=1, keepdims=True))
put("tf_reduce_mean_01", tf.reduce_mean(a, axis=[0, 1]))
put("tf_reduce_max", tf.reduce_max(a, axis=0))
put("tf_reduce_prod", tf.reduce_prod(a, axis=1))
put("tf_reduce_std", tf.math.reduce_std(a, axis=0))
put("tf_one_hot", tf.one_hot(idx, 4))
put("tf_tile", tf.tile(a, [2, 1]))
put("tf_matmul_tb", tf.matmul(a, b, transpose_b=True))
put("tf_concat", tf.concat([a, a], axis=0))
put("tf_stack", tf.stack([a, a], axis=1))
put("tf_clip", tf.clip_by_value(a, -0.5, 0.5))
put("tf_range", tf.range(1, 10, 2))
put("tf_range_f", tf.range(0.0, 1.0, 0.25))
put("tf_linspace", tf.linspace(0.0, 1.0, 5))
put("tf_const_int_dtype", np.array(str(tf.constant([1, 2]).dtype.name)))
put("tf_const_float_dtype", np.array(str(tf.constant(1.5).dtype.name)))
put("tf_nn_softmax", tf.nn.softmax(a))
put("tf_nn_log_softmax", tf.nn.log_softmax(a))
put("tf_nn_sce", tf.nn.softmax_cross_entropy_with_logits(labels=probs, logits=a))
put("tf_nn_sparse_sce", tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=a))
put("tf_nn_sigmoid_ce", tf.nn.sigmoid_cross_entropy_with_logits(labels=probs, logits=a * 30))
put("tf_nn_l2_loss", tf.nn.l2_loss(a))
m_, v_ = tf.nn.moments(a, axes=[0])
put("tf_nn_moments_mean", m_), put("tf_nn_moments_var", v_)
put("tf_math_top_k_values", tf.math.top_k(a, k=2).values)
put("tf_linalg_norm", tf.linalg.norm(a, axis=1))
put("tf_squeeze", tf.squeeze(tf.expand_dims(a, 0)))
put("tf_cast_trunc", tf.cast(tf.constant([-1.7, 1.7, 2.5]), tf.int32))
put("tf_l2_normalize", tf.math.l2_normalize(a, axis=1))
put("tf_nn_softplus", tf.nn.softplus(a))
put("tf_nn_elu", tf.nn.elu(a))

# ---- GradientTape ---------------------------------------------------------------------------------
x0 = rng.normal(size=(4, 3)).astype(np.float32)
w0 = rng.normal(size=(3, 2)).astype(np.float32)
put("gt_x", x0), put("gt_w", w0)
w = tf.Variable(w0)
x = tf.constant(x0)
with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    y = tf.reduce_sum(tf.tanh(tf.matmul(x, w)) ** 2)
    z = tf.reduce_mean(tf.matmul(x, w))
g = tape.gradient(y, {"w": w, "inputs": [x]})
put("gt_dy_dw", g["w"]), put("gt_dy_dx", g["inputs"][0])
put("gt_dz_dw", tape.gradient(z, w))
seed = rng.normal(size=(4, 2)).astype(np.float32)
put("gt_seed", seed)
with tf.GradientTape() as tape:
    p = tf.matmul(x, w)
put("gt_output_gradients", tape.gradient(p, w, output_gradients=tf.constant(seed)))
v = tf.Variable(1.5)
with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
        yv = v ** 3
    dy = inner.gradient(yv, v)
put("gt_first", dy), put("gt_second", outer.gradient(dy, v))
with tf.GradientTape() as tape:
    jt = tf.matmul(x, w)
put("gt_jacobian", tape.jacobian(jt, w))

# ---- subclassed layer and model -------------------------------------------------------------------


Linear, Block, CustomModel = define(tf, keras, layers)


sx = rng.normal(size=(6, 4)).astype(np.float32)
blk = Block()
blk(sx)
sw = [rng.normal(size=w_.shape).astype(np.float32) for w_ in blk.get_weights()]
blk.set_weights(sw)
put("sub_x", sx)
for i, w_ in enumerate(sw):
    put(f"sub_w{i}", w_)
put("sub_out", blk(sx, training=False))
put("sub_losses", sum(float(l) for l in blk.losses))
meta["sub_count_params"] = int(blk.count_params())
meta["sub_n_weights"] = len(blk.weights)
meta["sub_n_trainable"] = len(blk.trainable_weights)
meta["linear_count_params"] = int(blk.lin.count_params())

# ---- frozen BatchNormalization under fit ----------------------------------------------------------
keras.utils.set_random_seed(0)
base = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.BatchNormalization()])
bn = base.layers[1]
bw = [rng.normal(size=w_.shape).astype(np.float32) for w_ in base.get_weights()]
bw[-1] = np.abs(bw[-1]) + 0.5  # a positive moving variance
base.set_weights(bw)
base.trainable = False
head = layers.Dense(1)
model = keras.Sequential([keras.Input((4,)), base, head])
hw = [rng.normal(size=w_.shape).astype(np.float32) for w_ in head.get_weights()]
head.set_weights(hw)
fx = rng.normal(size=(16, 4)).astype(np.float32)
fy = rng.normal(size=(16, 1)).astype(np.float32)
model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
for i, w_ in enumerate(bw):
    put(f"bn_w{i}", w_)
for i, w_ in enumerate(hw):
    put(f"bn_head_w{i}", w_)
put("bn_x", fx), put("bn_y", fy)
hist = model.fit(fx, fy, batch_size=16, epochs=1, shuffle=False, verbose=0)
put("bn_moving_mean_after", bn.moving_mean)
put("bn_loss", hist.history["loss"][0])
put("bn_head_kernel_after", head.kernel)
meta["bn_n_trainable"] = len(model.trainable_weights)
meta["bn_n_non_trainable"] = len(model.non_trainable_weights)
meta["bn_count_params"] = int(model.count_params())

# ---- mask_zero through recurrent layers -----------------------------------------------------------
ids = np.array([[0, 0, 3, 4, 1], [2, 5, 1, 0, 0], [3, 0, 2, 0, 4]], dtype=np.int32)
put("mask_ids", ids)
for kind in ("LSTM", "GRU", "SimpleRNN"):
    for seqs in (True, False):
        emb = layers.Embedding(6, 3, mask_zero=True)
        rnn = getattr(layers, kind)(4, return_sequences=seqs)
        m = keras.Sequential([keras.Input((5,), dtype="int32"), emb, rnn])
        ws = [rng.normal(size=w_.shape).astype(np.float32) * 0.5 for w_ in m.get_weights()]
        m.set_weights(ws)
        tag = f"mask_{kind}_{int(seqs)}"
        for i, w_ in enumerate(ws):
            put(f"{tag}_w{i}", w_)
        put(f"{tag}_out", m(ids))

# ---- multi-output fit: history keys and values (lr 0: the values depend on the fixed weights only) -
inp = keras.Input((4,), name="features")
hid = layers.Dense(5, activation="relu", name="hidden")(inp)
o1 = layers.Dense(3, activation="softmax", name="cls")(hid)
o2 = layers.Dense(1, name="reg")(hid)
mm = keras.Model(inp, [o1, o2])
mw = [rng.normal(size=w_.shape).astype(np.float32) for w_ in mm.get_weights()]
mm.set_weights(mw)
for i, w_ in enumerate(mw):
    put(f"mo_w{i}", w_)
mx = rng.normal(size=(12, 4)).astype(np.float32)
my1 = rng.integers(0, 3, size=12)
my2 = rng.normal(size=(12, 1)).astype(np.float32)
put("mo_x", mx), put("mo_y1", my1), put("mo_y2", my2)
mm.compile(optimizer=keras.optimizers.SGD(0.0),
           loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
           loss_weights={"cls": 1.0, "reg": 0.25}, metrics={"cls": ["accuracy"], "reg": ["mae"]})
mh = mm.fit(mx, {"cls": my1, "reg": my2}, batch_size=4, epochs=1, shuffle=False, verbose=0,
            validation_data=(mx, {"cls": my1, "reg": my2}))
meta["mo_history_keys"] = sorted(mh.history)
for k, vals in mh.history.items():
    put(f"mo_hist_{k}", vals[0])
meta["mo_count_params"] = int(mm.count_params())

# ---- an overridden train_step, as Keras 3's "customizing fit" guide writes it --------------------
cin = keras.Input(shape=(6,))
cm = CustomModel(cin, layers.Dense(1)(cin))
cw = [rng.normal(size=w_.shape).astype(np.float32) for w_ in cm.get_weights()]
cm.set_weights(cw)
cx = rng.normal(size=(20, 6)).astype(np.float32)
cy = rng.normal(size=(20, 1)).astype(np.float32)
for i, w_ in enumerate(cw):
    put(f"ts_w{i}", w_)
put("ts_x", cx), put("ts_y", cy)
cm.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
meta["ts_metrics_names"] = [m.name for m in cm.metrics]
ch = cm.fit(cx, cy, batch_size=5, epochs=2, shuffle=False, verbose=0)
meta["ts_history_keys"] = sorted(ch.history)
for k, vals in ch.history.items():
    put(f"ts_hist_{k}", np.array(vals))
put("ts_kernel_after", cm.layers[-1].kernel)

# ---- a mask through Dense into an LSTM ------------------------------------------------------------
md = keras.Sequential([keras.Input((5,), dtype="int32"), layers.Embedding(6, 3, mask_zero=True), layers.Dense(4),
                       layers.LSTM(2)])
mdw = [rng.normal(size=w_.shape).astype(np.float32) * 0.5 for w_ in md.get_weights()]
md.set_weights(mdw)
for i, w_ in enumerate(mdw):
    put(f"md_w{i}", w_)
put("md_out", md(ids))

# ---- a mask into self-attention --------------------------------------------------------------------
ain = keras.Input((5,), dtype="int32")
aemb = layers.Embedding(6, 4, mask_zero=True)(ain)
aout = layers.MultiHeadAttention(num_heads=2, key_dim=3)(aemb, aemb)
am = keras.Model(ain, aout)
aw = [rng.normal(size=w_.shape).astype(np.float32) * 0.5 for w_ in am.get_weights()]
am.set_weights(aw)
for i, w_ in enumerate(aw):
    put(f"att_w{i}", w_)
put("att_out", am(ids))

# ---- conversions and dtypes -------------------------------------------------------------------------
put("conv_np_float_to_int", tf.constant(np.array([1.5, -1.5]), dtype=tf.int32))
put("conv_where_scalars", tf.where(tf.constant([True, False]), 1.0, 0))
put("conv_int_mean", tf.reduce_mean(tf.constant([1, 2])))
put("conv_linspace_ints", tf.linspace(0, 1, 3))
put("conv_int_prod", tf.reduce_prod(tf.constant([[1, 2], [3, 4]])))
put("conv_cast_bool", tf.cast(tf.constant([0.5, 0.0]), tf.bool))
put("conv_one_hot_negative", tf.one_hot([1, -1], 3))
put("conv_np_int64", tf.constant(np.arange(3)))
for expr in ("tf.constant(2.0, dtype=tf.int32)", "tf.convert_to_tensor(tf.constant([1.5]), dtype=tf.int32)"):
    try:
        eval(expr)
        meta.setdefault("conv_errors", {})[expr] = None
    except Exception as e:  # noqa: BLE001 - the error's type is the recorded value
        meta.setdefault("conv_errors", {})[expr] = type(e).__name__

out["__version__"] = np.array(tf.__version__)
meta["__version__"] = tf.__version__
meta["keras_version"] = keras.__version__
np.savez_compressed(os.path.join(HERE, "keras_tf.npz"), **out)
with open(os.path.join(HERE, "keras_tf.json"), "w") as f:
    json.dump(meta, f, indent=1, sort_keys=True)
print("wrote", len(out), "arrays;", meta)
