// Shared device helpers for tinydl's CUDA kernels.
//
// tinydl/backends/cuda.py prepends this file to every other .cu file of this folder before
// compiling it (CuPy RawModule / NVRTC), so the helpers are defined once.  It compiles on its
// own too.  No #include anywhere: NVRTC ships no standard headers; the math functions
// (expf, exp, tanhf, ...) and bit-cast intrinsics used here are built into NVRTC and nvcc alike.
#ifndef TINYDL_COMMON_CU
#define TINYDL_COMMON_CU

typedef long long i64;

// for (i64 i = global thread id; i < n; i += total threads), 64-bit throughout
#define TDL_GRID_STRIDE(i, n)                                                       \
    for (i64 i = (i64)blockIdx.x * (i64)blockDim.x + (i64)threadIdx.x; i < (n);    \
         i += (i64)blockDim.x * (i64)gridDim.x)

__device__ __forceinline__ i64 tdl_min(i64 a, i64 b) { return a < b ? a : b; }
__device__ __forceinline__ i64 tdl_max(i64 a, i64 b) { return a > b ? a : b; }

// First window index i >= 0 with i*s >= v (v may be negative, s >= 1).
__device__ __forceinline__ i64 tdl_ceil_div_nonneg(i64 v, i64 s) {
    return v <= 0 ? 0 : (v + s - 1) / s;
}

// float / double overloads of the few math functions the kernels use
__device__ __forceinline__ float tdl_exp(float x) { return expf(x); }
__device__ __forceinline__ double tdl_exp(double x) { return exp(x); }
__device__ __forceinline__ float tdl_log(float x) { return logf(x); }
__device__ __forceinline__ double tdl_log(double x) { return log(x); }
__device__ __forceinline__ float tdl_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double tdl_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float tdl_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double tdl_sqrt(double x) { return sqrt(x); }

template <typename T> __device__ __forceinline__ T tdl_neg_inf();
template <> __device__ __forceinline__ float tdl_neg_inf<float>() {
    return __int_as_float((int)0xff800000u);
}
template <> __device__ __forceinline__ double tdl_neg_inf<double>() {
    return __longlong_as_double((long long)0xfff0000000000000ull);
}

#endif  // TINYDL_COMMON_CU
