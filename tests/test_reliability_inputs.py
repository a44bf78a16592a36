"""Bad input gets a named error (never a cast, a wrap-around or NumPy's message); empty batches
work; arrays a user hands in are never mutated or shared."""
import numpy as np
import pytest

import tinydl
from tinydl import nn
from tinydl.core import functional as T
from tinydl.keras import layers, models
from tinydl.nn import losses


# ---------------------------------------------------------------------------- dtypes

@pytest.mark.parametrize("make,shape", [(lambda: layers.Dense(3), (2, 4)),
                                        (lambda: layers.Conv2D(2, 3), (1, 5, 5, 2)),
                                        (lambda: layers.LayerNormalization(), (2, 4)),
                                        (lambda: layers.BatchNormalization(), (2, 4)),
                                        (lambda: layers.MaxPooling2D(), (1, 4, 4, 1)),
                                        (lambda: layers.LSTM(3), (2, 3, 4))])
def test_complex_and_string_inputs_are_refused_naming_the_layer(make, shape):
    layer = make()
    for bad in (np.ones(shape, np.complex64), np.full(shape, "a")):
        with pytest.raises(TypeError, match=rf"{type(layer).__name__} '{layer.name}': input has dtype"):
            layer(bad)
    with pytest.raises(TypeError, match="input has dtype complex"):
        layer(tinydl.Tensor(np.ones(shape, np.complex128)))


@pytest.mark.parametrize("loss", [losses.mean_squared_error, losses.mean_absolute_error,
                                  losses.binary_crossentropy, losses.categorical_crossentropy])
def test_complex_and_string_values_are_refused_by_the_losses(loss):
    good = np.full((3, 2), 0.5, np.float32)
    name = loss.__name__
    with pytest.raises(TypeError, match=rf"{name}: y_pred .* has dtype complex"):
        loss(good, good.astype(np.complex64))
    with pytest.raises(TypeError, match=rf"{name}: y_true .* has dtype complex"):
        loss(good.astype(np.complex128), tinydl.Tensor(good))
    with pytest.raises(TypeError, match=rf"{name}: y_true .* has dtype <U"):
        loss(np.full((3, 2), "x"), tinydl.Tensor(good))
    with pytest.raises(TypeError, match="sparse_categorical_crossentropy: the predictions has dtype complex"):
        losses.sparse_categorical_crossentropy([0, 1, 0], good.astype(np.complex64))


def test_string_tensors_are_refused():
    with pytest.raises(TypeError, match="Tensor: cannot hold dtype <U"):
        tinydl.Tensor(["a", "b"])


# ---------------------------------------------------------------------------- axes

@pytest.mark.parametrize("call,op", [
    (lambda x: T.squeeze(x, 3), "squeeze"), (lambda x: T.squeeze(x, -4), "squeeze"),
    (lambda x: T.unsqueeze(x, 4), "unsqueeze"), (lambda x: T.unsqueeze(x, -5), "unsqueeze"),
    (lambda x: T.transpose(x, (0, 1, 3)), "transpose"), (lambda x: T.transpose(x, (0, 1, -4)), "transpose"),
    (lambda x: T.flatten(x, 0, 3), "flatten"), (lambda x: T.flatten(x, -4), "flatten"),
    (lambda x: T.swapaxes(x, 0, 3), "swapaxes"), (lambda x: T.split(x, 1, axis=3), "split"),
    (lambda x: T.concatenate([x, x], axis=3), "concatenate"), (lambda x: T.stack([x, x], axis=4), "stack"),
    (lambda x: T.softmax(x, axis=3), "softmax"), (lambda x: T.log_softmax(x, axis=-4), "log_softmax"),
    (lambda x: T.sum(x, axis=3), "Sum"), (lambda x: T.mean(x, axis=-4), "Mean"),
])
def test_out_of_range_axes_are_refused_not_wrapped(call, op):
    x = tinydl.Tensor(np.ones((2, 1, 3), np.float32))
    with pytest.raises(ValueError, match=rf"{op}: axis .* is out of range for a tensor with 3 dimensions"):
        call(x)


