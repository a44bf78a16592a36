// Softmax cross-entropy on logits (N, K) with int64 labels (N,).
//
// Forward: one block per row (grid-stride over rows); blockDim is a power of two <= 256.
// loss[r] = log(sum_k exp(z_k - max)) - (z_label - max); probs = exp(z - max) / sum.
// A label outside [0, K) gives loss NaN (the caller is not synchronised to check it).

#define TDL_SX_MAX_THREADS 256

template <typename T>
__device__ __forceinline__ void softmax_xent_fwd_impl(const T* __restrict__ logits,
                                                      const long long* __restrict__ labels,
                                                      T* __restrict__ loss, T* __restrict__ probs,
                                                      i64 N, i64 K) {
    __shared__ T sm[TDL_SX_MAX_THREADS];
    const int tid = threadIdx.x;
    const int nt = blockDim.x;
    for (i64 r = blockIdx.x; r < N; r += gridDim.x) {
        const T* z = logits + r * K;
        T* p = probs + r * K;
        // row maximum
        T m = tdl_neg_inf<T>();
        for (i64 k = tid; k < K; k += nt) m = z[k] > m ? z[k] : m;
        sm[tid] = m;
        __syncthreads();
        for (int s = nt / 2; s > 0; s >>= 1) {
            if (tid < s) sm[tid] = sm[tid + s] > sm[tid] ? sm[tid + s] : sm[tid];
            __syncthreads();
        }
        m = sm[0];
        __syncthreads();
        // sum of exponentials (exp(z - m) kept in probs for the normalisation pass)
        T s_loc = (T)0;
        for (i64 k = tid; k < K; k += nt) {
            const T ev = tdl_exp(z[k] - m);
            p[k] = ev;
            s_loc += ev;
        }
        sm[tid] = s_loc;
        __syncthreads();
        for (int s = nt / 2; s > 0; s >>= 1) {
            if (tid < s) sm[tid] += sm[tid + s];
            __syncthreads();
        }
        const T total = sm[0];
        __syncthreads();  // sm is reused by the next row
        const T inv = (T)1 / total;
        for (i64 k = tid; k < K; k += nt) p[k] = p[k] * inv;
        if (tid == 0) {
            const long long lab = labels[r];
            if (lab >= 0 && lab < K) {
                loss[r] = tdl_log(total) - (z[lab] - m);
            } else {
                loss[r] = tdl_neg_inf<T>() - tdl_neg_inf<T>();  // NaN
            }
        }
    }
}

// glogits = (probs - onehot(labels)) * gloss[:, None], one thread per element.
template <typename T>
__device__ __forceinline__ void softmax_xent_bwd_impl(const T* __restrict__ probs,
                                                      const long long* __restrict__ labels,
                                                      const T* __restrict__ gloss,
                                                      T* __restrict__ g, i64 N, i64 K) {
    const i64 total = N * K;
    TDL_GRID_STRIDE(e, total) {
        const i64 r = e / K;
        const i64 k = e - r * K;
        const T hot = (labels[r] == k) ? (T)1 : (T)0;
        g[e] = (probs[e] - hot) * gloss[r];
    }
}

extern "C" __global__ void softmax_xent_fwd_f32(const float* logits, const long long* labels,
                                                float* loss, float* probs, i64 N, i64 K) {
    softmax_xent_fwd_impl<float>(logits, labels, loss, probs, N, K);
}
extern "C" __global__ void softmax_xent_fwd_f64(const double* logits, const long long* labels,
                                                double* loss, double* probs, i64 N, i64 K) {
    softmax_xent_fwd_impl<double>(logits, labels, loss, probs, N, K);
}
extern "C" __global__ void softmax_xent_bwd_f32(const float* probs, const long long* labels,
                                                const float* gloss, float* g, i64 N, i64 K) {
    softmax_xent_bwd_impl<float>(probs, labels, gloss, g, N, K);
}
extern "C" __global__ void softmax_xent_bwd_f64(const double* probs, const long long* labels,
                                                const double* gloss, double* g, i64 N, i64 K) {
    softmax_xent_bwd_impl<double>(probs, labels, gloss, g, N, K);
}
