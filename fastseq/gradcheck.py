"""Central-difference gradient checks in float64.

``numerical_gradient(f, x)`` perturbs every element of ``x`` in place by ±h and returns
``(f(x+h) - f(x-h)) / 2h`` for a scalar function ``f``; ``relative_error(a, b)`` is the
max-normalised difference used to compare it with an analytic gradient.
"""
import numpy as np


def numerical_gradient(f, x, h=1e-5):
    """d f() / d x by central differences; x (any shape, float64) is restored afterwards."""
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient: x must be float64 for a meaningful check, got {x.dtype}")
    grad = np.zeros_like(x)
    flat_x, flat_g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        old = flat_x[i]
        flat_x[i] = old + h
        f_plus = f()
        flat_x[i] = old - h
        f_minus = f()
        flat_x[i] = old
        flat_g[i] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(a, b):
    """max |a - b| / max(1e-8, max |a| + max |b|)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a)) + np.max(np.abs(b))))
