"""``tinydl.keras.layers``: Keras's layer names, each bound to a Keras-semantics class of
``tinydl.nn`` (nothing is implemented twice), plus ``Input``.

Every name here is explicit: a Keras name this module does not list raises AttributeError
naming it, and the Keras layers tinydl does not have yet raise NotImplementedError when used
(``layers.Conv3D``), never PyTorch's layer of the same name. Where PyTorch and Keras use one name
for different layers (``LSTM``, ``GRU``, ``Embedding``, ``ReLU``), ``tinydl.nn`` has PyTorch's
under that name and the Keras class under its own (``KerasLSTM``, ...); this module gives Keras's
names to those.

The functional API's ``Input``, ``InputLayer`` and symbolic ``KerasTensor`` live in
``tinydl.keras.graph`` and are re-exported here: calling any layer on an ``Input`` records a graph
node and returns a new KerasTensor; ``Model(inputs, outputs)`` replays the recorded layers.

>>> from tinydl.keras.layers import Input, Dense
>>> x = Input(shape=(784,))
>>> h = Dense(128, activation="relu")(x)
>>> h.shape, h.dtype
((None, 128), dtype('float32'))
"""
from ..nn.layers.base import Layer
from ..nn.layers.core import Dense, Flatten, Reshape, Dropout, Activation, LeakyReLU, Softmax
from ..nn.layers.conv import Conv2D, Conv2DTranspose
from ..nn.layers.pooling import MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D
from ..nn.layers.normalization import BatchNormalization
from ..nn.layers.layernorm import LayerNormalization
from ..nn.layers.embedding import KerasEmbedding as Embedding
from ..nn.layers.recurrent import SimpleRNN, KerasLSTM as LSTM, KerasGRU as GRU
from ..nn.layers.attention import MultiHeadAttention
from ..nn.layers.activation_layers import ReLU, ELU, PReLU
from ..nn.layers.keras_conv import Conv1D, DepthwiseConv2D, SeparableConv2D
from ..nn.layers.keras_pooling import (MaxPooling1D, AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D,
                                       GlobalMaxPooling2D)
from ..nn.layers.reshaping import UpSampling1D, UpSampling2D, ZeroPadding2D, Cropping2D, RepeatVector, Permute
from ..nn.layers.wrappers import Bidirectional, TimeDistributed
from ..nn.layers.keras_attention import Attention, AdditiveAttention
from ..nn.layers.merging import Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum, Dot
from ..nn.layers.keras_core import Lambda, Masking, GaussianNoise
from ..nn.layers.preprocessing_numeric import Normalization
from ..nn.layers.preprocessing_image import (Rescaling, Resizing, CenterCrop, RandomFlip, RandomRotation, RandomZoom,
                                             RandomTranslation, RandomContrast)
from ..nn.layers.preprocessing_text import TextVectorization, StringLookup, IntegerLookup, CategoryEncoding
from ..nn.layers import config as _config
from .graph import Input, InputLayer, KerasTensor

# Keras's aliases
MaxPool1D, MaxPool2D = MaxPooling1D, MaxPooling2D
AvgPool1D, AvgPool2D = AveragePooling1D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
Convolution1D, Convolution2D = Conv1D, Conv2D
SeparableConvolution2D, Convolution2DTranspose = SeparableConv2D, Conv2DTranspose


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


LAYER_NAMES = ["Layer", "InputLayer", "Dense", "Flatten", "Reshape", "Dropout", "Activation", "ReLU", "LeakyReLU",
               "ELU", "PReLU", "Softmax", "Conv1D", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D",
               "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D",
               "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "UpSampling1D", "UpSampling2D",
               "ZeroPadding2D", "Cropping2D", "RepeatVector", "Permute", "BatchNormalization", "LayerNormalization",
               "Embedding", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed", "MultiHeadAttention",
               "Attention", "AdditiveAttention", "Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum",
               "Minimum", "Dot", "Lambda", "Masking", "GaussianNoise", "Normalization", "Rescaling", "Resizing",
               "CenterCrop", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast",
               "TextVectorization", "StringLookup", "IntegerLookup", "CategoryEncoding"]
ALIASES = ["MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D",
           "GlobalMaxPool1D", "GlobalMaxPool2D", "Convolution1D", "Convolution2D", "SeparableConvolution2D",
           "Convolution2DTranspose"]
FUNCTIONS = ["concatenate", "add", "subtract", "multiply", "average", "maximum", "minimum", "dot"]

# Keras layers tinydl does not have: using one raises NotImplementedError naming it.
MISSING = ["Conv3D", "Conv1DTranspose", "Conv3DTranspose", "SeparableConv1D", "DepthwiseConv1D", "ConvLSTM1D",
           "ConvLSTM2D", "ConvLSTM3D", "MaxPooling3D", "AveragePooling3D", "GlobalAveragePooling3D",
           "GlobalMaxPooling3D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding3D", "Cropping1D", "Cropping3D",
           "RNN", "StackedRNNCells", "SimpleRNNCell", "LSTMCell", "GRUCell", "GroupNormalization",
           "UnitNormalization", "SpectralNormalization", "ThresholdedReLU", "SpatialDropout1D", "SpatialDropout2D",
           "SpatialDropout3D", "AlphaDropout", "GaussianDropout", "ActivityRegularization", "Identity",
           "EinsumDense", "GroupQueryAttention", "Wrapper", "Hashing", "HashedCrossing", "Discretization",
           "RandomCrop", "RandomBrightness", "RandomGrayscale", "RandomHue", "RandomSaturation", "RandomSharpness",
           "RandomShear", "RandomColorJitter", "RandomPosterization", "RandomErasing", "RandomGaussianBlur",
           "RandomInvert", "RandomPerspective", "RandomElasticTransform", "Solarization", "AutoContrast",
           "Equalization", "MixUp", "CutMix", "AugMix", "RandAugment", "MelSpectrogram", "STFTSpectrogram",
           "Pipeline", "InputSpec", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer", "MaxNumBoundingBoxes",
           "Flatten3D"]


def _missing(name):
    def make(*args, **kwargs):
        raise NotImplementedError(f"tinydl.keras.layers.{name}: Keras's {name} layer is not implemented in tinydl")
    make.__name__ = make.__qualname__ = name
    make.__doc__ = f"Keras's {name}: not implemented in tinydl (calling it raises NotImplementedError)."
    make._tinydl_missing = True
    return make


for _name in MISSING:
    globals()[_name] = _missing(_name)

for _name in LAYER_NAMES:
    _config.REGISTRY.setdefault(_name, globals()[_name])

__all__ = ["Input", "KerasTensor"] + LAYER_NAMES + ALIASES + FUNCTIONS + MISSING


def __getattr__(name):
    raise AttributeError(f"module 'tinydl.keras.layers' has no attribute {name!r} (not a Keras layer name "
                         "tinydl knows)")
