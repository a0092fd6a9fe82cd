"""A few kernels' arithmetic as NumPy calls, for work too small to be worth starting numba.

A process pays numba's start-up once, on its first kernel call: its import and target set-up,
about 0.3 s on an idle machine here, and over 1 s on days the machine ran slower. The book's shortest
scripts (chapters 1 and 3) train for under a second on arrays of a few hundred elements, so
that start-up alone made them twice as slow as the book. Two rules therefore send calls here:

* **Small calls.** A call on fewer than ``MAX_SIZE`` elements always runs in NumPy: the
  elementwise activations, the softmax and its cross-entropy, the recurrent cells' time steps,
  the optimizer updates, and the book's dense co-occurrence counts and PPMI. (For the
  co-occurrence counts the size is the corpus length times the window; for a recurrent layer,
  the elements of all its steps' gates.)
* **A start-up credit.** Until numba is imported, larger calls of the streaming kinds (the
  activations, the softmax, the recurrent steps: ``CREDITED``) also run in NumPy, each
  spending its size from ``credit`` (about 4.2 million elements), until the next would overdraw
  it. The book's chapter-7 scripts, which generate 100 to 200 words with its language models
  (up to about 3 million elements), then never start numba; a training run starts it within
  its first steps, as before. On these kinds NumPy cost at most about 4 ns more per element than
  the kernels in float32 (the LSTM steps) and was often faster in float64
  (``bench/bench_numpy_kernels.py``), so the credit's worst case is about 0.02 s against the
  0.3 s it can save. The co-occurrence counts are not credited: NumPy's scatter-add is many
  times slower than their kernel.

Between them, the two rules keep the book's chapter-1 to chapter-3 scripts and its chapter-7
generation scripts from ever importing numba.

Each function has its kernel's name, arguments and outputs (written in place; the same scalars
in the same dtype), and computes the same formula with NumPy's functions in place of the
kernels' polynomial ``exp`` and ``tanh``: results agree with the kernels to rounding (tests
compare them). A call here costs a few microseconds more than a kernel call on the same small
array (several ufunc calls against one fused loop), about what the book's own NumPy code costs.
"""
import sys

import numpy as np

from fastseq import kernels

# Calls on arrays of fewer elements than this use NumPy. At 1,024 elements a NumPy call cost
# at most 14 µs more than the kernel here (the softmax cross-entropy); a script whose every
# call is this small needs thousands of steps to lose numba's start-up to that.
MAX_SIZE = 1024

# The kernel modules whose larger calls may spend the start-up credit.
CREDITED = frozenset({"activations", "softmax", "recurrent"})

# Elements that calls of MAX_SIZE or more of a CREDITED kind may still run through NumPy before
# numba is imported (see the module docstring); 0 sends them all to the kernels.
credit = 1 << 22


def small(n):
    """True when an array of ``n`` elements is served by NumPy (``n < MAX_SIZE``)."""
    return n < MAX_SIZE


def for_size(module, n):
    """Where a call on ``n`` elements finds its function: this module when ``small(n)``, or
    when ``module`` is in ``CREDITED``, numba is not imported yet and ``n`` fits in ``credit``
    (which it then spends); else the kernel module ``fastseq.kernels.<module>`` (imported, with
    numba, on first use)."""
    global credit
    if n < MAX_SIZE:
        return sys.modules[__name__]
    if n <= credit and module in CREDITED and "numba" not in sys.modules:
        credit -= n
        return sys.modules[__name__]
    return getattr(kernels, module)


# -log(tiny) caps for exp(-x): exp of the cap is finite in the dtype, so no overflow warning
_EXP_CAP = {np.dtype(np.float32): np.float32(88.0), np.dtype(np.float64): np.float64(709.0)}


def sigmoid_forward(x, y):
    """y = 1 / (1 + exp(-x)), x and y of one shape, float32 or float64 (y may be x)."""
    np.negative(x, out=y)
    np.minimum(y, _EXP_CAP[y.dtype], out=y)
    np.exp(y, out=y)
    y += 1
    np.reciprocal(y, out=y)


def sigmoid_backward(dout, y, dx):
    """dx = dout * y * (1 - y), all (n,)."""
    np.subtract(1, y, out=dx)
    dx *= y
    dx *= dout


def _softmax_rows(x, y):
    """y = softmax of each row of x (R, C); returns the rows' (max, sum of exp(x - max)), (R, 1) each."""
    m = np.maximum.reduce(x, axis=1, keepdims=True)
    np.subtract(x, m, out=y)
    np.exp(y, out=y)
    s = np.add.reduce(y, axis=1, keepdims=True)
    y /= s
    return m, s


_SHARED = {}


