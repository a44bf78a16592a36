"""Chapter 3's exercise: sum a broadcast gradient back to an input's shape."""


def unbroadcast(grad, shape):
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))        # the leading axes the input did not have
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)   # the axes broadcasting repeated
    return grad.reshape(shape)
