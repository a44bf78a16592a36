// im2col / col2im for NHWC convolution (cross-correlation).
//
// Geometry (all i64): x (N,H,W,C); kernel (KH,KW); stride (sh,sw); top/left padding (pt,pl);
// dilation (dh,dw); output (OH,OW).  Output pixel (i,j), tap (a,b) reads input
//     h = i*sh - pt + a*dh,   w = j*sw - pl + b*dw        (zero outside the image).
// cols is (N*OH*OW, KH*KW*C), row = output pixel, column = (a, b, c) row-major.

template <typename T>
__device__ __forceinline__ void im2col_impl(const T* __restrict__ x, T* __restrict__ cols,
                                            i64 N, i64 H, i64 W, i64 C, i64 KH, i64 KW,
                                            i64 sh, i64 sw, i64 pt, i64 pl, i64 dh, i64 dw,
                                            i64 OH, i64 OW) {
    const i64 total = N * OH * OW * KH * KW * C;
    TDL_GRID_STRIDE(e, total) {
        i64 t = e;
        const i64 c = t % C; t /= C;
        const i64 b = t % KW; t /= KW;
        const i64 a = t % KH; t /= KH;
        const i64 j = t % OW; t /= OW;
        const i64 i = t % OH;
        const i64 n = t / OH;
        const i64 h = i * sh - pt + a * dh;
        const i64 w = j * sw - pl + b * dw;
        T v = (T)0;
        if (h >= 0 && h < H && w >= 0 && w < W) v = x[((n * H + h) * W + w) * C + c];
        cols[e] = v;
    }
}

// One thread per input element gathers every column entry that read it: deterministic, no atomics.
// Input positions no window reaches get 0 (the whole gx is written).
template <typename T>
__device__ __forceinline__ void col2im_impl(const T* __restrict__ gcols, T* __restrict__ gx,
                                            i64 N, i64 H, i64 W, i64 C, i64 KH, i64 KW,
                                            i64 sh, i64 sw, i64 pt, i64 pl, i64 dh, i64 dw,
                                            i64 OH, i64 OW) {
    const i64 total = N * H * W * C;
    TDL_GRID_STRIDE(e, total) {
        i64 t = e;
        const i64 c = t % C; t /= C;
        const i64 w = t % W; t /= W;
        const i64 h = t % H;
        const i64 n = t / H;
        T acc = (T)0;
        for (i64 a = 0; a < KH; ++a) {
            const i64 hp = h + pt - a * dh;  // = i*sh
            if (hp < 0 || hp % sh != 0) continue;
            const i64 i = hp / sh;
            if (i >= OH) continue;
            for (i64 b = 0; b < KW; ++b) {
                const i64 wp = w + pl - b * dw;  // = j*sw
                if (wp < 0 || wp % sw != 0) continue;
                const i64 j = wp / sw;
                if (j >= OW) continue;
                acc += gcols[((((n * OH + i) * OW + j) * KH + a) * KW + b) * C + c];
            }
        }
        gx[e] = acc;
    }
}

#define TDL_CONV_ARGS                                                                   \
    i64 N, i64 H, i64 W, i64 C, i64 KH, i64 KW, i64 sh, i64 sw, i64 pt, i64 pl, i64 dh, \
        i64 dw, i64 OH, i64 OW
#define TDL_CONV_PASS N, H, W, C, KH, KW, sh, sw, pt, pl, dh, dw, OH, OW

extern "C" __global__ void im2col_nhwc_f32(const float* x, float* cols, TDL_CONV_ARGS) {
    im2col_impl<float>(x, cols, TDL_CONV_PASS);
}
extern "C" __global__ void im2col_nhwc_f64(const double* x, double* cols, TDL_CONV_ARGS) {
    im2col_impl<double>(x, cols, TDL_CONV_PASS);
}
extern "C" __global__ void col2im_nhwc_f32(const float* gcols, float* gx, TDL_CONV_ARGS) {
    col2im_impl<float>(gcols, gx, TDL_CONV_PASS);
}
extern "C" __global__ void col2im_nhwc_f64(const double* gcols, double* gx, TDL_CONV_ARGS) {
    col2im_impl<double>(gcols, gx, TDL_CONV_PASS);
}
