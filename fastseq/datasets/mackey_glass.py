"""The Mackey-Glass delay differential equation, the standard echo state network benchmark:

    dx/dt = a * x(t - tau) / (1 + x(t - tau)^n) - b * x(t)

integrated by fourth-order Runge-Kutta with ``substeps`` steps per time unit (the delayed
value at a half step is the mean of its two neighbours), from x = x0 for all t <= 0. With
tau = 17 the series is chaotic. Deterministic: no random start.
"""
import numpy as np

from fastseq import _validate as v


def mackey_glass(n_steps, tau=17, a=0.2, b=0.1, n=10, x0=1.2, substeps=10):
    """The series sampled every time unit: (n_steps,) float64."""
    for name, value in (("n_steps", n_steps), ("tau", tau), ("substeps", substeps)):
        v.integer("mackey_glass", name, value)
    h = 1.0 / substeps
    lag = tau * substeps
    total = n_steps * substeps
    x = np.empty(lag + total + 1)
    x[:lag + 1] = x0

    def slope(now, delayed):
        return a * delayed / (1 + delayed ** n) - b * now

    for i in range(lag, lag + total):
        d0, d1 = x[i - lag], x[i - lag + 1]
        dm = 0.5 * (d0 + d1)
        k1 = slope(x[i], d0)
        k2 = slope(x[i] + 0.5 * h * k1, dm)
        k3 = slope(x[i] + 0.5 * h * k2, dm)
        k4 = slope(x[i] + h * k3, d1)
        x[i + 1] = x[i] + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x[lag + substeps::substeps][:n_steps].copy()


def nrmse(y_true, y_pred):
    """Root mean square error over the standard deviation of ``y_true`` (a float)."""
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"nrmse: y_true and y_pred must have one shape, got {y_true.shape} and {y_pred.shape}")
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)) / y_true.std())
