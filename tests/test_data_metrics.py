"""Classification metrics and PSNR / SSIM against hand-computed cases and properties."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinydl.data import accuracy, confusion_matrix, f1, precision, psnr, recall, ssim


# ---------------------------------------------------------------- accuracy

def test_accuracy_forms():
    y = np.array([0, 2, 1, 2])
    assert accuracy(y, [0, 2, 2, 2]) == 0.75
    onehot = np.eye(3)[y]
    probs = np.array([[.7, .2, .1], [.1, .1, .8], [.3, .4, .3], [.5, .1, .4]])
    assert accuracy(y, probs) == 0.75
    assert accuracy(onehot, probs) == 0.75
    assert accuracy(y[:, None], [[0], [2], [1], [1]]) == 0.75
    # a vector of probabilities is binary, thresholded at 0.5
    assert accuracy([1, 0, 1, 0], [0.9, 0.4, 0.2, 0.5]) == 0.5
    assert isinstance(accuracy(y, y), float)


def test_accuracy_errors():
    with pytest.raises(ValueError, match="3 vs 2"):
        accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="at least one sample"):
        accuracy([], [])


# ---------------------------------------------------------------- confusion / P / R / F1

def test_confusion_matrix_hand_case():
    cm = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2])
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert confusion_matrix([0, 1], [1, 1], num_classes=4).shape == (4, 4)
    with pytest.raises(ValueError, match="num_classes=2"):
        confusion_matrix([0, 3], [0, 1], num_classes=2)
    with pytest.raises(ValueError, match="non-negative"):
        confusion_matrix([0, -1], [0, 1])


def test_binary_hand_case():
    t = [1, 1, 1, 0, 0, 0, 1, 0]
    p = [1, 0, 1, 1, 0, 0, 1, 0]  # tp=3 fp=1 fn=1 tn=3
    assert precision(t, p) == 0.75 and recall(t, p) == 0.75 and f1(t, p) == 0.75
    # pos_label=0: tp=3 fp=1 fn=1
    assert precision(t, p, pos_label=0) == 0.75
    t2, p2 = [1, 1, 0, 0], [1, 0, 0, 0]  # tp=1 fp=0 fn=1
    assert precision(t2, p2) == 1.0 and recall(t2, p2) == 0.5
    assert f1(t2, p2) == pytest.approx(2 / 3)


def test_undefined_scores_are_zero():
    assert precision([1, 0], [0, 0]) == 0.0  # nothing predicted positive
    assert recall([0, 0], [1, 0]) == 0.0     # no positives
    assert f1([0, 0], [0, 0]) == 0.0


def test_multiclass_hand_case():
    t = [0, 0, 1, 2, 2, 2]
    p = [0, 1, 1, 2, 0, 2]
    # per class: tp = [1, 1, 2], fp = [1, 1, 0], fn = [1, 0, 1], support = [2, 1, 3]
    prec = np.array([1 / 2, 1 / 2, 1.0])
    rec = np.array([1 / 2, 1.0, 2 / 3])
    f = 2 * prec * rec / (prec + rec)
    np.testing.assert_allclose(precision(t, p, average=None), prec)
    np.testing.assert_allclose(recall(t, p, average=None), rec)
    np.testing.assert_allclose(f1(t, p, average=None), f)
    assert precision(t, p, average="macro") == pytest.approx(prec.mean())
    assert f1(t, p, average="macro") == pytest.approx(f.mean())
    assert recall(t, p, average="weighted") == pytest.approx((2 * .5 + 1 * 1 + 3 * 2 / 3) / 6)
    assert f1(t, p, average="weighted") == pytest.approx(np.dot(f, [2, 1, 3]) / 6)
    for fn in (precision, recall, f1):
        assert fn(t, p, average="micro") == pytest.approx(4 / 6)  # = accuracy


def test_absent_classes_and_bad_average():
    t, p = [0, 2, 2], [0, 2, 0]
    # class 1 never appears: it is left out unless num_classes says otherwise
    assert recall(t, p, average="macro") == pytest.approx((1 + 0.5) / 2)
    assert recall(t, p, average="macro", num_classes=3) == pytest.approx((1 + 0 + 0.5) / 3)
    with pytest.raises(ValueError, match="average='binary' needs two classes"):
        f1(t, p)
    with pytest.raises(ValueError, match="average='binary' needs two classes"):
        f1([0, 1, 2], [0, 1, 2], pos_label=2)
    assert f1([3, 5, 5], [3, 5, 3], pos_label=5) == pytest.approx(2 / 3)  # any two labels
    with pytest.raises(ValueError, match="average must be"):
        f1(t, p, average="mean")


labels = st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 4), min_size=n, max_size=n),
    st.lists(st.integers(0, 4), min_size=n, max_size=n)))


@settings(max_examples=60, deadline=None)
@given(labels)
def test_classification_properties(tp):
    t, p = np.array(tp[0]), np.array(tp[1])
    cm = confusion_matrix(t, p)
    assert cm.sum() == len(t) and np.trace(cm) == np.sum(t == p)
    np.testing.assert_array_equal(cm.sum(axis=1)[t.max()], np.sum(t == t.max()))
    pr, rc, f = (fn(t, p, average=None) for fn in (precision, recall, f1))
    assert np.all((0 <= pr) & (pr <= 1)) and np.all((0 <= rc) & (rc <= 1))
    harmonic = np.where(pr + rc > 0, 2 * pr * rc / np.where(pr + rc > 0, pr + rc, 1), 0)
    np.testing.assert_allclose(f, harmonic, atol=1e-12)
    acc = accuracy(t, p)
    for fn in (precision, recall, f1):
        assert fn(t, p, average="micro") == pytest.approx(acc)
        for avg in ("macro", "weighted"):
            assert 0 <= fn(t, p, average=avg) <= 1
    assert recall(t, p, average="weighted") == pytest.approx(acc)  # support-weighted recall


@settings(max_examples=40, deadline=None)
@given(labels)
def test_binary_f1_is_harmonic_mean(tp):
    t, p = np.array(tp[0]) % 2, np.array(tp[1]) % 2
    pr, rc = precision(t, p), recall(t, p)
    expected = 0.0 if pr + rc == 0 else 2 * pr * rc / (pr + rc)
    assert f1(t, p) == pytest.approx(expected)


# ---------------------------------------------------------------- PSNR

def test_psnr_known_mse():
    a = np.zeros((4, 4))
    assert psnr(a, a + 0.1, data_range=1.0) == pytest.approx(20.0)          # MSE 0.01
    u = np.zeros((3, 3), np.uint8)
    assert psnr(u, u + 1) == pytest.approx(20 * math.log10(255))           # MSE 1, range 255
    assert psnr(u, u + 2, data_range=2) == pytest.approx(0.0)               # MSE 4 = range^2
    assert psnr(a, a, data_range=1.0) == math.inf
    with pytest.raises(ValueError, match="data_range is required"):
        psnr(a, a + 0.1)
    with pytest.raises(ValueError, match="same shape"):
        psnr(a, a[:2], data_range=1.0)


# ---------------------------------------------------------------- SSIM

def _ssim_reference(a, b, data_range):
    """Direct 2-D version: for every fully-inside 11x11 window, weighted moments with the
    outer-product Gaussian window, then the SSIM formula; mean over windows."""
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5 ** 2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    vals = []
    for i in range(a.shape[0] - 10):
        for j in range(a.shape[1] - 10):
            pa, pb = a[i:i + 11, j:j + 11], b[i:i + 11, j:j + 11]
            ma, mb = (w * pa).sum(), (w * pb).sum()
            va, vb = (w * (pa - ma) ** 2).sum(), (w * (pb - mb) ** 2).sum()
            cov = (w * (pa - ma) * (pb - mb)).sum()
            vals.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    return np.mean(vals)


def test_ssim_with_itself_is_one():
    x = np.random.default_rng(0).random((20, 17))
    assert ssim(x, x, data_range=1.0) == pytest.approx(1.0, abs=1e-12)
    u = (x * 255).astype(np.uint8)
    assert ssim(u, u) == pytest.approx(1.0, abs=1e-12)


def test_ssim_of_constant_images_by_hand():
    # no variance: SSIM = (2 a b + C1) / (a^2 + b^2 + C1) everywhere
    a, b, c1 = 0.5, 0.25, (0.01 * 1.0) ** 2
    got = ssim(np.full((12, 12), a), np.full((12, 12), b), data_range=1.0)
    assert got == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-9)


def test_ssim_matches_direct_window_computation():
    rng = np.random.default_rng(1)
    a = rng.random((14, 13))
    b = np.clip(a + 0.2 * rng.standard_normal(a.shape), 0, 1)
    assert ssim(a, b, data_range=1.0) == pytest.approx(_ssim_reference(a, b, 1.0), rel=1e-10)
    assert ssim(a * 255, b * 255, data_range=255) == pytest.approx(ssim(a, b, data_range=1.0))


def test_ssim_channels_and_batches_average():
    rng = np.random.default_rng(2)
    a = rng.random((2, 12, 12, 3))
    b = np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1)
    per = [_ssim_reference(a[n, :, :, c], b[n, :, :, c], 1.0) for n in range(2) for c in range(3)]
    assert ssim(a, b, data_range=1.0) == pytest.approx(np.mean(per), rel=1e-10)
    assert ssim(a[0], b[0], data_range=1.0) == pytest.approx(np.mean(per[:3]), rel=1e-10)


def test_ssim_drops_with_noise_and_is_symmetric():
    rng = np.random.default_rng(3)
    x = rng.random((24, 24))
    noisy = [np.clip(x + s * rng.standard_normal(x.shape), 0, 1) for s in (0.05, 0.2, 0.5)]
    scores = [ssim(x, n, data_range=1.0) for n in noisy]
    assert 1 > scores[0] > scores[1] > scores[2]
    assert ssim(noisy[0], x, data_range=1.0) == pytest.approx(scores[0])


def test_ssim_errors():
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(np.zeros((10, 30)), np.zeros((10, 30)), data_range=1.0)
    with pytest.raises(ValueError, match="data_range is required"):
        ssim(np.zeros((11, 11)), np.zeros((11, 11)))
