"""Echo state networks: a fixed random sparse reservoir run over time, and a ridge readout.

The reservoir is never trained. Its states

    x_t = (1 - leak) * x_{t-1} + leak * tanh(W @ x_{t-1} + Win @ u_t + bias + noise_t)

feed a linear readout fitted in closed form (``Ridge``). ``W`` (H, H) is sparse (CSR, every
unit receives ``round(connectivity * H)`` connections) and scaled to a chosen spectral radius;
``Win`` (H, D) and ``bias`` (H,) are dense. All are drawn from ``seed``, so the same seed gives
the same reservoir on any machine and any thread count.

The reservoir's weights are float32 numbers whatever the layer's dtype (a float64 layer holds
them in float64 and computes in float64): the kernels read each as 4 bytes, with a column index
of 2 bytes when H ≤ 65,536, so a connection costs 6 bytes of memory traffic a step instead of
12; a step of a large reservoir is bound by that traffic. The spectral radius then holds to
float32 rounding (relative error about 1e-7).
"""
import mmap
import os

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg
from tqdm.auto import tqdm

from fastseq import _validate as v
from fastseq import kernels
from fastseq._threads import get_num_threads

# Rows of W drawn per block: bounds the draw's scratch memory to this many rows of H floats.
_DRAW_ROWS = 256
# With noise, the kernels run blocks of steps whose noise takes about this many bytes: a block
# found in cache, instead of a second (N, T, H) array as large as the states.
_NOISE_BYTES = 1 << 20
# NumPy gives arrays of this many bytes and more transparent huge pages (``_new_states``).
_HUGE_PAGE_ARRAYS = 4 << 20
# Reservoirs with at least this many connections show a progress bar (stderr) while ARPACK
# looks for their spectral radius: its products grow with the connections, and at 10^7 of
# them the search runs long enough to look like a hang without one.
_BAR_CONNECTIONS = 1 << 21


def _number(where, name, value, low, high, low_open=True, high_open=False):
    """A real number in the interval (low, high] (or as the flags say), else a ValueError."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and np.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{where}: {name} must be a number in {interval}, got {value!r}")
    return float(value)


def _new_states(shape, dtype):
    """An uninitialised array for the states, of ordinary (4 KiB) pages when it is large.

    NumPy asks for transparent huge pages for arrays of 4 MiB and more (``MADV_HUGEPAGE``).
    Right after other work had freed memory, mapping 80 MB of states that way took 85-120 ms
    against 19-21 ms in ordinary pages (H=1,000, T=10,000, alternating with reservoirpy's
    runs), and a thread stopped in such a fault holds up its team. The memory is an
    anonymous mapping, returned to the OS when the array goes."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    if nbytes < _HUGE_PAGE_ARRAYS or not hasattr(mmap, "MADV_NOHUGEPAGE"):
        return np.empty(shape, dtype=dtype)
    memory = mmap.mmap(-1, nbytes)
    memory.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(memory, dtype=dtype).reshape(shape)


def available_memory():
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``; elsewhere the
    free physical pages), or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(where, what, needed):
    """Refuse, before any work, an allocation of ``needed`` bytes beyond 90% of what is free."""
    free = available_memory()
    if free is not None and needed > 0.9 * free:
        raise MemoryError(f"{where}: {what} needs about {needed / 2**30:.2f} GiB, and "
                          f"{free / 2**30:.2f} GiB of memory is available")


def spectral_radius(W, seed=0, progress=None):
    """The largest eigenvalue magnitude of a square sparse matrix (ARPACK from a seeded start
    vector, dense for small matrices). ``progress(1)``, when given, is called after each of
    ARPACK's matrix-vector products.

    A random reservoir's eigenvalues fill a disc (the circular law), so several lie within a
    fraction of a percent of the largest. ARPACK asked for that one eigenvalue alone (k=1,
    SciPy's default of 3 Lanczos vectors) can settle on a smaller one: on 60 reservoirs of
    100-600 units it returned a radius 0.6-0.8% low for 3 and did not converge for one. Asked
    for the 8 largest with 64 vectors, it found the dense eigenvalue solver's radius (within
    1e-8) on the other 59."""
    H = W.shape[0]
    if H <= 64:
        return float(np.abs(np.linalg.eigvals(W.toarray())).max())
    v0 = np.random.default_rng(seed).uniform(-1, 1, H)
    W64 = W.astype(np.float64)

    def counted_product(x):
        y = W64 @ x
        progress(1)
        return y
    A = W64 if progress is None else \
        scipy.sparse.linalg.LinearOperator(W.shape, matvec=counted_product, dtype=np.float64)
    try:
        values = scipy.sparse.linalg.eigs(A, k=8, which="LM", v0=v0, ncv=64, tol=1e-9,
                                          return_eigenvectors=False, maxiter=10 * H)
    except scipy.sparse.linalg.ArpackNoConvergence:
        raise ValueError("spectral_radius: ARPACK did not converge on the reservoir's largest "
                         "eigenvalues; try another seed or connectivity") from None
    return float(np.abs(values).max())


