"""Convolution layers. One channels-last implementation; channels-first input is transposed
around it. The kernel is always stored in Keras's layout (KH, KW, C_in, C_out)."""
from ...core import functional as T
from .. import channels_last as F
from .. import validation as V
from .base import Layer, activate


def _layout(data_format):
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format


class Conv2D(Layer):
    """``Conv2D(filters, kernel_size, strides=1, padding='valid', dilation_rate=1, activation=None,
    use_bias=True, data_format='channels_last', kernel_initializer='glorot_uniform', ...)``."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1, activation=None,
                 use_bias=True, data_format="channels_last", kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 in_channels=None, groups=1, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        self.filters = V.positive_int(who, "filters", filters)
        self.groups = V.positive_int(who, "groups", groups)
        if self.filters % self.groups:
            raise ValueError(f"{who}: filters ({filters}) must be divisible by groups ({groups})")
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        data_format = "channels_last" if data_format is None else data_format
        self.kernel_size = V.int_pair(who, "kernel_size", kernel_size)
        self.strides = V.int_pair(who, "strides", strides)
        self.dilation_rate = V.int_pair(who, "dilation_rate", dilation_rate)
        self.padding = V.padding(who, padding)
        self.activation = V.activation(who, activation)
        self.use_bias = V.boolean(who, "use_bias", use_bias)
        self.data_format = V.choice(who, "data_format", data_format, ("channels_last", "channels_first"))
        V.initializer(who, "kernel_initializer", kernel_initializer)
        V.initializer(who, "bias_initializer", bias_initializer)
        if in_channels is not None:
            V.positive_int(who, "in_channels", in_channels)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.in_channels = in_channels
        if in_channels is None and self.input_shape_hint:
            hint = self.input_shape_hint
            self.in_channels = hint[-1] if self.data_format == "channels_last" else hint[0]
        if self.in_channels is not None:
            self._make_weights(self.in_channels)
            self.built = True

    def _channel_axis(self):
        return 3 if self.data_format == "channels_last" else 1

    def build(self, input_shape):
        if input_shape is None or len(input_shape) != 4:
            raise ValueError(f"{self.name} (Conv2D): expected a 4-d input, got shape {input_shape}")
        self._make_weights(input_shape[self._channel_axis()])

    def _make_weights(self, cin):
        self.in_channels = int(cin)
        if cin % self.groups:
            raise ValueError(f"{V.owner(self)}: the input's {cin} channels must be divisible by groups "
                             f"({self.groups})")
        kh, kw = self.kernel_size
        cin_g = cin // self.groups
        init_k, init_b = self.kernel_initializer, self.bias_initializer
        if init_k == "torch_default":
            from .. import init
            fan_in = kh * kw * cin_g
            init_k = init_b = lambda shape, dtype: init.torch_default(shape, dtype, fan_in=fan_in)
        self._add_kernel_and_bias((kh, kw, cin_g, self.filters), init_k, init_b)

    def _add_kernel_and_bias(self, kernel_shape, init_k, init_b):
        self.add_weight("kernel", kernel_shape, init_k, self.kernel_regularizer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), init_b, self.bias_regularizer, constraint=self.bias_constraint)
        else:
            self.bias = None

    def _check_input(self, x):
        ax = self._channel_axis()
        if x.ndim != 4 or x.shape[ax] != self.in_channels:
            layout = "(N, H, W, C)" if ax == 3 else "(N, C, H, W)"
            hint = ""
            other = 1 if ax == 3 else 3
            if x.ndim == 4 and x.shape[other] == self.in_channels:
                hint = (f"; this looks like {'channels-first' if ax == 3 else 'channels-last'} data: "
                        f"transpose it, or build the layer with data_format="
                        f"'{'channels_first' if ax == 3 else 'channels_last'}'")
            raise ValueError(f"{self.name} ({type(self).__name__}): expected {self.data_format} input {layout} "
                             f"with C={self.in_channels}, got shape {tuple(x.shape)}{hint}")

    def forward(self, x):
        x = T._t(x)
        self._check_input(x)
        xh = F._to_nhwc(x, self.data_format)
        if self.groups == 1:
            y = F.conv2d(xh, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate,
                         name=self.name, activation=self.activation)
        else:  # Keras's groups: input block g feeds the output block g (its filters / groups filters)
            cg, fg = self.in_channels // self.groups, self.filters // self.groups
            y = T.concatenate([F.conv2d(xh[..., g * cg:(g + 1) * cg], self.kernel[..., g * fg:(g + 1) * fg], None,
                                        self.strides, self.padding, self.dilation_rate, name=self.name)
                               for g in range(self.groups)], axis=3)
            y = activate(y, self.activation, self.bias)
        return F._from_nhwc(y, self.data_format)


class Conv2DTranspose(Conv2D):
    """``Conv2DTranspose(filters, kernel_size, strides=1, padding='valid', output_padding=None, ...)``;
    kernel (KH, KW, filters, C_in) as Keras. 'valid': out = (in-1)*s + k; 'same': out = in*s."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, **kwargs):
        if kwargs.get("groups", 1) != 1:
            raise NotImplementedError(f"Conv2DTranspose: groups={kwargs['groups']!r} is not implemented in tinydl")
        super().__init__(filters, kernel_size, strides=strides, padding=padding, **kwargs)
        if output_padding is not None:
            who = V.owner(self)
            op = V.int_pair(who, "output_padding", output_padding, minimum=0)
            if any(p >= s and p > 0 for p, s in zip(op, self.strides)):
                raise ValueError(f"{who}: output_padding {output_padding!r} must be smaller than the "
                                 f"strides {self.strides}")
        self.output_padding = output_padding

    def _make_weights(self, cin):
        self.in_channels = int(cin)
        kh, kw = self.kernel_size
        init_k, init_b = self.kernel_initializer, self.bias_initializer
        if init_k == "torch_default":
            from .. import init
            fan_in = kh * kw * self.filters  # PyTorch computes ConvTranspose fans from weight dim 1
            init_k = init_b = lambda shape, dtype: init.torch_default(shape, dtype, fan_in=fan_in)
        self._add_kernel_and_bias((kh, kw, self.filters, cin), init_k, init_b)

    def forward(self, x):
        x = T._t(x)
        self._check_input(x)
        xh = F._to_nhwc(x, self.data_format)
        y = F.conv2d_transpose(xh, self.kernel, None, self.strides, self.padding, self.output_padding,
                               self.dilation_rate, name=self.name)
        return F._from_nhwc(activate(y, self.activation, self.bias), self.data_format)
