"""Recurrent layers: the single-step RNN, LSTM, GRU and the time layers TimeRNN, TimeLSTM,
TimeGRU, TimeBiLSTM (N batch, T time, D input, H hidden).

A time layer runs its loop time-major, so every step's slice is contiguous:

* forward: one input projection ``xs @ Wx + b`` over all N*T rows, then per step the recurrent
  product (NumPy's BLAS, written into a preallocated buffer) and the fused gate kernels of
  ``fastseq.kernels.recurrent``;
* backward: the loop back over t with the fused gate-derivative kernels and one recurrent
  product per step, then dWx, dWh, db and dxs as single large products over N*T rows.

A layer call on few elements, or one within the start-up credit before numba is imported, runs
the same steps in NumPy (``fastseq.numpy_kernels``).

The cache holds compact (T, N, ·) arrays, never per-step objects. The single-step layers are
the same engine run for T=1, with the caller's state. Computation happens in Wx's dtype
(float32 or float64); float inputs of another width are cast, as in the book.
"""
import numpy as np

from fastseq import _composite
from fastseq import _validate as v
from fastseq._threads import matmul
from fastseq.numpy_kernels import for_size
from fastseq.layers.core import affine_forward, column_sums

__all__ = ["RNN", "LSTM", "GRU", "TimeRNN", "TimeLSTM", "TimeGRU", "TimeBiLSTM"]


