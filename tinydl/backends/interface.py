"""The kernel-provider interface: every kernel-level function an op, layer or optimizer may call.

A provider is one module of ``tinydl.backends`` (``reference``, ``numba_cpu``, ``cuda``) that
defines these functions with these signatures and contracts.  A provider that has no kernel of
its own for a function names it in its module-level tuple ``DELEGATED``; :func:`bind` then takes
the reference's function instead.  That is the one place where a missing kernel falls back to the
reference, and :func:`tinydl.backends.provider_for` (which calls :func:`bind` once per provider)
is the one place that decides which provider runs, ``use_reference()`` included.

Conventions shared by every function (see ``reference.py`` for the details): images are
channels-last ``(N, H, W, C)``; convolution kernels ``(KH, KW, C_in, C_out)``; ``stride``,
``dilation`` and ``pool`` are pairs ``(along H, along W)``; ``padding`` is
``((top, bottom), (left, right))``; float32 and float64 are supported and outputs keep the dtype
of the main input; ``act`` is one of ``activations.KERNEL_ACTIVATIONS``.  Arrays are NumPy
arrays on the CPU providers and CuPy arrays on ``cuda``; a provider never moves data between
devices.  Results of two providers agree up to float rounding (``tests/test_kernels_agree.py``,
``tests/test_provider_agree.py``, ``tests/test_cuda_kernels.py``).
"""