def test_in_range_axes_still_work():
    x = tinydl.Tensor(np.arange(6.0).reshape(2, 1, 3))
    assert T.squeeze(x, -2).shape == (2, 3)
    assert T.unsqueeze(x, 3).shape == (2, 1, 3, 1) and T.unsqueeze(x, -4).shape == (1, 2, 1, 3)
    assert T.transpose(x, (2, 0, -2)).shape == (3, 2, 1)
    assert T.flatten(x, 1).shape == (2, 3)
    with pytest.raises(ValueError, match="start_axis 2 comes after end_axis 1"):
        T.flatten(x, 2, 1)


# ---------------------------------------------------------------------------- constructors

CONFIGS = [  # (factory, argument, bad value) for every public layer
    (lambda v: layers.Dense(v), "units", 0),
    (lambda v: layers.Dense(3, activation=v), "activation", "swish2"),
    (lambda v: layers.Dense(3, use_bias=v), "use_bias", "yes"),
    (lambda v: nn.Linear(v, 3), "in_features", -1),
    (lambda v: nn.Linear(3, v), "out_features", 0),
    (lambda v: layers.Conv2D(v, 3), "filters", 0),
    (lambda v: layers.Conv2D(4, v, padding="same"), "kernel_size", 0),
    (lambda v: layers.Conv2D(4, v), "kernel_size", 2.5),
    (lambda v: layers.Conv2D(4, v), "kernel_size", -3),
    (lambda v: layers.Conv2D(4, 3, strides=v, padding="same"), "strides", 0),
    (lambda v: layers.Conv2D(4, 3, dilation_rate=v), "dilation_rate", (1, 0)),
    (lambda v: layers.Conv2D(4, 3, padding=v), "padding", "full"),
    (lambda v: layers.Conv2D(4, 3, padding=v), "padding", -1),
    (lambda v: layers.Conv2D(4, 3, data_format=v), "data_format", "NHWC"),
    (lambda v: nn.Conv2d(v, 4, 3), "in_channels", 0),
    (lambda v: nn.Conv2d(3, v, 3), "out_channels", -2),
    (lambda v: layers.Conv2DTranspose(4, 3, output_padding=v), "output_padding", -1),
    (lambda v: layers.Conv2DTranspose(4, 3, strides=2, output_padding=v), "output_padding", 2),
    (lambda v: nn.ConvTranspose2d(v, 4, 3), "in_channels", 0),
    (lambda v: layers.MaxPooling2D(v), "pool_size", 0),
    (lambda v: layers.AveragePooling2D(2, strides=v), "strides", 0),
    (lambda v: layers.MaxPooling2D(2, padding=v), "padding", "reflect"),
    (lambda v: nn.MaxPool2d(v), "kernel_size", -1),
    (lambda v: layers.GlobalAveragePooling2D(data_format=v), "data_format", "nchw"),
    (lambda v: layers.Reshape(v), "target_shape", (2, -1, -1)),
    (lambda v: layers.Reshape(v), "target_shape", (2, -3)),
    (lambda v: layers.Dropout(v), "rate", 1.5),
    (lambda v: layers.Dropout(v), "rate", float("nan")),
    (lambda v: layers.Activation(v), "activation", "nope"),
    (lambda v: layers.LeakyReLU(v), "negative_slope", "x"),
    (lambda v: layers.Softmax(axis=v), "axis", 1.0),
    (lambda v: layers.BatchNormalization(epsilon=v), "epsilon", -1),
    (lambda v: layers.BatchNormalization(momentum=v), "momentum", 2),
    (lambda v: layers.BatchNormalization(axis=v), "axis", "last"),
    (lambda v: nn.BatchNorm2d(v), "num_features", 0),
    (lambda v: nn.BatchNorm1d(4, momentum=v), "momentum", -0.5),
    (lambda v: nn.BatchNorm2d(4, eps=v), "eps", 0),
    (lambda v: layers.LayerNormalization(epsilon=v), "epsilon", 0),
    (lambda v: layers.LayerNormalization(axis=v), "axis", "x"),
    (lambda v: nn.LayerNorm(v), "normalized_shape", 0),
    (lambda v: nn.LayerNorm(4, eps=v), "eps", -1e-5),
    (lambda v: layers.Embedding(v, 4), "input_dim", 0),
    (lambda v: layers.Embedding(10, v), "output_dim", -1),
    (lambda v: layers.Embedding(10, 4, padding_idx=v), "padding_idx", 10),
    (lambda v: nn.PositionalEmbedding(v, 4), "max_len", 0),
    (lambda v: layers.SimpleRNN(v), "units", 0),
    (lambda v: layers.LSTM(v), "units", 2.0),
    (lambda v: layers.GRU(4, dropout=v), "dropout", 1),
    (lambda v: layers.LSTM(4, activation=v), "activation", "bogus"),
    (lambda v: layers.LSTM(4, return_sequences=v), "return_sequences", "yes"),
    (lambda v: nn.LSTM(v, 4), "input_size", 0),
    (lambda v: nn.GRU(3, v), "hidden_size", -4),
    (lambda v: nn.RNN(3, 4, num_layers=v), "num_layers", 0),
    (lambda v: layers.MultiHeadAttention(v, 4), "num_heads", 0),
    (lambda v: layers.MultiHeadAttention(2, v), "key_dim", -1),
    (lambda v: layers.MultiHeadAttention(2, 4, dropout=v), "dropout", 1.0),
    (lambda v: nn.MultiheadAttention(v, 2), "embed_dim", 0),
    (lambda v: nn.MultiheadAttention(8, v), "num_heads", 0),
    (lambda v: nn.TransformerBlock(v, 2), "dim", 0),
    (lambda v: nn.TransformerBlock(8, 2, dropout=v), "dropout", -0.1),
    (lambda v: nn.TransformerLM(v, 8), "vocab_size", 0),
    (lambda v: layers.Dense(3, input_shape=v), "input_shape", (-1,)),
    (lambda v: layers.Dense(3, dtype=v), "dtype", "int32"),
    (lambda v: layers.Dense(3, name=v), "name", ""),
    (lambda v: layers.Concatenate(axis=v), "axis", 1.5),
]


