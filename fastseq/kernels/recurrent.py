"""Fused elementwise kernels for one time step of the recurrent cells: RNN, LSTM (gate blocks
packed f, g, i, o) and GRU (blocks z, r, h̃).

The layers do the matrix products (the input projection for all steps at once, the recurrent
product per step, the weight gradients after the loop); these kernels do the elementwise work of
a step in one pass. Arguments are C-contiguous 2-D arrays (the layers run time-major, so a
step's slice ``a[t]`` is contiguous), float32 or float64, and must not overlap.

Two things keep them fast:

* Every row is processed by small 1-D helpers over contiguous blocks of H elements. A single
  loop reading four gate blocks and three state arrays per element was 7x slower per step
  (N=20, H=100: 51 µs against 7 µs), because LLVM gave up vectorising it.
* They are serial. A step's work is small and runs between two BLAS calls; a numba thread pool
  woken here competes with BLAS's spinning threads for the same cores (measured: TimeLSTM H=100
  fwd+bwd went from 5.6 ms to 300 ms with both pools at 2 threads), so BLAS keeps the cores.
"""
from numba import njit

from fastseq.kernels.vmath import KERNEL, fast_sigmoid, fast_tanh


@njit(cache=True, **KERNEL)
def _sigmoid_of_sum(a, b, out):
    """out = σ(a + b), all (n,)."""
    for k in range(out.shape[0]):
        out[k] = fast_sigmoid(a[k] + b[k])


@njit(cache=True, **KERNEL)
def _tanh_of_sum(a, b, out):
    """out = tanh(a + b), all (n,)."""
    for k in range(out.shape[0]):
        out[k] = fast_tanh(a[k] + b[k])


@njit(cache=True, **KERNEL)
def rnn_step_forward(ax, ah, h_next):
    """h_next = tanh(ax + ah), all (N, H)."""
    for n in range(h_next.shape[0]):
        _tanh_of_sum(ax[n], ah[n], h_next[n])


@njit(cache=True, **KERNEL)
def _tanh_backward(dh, y, dt):
    for k in range(dt.shape[0]):
        dt[k] = dh[k] * (1 - y[k] * y[k])


@njit(cache=True, **KERNEL)
def rnn_step_backward(dh, h_next, dt):
    """dt = dh * (1 - h_next²): the gradient of the pre-activation, all (N, H)."""
    for n in range(dt.shape[0]):
        _tanh_backward(dh[n], h_next[n], dt[n])


@njit(cache=True, **KERNEL)
def _lstm_cell(f, g, i, o, c_prev, c_next, h_next):
    for j in range(c_prev.shape[0]):
        c = f[j] * c_prev[j] + g[j] * i[j]
        c_next[j] = c
        h_next[j] = o[j] * fast_tanh(c)


@njit(cache=True, **KERNEL)
def lstm_step_forward(ax, ah, c_prev, gates, c_next, h_next):
    """One step: A = ax + ah (both (N, 4H)); f, g, i, o = σ, tanh, σ, σ of its blocks;
    c_next = f*c_prev + g*i; h_next = o*tanh(c_next). Writes the activated gates (N, 4H),
    c_next and h_next (N, H)."""
    N, H = c_prev.shape
    for n in range(N):
        a, b, gt = ax[n], ah[n], gates[n]
        _sigmoid_of_sum(a[:H], b[:H], gt[:H])
        _tanh_of_sum(a[H:2 * H], b[H:2 * H], gt[H:2 * H])
        _sigmoid_of_sum(a[2 * H:], b[2 * H:], gt[2 * H:])
        _lstm_cell(gt[:H], gt[H:2 * H], gt[2 * H:3 * H], gt[3 * H:], c_prev[n], c_next[n], h_next[n])


@njit(cache=True, **KERNEL)
def _lstm_ds(dh, dc, o, c_next, do):
    """dc += dh*o*(1-tanh²(c_next)) (now ds); do = dh*tanh(c_next)*o*(1-o)."""
    for j in range(dh.shape[0]):
        tanh_c = fast_tanh(c_next[j])
        dc[j] = dc[j] + dh[j] * o[j] * (1 - tanh_c * tanh_c)
        do[j] = dh[j] * tanh_c * o[j] * (1 - o[j])


@njit(cache=True, **KERNEL)
def _lstm_fgi_backward(ds, f, g, i, c_prev, df, dg, di):
    """Gate pre-activation gradients from ds; ds becomes dc_prev = ds*f."""
    for j in range(ds.shape[0]):
        s = ds[j]
        df[j] = s * c_prev[j] * f[j] * (1 - f[j])
        dg[j] = s * i[j] * (1 - g[j] * g[j])
        di[j] = s * g[j] * i[j] * (1 - i[j])
        ds[j] = s * f[j]


