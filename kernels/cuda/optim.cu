// Fused multi-tensor optimizer steps: ONE launch updates every parameter of a list.
//
// The host (tinydl/backends/cuda.py) uploads one int64 table per call:
//   adam:  [p ptrs | g ptrs | m ptrs | v ptrs | sizes | chunk_tensor | chunk_start]
//   sgd:   [p ptrs | g ptrs | buf ptrs | sizes | chunk_tensor | chunk_start]
// each pointer/size row has n_tensors entries, each chunk row n_chunks entries.  Chunk k covers
// elements [chunk_start[k], min(chunk_start[k] + chunk, sizes[t])) of tensor t = chunk_tensor[k];
// blocks walk the chunks grid-stride, threads walk a chunk's elements.  Every element is
// touched by exactly one thread: no atomics, deterministic.

template <typename T>
__device__ __forceinline__ void adam_multi_impl(const long long* __restrict__ table, i64 nt,
                                                i64 nc, i64 chunk, double lr, double beta1,
                                                double beta2, double eps, double step_size,
                                                double bc2_sqrt, double wd, i64 decoupled) {
    const T b1 = (T)beta1, b2 = (T)beta2, one_m_b1 = (T)(1.0 - beta1), one_m_b2 = (T)(1.0 - beta2);
    const T eps_ = (T)eps, ss = (T)step_size, bc2s = (T)bc2_sqrt;
    const T l2 = decoupled ? (T)0 : (T)wd;             // Adam: g += wd * p
    const T shrink = decoupled ? (T)(1.0 - lr * wd) : (T)1;  // AdamW: p *= 1 - lr * wd
    const long long* sizes = table + 4 * nt;
    const long long* chunk_tensor = table + 5 * nt;
    const long long* chunk_start = table + 5 * nt + nc;
    for (i64 k = blockIdx.x; k < nc; k += gridDim.x) {
        const i64 t = chunk_tensor[k];
        const i64 start = chunk_start[k];
        const i64 end = tdl_min(start + chunk, sizes[t]);
        T* p = reinterpret_cast<T*>(table[t]);
        const T* g = reinterpret_cast<const T*>(table[nt + t]);
        T* m = reinterpret_cast<T*>(table[2 * nt + t]);
        T* v = reinterpret_cast<T*>(table[3 * nt + t]);
        for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) {
            T pi = p[i];
            const T gi = g[i] + l2 * pi;
            const T mi = b1 * m[i] + one_m_b1 * gi;
            const T vi = b2 * v[i] + one_m_b2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            pi = pi * shrink;
            p[i] = pi - ss * mi / (tdl_sqrt(vi) / bc2s + eps_);
        }
    }
}

template <typename T>
__device__ __forceinline__ void sgd_multi_impl(const long long* __restrict__ table, i64 nt,
                                               i64 nc, i64 chunk, double lr, double momentum,
                                               double wd, i64 nesterov) {
    const T lr_ = (T)lr, mu = (T)momentum, wd_ = (T)wd;
    const bool use_buf = momentum != 0.0;
    const long long* sizes = table + 3 * nt;
    const long long* chunk_tensor = table + 4 * nt;
    const long long* chunk_start = table + 4 * nt + nc;
    for (i64 k = blockIdx.x; k < nc; k += gridDim.x) {
        const i64 t = chunk_tensor[k];
        const i64 start = chunk_start[k];
        const i64 end = tdl_min(start + chunk, sizes[t]);
        T* p = reinterpret_cast<T*>(table[t]);
        const T* g = reinterpret_cast<const T*>(table[nt + t]);
        T* buf = reinterpret_cast<T*>(table[2 * nt + t]);
        for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) {
            const T pi = p[i];
            T d = g[i] + wd_ * pi;
            if (use_buf) {
                const T bi = mu * buf[i] + d;
                buf[i] = bi;
                d = nesterov ? d + mu * bi : bi;
            }
            p[i] = pi - lr_ * d;
        }
    }
}

#define TDL_ADAM_ARGS                                                                       \
    const long long *table, i64 nt, i64 nc, i64 chunk, double lr, double beta1, double beta2, \
        double eps, double step_size, double bc2_sqrt, double wd, i64 decoupled
#define TDL_ADAM_PASS table, nt, nc, chunk, lr, beta1, beta2, eps, step_size, bc2_sqrt, wd, decoupled
#define TDL_SGD_ARGS \
    const long long *table, i64 nt, i64 nc, i64 chunk, double lr, double momentum, double wd, \
        i64 nesterov
#define TDL_SGD_PASS table, nt, nc, chunk, lr, momentum, wd, nesterov

extern "C" __global__ void adam_multi_f32(TDL_ADAM_ARGS) { adam_multi_impl<float>(TDL_ADAM_PASS); }
extern "C" __global__ void adam_multi_f64(TDL_ADAM_ARGS) { adam_multi_impl<double>(TDL_ADAM_PASS); }
extern "C" __global__ void sgd_multi_f32(TDL_SGD_ARGS) { sgd_multi_impl<float>(TDL_SGD_PASS); }
extern "C" __global__ void sgd_multi_f64(TDL_SGD_ARGS) { sgd_multi_impl<double>(TDL_SGD_PASS); }