@pytest.mark.parametrize("make,arg,value", CONFIGS, ids=[f"{i}-{c[1]}" for i, c in enumerate(CONFIGS)])
def test_every_layer_constructor_names_layer_argument_and_value(make, arg, value):
    with pytest.raises(ValueError) as info:
        make(value)
    message = str(info.value)
    assert arg in message and repr(value) in message, message
    # the layer is named by its class (and its name once it has one)
    assert message.split(":")[0].split(" ")[0] in {
        "Dense", "Linear", "Conv2D", "Conv2d", "Conv2DTranspose", "ConvTranspose2d", "MaxPooling2D",
        "AveragePooling2D", "MaxPool2d", "GlobalAveragePooling2D", "Reshape", "Dropout", "Activation",
        "LeakyReLU", "Softmax", "BatchNormalization", "BatchNorm2d", "BatchNorm1d", "LayerNormalization",
        "LayerNorm", "Embedding", "TorchEmbedding", "PositionalEmbedding", "SimpleRNN", "LSTM", "GRU",
        "TorchLSTM", "TorchGRU", "RNN", "MultiHeadAttention", "MultiheadAttention", "TransformerBlock",
        "TransformerLM", "Concatenate"}, message


# ---------------------------------------------------------------------------- empty batches

@pytest.mark.parametrize("make", [lambda: layers.Conv2D(4, 3, padding="same", activation="relu"),
                                  lambda: layers.Conv2D(4, 3, use_bias=False),
                                  lambda: layers.Conv2D(4, 1),
                                  lambda: layers.Conv2DTranspose(4, 3, strides=2),
                                  lambda: layers.MaxPooling2D(), lambda: layers.Flatten(),
                                  lambda: layers.Dense(3)])
