"""Keras's Conv1D, DepthwiseConv2D and SeparableConv2D, channels-last as Keras.

Conv1D is Conv2D's op on a height-1 image (kernel (K, C_in, filters) viewed as (1, K, C_in,
filters)); ``padding='causal'`` pads ``(K-1)*dilation`` zeros on the left. The depthwise
convolution is a sum over the KH*KW kernel taps of strided slices times per-channel weights:
each term is a core op, so its gradient needs no code of its own; output channel
``c * depth_multiplier + m`` comes from input channel ``c`` (Keras's order).
"""
from ...core import functional as T
from .. import channels_last as F
from .. import validation as V
from .base import Layer, activate
from .keras_util import (add_keras_weight, check_rank, conv_output_length, int_tuple, layout, to_channels_last,
                         from_channels_last)


def _set_conv_options(layer, rank, strides, padding, paddings, data_format, dilation_rate, activation,
                      use_bias):
    """Check and store the arguments every Keras convolution here shares."""
    who = V.owner(layer)
    layer.strides = int_tuple(who, "strides", strides, rank)
    layer.dilation_rate = int_tuple(who, "dilation_rate", dilation_rate, rank)
    layer.padding = V.choice(who, "padding", str(padding).lower(), paddings)
    layer.data_format = layout(who, data_format)
    layer.activation = V.activation(who, activation)
    layer.use_bias = V.boolean(who, "use_bias", use_bias)


def _build_from_hint(layer):
    """Keras builds a layer given ``input_shape=`` at construction."""
    if layer.input_shape_hint:
        layer.build((None,) + tuple(layer.input_shape_hint))
        layer.built = True


def _check_channels(layer, x):
    if x.shape[-1] != layer.in_channels:
        raise ValueError(f"{V.owner(layer)}: expected {layer.in_channels} input channels, got shape {tuple(x.shape)}")