def random_reservoir(units, connectivity, radius, seed=0, dtype=np.float64):
    """A (units, units) CSR reservoir: each row holds ``max(1, round(connectivity * units))``
    standard normal weights in distinct random columns, all scaled so that the spectral radius
    is ``radius``."""
    where = "random_reservoir"
    units = v.integer(where, "units", units)
    seed = v.integer(where, "seed", seed, low=0)
    connectivity = _number(where, "connectivity", connectivity, 0, 1)
    radius = _number(where, "spectral_radius", radius, 0, np.inf, high_open=True)
    per_row = max(1, int(round(connectivity * units)))
    itemsize = np.dtype(dtype).itemsize
    check_memory(where, f"a reservoir of {units} units with {per_row} connections each",
                 units * per_row * (itemsize + 4) + units * _DRAW_ROWS * 8)
    rng = np.random.default_rng(seed)
    indices = np.empty((units, per_row), dtype=np.int32)
    for start in range(0, units, _DRAW_ROWS):
        keys = rng.random((min(_DRAW_ROWS, units - start), units))
        chosen = keys.argpartition(per_row - 1, axis=1)[:, :per_row] if per_row < units else \
            np.broadcast_to(np.arange(units), keys.shape)
        indices[start:start + keys.shape[0]] = np.sort(chosen, axis=1)
    data = rng.standard_normal(units * per_row)
    W = sp.csr_matrix((data, indices.reshape(-1), np.arange(0, units * per_row + 1, per_row)),
                      shape=(units, units))
    if W.nnz < _BAR_CONNECTIONS:
        current = spectral_radius(W, seed)
    else:
        with tqdm(desc="reservoir spectral radius (ARPACK)", unit=" products", leave=False) as bar:
            current = spectral_radius(W, seed, bar.update)
    if current == 0:
        raise ValueError(f"{where}: the drawn reservoir has spectral radius 0 and cannot be scaled; "
                         "choose a higher connectivity or another seed")
    W.data *= radius / current
    W.data = W.data.astype(np.float32).astype(dtype)        # float32 weights: see the module docstring
    return W


def kernel_csr(W):
    """The reservoir W (scipy CSR, (H, H)) as the kernels take it: ``(indptr uint64 (H+1,),
    indices uint16 (nnz,) when H ≤ 65,536 else uint32, data float32 (nnz,))``."""
    index = np.uint16 if W.shape[1] <= 1 << 16 else np.uint32
    return W.indptr.astype(np.uint64), W.indices.astype(index), W.data.astype(np.float32)