@pytest.mark.parametrize("reference", [False, True])
def test_empty_batches_give_empty_outputs_and_zero_gradients(make, reference):
    layer = make()
    layer(np.ones((1, 6, 6, 2), np.float32))  # build
    x = tinydl.Tensor(np.ones((0, 6, 6, 2), np.float32), requires_grad=True)
    with tinydl.use_reference(reference):
        y = layer(x)
        assert y.shape[0] == 0
        y.sum().backward()
    assert x.grad.shape == x.shape
    for p in layer.parameters():
        assert p.grad is None or not p.grad.detach().numpy().any()


def test_batchnorm_in_training_on_an_empty_batch_keeps_its_statistics():
    bn = layers.BatchNormalization()
    bn(np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32))
    before = (bn.moving_mean.copy(), bn.moving_variance.copy())
    out = bn(np.ones((0, 3), np.float32))
    assert out.shape == (0, 3)
    np.testing.assert_array_equal(bn.moving_mean, before[0])
    np.testing.assert_array_equal(bn.moving_variance, before[1])
    assert np.isfinite(bn.moving_variance).all()


def _compiled():
    model = models.Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_predict_and_evaluate_refuse_a_bad_batch_size(bad):
    model = _compiled()
    x = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match=rf"predict: batch_size must be a positive integer, got {bad!r}"):
        model.predict(x, batch_size=bad)
    with pytest.raises(ValueError, match="evaluate: batch_size must be a positive integer"):
        model.evaluate(x, np.ones((4, 2)), batch_size=bad, verbose=0)


def test_nan_sample_weight_is_refused_before_training():
    model = _compiled()
    before = model.get_weights()
    x, y = np.ones((4, 3), np.float32), np.ones((4, 2), np.float32)
    for bad in ([1.0, np.nan, 1.0, 1.0], [1.0, np.inf, 1.0, 1.0]):
        with pytest.raises(ValueError, match=r"fit: sample_weight contains NaN or infinite values .*index \(1,\)"):
            model.fit(x, y, sample_weight=np.array(bad), verbose=0)
        with pytest.raises(ValueError, match="train_on_batch: sample_weight contains NaN"):
            model.train_on_batch(x, y, sample_weight=np.array(bad))
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


# ---------------------------------------------------------------------------- aliasing

def test_an_initializer_array_is_copied_never_trained_in_place_or_shared():
    mine = np.full((3, 2), 0.5, np.float32)
    keep = mine.copy()
    a = layers.Dense(2, kernel_initializer=lambda shape, dtype: mine, input_shape=(3,))
    b = layers.Dense(2, kernel_initializer=lambda shape, dtype: mine, input_shape=(3,))
    assert not np.shares_memory(a.kernel.detach().numpy(), mine) and not np.shares_memory(a.kernel.detach().numpy(), b.kernel.detach().numpy())
    model = models.Sequential([a])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32), verbose=0)
    np.testing.assert_array_equal(mine, keep)
    np.testing.assert_array_equal(b.kernel.detach().numpy(), keep)
    assert not np.array_equal(a.kernel.detach().numpy(), keep)


def test_an_initializer_returning_the_wrong_shape_is_named():
    with pytest.raises(ValueError, match=r"Dense 'my_dense': the initializer for 'kernel' returned shape \(2, 2\), "
                                         r"expected \(3, 2\)"):
        layers.Dense(2, kernel_initializer=lambda s, d: np.zeros((2, 2)), input_shape=(3,), name="my_dense")


def test_set_weights_and_fit_never_alias_user_arrays():
    model = _compiled()
    w = [np.ones((3, 2), np.float32), np.zeros(2, np.float32)]
    model.set_weights(w)
    x = np.ones((4, 3), np.float32)
    x_keep = x.copy()
    model.fit(x, np.zeros((4, 2), np.float32), verbose=0)
    np.testing.assert_array_equal(w[0], 1)
    np.testing.assert_array_equal(x, x_keep)