def shared_vector(kind, n, dtype):
    """A read-only (n,) array of ``dtype``: ``np.arange(n)`` when ``kind`` is "arange", ones when
    "ones". Made once per (kind, n, dtype), for the row indices and column sums that every step
    of a run needs at the same batch size (a small allocation costs as much as a small ufunc)."""
    key = (kind, n, dtype)
    vector = _SHARED.get(key)
    if vector is None:
        if len(_SHARED) > 256:
            _SHARED.clear()
        vector = np.arange(n, dtype=dtype) if kind == "arange" else np.ones(n, dtype=dtype)
        vector.flags.writeable = False
        _SHARED[key] = vector
    return vector


def _labelled(t):
    """(rows, labels): the rows of t (R,) with a label >= 0, and those labels."""
    if t.shape[0] and np.minimum.reduce(t) >= 0:
        return shared_vector("arange", t.shape[0], np.intp), t
    rows = np.flatnonzero(t >= 0)
    return rows, t[rows]


def softmax_forward(x, y):
    """y[i] = softmax(x[i]) for x, y of shape (R, C)."""
    _softmax_rows(x, y)


def softmax_backward(y, dout, dx):
    """dx = y * (dout - sum(y * dout, row)) for (R, C) arrays."""
    np.multiply(y, dout, out=dx)
    s = np.add.reduce(dx, axis=1, keepdims=True)
    np.subtract(dout, s, out=dx)
    dx *= y


def softmax_cross_entropy_forward(x, t, eps, y):
    """Softmax of x (R, C) into y and the float64 summed cross-entropy against labels t (R,):
    ``-log(y[t] + eps)`` per row when eps > 0, the exact ``log(sum) - (x[t] - max)`` when
    eps == 0; rows with t < 0 add nothing."""
    m, s = _softmax_rows(x, y)
    rows, labels = _labelled(t)
    if eps > 0:
        picked = y[rows, labels]                    # a new array: summed in place below
        if picked.dtype != np.float64:
            picked = picked.astype(np.float64)
        picked += eps
        return -float(np.add.reduce(np.log(picked, out=picked)))
    picked = x[rows, labels].astype(np.float64, copy=False) - m[rows, 0]
    return float(np.add.reduce(np.log(s[rows, 0].astype(np.float64, copy=False)) - picked))


def softmax_cross_entropy_backward(y, t, scale, dx):
    """dx = (y - onehot(t)) * scale for (R, C) arrays; rows with t < 0 get zeros."""
    scale = y.dtype.type(scale)
    np.multiply(y, scale, out=dx)
    rows, labels = _labelled(t)
    dx[rows, labels] -= scale
    if rows.shape[0] != t.shape[0]:
        dx[t < 0] = 0


def rnn_step_forward(ax, ah, h_next):
    """h_next = tanh(ax + ah), all (N, H)."""
    np.add(ax, ah, out=h_next)
    np.tanh(h_next, out=h_next)


def rnn_step_backward(dh, h_next, dt):
    """dt = dh * (1 - h_next**2), all (N, H)."""
    np.multiply(h_next, h_next, out=dt)
    np.subtract(1, dt, out=dt)
    dt *= dh


def lstm_step_forward(ax, ah, c_prev, gates, c_next, h_next):
    """One LSTM step, gate blocks f, g, i, o: gates (N, 4H) = σ, tanh, σ, σ of ax + ah;
    c_next = f*c_prev + g*i; h_next = o*tanh(c_next), (N, H) each."""
    H = c_prev.shape[1]
    np.add(ax, ah, out=gates)
    f, g, i, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    sigmoid_forward(f, f)
    np.tanh(g, out=g)
    sigmoid_forward(gates[:, 2 * H:], gates[:, 2 * H:])
    np.multiply(f, c_prev, out=c_next)
    c_next += g * i
    np.tanh(c_next, out=h_next)
    h_next *= o


def lstm_step_backward(dh, dc, gates, c_prev, c_next, dA):
    """One LSTM step back: dA (N, 4H), the gate pre-activations' gradient, from dh and dc
    (N, H), the gradients reaching h_next and c_next; dc is overwritten with dc_prev."""
    H = c_prev.shape[1]
    f, g, i, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    tanh_c = np.tanh(c_next)
    dc += dh * o * (1 - tanh_c * tanh_c)            # now ds, the gradient reaching c_next in all
    np.multiply(dh * tanh_c, o * (1 - o), out=dA[:, 3 * H:])
    np.multiply(dc * c_prev, f * (1 - f), out=dA[:, :H])
    np.multiply(dc * i, 1 - g * g, out=dA[:, H:2 * H])
    np.multiply(dc * g, i * (1 - i), out=dA[:, 2 * H:3 * H])
    dc *= f


