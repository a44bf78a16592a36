// Max and average pooling on NHWC images.
//
// Window (i,j) covers input rows i*sh - pt + a (0 <= a < PH) and columns j*sw - pl + b
// (0 <= b < PW); positions outside the image are padding.  argmax (int32) holds the window
// offset a*PW + b of the chosen element (the convention of tinydl.backends.reference).

template <typename T>
__device__ __forceinline__ void maxpool_fwd_impl(const T* __restrict__ x, T* __restrict__ y,
                                                 int* __restrict__ argmax, i64 N, i64 H, i64 W,
                                                 i64 C, i64 PH, i64 PW, i64 sh, i64 sw, i64 pt,
                                                 i64 pl, i64 OH, i64 OW) {
    const i64 total = N * OH * OW * C;
    TDL_GRID_STRIDE(e, total) {
        i64 t = e;
        const i64 c = t % C; t /= C;
        const i64 j = t % OW; t /= OW;
        const i64 i = t % OH;
        const i64 n = t / OH;
        T best = tdl_neg_inf<T>();
        int arg = 0;  // a window of padding only keeps offset 0 (dropped by the backward)
        for (i64 a = 0; a < PH; ++a) {
            const i64 h = i * sh - pt + a;
            if (h < 0 || h >= H) continue;
            for (i64 b = 0; b < PW; ++b) {
                const i64 w = j * sw - pl + b;
                if (w < 0 || w >= W) continue;
                const T v = x[((n * H + h) * W + w) * C + c];
                if (v > best || (v != v && best == best)) {  // the first maximum (or NaN) wins
                    best = v;
                    arg = (int)(a * PW + b);
                }
            }
        }
        y[e] = best;
        argmax[e] = arg;
    }
}

// Gather: one thread per input element sums the gradients of the windows whose argmax names it.
template <typename T>
__device__ __forceinline__ void maxpool_bwd_impl(const T* __restrict__ gy,
                                                 const int* __restrict__ argmax,
                                                 T* __restrict__ gx, i64 N, i64 H, i64 W, i64 C,
                                                 i64 PH, i64 PW, i64 sh, i64 sw, i64 pt, i64 pl,
                                                 i64 OH, i64 OW) {
    const i64 total = N * H * W * C;
    TDL_GRID_STRIDE(e, total) {
        i64 t = e;
        const i64 c = t % C; t /= C;
        const i64 w = t % W; t /= W;
        const i64 h = t % H;
        const i64 n = t / H;
        const i64 i0 = tdl_ceil_div_nonneg(h + pt - PH + 1, sh);
        const i64 i1 = tdl_min(OH - 1, (h + pt) / sh);
        const i64 j0 = tdl_ceil_div_nonneg(w + pl - PW + 1, sw);
        const i64 j1 = tdl_min(OW - 1, (w + pl) / sw);
        T acc = (T)0;
        for (i64 i = i0; i <= i1; ++i) {
            const i64 a = h + pt - i * sh;
            for (i64 j = j0; j <= j1; ++j) {
                const i64 b = w + pl - j * sw;
                const i64 o = ((n * OH + i) * OW + j) * C + c;
                if ((i64)argmax[o] == a * PW + b) acc += gy[o];
            }
        }
        gx[e] = acc;
    }
}

// Number of in-bounds (non-padding) pixels of window (i,j).
__device__ __forceinline__ i64 avg_count(i64 i, i64 j, i64 H, i64 W, i64 PH, i64 PW, i64 sh,
                                         i64 sw, i64 pt, i64 pl) {
    const i64 h0 = tdl_max(i * sh - pt, 0), h1 = tdl_min(i * sh - pt + PH, H);
    const i64 w0 = tdl_max(j * sw - pl, 0), w1 = tdl_min(j * sw - pl + PW, W);
    return tdl_max(h1 - h0, 0) * tdl_max(w1 - w0, 0);
}

