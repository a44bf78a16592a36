"""Float64 row sums for the row kernels (layer norm, softmax), in four interleaved partial sums.

One running sum is a chain of dependent additions that LLVM may not reorder without fastmath:
a 128-wide row then costs 128 addition latencies.  Four partial sums (added pairwise at the end)
break the chain; the order differs from a sequential sum by float64 rounding only.
"""
import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def sum64(a):
    """``sum(a)`` of a 1-d array, accumulated in float64."""
    n = a.shape[0]
    n4 = n - n % 4
    s0 = s1 = s2 = s3 = 0.0
    for j in range(0, n4, 4):
        s0 += np.float64(a[j])
        s1 += np.float64(a[j + 1])
        s2 += np.float64(a[j + 2])
        s3 += np.float64(a[j + 3])
    s = (s0 + s1) + (s2 + s3)
    for j in range(n4, n):
        s += np.float64(a[j])
    return s


@njit(cache=True, inline="always")
def dot64(a, b):
    """``sum(a * b)`` of two 1-d arrays of one length, the products and the sum in float64."""
    n = a.shape[0]
    n4 = n - n % 4
    s0 = s1 = s2 = s3 = 0.0
    for j in range(0, n4, 4):
        s0 += np.float64(a[j]) * b[j]
        s1 += np.float64(a[j + 1]) * b[j + 1]
        s2 += np.float64(a[j + 2]) * b[j + 2]
        s3 += np.float64(a[j + 3]) * b[j + 3]
    s = (s0 + s1) + (s2 + s3)
    for j in range(n4, n):
        s += np.float64(a[j]) * b[j]
    return s


@njit(cache=True, inline="always")
def centered_sq64(a, mu):
    """``sum((a - mu)^2)`` of a 1-d array, in float64 (``mu`` a float64)."""
    n = a.shape[0]
    n4 = n - n % 4
    s0 = s1 = s2 = s3 = 0.0
    for j in range(0, n4, 4):
        c0 = np.float64(a[j]) - mu
        c1 = np.float64(a[j + 1]) - mu
        c2 = np.float64(a[j + 2]) - mu
        c3 = np.float64(a[j + 3]) - mu
        s0 += c0 * c0
        s1 += c1 * c1
        s2 += c2 * c2
        s3 += c3 * c3
    s = (s0 + s1) + (s2 + s3)
    for j in range(n4, n):
        c = np.float64(a[j]) - mu
        s += c * c
    return s