class Conv1D(Layer):
    """``Conv1D(filters, kernel_size, strides=1, padding='valid', data_format=None, dilation_rate=1,
    groups=1, activation=None, use_bias=True, kernel_initializer='glorot_uniform',
    bias_initializer='zeros', kernel_regularizer=None, bias_regularizer=None,
    activity_regularizer=None, kernel_constraint=None, bias_constraint=None)``: (N, steps, C) ->
    (N, new_steps, filters)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = V.owner(self)
        self.filters = V.positive_int(who, "filters", filters)
        self.kernel_size = int_tuple(who, "kernel_size", kernel_size, 1)
        _set_conv_options(self, 1, strides, padding, ("valid", "same", "causal"), data_format, dilation_rate,
                          activation, use_bias)
        self.groups = V.positive_int(who, "groups", groups)
        if self.filters % self.groups:
            raise ValueError(f"{who}: filters ({filters}) must be divisible by groups ({groups})")
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        _build_from_hint(self)

    def build(self, input_shape):
        check_rank(self, input_shape, 3)
        cin = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        self.in_channels = int(cin)
        if self.in_channels % self.groups:
            raise ValueError(f"{V.owner(self)}: the input's {cin} channels must be divisible by groups "
                             f"({self.groups})")
        add_keras_weight(self, "kernel", self.kernel_size + (cin // self.groups, self.filters), self.kernel_initializer,
                         self.kernel_regularizer, self.kernel_constraint)
        if self.use_bias:
            add_keras_weight(self, "bias", (self.filters,), self.bias_initializer, self.bias_regularizer,
                             self.bias_constraint)
        else:
            self.bias = None

    def forward(self, x):
        x = T._t(x)
        check_rank(self, x.shape, 3)
        if self.data_format == "channels_first":
            x = T.transpose(x, (0, 2, 1))
        _check_channels(self, x)
        k, d = self.kernel_size[0], self.dilation_rate[0]
        padding = self.padding
        if padding == "causal":
            x = T.pad(x, ((0, 0), ((k - 1) * d, 0), (0, 0)))
            padding = "valid"
        n, steps, c = x.shape
        x4 = T.reshape(x, (n, 1, steps, c))
        kernel = T.reshape(self.kernel, (1, k, c // self.groups, self.filters))
        conv = (lambda xs, ks, b, act: F.conv2d(xs, ks, b, (1, self.strides[0]), padding, (1, d), name=self.name,
                                                activation=act))
        if self.groups == 1:
            y = conv(x4, kernel, self.bias, self.activation)
        else:  # Keras's groups: input block g feeds output block g
            cg, fg = c // self.groups, self.filters // self.groups
            y = T.concatenate([conv(x4[..., g * cg:(g + 1) * cg], kernel[..., g * fg:(g + 1) * fg], None, None)
                               for g in range(self.groups)], axis=3)
            y = activate(y, self.activation, self.bias)
        y = T.reshape(y, (n, y.shape[2], self.filters))
        return T.transpose(y, (0, 2, 1)) if self.data_format == "channels_first" else y


def depthwise_conv2d(x, kernel, strides, padding, dilation):
    """(N, H, W, C) with kernel (KH, KW, C, M) -> (N, H', W', C*M), output channel c*M + m."""
    n, h, w, c = x.shape
    kh, kw, _, m = kernel.shape
    (pt, pb), (pl, pr) = F.padding_pairs(padding, (h, w), (kh, kw), strides, dilation)
    if pt or pb or pl or pr:
        x = T.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    hp, wp = h + pt + pb, w + pl + pr
    oh = conv_output_length(hp, kh, strides[0], dilation[0])
    ow = conv_output_length(wp, kw, strides[1], dilation[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"depthwise_conv2d: kernel {(kh, kw)} is larger than the padded input {(hp, wp)}")
    x5 = T.reshape(x, (n, hp, wp, c, 1))
    out = None
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dilation[0], j * dilation[1]
            patch = T.getitem(x5, (slice(None), slice(r0, r0 + (oh - 1) * strides[0] + 1, strides[0]),
                                   slice(c0, c0 + (ow - 1) * strides[1] + 1, strides[1])))
            term = patch * T.getitem(kernel, (i, j))  # (N, oh, ow, C, 1) * (C, M)
            out = term if out is None else out + term
    return T.reshape(out, (n, oh, ow, c * m))


class DepthwiseConv2D(Layer):
    """``DepthwiseConv2D(kernel_size, strides=(1, 1), padding='valid', depth_multiplier=1,
    data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
    depthwise_initializer='glorot_uniform', bias_initializer='zeros', ...)``; kernel
    (KH, KW, C, depth_multiplier), output C * depth_multiplier channels."""

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = V.owner(self)
        self.kernel_size = V.int_pair(who, "kernel_size", kernel_size)
        _set_conv_options(self, 2, strides, padding, ("valid", "same"), data_format, dilation_rate, activation,
                          use_bias)
        self.depth_multiplier = V.positive_int(who, "depth_multiplier", depth_multiplier)
        self.depthwise_initializer, self.bias_initializer = depthwise_initializer, bias_initializer
        self.depthwise_regularizer, self.bias_regularizer = depthwise_regularizer, bias_regularizer
        self.depthwise_constraint, self.bias_constraint = depthwise_constraint, bias_constraint
        _build_from_hint(self)

    def _channels(self, input_shape):
        check_rank(self, input_shape, 4)
        return int(input_shape[-1] if self.data_format == "channels_last" else input_shape[1])

    def build(self, input_shape):
        c = self.in_channels = self._channels(input_shape)
        add_keras_weight(self, "kernel", self.kernel_size + (c, self.depth_multiplier), self.depthwise_initializer,
                         self.depthwise_regularizer, self.depthwise_constraint)
        if self.use_bias:
            add_keras_weight(self, "bias", (c * self.depth_multiplier,), self.bias_initializer,
                             self.bias_regularizer, self.bias_constraint)
        else:
            self.bias = None

    def forward(self, x):
        x = to_channels_last(self, x, 4)
        _check_channels(self, x)
        y = depthwise_conv2d(x, self.kernel, self.strides, self.padding, self.dilation_rate)
        return from_channels_last(self, activate(y, self.activation, self.bias))


class SeparableConv2D(DepthwiseConv2D):
    """``SeparableConv2D(filters, kernel_size, strides=(1, 1), padding='valid', data_format=None,
    dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
    depthwise_initializer='glorot_uniform', pointwise_initializer='glorot_uniform',
    bias_initializer='zeros', ...)``: a depthwise convolution, then a 1x1 convolution to
    ``filters`` channels; weights ``depthwise_kernel`` (KH, KW, C, M), ``pointwise_kernel``
    (1, 1, C*M, filters), ``bias`` (filters,)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        # set before the base constructor, which may build the weights at once (input_shape=)
        for key, value in (("filters", V.positive_int("SeparableConv2D", "filters", filters)),
                           ("pointwise_initializer", pointwise_initializer),
                           ("pointwise_regularizer", pointwise_regularizer),
                           ("pointwise_constraint", pointwise_constraint)):
            object.__setattr__(self, key, value)
        super().__init__(kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint, **kwargs)

    def build(self, input_shape):
        c = self.in_channels = self._channels(input_shape)
        m = self.depth_multiplier
        add_keras_weight(self, "depthwise_kernel", self.kernel_size + (c, m), self.depthwise_initializer,
                         self.depthwise_regularizer, self.depthwise_constraint)
        add_keras_weight(self, "pointwise_kernel", (1, 1, c * m, self.filters), self.pointwise_initializer,
                         self.pointwise_regularizer, self.pointwise_constraint)
        if self.use_bias:
            add_keras_weight(self, "bias", (self.filters,), self.bias_initializer, self.bias_regularizer,
                             self.bias_constraint)
        else:
            self.bias = None

    def forward(self, x):
        x = to_channels_last(self, x, 4)
        _check_channels(self, x)
        y = depthwise_conv2d(x, self.depthwise_kernel, self.strides, self.padding, self.dilation_rate)
        c_m = self.in_channels * self.depth_multiplier
        y = T.matmul(y, T.reshape(self.pointwise_kernel, (c_m, self.filters)))
        return from_channels_last(self, activate(y, self.activation, self.bias))
