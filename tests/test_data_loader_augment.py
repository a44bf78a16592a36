"""DataLoader batching/shuffling and the NumPy image augmentations."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinydl.core.random as tdrandom
from tinydl.data import (Compose, DataLoader, RandomBrightness, RandomContrast, RandomCrop,
                         RandomFlip, RandomRotation, RandomShift, RandomZoom)


# ---------------------------------------------------------------- DataLoader

def _xy(n=10):
    return np.arange(n * 2).reshape(n, 2), np.arange(n) * 10


def test_batches_in_order_and_len():
    x, y = _xy(10)
    dl = DataLoader(x, y, batch_size=4)
    batches = list(dl)
    assert len(dl) == len(batches) == 3
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)


def test_drop_last_and_x_only():
    x, _ = _xy(10)
    dl = DataLoader(x, batch_size=4, drop_last=True)
    batches = list(dl)
    assert len(dl) == 2 and all(isinstance(b, np.ndarray) and b.shape == (4, 2) for b in batches)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 50), bs=st.integers(1, 20), drop_last=st.booleans(), shuffle=st.booleans(),
       seed=st.integers(0, 2**31))
def test_every_sample_once_per_epoch(n, bs, drop_last, shuffle, seed):
    x, y = _xy(n)
    dl = DataLoader(x, y, batch_size=bs, shuffle=shuffle, seed=seed, drop_last=drop_last)
    batches = list(dl)
    assert len(batches) == len(dl) == (n // bs if drop_last else -(-n // bs))
    seen = np.concatenate([b[1] for b in batches]) if batches else np.array([], int)
    assert len(set(seen.tolist())) == len(seen)  # no repeats
    assert len(seen) == (len(dl) * bs if drop_last else n)
    for xb, yb in batches:  # x and y stay paired
        np.testing.assert_array_equal(xb[:, 0], yb // 5)


def test_shuffle_differs_per_epoch_and_seed_repeats():
    x, y = _xy(50)
    a = DataLoader(x, y, batch_size=50, shuffle=True, seed=7)
    b = DataLoader(x, y, batch_size=50, shuffle=True, seed=7)
    a1, a2 = next(iter(a))[1], next(iter(a))[1]
    b1, b2 = next(iter(b))[1], next(iter(b))[1]
    assert not np.array_equal(a1, a2)  # reshuffled each epoch
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert not np.array_equal(a1, y)


def test_unseeded_shuffle_follows_manual_seed():
    x, y = _xy(30)
    dl = DataLoader(x, y, batch_size=30, shuffle=True)
    tdrandom.manual_seed(3)
    first = next(iter(dl))[1]
    tdrandom.manual_seed(3)
    np.testing.assert_array_equal(next(iter(dl))[1], first)


def test_empty_and_mismatched_data_are_errors():
    with pytest.raises(ValueError, match="at least one sample"):
        DataLoader(np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"len\(x\) = 5, len\(y\) = 4"):
        DataLoader(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(np.zeros(5), batch_size=0)


def test_transform_with_and_without_rng():
    x = np.random.default_rng(0).integers(0, 255, (12, 8, 8, 1)).astype(np.uint8)
    plain = DataLoader(x, batch_size=5, transform=lambda b: b + 1)
    np.testing.assert_array_equal(np.concatenate(list(plain)), x + 1)
    aug = RandomShift(2)
    runs = [np.concatenate(list(DataLoader(x, batch_size=5, shuffle=True, seed=1, transform=aug)))
            for _ in range(2)]
    np.testing.assert_array_equal(*runs)  # the seed drives the augmentation too
    assert runs[0].shape == x.shape and runs[0].dtype == x.dtype


# ---------------------------------------------------------------- augmentation

ALL_AUGS = [
    RandomShift(2), RandomCrop(padding=2), RandomCrop(size=(5, 4)), RandomRotation(30),
    RandomZoom(0.2), RandomFlip("both"), RandomBrightness(20), RandomContrast(0.5),
    Compose([RandomFlip(), RandomRotation(15), RandomBrightness(5)]),
]
IDENTITY_AUGS = [
    RandomShift(0), RandomCrop(), RandomRotation(0), RandomZoom(0), RandomFlip(p=0.0),
    RandomBrightness(0), RandomContrast(0), Compose([RandomRotation(0), RandomZoom(0)]),
]


def _images(dtype, shape=(4, 7, 6, 3), seed=0):
    r = np.random.default_rng(seed).random(shape)
    return (r * 255).astype(np.uint8) if dtype == np.uint8 else r.astype(dtype)


@pytest.mark.parametrize("aug", ALL_AUGS, ids=repr)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_shape_and_dtype_preserved(aug, dtype):
    x = _images(dtype)
    out = aug(x, rng=0)
    expected = (4, 5, 4, 3) if isinstance(aug, RandomCrop) and aug.size else x.shape
    assert out.shape == expected and out.dtype == x.dtype
    single = aug(x[0], rng=0)
    assert single.shape == expected[1:] and single.dtype == x.dtype


@pytest.mark.parametrize("aug", IDENTITY_AUGS, ids=repr)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_identity_parameters_give_identity(aug, dtype):
    x = _images(dtype)
    np.testing.assert_array_equal(aug(x, rng=0), x)
    np.testing.assert_array_equal(aug(x[1], rng=0), x[1])


@pytest.mark.parametrize("aug", ALL_AUGS, ids=repr)
def test_seeded_repeatability(aug):
    x = _images(np.float32, shape=(16, 7, 6, 3))
    np.testing.assert_array_equal(aug(x, rng=5), aug(x, rng=5))
    np.testing.assert_array_equal(aug(x, rng=np.random.default_rng(5)), aug(x, rng=5))
    assert not np.array_equal(aug(x, rng=5), aug(x, rng=6))
    tdrandom.manual_seed(11)
    first = aug(x)
    tdrandom.manual_seed(11)
    np.testing.assert_array_equal(aug(x), first)


@pytest.mark.parametrize("k", [1, -1, 2])
def test_right_angle_rotation_matches_rot90(k):
    # Square image: pixel centres map exactly onto pixel centres, so bilinear sampling is exact.
    x = _images(np.uint8, shape=(3, 5, 5, 2))
    rot = RandomRotation((90 * k, 90 * k))
    np.testing.assert_array_equal(rot(x, rng=0), np.rot90(x, k, axes=(1, 2)))
    np.testing.assert_array_equal(rot(x[0], rng=0), np.rot90(x[0], k))
    xf = x.astype(np.float64) / 255
    np.testing.assert_allclose(rot(xf, rng=0), np.rot90(xf, k, axes=(1, 2)), atol=1e-12)


def test_rotation_keeps_centre_and_fills_corners():
    x = np.ones((1, 9, 9, 1), np.float32)
    out = RandomRotation((45, 45), fill=0)(x, rng=0)
    assert out[0, 4, 4, 0] == pytest.approx(1.0)
    assert out[0, 0, 0, 0] == 0.0  # the corner comes from outside the image


def test_zoom_in_and_out():
    x = np.zeros((1, 9, 9, 1))
    x[0, 4, 4] = 1.0
    x[0, 4, 6] = 2.0
    zin = RandomZoom((2, 2))(x, rng=0)
    assert zin[0, 4, 4, 0] == 1.0 and zin[0, 4, 8, 0] == 2.0  # offset 2 from centre -> 4
    zout = RandomZoom((0.5, 0.5))(x, rng=0)
    assert zout[0, 4, 4, 0] == 1.0 and zout[0, 4, 5, 0] == 2.0  # offset 2 -> 1
    ones = RandomZoom((0.5, 0.5), fill=7)(np.ones((1, 9, 9, 1)), rng=0)
    assert ones[0, 0, 0, 0] == 7 and ones[0, 4, 4, 0] == 1


@pytest.mark.parametrize("mode,axes", [("horizontal", (2,)), ("vertical", (1,)), ("both", (1, 2))])
def test_flips_match_np_flip(mode, axes):
    x = _images(np.uint8)
    np.testing.assert_array_equal(RandomFlip(mode, p=1.0)(x, rng=0), np.flip(x, axis=axes))
    np.testing.assert_array_equal(RandomFlip(mode, p=1.0)(x[0], rng=0),
                                  np.flip(x[0], axis=tuple(a - 1 for a in axes)))


def test_flip_half_the_time_flips_some_images_only():
    x = _images(np.float32, shape=(64, 4, 4, 1))
    out = RandomFlip("horizontal", p=0.5)(x, rng=0)
    flipped = [np.array_equal(o, np.flip(i, axis=1)) for o, i in zip(out, x)]
    kept = [np.array_equal(o, i) for o, i in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept)) and 10 < sum(flipped) < 54


def test_shift_is_a_whole_pixel_translation_with_fill():
    x = np.arange(1, 1 + 6 * 5, dtype=np.int32).reshape(1, 6, 5, 1).repeat(20, axis=0)
    out = RandomShift((2, 1), fill=-1)(x, rng=0)
    shifts = set()
    for o in out:
        match = [(dy, dx) for dy in range(-2, 3) for dx in range(-1, 2)
                 if np.array_equal(o, _shifted(x[0], dy, dx, -1))]
        assert len(match) == 1
        shifts.add(match[0])
    assert len(shifts) > 3


def _shifted(img, dy, dx, fill):
    out = np.full_like(img, fill)
    h, w = img.shape[:2]
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        img[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def test_crop_is_a_window_of_the_padded_image():
    x = np.arange(36, dtype=np.float32).reshape(1, 6, 6, 1)
    padded = np.pad(x[0], ((1, 1), (1, 1), (0, 0)), constant_values=-5)
    for o in RandomCrop(size=3, padding=1, fill=-5)(x.repeat(10, axis=0), rng=3):
        assert any(np.array_equal(o, padded[i:i + 3, j:j + 3]) for i in range(6) for j in range(6))
    with pytest.raises(ValueError, match="does not fit"):
        RandomCrop(size=9)(x, rng=0)


def test_brightness_saturates_uint8_and_shifts_floats():
    x = np.full((2, 3, 3, 1), 250, np.uint8)
    assert (RandomBrightness((10, 10))(x, rng=0) == 255).all()
    assert (RandomBrightness((-300, -300))(x, rng=0) == 0).all()
    xf = np.full((1, 2, 2, 1), 0.5)
    np.testing.assert_allclose(RandomBrightness((0.25, 0.25))(xf, rng=0), 0.75)
    np.testing.assert_allclose(RandomBrightness((0.75, 0.75), clip=(0, 1))(xf, rng=0), 1.0)


def test_contrast_zero_gives_per_channel_mean():
    x = _images(np.float64, shape=(2, 4, 4, 3))
    out = RandomContrast((0, 0))(x, rng=0)
    np.testing.assert_allclose(out, np.broadcast_to(x.mean(axis=(1, 2), keepdims=True), x.shape))


def test_compose_applies_in_order():
    x = np.full((1, 2, 2, 1), 100, np.uint8)
    aug = Compose([RandomBrightness((200, 200)), RandomBrightness((-100, -100))])
    assert (aug(x, rng=0) == 155).all()  # saturates at 255 first, then -100
    assert (Compose([lambda im: im + 1])(x) == 101).all()  # plain callables work too


def test_bad_inputs():
    with pytest.raises(ValueError, match="add a channel axis"):
        RandomRotation(10)(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="mode"):
        RandomFlip("diagonal")
    with pytest.raises(ValueError, match="low <= high"):
        RandomRotation((10, -10))
    with pytest.raises(ValueError, match="zoom factors"):
        RandomZoom(1.5)
