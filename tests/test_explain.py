"""Saliency, SmoothGrad, Grad-CAM and attention capture on models whose answers are known."""
import numpy as np
import pytest

import tinydl
from tinydl import nn
from tinydl.data.png import write_png
from tinydl.explain import capture_attention, colormap, grad_cam, heatmap, overlay, panel, saliency, smoothgrad


def _two_blob_model(data_format="channels_last"):
    """Conv 1x1 identity on 2 channels (A = x), then class c's logit = the sum of channel c."""
    if data_format == "channels_last":
        conv = nn.Conv2D(2, 1, name="features", in_channels=2)
    else:
        conv = nn.Conv2d(2, 2, 1)
        conv.name = "features"
    weight = conv.kernel if data_format == "channels_last" else conv.weight  # (1, 1, in, out) / (out, in, 1, 1)
    weight.data[...] = np.eye(2, dtype=np.float32).reshape(weight.shape)
    conv.bias.data[...] = 0
    head = nn.Dense(2, activation="softmax", in_features=2 * 8 * 8)
    k = np.zeros((8, 8, 2, 2), np.float32) if data_format == "channels_last" else np.zeros((2, 8, 8, 2), np.float32)
    if data_format == "channels_last":
        k[:, :, 0, 0] = k[:, :, 1, 1] = 1
    else:
        k[0, :, :, 0] = k[1, :, :, 1] = 1
    head.kernel.data[...] = k.reshape(-1, 2)
    head.bias.data[...] = 0
    return nn.Sequential(conv, nn.Flatten(), head)


def _two_blobs():
    x = np.zeros((1, 8, 8, 2), np.float32)
    x[0, 1:3, 1:4, 0] = [[1, 2, 1], [0.5, 1, 0.5]]   # channel 0: a blob at the top left
    x[0, 5:7, 5:7, 1] = 3.0                           # channel 1: a blob at the bottom right
    return x


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_grad_cam_finds_the_blob_of_the_class_it_explains(data_format):
    model = _two_blob_model(data_format)
    x = _two_blobs()
    xin = x if data_format == "channels_last" else x.transpose(0, 3, 1, 2)
    for cls in (0, 1):
        maps, raw, target = grad_cam(model, xin, "features", target=cls)
        # d logit_c / dA = 1 on channel c and 0 on the other: weights (1, 0) or (0, 1), so the map is
        # relu(A_c) = the blob of channel c, normalised to a peak of 1
        want = x[0, :, :, cls] / x[0, :, :, cls].max()
        np.testing.assert_allclose(raw[0], x[0, :, :, cls] / 64 * 64, rtol=1e-6)
        np.testing.assert_allclose(maps[0], want, rtol=1e-6, atol=1e-7)
        assert target.tolist() == [cls]
    maps, _, target = grad_cam(model, xin, model[0])  # default target: the predicted class
    assert target.tolist() == [1]   # channel 1 sums to 12, channel 0 to 7
    with pytest.raises(ValueError, match="no layer named"):
        grad_cam(model, xin, "nope")


def test_grad_cam_upsamples_a_coarse_map_to_the_input():
    tinydl.manual_seed(0)
    model = nn.Sequential(nn.Conv2D(3, 3, strides=2, activation="relu", name="c1"), nn.Flatten(), nn.Dense(4))
    x = np.random.default_rng(0).random((2, 9, 9, 1)).astype(np.float32)
    maps, raw, _ = grad_cam(model, x, "c1")
    assert raw.shape == (2, 4, 4) and maps.shape == (2, 9, 9)
    assert maps.min() >= 0 and maps.max() <= 1 + 1e-6


def test_saliency_and_smoothgrad_of_a_linear_model_are_its_weights():
    tinydl.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Dense(3, activation="softmax"))
    x = np.random.default_rng(0).random((4, 2, 3)).astype(np.float32)
    model(tinydl.Tensor(x))
    w = model[1].kernel.detach().numpy()
    g, target = saliency(model, x, target=[0, 1, 2, 0])
    np.testing.assert_allclose(g.reshape(4, -1), w[:, [0, 1, 2, 0]].T, rtol=1e-6)  # the logits' gradient
    sg, _ = smoothgrad(model, x, target=2, n=4)
    np.testing.assert_allclose(sg.reshape(4, -1), np.repeat(w[:, 2][None], 4, 0), rtol=1e-5)
    model.train()
    saliency(model, x)
    assert model.training  # the mode is restored


def test_capture_attention_records_what_return_attention_scores_gives():
    from tinydl.nn.layers.transformer import TransformerBlock
    tinydl.manual_seed(0)
    block = TransformerBlock(8, 2)
    x = tinydl.Tensor(np.random.default_rng(0).standard_normal((2, 5, 8)).astype(np.float32))
    block.eval()
    want = block(x).detach().numpy()
    with capture_attention(block) as rec:
        got = block(x).detach().numpy()
    np.testing.assert_array_equal(got, want)
    (weights,) = rec.values()
    assert len(weights) == 1 and weights[0].shape == (2, 2, 5, 5)
    np.testing.assert_allclose(weights[0].sum(-1), 1, rtol=1e-5)
    ln = block.ln1(x)
    h = block.attn(ln, ln, return_attention_scores=True)[1].detach().numpy()
    np.testing.assert_allclose(weights[0], h, rtol=1e-6)  # the same matrices the layer returns
    assert "forward" not in block.attn.__dict__  # the recorder is gone afterwards


def test_render_helpers_give_images_the_png_writer_accepts(tmp_path):
    c = colormap(np.array([0.0, 0.5, 1.0]))
    assert c.shape == (3, 3) and c.min() >= 0 and c.max() <= 1
    assert c[0, 2] > c[0, 1] and c[2, 0] > 0.9   # dark purple-blue at 0, yellow at 1
    img = overlay(np.ones((4, 5)) * 0.5, np.linspace(0, 1, 20).reshape(4, 5), scale=3)
    assert img.shape == (12, 15, 3)
    hm = heatmap(np.eye(3), cell=4)
    assert hm.shape == (12, 12, 3)
    p = panel([img, img, img], ncol=2, gap=2)
    assert p.shape == (2 * 12 + 3 * 2, 2 * 15 + 3 * 2, 3)
    write_png(tmp_path / "p.png", p)
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="sequential"):
        colormap([0.5], kind="rainbow")