template <typename T>
__device__ __forceinline__ void avgpool_fwd_impl(const T* __restrict__ x, T* __restrict__ y,
                                                 i64 N, i64 H, i64 W, i64 C, i64 PH, i64 PW,
                                                 i64 sh, i64 sw, i64 pt, i64 pl, i64 OH, i64 OW) {
    const i64 total = N * OH * OW * C;
    TDL_GRID_STRIDE(e, total) {
        i64 t = e;
        const i64 c = t % C; t /= C;
        const i64 j = t % OW; t /= OW;
        const i64 i = t % OH;
        const i64 n = t / OH;
        const i64 h0 = tdl_max(i * sh - pt, 0), h1 = tdl_min(i * sh - pt + PH, H);
        const i64 w0 = tdl_max(j * sw - pl, 0), w1 = tdl_min(j * sw - pl + PW, W);
        T acc = (T)0;
        for (i64 h = h0; h < h1; ++h)
            for (i64 w = w0; w < w1; ++w) acc += x[((n * H + h) * W + w) * C + c];
        const i64 cnt = tdl_max(h1 - h0, 0) * tdl_max(w1 - w0, 0);
        y[e] = acc / (T)tdl_max(cnt, 1);  // a window of padding only averages to 0
    }
}

template <typename T>
__device__ __forceinline__ void avgpool_bwd_impl(const T* __restrict__ gy, T* __restrict__ gx,
                                                 i64 N, i64 H, i64 W, i64 C, i64 PH, i64 PW,
                                                 i64 sh, i64 sw, i64 pt, i64 pl, i64 OH, i64 OW) {
    const i64 total = N * H * W * C;
    TDL_GRID_STRIDE(e, total) {
        i64 t = e;
        const i64 c = t % C; t /= C;
        const i64 w = t % W; t /= W;
        const i64 h = t % H;
        const i64 n = t / H;
        const i64 i0 = tdl_ceil_div_nonneg(h + pt - PH + 1, sh);
        const i64 i1 = tdl_min(OH - 1, (h + pt) / sh);
        const i64 j0 = tdl_ceil_div_nonneg(w + pl - PW + 1, sw);
        const i64 j1 = tdl_min(OW - 1, (w + pl) / sw);
        T acc = (T)0;
        for (i64 i = i0; i <= i1; ++i) {
            for (i64 j = j0; j <= j1; ++j) {
                const i64 cnt = avg_count(i, j, H, W, PH, PW, sh, sw, pt, pl);
                acc += gy[((n * OH + i) * OW + j) * C + c] / (T)tdl_max(cnt, 1);
            }
        }
        gx[e] = acc;
    }
}

#define TDL_POOL_ARGS \
    i64 N, i64 H, i64 W, i64 C, i64 PH, i64 PW, i64 sh, i64 sw, i64 pt, i64 pl, i64 OH, i64 OW
#define TDL_POOL_PASS N, H, W, C, PH, PW, sh, sw, pt, pl, OH, OW

extern "C" __global__ void maxpool_fwd_nhwc_f32(const float* x, float* y, int* argmax,
                                                TDL_POOL_ARGS) {
    maxpool_fwd_impl<float>(x, y, argmax, TDL_POOL_PASS);
}
extern "C" __global__ void maxpool_fwd_nhwc_f64(const double* x, double* y, int* argmax,
                                                TDL_POOL_ARGS) {
    maxpool_fwd_impl<double>(x, y, argmax, TDL_POOL_PASS);
}
extern "C" __global__ void maxpool_bwd_nhwc_f32(const float* gy, const int* argmax, float* gx,
                                                TDL_POOL_ARGS) {
    maxpool_bwd_impl<float>(gy, argmax, gx, TDL_POOL_PASS);
}
extern "C" __global__ void maxpool_bwd_nhwc_f64(const double* gy, const int* argmax, double* gx,
                                                TDL_POOL_ARGS) {
    maxpool_bwd_impl<double>(gy, argmax, gx, TDL_POOL_PASS);
}
extern "C" __global__ void avgpool_fwd_nhwc_f32(const float* x, float* y, TDL_POOL_ARGS) {
    avgpool_fwd_impl<float>(x, y, TDL_POOL_PASS);
}
extern "C" __global__ void avgpool_fwd_nhwc_f64(const double* x, double* y, TDL_POOL_ARGS) {
    avgpool_fwd_impl<double>(x, y, TDL_POOL_PASS);
}
extern "C" __global__ void avgpool_bwd_nhwc_f32(const float* gy, float* gx, TDL_POOL_ARGS) {
    avgpool_bwd_impl<float>(gy, gx, TDL_POOL_PASS);
}
extern "C" __global__ void avgpool_bwd_nhwc_f64(const double* gy, double* gx, TDL_POOL_ARGS) {
    avgpool_bwd_impl<double>(gy, gx, TDL_POOL_PASS);
}
