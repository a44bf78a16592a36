"""Evaluation metrics on numpy arrays: classification scores and image quality (PSNR, SSIM).

>>> accuracy([0, 1, 2, 2], [[.9, .1, 0], [.2, .8, 0], [0, .4, .6], [.5, .5, 0]])
0.75
>>> round(f1([0, 1, 1, 0], [0, 1, 0, 0]), 4)
0.6667
"""
import numpy as np

__all__ = ["accuracy", "confusion_matrix", "precision", "recall", "f1", "psnr", "ssim"]


# ---------------------------------------------------------------- classification

def _labels(a):
    """Class labels from labels, one-hot rows, class scores, or binary probabilities.

    (..., C) with C > 1 -> argmax; (..., 1) -> squeezed; a float vector that is not all whole
    numbers is read as probabilities of class 1 and thresholded at 0.5.
    """
    a = np.asarray(a)
    if a.ndim >= 2 and a.shape[-1] > 1:
        return a.argmax(axis=-1)
    if a.ndim >= 2:
        a = a[..., 0]
    if a.dtype.kind == "f" and not np.all(a == np.round(a)):
        return (a >= 0.5).astype(np.int64)
    return a.astype(np.int64)


def _label_pair(y_true, y_pred):
    t, p = _labels(y_true).ravel(), _labels(y_pred).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred hold different numbers of samples: {t.size} vs {p.size}")
    if t.size == 0:
        raise ValueError("metrics need at least one sample")
    return t, p


def accuracy(y_true, y_pred):
    """Fraction of samples whose predicted class equals the true one.

    Either argument may be labels, one-hot rows or per-class scores/probabilities.

    >>> accuracy([1, 0, 1], [1, 1, 1])
    0.6666666666666666
    """
    t, p = _label_pair(y_true, y_pred)
    return float(np.mean(t == p))


def confusion_matrix(y_true, y_pred, num_classes=None):
    """(C, C) int64 counts: row = true class, column = predicted class.

    >>> confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2])
    array([[1, 0, 0],
           [0, 1, 1],
           [0, 0, 1]])
    """
    t, p = _label_pair(y_true, y_pred)
    if t.min() < 0 or p.min() < 0:
        raise ValueError("class labels must be non-negative integers")
    observed = int(max(t.max(), p.max())) + 1
    c = observed if num_classes is None else int(num_classes)
    if c < observed:
        raise ValueError(f"num_classes={c} but labels go up to {observed - 1}")
    # bincount of the flat (true, pred) index counts every cell in one vectorised pass.
    return np.bincount(t * c + p, minlength=c * c).reshape(c, c).astype(np.int64)