def _float_input(where, name, x, shape, dtype):
    """x as an array of ``dtype`` whose shape matches ``shape`` (a name such as "N" = any size),
    without NaN."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: {name} must be a float array, got dtype {x.dtype}")
    if x.ndim != len(shape) or any(not isinstance(s, str) and s != d for s, d in zip(shape, x.shape)):
        want = "(" + ", ".join(str(s) for s in shape) + ")"
        raise ValueError(f"{where}: {name} must have shape {want}, got {x.shape}")
    return v.no_nan(where, name, x).astype(dtype, copy=False)


def _check_params(where, Wx, Wh, b, blocks):
    H = Wh.shape[0] if np.ndim(Wh) == 2 else -1
    want = {"Wx": ("D", blocks * H), "Wh": (H, blocks * H), "b": (blocks * H,)}
    for name, p in (("Wx", Wx), ("Wh", Wh), ("b", b)):
        if p is None:
            continue
        p = np.asarray(p)
        if not v.is_kernel_float(p.dtype) or p.ndim != len(want[name]) or any(
                not isinstance(s, str) and s != d for s, d in zip(want[name], p.shape)):
            shape = "(" + ", ".join(map(str, want[name])) + ")"
            raise ValueError(f"{where}: {name} must be a float array of shape {shape} (H={H}, "
                             f"{blocks} gate blocks), got {p.dtype} {p.shape}")


def bias_or_stateful(where, b, stateful):
    """The Korean edition's ``TimeGRU(Wx, Wh, stateful)`` passes the flag third, where the
    original passes ``b``: a bool there is the flag. Returns ``(b, stateful)``."""
    if isinstance(b, (bool, np.bool_)):
        if stateful:
            raise TypeError(f"{where}: stateful given twice (third argument {b} and stateful={stateful})")
        return None, bool(b)
    return b, stateful


def _step_operand(w, steps, rows):
    """``w``, a transposed view of (part of) Wh, as the right operand of the backward loop's
    per-step products ``dA[t] @ w``: a C-contiguous copy where the steps repay it, else ``w``.
    OpenBLAS read the transposed view slower: (20, 2600) @ (2600, 650) took 911 µs from the view
    against 663 µs from a copy, (128, 512) @ (512, 128) 161 against 144 µs, while the copy itself
    cost about what 4 steps save (1.0 ms and 69 µs); at 10 rows or fewer the view was as fast."""
    return np.ascontiguousarray(w) if steps >= 5 and rows >= 16 else w


class _Recurrence:
    """The engine shared by all recurrent layers. Subclasses set ``blocks`` (gate blocks in the
    packed weights), ``has_cell`` (LSTM's c) and implement ``_steps_forward`` and
    ``_steps_backward`` over time-major arrays. ``b=None`` (the Korean edition's bias-free GRU)
    leaves ``params``/``grads`` as ``[Wx, Wh]``/``[dWx, dWh]`` and adds no bias."""

    blocks = 1
    has_cell = False

    def __init__(self, Wx, Wh, b):
        _check_params(type(self).__name__, Wx, Wh, b, self.blocks)
        self.params = [Wx, Wh] if b is None else [Wx, Wh, b]
        self.grads = [np.zeros_like(p) for p in self.params]
        self._cache = None
        self._backward_done = False

    @property
    def dWx(self):
        """The book's GRU attribute: grads[0] after a backward, None before."""
        return self.grads[0] if self._backward_done else None

    @property
    def dWh(self):
        """The book's GRU attribute: grads[1] after a backward, None before."""
        return self.grads[1] if self._backward_done else None

    @property
    def Wx(self):
        return self.params[0]

    @property
    def Wh(self):
        return self.params[1]

    def _bias(self):
        """b, or zeros of shape (blocks*H,) for a bias-free layer."""
        if len(self.params) == 3:
            return self.params[2]
        return np.zeros(self.params[1].shape[1], dtype=self.params[0].dtype)

    def _check_weights(self):
        """The params as they are now (a caller may have replaced them): same shapes and dtypes
        as at construction, so the kernels never index past them."""
        where = type(self).__name__
        for i, (p, g) in enumerate(zip(self.params, self.grads)):
            if not isinstance(p, np.ndarray) or p.shape != g.shape or p.dtype != g.dtype:
                got = f"{p.dtype} {p.shape}" if isinstance(p, np.ndarray) else type(p).__name__
                raise ValueError(f"{where}: params[{i}] is now {got}, the layer was built for {g.dtype} {g.shape}; "
                                 "build a new layer for new weights")

    def _run_forward(self, xs_tm, h0, c0):
        """xs_tm (T, N, D), h0/c0 (N, H) → hs (T, N, H) and the last c (or None)."""
        self._check_weights()
        Wx, b = self.params[0], self._bias()
        T, N, D = xs_tm.shape
        ax = affine_forward(xs_tm.reshape(T * N, D), Wx, b).reshape(T, N, Wx.shape[1])
        hs, cs, state = self._steps_forward(ax, h0, c0)
        self._cache = (xs_tm, h0, hs, state)
        return hs, (cs[-1] if cs is not None else None)

    def _run_backward(self, dhs_tm, dh, dc):
        """dhs_tm (T, N, H) and the gradients reaching the last h/c (or None) → dxs (T, N, D),
        dh0, dc0 (None without a cell); fills grads."""
        Wx = self.params[0]
        xs_tm, h0, hs, state = self._cache
        T, N, H = hs.shape
        D = Wx.shape[0]
        dh = np.zeros((N, H), Wx.dtype) if dh is None else np.array(dh, dtype=Wx.dtype)
        if self.has_cell:
            dc = np.zeros((N, H), Wx.dtype) if dc is None else np.array(dc, dtype=Wx.dtype)
        dA = np.empty((T, N, self.blocks * H), dtype=Wx.dtype)
        dh = self._steps_backward(dhs_tm, dh, dc, state, hs, h0, dA)
        dA2 = dA.reshape(T * N, self.blocks * H)
        h_prev = np.concatenate([h0[None], hs[:-1]]).reshape(T * N, H)
        matmul(xs_tm.reshape(T * N, D).T, dA2, out=self.grads[0])
        self._weight_grad_h(h_prev, dA2, state)
        if len(self.grads) == 3:
            column_sums(dA2, self.grads[2])
        dxs = matmul(dA2, Wx.T).reshape(T, N, D)
        self._backward_done = True
        return dxs, dh, dc

    def _weight_grad_h(self, h_prev, dA2, state):
        matmul(h_prev.T, dA2, out=self.grads[1])

    @property
    def cache_bytes(self):
        """Bytes held between forward and backward (0 before the first forward)."""
        if self._cache is None:
            return 0
        xs_tm, h0, hs, state = self._cache
        arrays = [xs_tm, h0, hs] + [a for a in (state or ()) if a is not None]
        return sum(a.nbytes for a in arrays)


class _RNNCell(_Recurrence):
    blocks = 1

    def _steps_forward(self, ax, h0, c0):
        Wh = self.params[1]
        hs = np.empty_like(ax)
        ah = np.empty_like(h0)
        h = h0
        step = for_size("recurrent", ax.size)
        for t in range(ax.shape[0]):
            matmul(h, Wh, out=ah)
            step.rnn_step_forward(ax[t], ah, hs[t])
            h = hs[t]
        return hs, None, None

    def _steps_backward(self, dhs, dh, dc, state, hs, h0, dA):
        WhT = _step_operand(self.params[1].T, hs.shape[0], dh.shape[0])
        step = for_size("recurrent", dA.size)
        for t in range(hs.shape[0] - 1, -1, -1):
            dh += dhs[t]
            step.rnn_step_backward(dh, hs[t], dA[t])
            matmul(dA[t], WhT, out=dh)
        return dh


class _LSTMCell(_Recurrence):
    blocks = 4
    has_cell = True

    def _steps_forward(self, ax, h0, c0):
        Wh = self.params[1]
        T, N, _ = ax.shape
        H = h0.shape[1]
        hs = np.empty((T, N, H), dtype=ax.dtype)
        cs = np.empty_like(hs)
        gates = np.empty_like(ax)
        ah = np.empty((N, 4 * H), dtype=ax.dtype)
        h, c = h0, c0
        step = for_size("recurrent", ax.size)
        for t in range(T):
            matmul(h, Wh, out=ah)
            step.lstm_step_forward(ax[t], ah, c, gates[t], cs[t], hs[t])
            h, c = hs[t], cs[t]
        return hs, cs, (c0, cs, gates)

    def _steps_backward(self, dhs, dh, dc, state, hs, h0, dA):
        WhT = _step_operand(self.params[1].T, hs.shape[0], dh.shape[0])
        c0, cs, gates = state
        step = for_size("recurrent", dA.size)
        for t in range(hs.shape[0] - 1, -1, -1):
            dh += dhs[t]
            step.lstm_step_backward(dh, dc, gates[t], cs[t - 1] if t > 0 else c0, cs[t], dA[t])
            matmul(dA[t], WhT, out=dh)
        return dh


class _GRUCell(_Recurrence):
    blocks = 3

    def _steps_forward(self, ax, h0, c0):
        Wh = self.params[1]
        T, N, _ = ax.shape
        H = h0.shape[1]
        Wh_zr, Wh_h = Wh[:, :2 * H], Wh[:, 2 * H:]
        hs = np.empty((T, N, H), dtype=ax.dtype)
        rhs = np.empty_like(hs)
        gates = np.empty_like(ax)
        ah_zr = np.empty((N, 2 * H), dtype=ax.dtype)
        ah_h = np.empty((N, H), dtype=ax.dtype)
        h = h0
        step = for_size("recurrent", ax.size)
        for t in range(T):
            matmul(h, Wh_zr, out=ah_zr)
            step.gru_step_gates(ax[t], ah_zr, h, gates[t], rhs[t])
            matmul(rhs[t], Wh_h, out=ah_h)
            step.gru_step_output(ax[t], ah_h, h, gates[t], hs[t])
            h = hs[t]
        return hs, None, (gates, rhs)

    def _steps_backward(self, dhs, dh, dc, state, hs, h0, dA):
        Wh = self.params[1]
        gates, _ = state
        N, H = dh.shape
        Wh_zr_T, Wh_h_T = (_step_operand(w.T, hs.shape[0], N) for w in (Wh[:, :2 * H], Wh[:, 2 * H:]))
        dh_prev, dhr, back = np.empty_like(dh), np.empty_like(dh), np.empty_like(dh)
        step = for_size("recurrent", dA.size)
        for t in range(hs.shape[0] - 1, -1, -1):
            dh += dhs[t]
            h_prev = hs[t - 1] if t > 0 else h0
            step.gru_step_backward_candidate(dh, gates[t], dA[t], dh_prev)
            matmul(dA[t, :, 2 * H:], Wh_h_T, out=dhr)
            step.gru_step_backward_gates(dh, dhr, gates[t], h_prev, dA[t], dh_prev)
            matmul(dA[t, :, :2 * H], Wh_zr_T, out=back)
            dh_prev += back
            dh, dh_prev = dh_prev, dh
        return dh

    def _weight_grad_h(self, h_prev, dA2, state):
        _, rhs = state
        H = h_prev.shape[1]
        dWh = self.grads[1]
        matmul(h_prev.T, dA2[:, :2 * H], out=dWh[:, :2 * H])
        matmul(rhs.reshape(-1, H).T, dA2[:, 2 * H:], out=dWh[:, 2 * H:])


class _Step:
    """A single-step layer: the engine for T=1 with the caller's state."""

    def _state_input(self, name, s, N):
        H = self.params[1].shape[0]
        return np.ascontiguousarray(_float_input(type(self).__name__, name, s, (N, H), self.params[0].dtype))

    def _step_forward(self, x, h_prev, c_prev=None):
        Wx = self.params[0]
        where = type(self).__name__
        x = _float_input(where, "x", x, ("N", Wx.shape[0]), Wx.dtype)
        h_prev = self._state_input("h_prev", h_prev, x.shape[0])
        if self.has_cell:
            c_prev = self._state_input("c_prev", c_prev, x.shape[0])
        hs, c = self._run_forward(x[None], h_prev, c_prev)
        return hs[0], c

    def _step_backward(self, dh_next, dc_next=None):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}: backward called before forward")
        N = self._cache[1].shape[0]
        dh_next = self._state_input("dh_next", dh_next, N)
        if self.has_cell:
            dc_next = self._state_input("dc_next", dc_next, N)
        dxs, dh_prev, dc_prev = self._run_backward(dh_next[None], None, dc_next)
        return dxs[0], dh_prev, dc_prev


class RNN(_Step, _RNNCell):
    """One RNN step: ``h_next = tanh(h_prev @ Wh + x @ Wx + b)``. ``Wx (D, H)``, ``Wh (H, H)``,
    ``b (H,)``. ``forward(x (N, D), h_prev (N, H))`` → h_next; ``backward(dh_next)`` →
    ``(dx, dh_prev)`` and sets grads."""

    def forward(self, x, h_prev):
        return self._step_forward(x, h_prev)[0]

    def backward(self, dh_next):
        return self._step_backward(dh_next)[:2]


class LSTM(_Step, _LSTMCell):
    """One LSTM step, gate blocks f, g, i, o in ``Wx (D, 4H)``, ``Wh (H, 4H)``, ``b (4H,)``.
    ``forward(x, h_prev, c_prev)`` → ``(h_next, c_next)``; ``backward(dh_next, dc_next)`` →
    ``(dx, dh_prev, dc_prev)`` and sets grads."""

    def forward(self, x, h_prev, c_prev):
        return self._step_forward(x, h_prev, c_prev)

    def backward(self, dh_next, dc_next):
        return self._step_backward(dh_next, dc_next)


class GRU(_Step, _GRUCell):
    """One GRU step, blocks z, r, h̃ in ``Wx (D, 3H)``, ``Wh (H, 3H)``, ``b (3H,)`` or None:
    ``h_next = (1-z)*h_prev + z*tanh(x Wxh + (r*h_prev) Whh + bh)``. ``forward(x, h_prev)`` →
    h_next; ``backward(dh_next)`` → ``(dx, dh_prev)`` and sets grads (and ``dWx``/``dWh``).
    ``GRU(Wx, Wh)`` is the Korean edition's bias-free cell, ``GRU(Wx, Wh, b)`` the original's."""

    def __init__(self, Wx, Wh, b=None):
        super().__init__(Wx, Wh, b)

    def forward(self, x, h_prev):
        return self._step_forward(x, h_prev)[0]

    def backward(self, dh_next):
        return self._step_backward(dh_next)[:2]


class _Time:
    """Time-layer protocol over the engine: ``forward(xs (N, T, D))`` → ``hs (N, T, H)``;
    ``backward(dhs)`` → ``dxs`` and fills grads; ``stateful=True`` carries the state between
    calls (truncated BPTT); ``dh`` holds the gradient w.r.t. the initial h after backward."""

    def __init__(self, Wx, Wh, b, stateful=False):
        super().__init__(Wx, Wh, b)
        self.stateful = stateful
        self.h, self.dh = None, None
        if self.has_cell:
            self.c = None

    def _initial(self, name, N):
        Wx, Wh = self.params[:2]
        state = getattr(self, name)
        if not self.stateful or state is None:
            return np.zeros((N, Wh.shape[0]), dtype=Wx.dtype)
        if state.shape != (N, Wh.shape[0]):
            raise ValueError(f"{type(self).__name__}: carried state {name} has shape {state.shape}, but this "
                             f"batch needs ({N}, {Wh.shape[0]}); call reset_state() when the batch size changes")
        return np.ascontiguousarray(state, dtype=Wx.dtype)

    def forward(self, xs):
        Wx = self.params[0]
        xs = _float_input(type(self).__name__, "xs", xs, ("N", "T", Wx.shape[0]), Wx.dtype)
        N = xs.shape[0]
        h0 = self._initial("h", N)
        c0 = self._initial("c", N) if self.has_cell else None
        if xs.shape[1] == 0:                      # no steps: no output, the state stays
            self._cache = None
            return np.zeros((N, 0, h0.shape[1]), dtype=Wx.dtype)
        hs, c = self._run_forward(np.ascontiguousarray(xs.transpose(1, 0, 2)), h0, c0)
        self.h = hs[-1].copy()
        if self.has_cell:
            self.c = c.copy()
        return np.ascontiguousarray(hs.transpose(1, 0, 2))

    def backward(self, dhs):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}: backward called before forward")
        T, N, H = self._cache[2].shape
        dhs = _float_input(type(self).__name__, "dhs", dhs, (N, T, H), self.params[0].dtype)
        dxs, self.dh, _ = self._run_backward(np.ascontiguousarray(dhs.transpose(1, 0, 2)), None, None)
        return dxs.transpose(1, 0, 2)

    def set_state(self, h, c=None):
        """Set the carried state: h (N, H), and for TimeLSTM c (N, H) or None."""
        H = self.params[1].shape[0]
        for name, s in (("h", h), ("c", c)):
            if s is not None and (np.ndim(s) != 2 or np.shape(s)[1] != H):
                raise ValueError(f"{type(self).__name__}.set_state: {name} must have shape (N, {H}), "
                                 f"got {np.shape(s)}")
        if c is not None and not self.has_cell:
            raise ValueError(f"{type(self).__name__}.set_state: this layer has no cell state c")
        self.h = h
        if self.has_cell:
            self.c = c

    def reset_state(self):
        """Forget the carried state."""
        self.h = None
        if self.has_cell:
            self.c = None


