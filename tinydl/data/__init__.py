"""Data for tinydl: IDX files, MNIST / Fashion-MNIST, mini-batching, augmentation and metrics.

Pure NumPy; importing it is cheap (the downloader's urllib is imported only when needed).

>>> import numpy as np
>>> from tinydl.data import DataLoader, Compose, RandomShift, accuracy
>>> x, y = np.zeros((10, 28, 28, 1), np.uint8), np.arange(10) % 2
>>> dl = DataLoader(x, y, batch_size=4, shuffle=True, seed=0, transform=RandomShift(2))
>>> len(dl), [xb.shape[0] for xb, _ in dl]
(3, [4, 4, 2])
>>> accuracy(y, y)
1.0
"""
from .augment import (Compose, RandomBrightness, RandomContrast, RandomCrop, RandomFlip,
                      RandomRotation, RandomShift, RandomZoom)
from .datasets import (CHECKSUMS, MIRRORS, ChecksumError, DatasetNotFoundError, default_cache_dir,
                       load_dataset, load_fashion_mnist, load_mnist)
from .idx import IDXError, read_idx, write_idx
from .loader import DataLoader
from .metrics import accuracy, confusion_matrix, f1, precision, psnr, recall, ssim
from .png import encode_png, image_grid, write_png

__all__ = [
    "read_idx", "write_idx", "IDXError",
    "load_mnist", "load_fashion_mnist", "load_dataset", "default_cache_dir",
    "ChecksumError", "DatasetNotFoundError", "MIRRORS", "CHECKSUMS",
    "DataLoader",
    "RandomShift", "RandomCrop", "RandomRotation", "RandomZoom", "RandomFlip",
    "RandomBrightness", "RandomContrast", "Compose",
    "accuracy", "confusion_matrix", "precision", "recall", "f1", "psnr", "ssim",
]