class KernelProvider:
    """The functions every provider offers (or delegates to the reference).  The methods here are
    the contracts only; :func:`bind` builds the object that ops receive."""

    name = "abstract"

    # ------------------------------------------------------------------ convolution
    def conv2d_forward(self, x, w, stride, padding, dilation):
        """Cross-correlation without bias: ``x (N,H,W,C)``, ``w (KH,KW,C,O)`` -> ``y (N,OH,OW,O)``.
        ``OH = (H + pt + pb - dh*(KH-1) - 1) // sh + 1``; no output position raises ValueError."""
        raise NotImplementedError

    def conv2d_backward(self, x, w, gy, stride, padding, dilation, need_gx=True, need_gw=True, x_shape=None):
        """``(gx, gw)`` of :meth:`conv2d_forward`, ``None`` for what is not needed.  ``x`` may be
        ``None`` when only ``gx`` is wanted (then pass ``x_shape``): this is also the forward of a
        transposed convolution.  Outputs take ``gy``'s dtype."""
        raise NotImplementedError

    def conv2d_bias_act_forward(self, x, w, b, act, stride, padding, dilation):
        """``bias_act_forward(conv2d_forward(x, w, ...), b, act)``; a fast provider fuses the bias
        and activation into the convolution so the pre-activation array is never made."""
        raise NotImplementedError

    def conv2d_bias_act_backward(self, x, w, y, gy, act, stride, padding, dilation,
                                 need_gx=True, need_gw=True, need_gb=True, x_shape=None):
        """``(gx, gw, gb)`` of :meth:`conv2d_bias_act_forward` from its output ``y``: equal to
        ``bias_act_backward`` followed by ``conv2d_backward``; ``None`` for what is not needed."""
        raise NotImplementedError

    # ------------------------------------------------------------------ pooling
    def maxpool2d_forward(self, x, pool, stride, padding):
        """``(y, argmax)``, both ``(N, OH, OW, C)``; padding is ``-inf``; ``argmax`` (int32) is the
        offset ``a*PW + b`` of the chosen element inside its window; ties go to the first."""
        raise NotImplementedError

    def maxpool2d_backward(self, gy, argmax, x_shape, pool, stride, padding):
        """Route each output gradient to the input pixel ``argmax`` names; overlaps add up."""
        raise NotImplementedError

    def avgpool2d_forward(self, x, pool, stride, padding):
        """Mean over each window's in-bounds pixels (padding is not counted; all-padding -> 0)."""
        raise NotImplementedError

    def avgpool2d_backward(self, gy, x_shape, pool, stride, padding):
        """Each output gradient, divided by its window's count, to every in-bounds pixel of it."""
        raise NotImplementedError

    # ------------------------------------------------------------------ element-wise
    def bias_act_forward(self, x, b, act):
        """``act(x + b)`` with ``x (..., C)``, ``b (C,)``."""
        raise NotImplementedError

    def bias_act_backward(self, y, gy, act):
        """``(gx, gb)`` from the forward OUTPUT ``y``; ``gb`` sums over all leading axes."""
        raise NotImplementedError

    def gelu_tanh_forward(self, x):
        """``(y, t)``: ``y = 0.5 x (1 + t)`` with ``t = tanh(sqrt(2/pi) (x + 0.044715 x^3))``
        (GPT-2's GELU); ``t`` is saved for the backward.  Same shape and dtype as ``x``."""
        raise NotImplementedError

    def gelu_tanh_backward(self, x, t, g):
        """The input gradient of :meth:`gelu_tanh_forward` for the upstream ``g``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ losses
    def softmax_xent_forward(self, logits, labels):
        """``(loss (N,), probs (N, K))``: ``loss = logsumexp(logits) - logits[label]``, finite
        for logits of any magnitude.  CPU providers refuse labels outside ``[0, K)``."""
        raise NotImplementedError

    def softmax_xent_backward(self, probs, labels, gloss):
        """``(probs - onehot(labels)) * gloss[:, None]`` in ``probs``' dtype."""
        raise NotImplementedError

    # ------------------------------------------------------------------ normalization
    def layernorm_forward(self, x, gamma, beta, eps):
        """Layer normalization over the last axis of ``x``: ``(y, mean, rstd)`` with
        ``y = (x - mean) * rstd * gamma + beta`` (biased variance), ``gamma``/``beta`` ``(D,)``
        of ``x``'s dtype; ``mean``/``rstd`` are what the backward needs, one per row, in a dtype
        the provider chooses (the backward takes them back unchanged)."""
        raise NotImplementedError

    def layernorm_backward(self, x, g, gamma, mean, rstd, want_dx=True):
        """``(dx, dgamma, dbeta)`` of :meth:`layernorm_forward`: ``dx`` like ``x`` (``None``
        unless ``want_dx``), ``dgamma``/``dbeta`` ``(D,)`` in ``x``'s dtype."""
        raise NotImplementedError

    # ------------------------------------------------------------------ attention softmax
    def masked_softmax_forward(self, s, keep):
        """Softmax of ``s`` over the last axis restricted to the boolean ``keep`` (broadcastable to
        ``s``; True = included): ``exp(s - m)`` over kept entries (excluded ones exactly 0), ``m``
        the row's maximum over kept entries, or 0 where that is not finite (NaN, +-inf); each row
        divided by its sum, or by 1 where the sum is not positive (nothing kept, NaN)."""
        raise NotImplementedError

    def softmax_backward(self, y, g):
        """The input gradient of a softmax over the last axis from its output ``y``:
        ``y * (g - sum(g * y, last axis))``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ embedding
    def embedding_backward(self, g, ids, num_rows, padding_idx=None):
        """The table gradient of ``table[ids]``: a zero ``(num_rows, D)`` array into which each
        row of ``g (..., D)`` is added at its id (repeated ids accumulate); the ``padding_idx``
        row stays zero."""
        raise NotImplementedError

    # ------------------------------------------------------------------ recurrent scans
    # Time-major arrays; ``xs`` holds the input projections (bias included) of every step.
    def rnn_scan_forward(self, xs, u, h0, act):
        """``h_t = act(xs[t] + h_{t-1} @ u)``: every ``h_t``, ``(T, N, H)``."""
        raise NotImplementedError

    def rnn_scan_backward(self, g, u, h0, hs, act, need_du=True):
        """``(dxs, du, dh0)`` of :meth:`rnn_scan_forward` (``du`` None unless ``need_du``)."""
        raise NotImplementedError

    def lstm_scan_forward(self, xs, u, h0, c0, act, ract):
        """The LSTM recurrence, gates ``i, f, g, o`` in ``xs (T, N, 4H)``'s columns:
        ``(out, gates, tcs)``: ``out (T, N, 2H)`` holds ``[h_t | c_t]``, ``gates`` the gate
        activations and ``tcs`` ``act(c_t)``, both saved for the backward."""
        raise NotImplementedError

    def lstm_scan_backward(self, g, u, h0, c0, out, gates, tcs, act, ract, need_du=True):
        """``(dxs, du, dh0, dc0)`` of :meth:`lstm_scan_forward` for ``g`` shaped like ``out``."""
        raise NotImplementedError

    def gru_scan_forward(self, xs, u, b, h0, act, ract):
        """The GRU recurrence with the reset gate after the matmul, gates ``z, r, h``:
        ``hp = h @ u + b``; ``z, r = ract(xs[:2H] + hp[:2H])``; ``n = act(xs[2H:] + r*hp[2H:])``;
        ``h = z*h + (1-z)*n``.  Returns ``(hs, zr, cand, hph)`` (the last three are saved)."""
        raise NotImplementedError

    def gru_scan_backward(self, g, u, h0, hs, zr, cand, hph, act, ract, need_du=True, need_db=True):
        """``(dxs, du, db, dh0)`` of :meth:`gru_scan_forward`."""
        raise NotImplementedError

    # ------------------------------------------------------------------ fused optimizer updates
    def adam_step(self, params, grads, ms, vs, lr, beta1, beta2, eps, step, weight_decay=0.0,
                  decoupled=False):
        """One Adam (``decoupled``: AdamW) step on lists of arrays, in place.  ``step`` is 1-based.
        ``g += wd*p`` (Adam); ``m += (1-b1) (g - m)`` (PyTorch's ``lerp_``; the CUDA
        kernel's ``b1 m + (1-b1) g`` is equal up to rounding); ``v = b2 v + (1-b2) g^2``; ``p *= 1 - lr wd``
        (AdamW); ``p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)``.  Grad ``None``: skipped."""
        raise NotImplementedError

    def sgd_step(self, params, grads, bufs, lr, momentum, nesterov, weight_decay):
        """One SGD step on lists of arrays, in place: ``d = g + wd p``; with momentum
        ``buf = momentum buf + d`` and ``d = d + momentum buf`` (Nesterov) or ``buf``;
        ``p -= lr d``.  ``bufs`` may be ``None`` when ``momentum == 0``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ int8 inference
    # Symmetric quantization, zero point 0: q = clip(rint(x / scale), -127, 127).  Weights are
    # packed as (O, K) int8 rows (a conv kernel (KH, KW, C, O) becomes (O, KH*KW*C)).
    def quantize_int8(self, x, scale):
        """``clip(rint(x * float32(1/scale)), -127, 127)`` as int8, computed in float32; ``scale``
        a positive Python float.  Providers agree exactly."""
        raise NotImplementedError

    def int8_matmul(self, a, w):
        """``a (M, K) int8`` times ``w (O, K) int8`` transposed -> ``(M, O)`` int32, exact
        (products summed in int32: exact for K < 131,072, where 128 * 128 * K < 2**31)."""
        raise NotImplementedError

    def int8_conv2d(self, x, w, kernel_hw, stride, padding, dilation):
        """Cross-correlation of int8 NHWC ``x`` with packed int8 filters ``w (O, KH*KW*C)``
        (row order ``(a, b, c)`` as the float kernel's) -> int32 ``(N, OH, OW, O)``, exact; zero
        padding (the zero point)."""
        raise NotImplementedError

    def dequantize_bias_act(self, acc, scale, bias, act):
        """``act(float32(acc) * scale + bias)`` over the last axis, float32; ``scale``, ``bias``
        ``(O,)`` float32; ``act`` 'linear' or 'relu'."""
        raise NotImplementedError

    def int8_matmul_bias_act(self, a, w, scale, bias, act):
        """``dequantize_bias_act(int8_matmul(a, w), scale, bias, act)``, float32 ``(M, O)``
        (a provider may skip the int32 array)."""
        raise NotImplementedError

    def int8_conv2d_bias_act(self, x, w, kernel_hw, stride, padding, dilation, scale, bias, act):
        """``dequantize_bias_act(int8_conv2d(x, w, ...), scale, bias, act)``, float32 NHWC
        (a provider may skip the int32 array)."""
        raise NotImplementedError

    def int8_conv2d_requant(self, x, w, kernel_hw, stride, padding, dilation, scale, bias, act, out_scale,
                            pool_size, pool_stride):
        """``quantize_int8(maxpool2d_forward(int8_conv2d_bias_act(...), pool_size, pool_stride, 0)[0],
        out_scale)``: int8 NHWC on the next layer's input grid; pool (1, 1) for none.  Providers
        agree exactly (``act`` is non-decreasing, so a provider may pool the int32 sums)."""
        raise NotImplementedError