class TimeRNN(_Time, _RNNCell):
    """T RNN steps; weights as RNN; state ``h``."""


class TimeLSTM(_Time, _LSTMCell):
    """T LSTM steps; weights as LSTM (gate blocks f, g, i, o); state ``h`` and ``c``."""


class TimeGRU(_Time, _GRUCell):
    """T GRU steps; weights as GRU (blocks z, r, h̃, ``b`` optional); state ``h``. Both
    editions' calls work: ``TimeGRU(Wx, Wh, b, stateful=False)`` and the Korean
    ``TimeGRU(Wx, Wh, stateful=False)`` (a bool third argument is the flag)."""

    def __init__(self, Wx, Wh, b=None, stateful=False):
        b, stateful = bias_or_stateful("TimeGRU", b, stateful)
        super().__init__(Wx, Wh, b, stateful)


class TimeBiLSTM(_composite.TimeBiLSTM):
    """A forward TimeLSTM over xs and a backward one over xs reversed in time, outputs
    concatenated on the last axis: ``forward(xs (N, T, D))`` → ``(N, T, 2H)``. ``params`` /
    ``grads`` are the two layers' lists concatenated (the book's composition, fast TimeLSTMs)."""

    lstm_class = TimeLSTM

    def forward(self, xs):
        return super().forward(np.asarray(xs))

    def backward(self, dhs):
        H = self.forward_lstm.params[1].shape[0]
        dhs = np.asarray(dhs)
        if dhs.ndim != 3 or dhs.shape[2] != 2 * H:
            raise ValueError(f"TimeBiLSTM: dhs must have shape (N, T, {2 * H}), got {dhs.shape}")
        return super().backward(dhs)