class TimeReservoir:
    """An echo state network's reservoir as a Time layer: ``forward(xs (N, T, D)) → (N, T, H)``
    states, float32 or float64 as ``dtype``. Stateful like the book's Time layers: with
    ``stateful=True`` each call starts from the last call's final state (``reset_state()``
    forgets it, ``set_state(h (N, H))`` sets it); otherwise every call starts from zeros.
    ``noise`` adds that standard deviation of Gaussian noise to every pre-activation, drawn
    from ``seed``. Nothing here is trained: ``params`` and ``grads`` are empty. ``W`` is the
    reservoir (scipy CSR), ``csr`` the same as the kernels take it (``kernel_csr``)."""

    def __init__(self, input_dim, units, connectivity=0.1, spectral_radius=0.9, leak=1.0, input_scaling=1.0,
                 bias_scaling=0.0, noise=0.0, seed=0, stateful=True, dtype=np.float64):
        where = "TimeReservoir"
        input_dim = v.integer(where, "input_dim", input_dim)
        self.leak = _number(where, "leak", leak, 0, 1)
        input_scaling = _number(where, "input_scaling", input_scaling, 0, np.inf, low_open=False, high_open=True)
        bias_scaling = _number(where, "bias_scaling", bias_scaling, 0, np.inf, low_open=False, high_open=True)
        self.noise = _number(where, "noise", noise, 0, np.inf, low_open=False, high_open=True)
        self.dtype = np.dtype(dtype)
        if not v.is_kernel_float(self.dtype):
            raise TypeError(f"{where}: dtype must be float32 or float64, got {self.dtype}")
        self.W = random_reservoir(units, connectivity, spectral_radius, seed, self.dtype)
        rng = np.random.default_rng([seed, 1])
        self.Win = (rng.uniform(-1, 1, (units, input_dim)) * input_scaling).astype(self.dtype)
        self.bias = (rng.uniform(-1, 1, units) * bias_scaling).astype(self.dtype)
        self._noise = np.random.default_rng([seed, 2])
        check_memory(where, "the kernels' copy of the reservoir", self.W.nnz * 8)
        self.csr = kernel_csr(self.W)
        self._unit_cuts = {}
        self.stateful = stateful
        self.params, self.grads = [], []
        self.h = None

    @property
    def units(self):
        return self.W.shape[0]

    def forward(self, xs):
        where = "TimeReservoir"
        xs = v.float_array(where, "xs", xs, ndims=(3,))
        if xs.shape[2] != self.Win.shape[1]:
            raise ValueError(f"{where}: xs must have shape (N, T, {self.Win.shape[1]}), got {xs.shape}")
        v.finite(where, "xs", xs)
        N, T, _ = xs.shape
        # noise is drawn for blocks of steps, so that it never takes as much memory as the states
        steps = max(1, _NOISE_BYTES // (N * self.units * self.dtype.itemsize)) if self.noise else max(T, 1)
        check_memory(where, f"the states of {N}x{T} steps of {self.units} units",
                     N * (T + (min(T, steps) if self.noise else 0)) * self.units * self.dtype.itemsize)
        state = self._start(N)
        out = _new_states((N, T, self.units), self.dtype)
        cuts = self._cuts(get_num_threads())        # for threads that split each step's units
        xs = np.ascontiguousarray(xs, dtype=self.dtype)
        for first in range(0, T, steps):
            block = np.ascontiguousarray(xs[:, first:first + steps])    # the kernels' one (C) layout
            noise = (self.noise * self._noise.standard_normal((N, block.shape[1], self.units))).astype(self.dtype) \
                if self.noise else np.empty((N, 0, self.units), dtype=self.dtype)
            kernels.reservoir.run_steps(self.csr, (block, self.Win, self.bias, noise), self.dtype.type(self.leak),
                                        state, out, first, cuts)
        if self.stateful:
            self.h = state
        return out

    def _cuts(self, blocks):
        """The units cut into ``blocks`` runs of equal work (``kernels.reservoir.unit_cuts``),
        kept per count."""
        if blocks not in self._unit_cuts:
            self._unit_cuts[blocks] = kernels.reservoir.unit_cuts(self.csr[0], blocks)
        return self._unit_cuts[blocks]

    def _start(self, N):
        if not self.stateful or self.h is None:
            return np.zeros((N, self.units), dtype=self.dtype)
        if self.h.shape[0] != N:
            raise ValueError(f"TimeReservoir: the carried state is for a batch of {self.h.shape[0]}, this batch "
                             f"has {N}; call reset_state() when the batch size changes")
        return self.h.copy()

    def set_state(self, h):
        """Carry h (N, H) into the next forward."""
        h = v.float_array("TimeReservoir", "h", h, ndims=(2,))
        if h.shape[1] != self.units:
            raise ValueError(f"TimeReservoir: h must have shape (N, {self.units}), got {h.shape}")
        self.h = v.finite("TimeReservoir", "h", np.array(h, dtype=self.dtype))

    def reset_state(self):
        """Forget the carried state."""
        self.h = None


class Ridge:
    """A linear readout fitted in closed form: ``fit(X (..., H), Y (..., M))`` centres X and Y
    (the bias is not regularized), solves ``(Xc.T @ Xc + ridge * I) Wout = Xc.T @ Yc`` in
    float64 (a symmetric solve) and sets ``bout = mean(Y) - mean(X) @ Wout``, over all leading
    axes as rows;
    ``predict(X) → X @ Wout + bout``."""

    def __init__(self, ridge=1e-6):
        self.ridge = _number("Ridge", "ridge", ridge, 0, np.inf, low_open=False, high_open=True)
        self.Wout, self.bout = None, None

    def fit(self, X, Y):
        X = v.finite("Ridge", "X", v.float_array("Ridge", "X", X))
        Y = v.finite("Ridge", "Y", v.float_array("Ridge", "Y", Y))
        if X.ndim < 2 or X.shape[:-1] != Y.shape[:-1]:
            raise ValueError(f"Ridge: X (..., H) and Y (..., M) must share their leading axes, got {X.shape} and "
                             f"{Y.shape}")
        X2 = X.reshape(-1, X.shape[-1]).astype(np.float64, copy=False)
        Y2 = Y.reshape(-1, Y.shape[-1]).astype(np.float64, copy=False)
        rows = X2.shape[0]
        x_mean, y_mean = X2.mean(axis=0), Y2.mean(axis=0)
        # the centred Gram matrix without a centred copy of X: X.T X - rows * mean mean.T
        gram = X2.T @ X2
        gram -= rows * np.outer(x_mean, x_mean)
        gram[np.diag_indices_from(gram)] += self.ridge
        cross = X2.T @ Y2 - rows * np.outer(x_mean, y_mean)
        try:
            Wout = scipy.linalg.solve(gram, cross, assume_a="sym")
        except np.linalg.LinAlgError:
            raise ValueError("Ridge: the states' Gram matrix is singular; use ridge > 0") from None
        self.Wout, self.bout = Wout.astype(X.dtype), (y_mean - x_mean @ Wout).astype(X.dtype)
        return self

    def predict(self, X):
        if self.Wout is None:
            raise RuntimeError("Ridge: predict called before fit")
        X = v.float_array("Ridge", "X", X)
        if X.shape[-1] != self.Wout.shape[0]:
            raise ValueError(f"Ridge: X must have {self.Wout.shape[0]} features in its last axis, got {X.shape}")
        return X @ self.Wout + self.bout
