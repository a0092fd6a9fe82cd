"""An echo state network: a ``TimeReservoir`` and a ``Ridge`` readout, trained in one solve."""
import numpy as np

from fastseq import _validate as v
from fastseq import kernels
from fastseq.layers.reservoir import Ridge, TimeReservoir


def _batched(where, name, x):
    """x (T, D) or (N, T, D) as (N, T, D)."""
    x = v.float_array(where, name, x, ndims=(2, 3))
    return x[None] if x.ndim == 2 else x


class EchoStateNetwork:
    """``fit(u, y)``: run the reservoir over the inputs u (T, D) or (N, T, D) (teacher forcing:
    the true inputs), drop the first ``warmup`` steps of states, and fit the readout to the
    targets y (T, M) or (N, T, M). ``predict(u)``: the readout over the states of u, as (T, M)
    or (N, T, M). ``generate(steps)``: closed loop from where the last call left the reservoir
    (one sequence, D == M): each output is the next input. Keyword arguments go to
    ``TimeReservoir`` (units, connectivity, spectral_radius, leak, ...)."""

    def __init__(self, input_dim, units, ridge=1e-6, warmup=100, **reservoir):
        self.reservoir = TimeReservoir(input_dim, units, **reservoir)
        self.readout = Ridge(ridge)
        self.warmup = v.integer("EchoStateNetwork", "warmup", warmup, low=0)

    def states(self, u, progress=None, chunk=1000):
        """The reservoir's states over u (N, T, D), carried on from its last state, computed
        ``chunk`` steps at a time; ``progress(steps)`` is called after each chunk."""
        r = self.reservoir
        if not r.stateful or progress is None:
            return r.forward(u)
        parts = []
        for start in range(0, u.shape[1], chunk):
            parts.append(r.forward(u[:, start:start + chunk]))
            progress(parts[-1].shape[1])
        return np.concatenate(parts, axis=1) if parts else r.forward(u)

    def fit(self, u, y, progress=None):
        where = "EchoStateNetwork.fit"
        u3, y3 = _batched(where, "u", u), _batched(where, "y", y)
        if y3.shape[:2] != u3.shape[:2]:
            raise ValueError(f"{where}: u and y must have the same steps, got {np.shape(u)} and {np.shape(y)}")
        if u3.shape[1] <= self.warmup:
            raise ValueError(f"{where}: u has {u3.shape[1]} steps, not more than warmup={self.warmup}")
        self.reservoir.reset_state()
        states = self.states(u3, progress)
        self.readout.fit(states[:, self.warmup:], y3[:, self.warmup:])
        return self

    def predict(self, u, progress=None):
        u3 = _batched("EchoStateNetwork.predict", "u", u)
        if self.readout.Wout is None:
            raise RuntimeError("EchoStateNetwork.predict: fit the network first")
        y = self.readout.predict(self.states(u3, progress))
        return y[0] if np.ndim(u) == 2 else y

    def generate(self, steps):
        """(steps, D) outputs from the reservoir's carried state (call ``fit`` or ``predict`` on
        one sequence first): the first is the prediction that follows the last input seen, and
        each is fed back as the next input."""
        where = "EchoStateNetwork.generate"
        v.integer(where, "steps", steps, low=0)
        if self.readout.Wout is None:
            raise RuntimeError(f"{where}: fit the network first")
        r = self.reservoir
        if self.readout.Wout.shape[1] != r.Win.shape[1]:
            raise ValueError(f"{where}: closed loop needs outputs of the input's size {r.Win.shape[1]}, the readout "
                             f"gives {self.readout.Wout.shape[1]}")
        if r.h is None or r.h.shape[0] != 1:
            raise RuntimeError(f"{where}: run fit or predict on one sequence first, to give the loop its start")
        if r.noise:
            raise ValueError(f"{where}: closed-loop generation runs without noise; build the network with noise=0")
        out = np.empty((steps, r.Win.shape[1]), dtype=r.dtype)
        state = r.h[0].copy()
        readout = (self.readout.Wout.astype(r.dtype), self.readout.bout.astype(r.dtype))
        kernels.reservoir.generate_closed_loop(r.csr, (r.Win, r.bias), readout, r.dtype.type(r.leak), state, out)
        r.h = state[None]
        return out
