"""Chapter 7's exercise: the output shape, parameters and MACs of a Conv2D layer, by hand."""


def conv_cost(input_hwc, filters, kernel, stride=1, padding="valid", use_bias=True):
    h, w, c = input_hwc
    if padding == "valid":
        oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    else:  # "same": TensorFlow's rule, output = ceil(input / stride)
        oh, ow = -(-h // stride), -(-w // stride)
    params = kernel * kernel * c * filters + (filters if use_bias else 0)
    macs = oh * ow * filters * kernel * kernel * c
    return (oh, ow, filters), params, macs
