"""Pure NumPy/SciPy twins of the echo state network: a step loop over SciPy's sparse product,
ridge regression by SVD, and the closed loop."""
import numpy as np


def reservoir_states(W, Win, bias, leak, xs, h0=None):
    """W (H, H) scipy sparse, Win (H, D), bias (H,), xs (N, T, D) → states (N, T, H) from h0
    (N, H) or zeros."""
    N, T, _ = xs.shape
    H = W.shape[0]
    out = np.empty((N, T, H), dtype=W.dtype)
    for n in range(N):
        x = np.zeros(H, W.dtype) if h0 is None else h0[n].astype(W.dtype)
        for t in range(T):
            x = (1 - leak) * x + leak * np.tanh(W @ x + Win @ xs[n, t] + bias)
            out[n, t] = x
    return out


def ridge_fit(X, Y, ridge):
    """X (R, H), Y (R, M) → Wout (H, M), bout (M,) minimising |X Wout + bout - Y|^2 +
    ridge |Wout|^2 (the bias free), by the SVD of the centred X."""
    x_mean, y_mean = X.mean(axis=0), Y.mean(axis=0)
    U, s, Vt = np.linalg.svd(X - x_mean, full_matrices=False)
    Wout = Vt.T @ ((s / (s * s + ridge))[:, None] * (U.T @ (Y - y_mean)))
    return Wout, y_mean - x_mean @ Wout


def closed_loop(W, Win, bias, Wout, bout, leak, h, steps):
    """``steps`` outputs (steps, D): from state h (H,), each output is the readout of the
    state and then the next input."""
    out = []
    for _ in range(steps):
        u = h @ Wout + bout
        out.append(u)
        h = (1 - leak) * h + leak * np.tanh(W @ h + Win @ u + bias)
    return np.array(out).reshape(steps, Win.shape[1])