#: The names of the interface's functions, in the order above.
FUNCTIONS = tuple(n for n, v in vars(KernelProvider).items() if callable(v) and not n.startswith("_"))


class BoundProvider(KernelProvider):
    """A provider module seen through the interface: each function is the module's own or, when
    the module lists it in ``DELEGATED``, the reference's."""

    def __init__(self, module, reference=None):
        self.name = module.__name__
        self.module = module
        delegated = tuple(getattr(module, "DELEGATED", ()))
        unknown = [f for f in delegated if f not in FUNCTIONS]
        if unknown:
            raise TypeError(f"{self.name}: DELEGATED names {unknown}, which are not in the interface")
        self.delegated = frozenset(delegated)
        for fname in FUNCTIONS:
            own = getattr(module, fname, None)
            if fname in self.delegated:
                if own is not None:
                    raise TypeError(f"{self.name}: {fname} is defined and also listed in DELEGATED")
                if reference is None:
                    raise TypeError(f"{self.name}: delegates {fname} but there is no reference to delegate to")
                own = getattr(reference.module, fname)
            elif own is None:
                raise TypeError(f"{self.name} neither defines {fname} nor lists it in DELEGATED")
            setattr(self, fname, own)  # the instance attribute shadows the contract method

    def __repr__(self):
        return f"<kernel provider {self.name}>"


def bind(module, reference=None):
    """The :class:`BoundProvider` of a provider module (``reference``: the bound reference)."""
    return BoundProvider(module, reference)


def compose_conv2d_bias_act(conv2d_forward, conv2d_backward, bias_act_forward, bias_act_backward):
    """``(conv2d_bias_act_forward, conv2d_bias_act_backward)`` built from a provider's own
    primitives, for a provider with no fused kernel: the convolution, then the bias + activation;
    backward the activation's (from the output ``y``), then the convolution's."""

    def conv2d_bias_act_forward(x, w, b, act, stride, padding, dilation):
        return bias_act_forward(conv2d_forward(x, w, stride, padding, dilation), b, act)

    def conv2d_bias_act_backward(x, w, y, gy, act, stride, padding, dilation,
                                 need_gx=True, need_gw=True, need_gb=True, x_shape=None):
        g, gb = bias_act_backward(y, gy, act)
        gx, gw = conv2d_backward(x, w, g, stride, padding, dilation, need_gx, need_gw, x_shape)
        return gx, gw, (gb if need_gb else None)

    return conv2d_bias_act_forward, conv2d_bias_act_backward
