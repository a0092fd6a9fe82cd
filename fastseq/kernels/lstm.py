"""Fused LSTM gate kernels for one time step (gate blocks packed f, g, i, o).

The layer does the matrix products (input projection for all steps at once, the recurrent
product per step, weight gradients after the loop); these kernels do everything elementwise
in one pass over the (N, 4H) pre-activations. float32 or float64; row-strided 2-D views are fine.

The kernels are serial on purpose: a step's elementwise work is small (N*H elements) and runs
between two BLAS calls; a numba thread pool woken here competes with BLAS's spinning threads for
the same cores (measured: TimeLSTM H=100 fwd+bwd went from 5.6 ms to 300 ms with both pools at
2 threads), so BLAS keeps the cores and the gates run on one.
"""
from numba import njit

from fastseq.kernels.vmath import FASTMATH, fast_sigmoid, fast_tanh


@njit(cache=True, fastmath=FASTMATH)
def lstm_step_forward(ax, ah, c_prev, gates, c_next, h_next):
    """One step: A = ax + ah (both (N, 4H)); f, g, i, o = σ, tanh, σ, σ of its blocks;
    c_next = f*c_prev + g*i; h_next = o*tanh(c_next). Writes the activated gates (N, 4H),
    c_next and h_next (N, H)."""
    N, H = c_prev.shape
    for n in range(N):
        for j in range(H):
            f = fast_sigmoid(ax[n, j] + ah[n, j])
            g = fast_tanh(ax[n, H + j] + ah[n, H + j])
            i = fast_sigmoid(ax[n, 2 * H + j] + ah[n, 2 * H + j])
            o = fast_sigmoid(ax[n, 3 * H + j] + ah[n, 3 * H + j])
            c = f * c_prev[n, j] + g * i
            gates[n, j] = f
            gates[n, H + j] = g
            gates[n, 2 * H + j] = i
            gates[n, 3 * H + j] = o
            c_next[n, j] = c
            h_next[n, j] = o * fast_tanh(c)


@njit(cache=True, fastmath=FASTMATH)
def lstm_step_backward(dh, dc, gates, c_prev, c_next, dA):
    """One step back: from dh, dc (N, H) (gradients reaching h_next and c_next), the activated
    gates (N, 4H), c_prev and c_next (N, H), write the pre-activation gradient dA (N, 4H) and
    overwrite dc with dc_prev = ds * f."""
    N, H = c_prev.shape
    for n in range(N):
        for j in range(H):
            f = gates[n, j]
            g = gates[n, H + j]
            i = gates[n, 2 * H + j]
            o = gates[n, 3 * H + j]
            tanh_c = fast_tanh(c_next[n, j])
            ds = dc[n, j] + dh[n, j] * o * (1 - tanh_c * tanh_c)
            dA[n, j] = ds * c_prev[n, j] * f * (1 - f)
            dA[n, H + j] = ds * i * (1 - g * g)
            dA[n, 2 * H + j] = ds * g * i * (1 - i)
            dA[n, 3 * H + j] = dh[n, j] * tanh_c * o * (1 - o)
            dc[n, j] = ds * f
