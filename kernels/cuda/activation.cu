// Bias + activation, forward and backward, on arrays viewed as (R, C) with C the last axis.
// act: 0 linear, 1 relu, 2 sigmoid, 3 tanh (the codes in tinydl/backends/cuda.py).

template <typename T>
__device__ __forceinline__ T act_apply(T z, i64 act) {
    if (act == 1) return z <= (T)0 ? (T)0 : z;  // NaN stays NaN, as np.maximum(z, 0)
    if (act == 2) {  // exponentiate -|z| only: no overflow for any |z|
        if (z >= (T)0) return (T)1 / ((T)1 + tdl_exp(-z));
        const T e = tdl_exp(z);
        return e / ((T)1 + e);
    }
    if (act == 3) return tdl_tanh(z);
    return z;
}

// The derivative expressed through the forward OUTPUT y.
template <typename T>
__device__ __forceinline__ T act_grad(T y, T g, i64 act) {
    if (act == 1) return y > (T)0 ? g : (T)0;
    if (act == 2) return g * y * ((T)1 - y);
    if (act == 3) return g * ((T)1 - y * y);
    return g;
}

template <typename T>
__device__ __forceinline__ void bias_act_fwd_impl(const T* __restrict__ x,
                                                  const T* __restrict__ bias, T* __restrict__ y,
                                                  i64 total, i64 C, i64 act) {
    TDL_GRID_STRIDE(e, total) { y[e] = act_apply<T>(x[e] + bias[e % C], act); }
}

// Stage 1 of the backward, launched with blockDim (32, 8) and grid (ceil(C/32), n_chunks):
// writes gx and, per (row chunk, column), the partial bias gradient (summed in double) into
// partial (n_chunks, C).  Fixed summation order: deterministic.
#define TDL_BA_TX 32
#define TDL_BA_TY 8
template <typename T>
__device__ __forceinline__ void bias_act_bwd_partial_impl(const T* __restrict__ y,
                                                          const T* __restrict__ gy,
                                                          T* __restrict__ gx,
                                                          double* __restrict__ partial, i64 R,
                                                          i64 C, i64 rows_per_chunk, i64 act) {
    __shared__ double sm[TDL_BA_TY][TDL_BA_TX];
    const i64 col = (i64)blockIdx.x * TDL_BA_TX + threadIdx.x;
    const i64 chunk = blockIdx.y;
    const i64 r0 = chunk * rows_per_chunk;
    const i64 r1 = tdl_min(R, r0 + rows_per_chunk);
    double acc = 0.0;
    if (col < C) {
        for (i64 r = r0 + threadIdx.y; r < r1; r += TDL_BA_TY) {
            const i64 e = r * C + col;
            const T g = act_grad<T>(y[e], gy[e], act);
            gx[e] = g;
            acc += (double)g;
        }
    }
    sm[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && col < C) {
        double s = 0.0;
        for (int k = 0; k < TDL_BA_TY; ++k) s += sm[k][threadIdx.x];
        partial[chunk * C + col] = s;
    }
}

// Stage 2: gb[c] = sum over chunks of partial[chunk, c].
template <typename T>
__device__ __forceinline__ void bias_act_bwd_final_impl(const double* __restrict__ partial,
                                                        T* __restrict__ gb, i64 n_chunks, i64 C) {
    TDL_GRID_STRIDE(c, C) {
        double s = 0.0;
        for (i64 k = 0; k < n_chunks; ++k) s += partial[k * C + c];
        gb[c] = (T)s;
    }
}

extern "C" __global__ void bias_act_fwd_f32(const float* x, const float* bias, float* y,
                                            i64 total, i64 C, i64 act) {
    bias_act_fwd_impl<float>(x, bias, y, total, C, act);
}
extern "C" __global__ void bias_act_fwd_f64(const double* x, const double* bias, double* y,
                                            i64 total, i64 C, i64 act) {
    bias_act_fwd_impl<double>(x, bias, y, total, C, act);
}
extern "C" __global__ void bias_act_bwd_partial_f32(const float* y, const float* gy, float* gx,
                                                    double* partial, i64 R, i64 C,
                                                    i64 rows_per_chunk, i64 act) {
    bias_act_bwd_partial_impl<float>(y, gy, gx, partial, R, C, rows_per_chunk, act);
}
extern "C" __global__ void bias_act_bwd_partial_f64(const double* y, const double* gy, double* gx,
                                                    double* partial, i64 R, i64 C,
                                                    i64 rows_per_chunk, i64 act) {
    bias_act_bwd_partial_impl<double>(y, gy, gx, partial, R, C, rows_per_chunk, act);
}
extern "C" __global__ void bias_act_bwd_final_f32(const double* partial, float* gb, i64 n_chunks,
                                                  i64 C) {
    bias_act_bwd_final_impl<float>(partial, gb, n_chunks, C);
}
extern "C" __global__ void bias_act_bwd_final_f64(const double* partial, double* gb,
                                                  i64 n_chunks, i64 C) {
    bias_act_bwd_final_impl<double>(partial, gb, n_chunks, C);
}
