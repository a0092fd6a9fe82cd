"""GEMM floors: the matrix products a benchmarked step cannot avoid, timed alone."""
import numpy as np


def recurrent_products(T, N, D, H, blocks=4, seed=0):
    """A function running the matrix products of one recurrent layer's forward and backward over
    T steps of N rows (D inputs, H hidden, ``blocks`` gate blocks; float32): the input
    projection, T recurrent products forward and T back, dWx, dWh and dxs."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T * N, D)).astype(np.float32)
    hs = rng.standard_normal((T * N, H)).astype(np.float32)
    Wx = rng.standard_normal((D, blocks * H)).astype(np.float32)
    Wh = rng.standard_normal((H, blocks * H)).astype(np.float32)
    dA = rng.standard_normal((T * N, blocks * H)).astype(np.float32)

    def run():
        x @ Wx
        for _ in range(T):
            hs[:N] @ Wh
            dA[:N] @ Wh.T
        x.T @ dA
        hs.T @ dA
        dA @ Wx.T
    return run
