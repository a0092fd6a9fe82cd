"""In-place optimizer updates, one fused pass per parameter.

Arguments are 1-D views of the parameter, its gradient and its state in the same memory order
(the caller flattens them); scalars arrive already in the parameter's dtype so float32 math
stays float32. Formulas are the book's (``common/optimizer.py``), ``1e-7`` in denominators.
"""
import numpy as np
from numba import prange

from fastseq.kernels.threads import parallel_kernel
from fastseq.kernels.vmath import KERNEL


@parallel_kernel(**KERNEL)
def sgd_update(param, grad, lr):
    """param -= lr * grad."""
    for i in prange(param.shape[0]):
        param[i] -= lr * grad[i]


@parallel_kernel(**KERNEL)
def momentum_update(param, grad, v, lr, momentum):
    """v = momentum * v - lr * grad; param += v."""
    for i in prange(param.shape[0]):
        vi = momentum * v[i] - lr * grad[i]
        v[i] = vi
        param[i] += vi


@parallel_kernel(**KERNEL)
def nesterov_update(param, grad, v, lr, momentum):
    """v = momentum * v - lr * grad; param += momentum**2 * v - (1 + momentum) * lr * grad."""
    for i in prange(param.shape[0]):
        g = grad[i]
        vi = momentum * v[i] - lr * g
        v[i] = vi
        param[i] += momentum * momentum * vi - (1 + momentum) * lr * g


@parallel_kernel(**KERNEL)
def adagrad_update(param, grad, h, lr, eps):
    """h += grad**2; param -= lr * grad / (sqrt(h) + eps)."""
    for i in prange(param.shape[0]):
        g = grad[i]
        hi = h[i] + g * g
        h[i] = hi
        param[i] -= lr * g / (np.sqrt(hi) + eps)


@parallel_kernel(**KERNEL)
def rmsprop_update(param, grad, h, lr, decay_rate, eps):
    """h = decay * h + (1 - decay) * grad**2; param -= lr * grad / (sqrt(h) + eps)."""
    for i in prange(param.shape[0]):
        g = grad[i]
        hi = decay_rate * h[i] + (1 - decay_rate) * g * g
        h[i] = hi
        param[i] -= lr * g / (np.sqrt(hi) + eps)


@parallel_kernel(**KERNEL)
def adam_update(param, grad, m, v, lr_t, beta1, beta2, eps):
    """m += (1-beta1)(grad - m); v += (1-beta2)(grad**2 - v); param -= lr_t m / (sqrt(v) + eps)."""
    for i in prange(param.shape[0]):
        g = grad[i]
        mi = m[i] + (1 - beta1) * (g - m[i])
        vi = v[i] + (1 - beta2) * (g * g - v[i])
        m[i] = mi
        v[i] = vi
        param[i] -= lr_t * mi / (np.sqrt(vi) + eps)


@parallel_kernel(**KERNEL)
def sum_of_squares(x):
    """float64 sum of x**2 over a 1-D array."""
    total = 0.0
    for i in prange(x.shape[0]):
        xi = np.float64(x[i])
        total += xi * xi
    return total


@parallel_kernel(**KERNEL)
def scale_inplace(x, rate):
    """x *= rate over a 1-D array."""
    for i in prange(x.shape[0]):
        x[i] *= rate