@njit(cache=True, **KERNEL)
def lstm_step_backward(dh, dc, gates, c_prev, c_next, dA):
    """One step back: from dh, dc (N, H) (gradients reaching h_next and c_next), the activated
    gates (N, 4H), c_prev and c_next (N, H), write the pre-activation gradient dA (N, 4H) and
    overwrite dc with dc_prev = ds * f."""
    N, H = c_prev.shape
    for n in range(N):
        gt, d = gates[n], dA[n]
        _lstm_ds(dh[n], dc[n], gt[3 * H:], c_next[n], d[3 * H:])
        _lstm_fgi_backward(dc[n], gt[:H], gt[H:2 * H], gt[2 * H:3 * H], c_prev[n], d[:H], d[H:2 * H], d[2 * H:3 * H])


@njit(cache=True, **KERNEL)
def _scaled_by(r, h, out):
    for j in range(out.shape[0]):
        out[j] = r[j] * h[j]


@njit(cache=True, **KERNEL)
def gru_step_gates(ax, ah_zr, h_prev, gates, rh):
    """First half of a GRU step: z, r = σ(ax[:, :2H] + ah_zr) into gates[:, :2H], and
    rh = r * h_prev. ax, gates (N, 3H); ah_zr (N, 2H) = h_prev @ Wh[:, :2H]; h_prev, rh (N, H)."""
    N, H = h_prev.shape
    for n in range(N):
        gt = gates[n]
        _sigmoid_of_sum(ax[n, :2 * H], ah_zr[n], gt[:2 * H])
        _scaled_by(gt[H:2 * H], h_prev[n], rh[n])


@njit(cache=True, **KERNEL)
def _gru_output(z, h_hat, h_prev, h_next):
    for j in range(h_next.shape[0]):
        h_next[j] = h_prev[j] + z[j] * (h_hat[j] - h_prev[j])


@njit(cache=True, **KERNEL)
def gru_step_output(ax, ah_h, h_prev, gates, h_next):
    """Second half: h̃ = tanh(ax[:, 2H:] + ah_h) into gates[:, 2H:], h_next = (1-z)*h_prev + z*h̃.
    ah_h (N, H) = (r*h_prev) @ Wh[:, 2H:]."""
    N, H = h_prev.shape
    for n in range(N):
        gt = gates[n]
        _tanh_of_sum(ax[n, 2 * H:], ah_h[n], gt[2 * H:])
        _gru_output(gt[:H], gt[2 * H:], h_prev[n], h_next[n])


@njit(cache=True, **KERNEL)
def _gru_candidate_backward(dh, z, h_hat, dt_h, dh_prev):
    for j in range(dh.shape[0]):
        dt_h[j] = dh[j] * z[j] * (1 - h_hat[j] * h_hat[j])
        dh_prev[j] = dh[j] * (1 - z[j])


@njit(cache=True, **KERNEL)
def gru_step_backward_candidate(dh, gates, dA, dh_prev):
    """First half of a GRU step back: dA[:, 2H:] = dh*z*(1-h̃²) (the candidate's pre-activation
    gradient) and dh_prev = dh*(1-z). dh, dh_prev (N, H); gates, dA (N, 3H)."""
    N, H = dh.shape
    for n in range(N):
        gt = gates[n]
        _gru_candidate_backward(dh[n], gt[:H], gt[2 * H:], dA[n, 2 * H:], dh_prev[n])


@njit(cache=True, **KERNEL)
def _gru_gates_backward(dh, dhr, z, r, h_hat, h_prev, dt_z, dt_r, dh_prev):
    for j in range(dh.shape[0]):
        dt_z[j] = dh[j] * (h_hat[j] - h_prev[j]) * z[j] * (1 - z[j])
        dt_r[j] = dhr[j] * h_prev[j] * r[j] * (1 - r[j])
        dh_prev[j] += r[j] * dhr[j]


@njit(cache=True, **KERNEL)
def gru_step_backward_gates(dh, dhr, gates, h_prev, dA, dh_prev):
    """Second half: with dhr = dA[:, 2H:] @ Wh[:, 2H:].T (the gradient reaching r*h_prev),
    write dA[:, :H] (z) and dA[:, H:2H] (r) and add r*dhr to dh_prev. The caller then adds
    dA[:, :2H] @ Wh[:, :2H].T to dh_prev."""
    N, H = dh.shape
    for n in range(N):
        gt, d = gates[n], dA[n]
        _gru_gates_backward(dh[n], dhr[n], gt[:H], gt[H:2 * H], gt[2 * H:], h_prev[n],
                            d[:H], d[H:2 * H], dh_prev[n])
