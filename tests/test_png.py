"""tinydl.data.png: the PNG writer round-trips through an independent decoder; grids and plots."""
import struct
import zlib

import numpy as np
import pytest

from tinydl.data.png import encode_png, image_grid, plot_lines, to_uint8, write_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode_png(data):
    """A minimal decoder for 8-bit, non-interlaced PNGs (all five scanline filters), written from
    the PNG specification; it checks every chunk's CRC. Returns (array, colour_type)."""
    assert data[:8] == PNG_SIGNATURE
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, payload = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + payload) & 0xFFFFFFFF, f"bad CRC in {kind!r}"
        chunks.append((kind, payload))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    w, h, depth, ctype, comp, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, comp, filt, interlace) == (8, 0, 0, 0)
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(b"".join(p for k, p in chunks if k == b"IDAT"))
    stride = w * channels
    assert len(raw) == h * (stride + 1)
    out = np.zeros((h, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        ftype = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        for i in range(stride):
            a = cur[i - channels] if i >= channels else 0
            b, c = prev[i], (prev[i - channels] if i >= channels else 0)
            if ftype == 0:
                pred = 0
            elif ftype == 1:
                pred = a
            elif ftype == 2:
                pred = b
            elif ftype == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[i] = (line[i] + pred) & 0xFF
        out[y], prev = cur, cur
    img = out.astype(np.uint8).reshape(h, w, channels)
    return (img[..., 0] if channels == 1 else img), ctype


@pytest.mark.parametrize("shape,ctype", [((7, 5), 0), ((6, 4, 1), 0), ((5, 9, 3), 2), ((3, 4, 4), 6)])
def test_round_trip_uint8(tmp_path, shape, ctype):
    img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    path = tmp_path / "x.png"
    write_png(str(path), img)
    decoded, got_type = decode_png(path.read_bytes())
    assert got_type == ctype
    np.testing.assert_array_equal(decoded, img[..., 0] if shape[-1:] == (1,) else img)


def test_float_input_is_scaled_from_0_1_and_clipped():
    img = np.array([[0.0, 0.5, 1.0, -0.3, 1.7]], np.float32)
    decoded, _ = decode_png(encode_png(img))
    np.testing.assert_array_equal(decoded, [[0, 128, 255, 0, 255]])
    np.testing.assert_array_equal(to_uint8(np.array([True, False])), [255, 0])


@pytest.mark.parametrize("bad", [np.zeros((2, 3, 2)), np.zeros((4,)), np.zeros((0, 3)), np.zeros((2, 2, 2, 3))])
def test_bad_shapes_raise(bad):
    with pytest.raises(ValueError, match="write_png"):
        encode_png(bad)


def test_grid_shape_and_placement():
    imgs = np.stack([np.full((4, 3), i / 10, np.float32) for i in range(7)])  # values in [0, 1]
    grid = image_grid(imgs, nrow=3, padding=1, pad_value=1.0)
    assert grid.shape == (3 * (4 + 1) + 1, 3 * (3 + 1) + 1)
    # image 4 is in row 1, column 1; its top-left pixel is at (1 + 5, 1 + 4)
    np.testing.assert_allclose(grid[6:10, 5:8], 0.4)
    np.testing.assert_allclose(grid[0], 1.0)             # the padding
    np.testing.assert_allclose(grid[11:15, 5:12], 1.0)   # the two empty slots of the last row


def test_grid_value_ranges_and_channels():
    x = np.array([[[-1.0, 0.0], [1.0, 0.5]]], np.float32)     # negative -> read as [-1, 1]
    np.testing.assert_allclose(image_grid(x, padding=0), [[0.0, 0.5], [1.0, 0.75]])
    u8 = np.array([[[0, 255]]], np.uint8)
    np.testing.assert_allclose(image_grid(u8, padding=0), [[0.0, 1.0]])
    rgb = np.zeros((5, 2, 2, 3), np.float32)
    assert image_grid(rgb, nrow=2, padding=2).shape == (3 * 4 + 2, 2 * 4 + 2, 3)
    assert image_grid(np.zeros((3, 2, 2)), nrow=10, padding=0).shape == (2, 6)  # nrow capped at N
    with pytest.raises(ValueError, match="image_grid"):
        image_grid(np.zeros((2, 3, 3, 2)))
    with pytest.raises(ValueError, match="value_range"):
        image_grid(np.zeros((1, 2, 2)), value_range=(1, 1))


def test_grid_of_a_tensor_writes(tmp_path):
    import tinydl
    t = tinydl.Tensor(np.linspace(-1, 1, 2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3))
    grid = image_grid(t, nrow=2, padding=1)
    write_png(str(tmp_path / "g.png"), grid)
    decoded, _ = decode_png((tmp_path / "g.png").read_bytes())
    assert decoded.shape == (5, 9)
    assert decoded[1, 1] == 0 and decoded[3, 7] == 255


def test_plot_lines_draws_each_series():
    y1, y2 = np.linspace(0, 1, 50), np.linspace(1, 0, 50)
    img = plot_lines({"a": y1, "b": y2}, width=200, height=120, title="t", smooth=5)
    assert img.shape == (120, 200, 3) and img.dtype == np.uint8
    blue, orange = np.array([31, 119, 180]), np.array([255, 127, 14])
    assert (img == blue).all(-1).sum() > 100 and (img == orange).all(-1).sum() > 100
    decoded, _ = decode_png(encode_png(img))
    np.testing.assert_array_equal(decoded, img)
    with pytest.raises(ValueError, match="plot_lines"):
        plot_lines({"empty": []})


def test_module_docstring_example():
    import doctest
    import tinydl.data.png as png
    result = doctest.testmod(png)
    assert result.attempted > 0 and result.failed == 0