def _safe_div(num, den):
    """num / den with 0 where den == 0 (an undefined score counts as 0, as in scikit-learn)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def _scores(y_true, y_pred, average, pos_label, num_classes, kind):
    """Shared body of precision / recall / f1; `kind` picks the ratio from tp, fp, fn."""
    t, p = _label_pair(y_true, y_pred)

    def ratio(tp, fp, fn):
        if kind == "precision":
            return _safe_div(tp, tp + fp)
        if kind == "recall":
            return _safe_div(tp, tp + fn)
        return _safe_div(2 * tp, 2 * tp + fp + fn)  # = harmonic mean of precision and recall

    if average == "binary":
        classes = np.union1d(t, p)
        if np.setdiff1d(classes, [pos_label]).size > 1:  # more than one "negative" class
            raise ValueError(f"average='binary' needs two classes but labels are {classes.tolist()}; "
                             "use average='macro', 'micro', 'weighted' or None")
        tp = np.sum((t == pos_label) & (p == pos_label))
        fp = np.sum((t != pos_label) & (p == pos_label))
        fn = np.sum((t == pos_label) & (p != pos_label))
        return float(ratio(tp, fp, fn))

    cm = confusion_matrix(t, p, num_classes)
    tp = np.diag(cm)
    fp, fn = cm.sum(axis=0) - tp, cm.sum(axis=1) - tp
    if num_classes is None:
        # Only classes that occur somewhere: a label that never appears should not score 0.
        present = np.union1d(t, p)
        tp, fp, fn = tp[present], fp[present], fn[present]
    if average is None:
        return ratio(tp, fp, fn)
    if average == "micro":
        return float(ratio(tp.sum(), fp.sum(), fn.sum()))
    if average == "macro":
        return float(np.mean(ratio(tp, fp, fn)))
    if average == "weighted":
        support = tp + fn
        return float(np.sum(ratio(tp, fp, fn) * support) / support.sum())
    raise ValueError(f"average must be 'binary', 'macro', 'micro', 'weighted' or None, got {average!r}")


def precision(y_true, y_pred, average="binary", pos_label=1, num_classes=None):
    """tp / (tp + fp): of the samples predicted as a class, the fraction that are.

    average: 'binary' (score of `pos_label`), 'macro' (unweighted mean over classes), 'micro'
    (from pooled counts), 'weighted' (mean weighted by true-class support), or None (per-class
    array). Classes are those seen in either array, or range(num_classes) when given.

    >>> precision([0, 1, 1, 0], [1, 1, 1, 0])
    0.6666666666666666
    >>> precision([0, 1, 2, 2], [0, 2, 2, 2], average=None)
    array([1.        , 0.        , 0.66666667])
    """
    return _scores(y_true, y_pred, average, pos_label, num_classes, "precision")


def recall(y_true, y_pred, average="binary", pos_label=1, num_classes=None):
    """tp / (tp + fn): of the samples of a class, the fraction found. `average` as in precision.

    >>> recall([0, 1, 1, 0], [1, 1, 0, 0])
    0.5
    """
    return _scores(y_true, y_pred, average, pos_label, num_classes, "recall")


def f1(y_true, y_pred, average="binary", pos_label=1, num_classes=None):
    """Harmonic mean of precision and recall, 2tp / (2tp + fp + fn). `average` as in precision.

    >>> f1([0, 1, 1, 0], [1, 1, 0, 0])
    0.5
    """
    return _scores(y_true, y_pred, average, pos_label, num_classes, "f1")


# ---------------------------------------------------------------- image quality

def _data_range(a, b, data_range):
    if data_range is not None:
        return float(data_range)
    if a.dtype != b.dtype or not np.issubdtype(a.dtype, np.integer):
        # Guessing 1.0 vs 255 for floats silently changes the score; make the caller say.
        raise ValueError("data_range is required for float (or mixed-dtype) images, "
                         "e.g. 1.0 for images in [0, 1] or 255.0 for [0, 255]")
    info = np.iinfo(a.dtype)
    return float(info.max) - float(info.min)


def _image_pair(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"images must have the same shape, got {a.shape} and {b.shape}")
    return a, b


def psnr(a, b, data_range=None):
    """Peak signal-to-noise ratio in dB: 10 log10(data_range^2 / MSE); inf for identical images.

    data_range: max - min possible value (default: the dtype's range for integer images).

    >>> psnr(np.zeros(4), np.full(4, 0.1), data_range=1.0)  # MSE 0.01 -> 20 dB
    20.0
    """
    a, b = _image_pair(a, b)
    r = _data_range(a, b, data_range)
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    if mse == 0:
        return float("inf")
    return float(10 * np.log10(r * r / mse))


def _gaussian_window(size=11, sigma=1.5):
    x = np.arange(size) - (size - 1) / 2
    w = np.exp(-x * x / (2 * sigma * sigma))
    return w / w.sum()


def _filter_valid(x, w):
    """Separable 'valid' filter of x (..., H, W) with the 1-D window w along H and then W.

    Only windows that fit wholly inside the image are used, as in Wang et al.'s reference code.
    """
    k = len(w)
    h, wd = x.shape[-2] - k + 1, x.shape[-1] - k + 1
    rows = sum(w[i] * x[..., i:i + h, :] for i in range(k))
    return sum(w[i] * rows[..., :, i:i + wd] for i in range(k))


def ssim(a, b, data_range=None, win_size=11, sigma=1.5, k1=0.01, k2=0.03):
    """Mean structural similarity (Wang et al. 2004) with an 11x11 Gaussian window (sigma 1.5).

    Images are (H, W), (H, W, C) or (N, H, W, C); each channel (and image) is scored on its own
    and the SSIM map is averaged over everything. H and W must be at least `win_size`.
    data_range: as in :func:`psnr`.

    >>> x = np.random.default_rng(0).random((16, 16))
    >>> ssim(x, x, data_range=1.0)
    1.0
    >>> round(ssim(np.full((11, 11), 0.5), np.full((11, 11), 0.25), data_range=1.0), 6)
    0.800064
    """
    a, b = _image_pair(a, b)
    r = _data_range(a, b, data_range)
    if a.ndim not in (2, 3, 4):
        raise ValueError(f"ssim expects (H, W), (H, W, C) or (N, H, W, C) images, got {a.shape}")
    a, b = a.astype(np.float64), b.astype(np.float64)
    if a.ndim >= 3:
        # Channels last -> channels first, so the filter runs over the two trailing axes.
        a, b = np.moveaxis(a, -1, -3), np.moveaxis(b, -1, -3)
    if min(a.shape[-2:]) < win_size:
        raise ValueError(f"ssim needs images of at least {win_size}x{win_size}, got "
                         f"{tuple(a.shape[-2:])}")
    w = _gaussian_window(win_size, sigma)
    c1, c2 = (k1 * r) ** 2, (k2 * r) ** 2
    mu_a, mu_b = _filter_valid(a, w), _filter_valid(b, w)
    var_a = _filter_valid(a * a, w) - mu_a * mu_a
    var_b = _filter_valid(b * b, w) - mu_b * mu_b
    cov = _filter_valid(a * b, w) - mu_a * mu_b
    smap = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2))
    return float(smap.mean())