def gru_step_gates(ax, ah_zr, h_prev, gates, rh):
    """First half of a GRU step (blocks z, r, h̃): z, r = σ(ax[:, :2H] + ah_zr) into
    gates[:, :2H], and rh = r * h_prev. ax, gates (N, 3H); ah_zr (N, 2H); h_prev, rh (N, H)."""
    H = h_prev.shape[1]
    zr = gates[:, :2 * H]
    np.add(ax[:, :2 * H], ah_zr, out=zr)
    sigmoid_forward(zr, zr)
    np.multiply(gates[:, H:2 * H], h_prev, out=rh)


def gru_step_output(ax, ah_h, h_prev, gates, h_next):
    """Second half: h̃ = tanh(ax[:, 2H:] + ah_h) into gates[:, 2H:];
    h_next = h_prev + z * (h̃ - h_prev)."""
    H = h_prev.shape[1]
    h_hat = gates[:, 2 * H:]
    np.add(ax[:, 2 * H:], ah_h, out=h_hat)
    np.tanh(h_hat, out=h_hat)
    np.subtract(h_hat, h_prev, out=h_next)
    h_next *= gates[:, :H]
    h_next += h_prev


def gru_step_backward_candidate(dh, gates, dA, dh_prev):
    """dA[:, 2H:] = dh*z*(1-h̃**2) and dh_prev = dh*(1-z); dh, dh_prev (N, H); gates, dA (N, 3H)."""
    H = dh.shape[1]
    z, h_hat = gates[:, :H], gates[:, 2 * H:]
    np.multiply(dh * z, 1 - h_hat * h_hat, out=dA[:, 2 * H:])
    np.multiply(dh, 1 - z, out=dh_prev)


def gru_step_backward_gates(dh, dhr, gates, h_prev, dA, dh_prev):
    """dA[:, :H] (z) = dh*(h̃-h_prev)*z*(1-z), dA[:, H:2H] (r) = dhr*h_prev*r*(1-r), and
    dh_prev += r*dhr, where dhr (N, H) is the gradient reaching r*h_prev."""
    H = dh.shape[1]
    z, r, h_hat = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    np.multiply(dh * (h_hat - h_prev), z * (1 - z), out=dA[:, :H])
    np.multiply(dhr * h_prev, r * (1 - r), out=dA[:, H:2 * H])
    dh_prev += r * dhr


def sgd_update(param, grad, lr):
    """param -= lr * grad (one subtraction when lr is 1, which multiplies exactly)."""
    if lr == 1:
        param -= grad
    else:
        param -= lr * grad


def momentum_update(param, grad, v, lr, momentum):
    """v = momentum * v - lr * grad; param += v."""
    v *= momentum
    v -= lr * grad
    param += v


def nesterov_update(param, grad, v, lr, momentum):
    """v = momentum * v - lr * grad; param += momentum**2 * v - (1 + momentum) * lr * grad."""
    v *= momentum
    v -= lr * grad
    param += momentum * momentum * v - (1 + momentum) * lr * grad


def adagrad_update(param, grad, h, lr, eps):
    """h += grad**2; param -= lr * grad / (sqrt(h) + eps)."""
    h += grad * grad
    param -= lr * grad / (np.sqrt(h) + eps)


def rmsprop_update(param, grad, h, lr, decay_rate, eps):
    """h = decay * h + (1 - decay) * grad**2; param -= lr * grad / (sqrt(h) + eps)."""
    h *= decay_rate
    h += (1 - decay_rate) * grad * grad
    param -= lr * grad / (np.sqrt(h) + eps)


def adam_update(param, grad, m, v, lr_t, beta1, beta2, eps):
    """m += (1-beta1)(grad - m); v += (1-beta2)(grad**2 - v); param -= lr_t m / (sqrt(v) + eps)."""
    m += (1 - beta1) * (grad - m)
    v += (1 - beta2) * (grad * grad - v)
    param -= lr_t * m / (np.sqrt(v) + eps)


def count_dense(corpus, window, left, right, co):
    """co[w, c] += 1 for every context c within ``window`` of an occurrence of w (co (V, V),
    int32 or float, zeroed by the caller)."""
    for d in range(1, min(window, corpus.shape[0] - 1) + 1):
        if left:
            np.add.at(co, (corpus[d:], corpus[:-d]), 1)
        if right:
            np.add.at(co, (corpus[:-d], corpus[d:]), 1)


def ppmi_dense(C, N, row_marginal, col_marginal, eps, log_shift, M):
    """M[i, j] = max(0, log2(C[i, j] N / (row_marginal[i] col_marginal[j]) + eps) - log_shift),
    0 where the count or the marginals' product is 0 (C (R, K) counts, M (R, K) float)."""
    denom = np.multiply.outer(row_marginal, col_marginal)
    keep = (C != 0) & (denom > 0)
    ratio = np.divide(C.astype(np.float64) * N, denom, out=np.ones_like(denom), where=keep)
    M[...] = np.where(keep, np.maximum(0.0, np.log2(ratio + eps) - log_shift), 0.0)
