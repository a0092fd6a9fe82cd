"""The book's optimizers (``common/optimizer``) as one fused, in-place kernel pass per parameter.

Same classes, arguments and attributes as the book: SGD, Momentum, Nesterov, AdaGrad, RMSprop,
Adam; state (``v``, ``h``, ``m``, ``iter``) is created on the first ``update`` with one slot per
position in ``params``; ``lr`` may be changed between calls. Each parameter is updated in
place through a 1-D view in its memory order, so C- and F-ordered (transposed) parameters both
work; a parameter that is neither must be made contiguous by the caller. A parameter of fewer
than ``numpy_kernels.MAX_SIZE`` elements is updated by the same formula in NumPy, so that a tiny
model never starts numba (see ``fastseq.numpy_kernels``).
"""
import numpy as np

from fastseq._validate import flat_view, is_kernel_float
from fastseq import kernels, numpy_kernels

_EPS = 1e-7


def _grad(i, g, p):
    """grads[i] as an array of params[i]'s shape and dtype (converted only if it is not one)."""
    if type(g) is np.ndarray and g.dtype == p.dtype and g.shape == p.shape:
        return g                        # the usual case, checked in one line
    g = np.asarray(g)
    if g.shape != p.shape:
        raise ValueError(f"optimizer: grads[{i}] has shape {g.shape}, params[{i}] has {p.shape}")
    if g.dtype.kind not in "fiub":
        raise TypeError(f"optimizer: grads[{i}] must be a real array, got dtype {g.dtype}")
    return g.astype(p.dtype)


def _grad_view(p, g):
    """g (checked: p's shape and dtype) flattened in the memory order of p (copied only if
    their layouts differ)."""
    if g.flags.c_contiguous and p.flags.c_contiguous:
        return g.reshape(-1)
    order = "C" if p.flags.c_contiguous else "F"
    return np.asarray(g, order=order).reshape(-1, order=order)


def _checked_grad(where, i, p, g):
    """grads[i] as an array of params[i]'s shape and dtype, after checking that params[i] is a
    writable, C- or F-contiguous float32 or float64 array; raises naming the entry otherwise."""
    if not isinstance(p, np.ndarray) or not is_kernel_float(p.dtype):
        got = p.dtype if isinstance(p, np.ndarray) else type(p).__name__
        raise TypeError(f"{where}: params[{i}] must be a float32 or float64 array, got {got}")
    flags = p.flags
    if not flags.writeable:
        raise ValueError(f"{where}: params[{i}] is read-only and cannot be updated in place")
    if not (flags.c_contiguous or flags.f_contiguous):
        raise ValueError(f"{where}: params[{i}] (shape {p.shape}) must be C- or F-contiguous "
                         "to be updated in place")
    return _grad(i, g, p)


def _checked_grads(optimizer, params, grads):
    """The gradients, each an array of its parameter's shape and dtype, after ``_checked_grad``'s
    checks of every entry: all before any parameter is touched, so a bad entry leaves the model
    as it was. The usual entry (two ndarrays that already match) passes one line of tests."""
    if len(params) != len(grads):
        raise ValueError(f"{type(optimizer).__name__}.update: {len(params)} params but {len(grads)} grads")
    checked = list(grads)
    for i, p in enumerate(params):
        g = checked[i]
        if (type(p) is np.ndarray and type(g) is np.ndarray and g.shape == p.shape and g.dtype == p.dtype
                and p.dtype.char in "fd" and p.dtype.isnative):
            flags = p.flags
            if flags.writeable and (flags.c_contiguous or flags.f_contiguous):
                continue
        checked[i] = _checked_grad(f"{type(optimizer).__name__}.update", i, p, g)
    return checked


class _Optimizer:
    """Shared driver: checks the lists, creates the state lazily, runs one kernel per parameter.
    A subclass names its update kernel in ``fastseq.kernels.optim`` as ``_kernel``."""

    state_names = ()

    def update(self, params, grads):
        """Update every ``params[i]`` in place from ``grads[i]``."""
        grads = _checked_grads(self, params, grads)
        if self.state_names:
            if getattr(self, self.state_names[0]) is None:
                for name in self.state_names:
                    setattr(self, name, [np.zeros_like(p) for p in params])
            self._check_state(f"{type(self).__name__}.update", params)
        self._begin_step()
        scalars = self._scalars()
        slots = list(zip(*(getattr(self, name) for name in self.state_names))) or [()] * len(params)
        small_update = getattr(numpy_kernels, self._kernel)
        typed = {}                      # the scalars in each parameter dtype
        for p, g, state in zip(params, grads, slots):
            scalars_p = typed.get(p.dtype)
            if scalars_p is None:
                scalars_p = typed[p.dtype] = [p.dtype.type(s) for s in scalars]
            if p.size < numpy_kernels.MAX_SIZE:     # see fastseq.numpy_kernels: no numba for tiny models
                small_update(p, g, *state, *scalars_p)
            else:
                getattr(kernels.optim, self._kernel)(flat_view(p), _grad_view(p, g), *map(flat_view, state),
                                                     *scalars_p)

    def _check_state(self, where, params):
        """Every state slot matches its parameter (shape, dtype, contiguous), checked before any
        parameter is touched: state made for another model, or loaded from a foreign
        checkpoint, is refused instead of read out of bounds."""
        for name in self.state_names:
            slots = getattr(self, name)
            if not isinstance(slots, list) or len(slots) != len(params):
                n = len(slots) if isinstance(slots, list) else type(slots).__name__
                raise ValueError(f"{where}: the optimizer's state {name!r} has {n} slots for {len(params)} params "
                                 "(state made for another model: use one optimizer per model)")
            for i, (a, p) in enumerate(zip(slots, params)):
                if type(a) is np.ndarray and a.shape == p.shape and a.dtype == p.dtype and a.flags.c_contiguous:
                    continue                # the usual slot, checked in one line
                if (not isinstance(a, np.ndarray) or a.shape != p.shape or a.dtype != p.dtype
                        or flat_view(a) is None):
                    got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
                    raise ValueError(f"{where}: state {name}[{i}] is {got}, params[{i}] is {p.dtype} {p.shape} "
                                     "(state made for another model: use one optimizer per model)")

    def _begin_step(self):
        pass

    def state_dict(self):
        """The optimizer's state for a checkpoint: ``{"scalars": {name: number},
        "arrays": {"<state>.<i>": array}}`` (arrays absent before the first update)."""
        scalars = {k: v for k, v in vars(self).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        arrays = {f"{name}.{i}": a for name in self.state_names if getattr(self, name) is not None
                  for i, a in enumerate(getattr(self, name))}
        return {"scalars": scalars, "arrays": arrays}

    def load_state_dict(self, state):
        """Restore what ``state_dict`` returned. Its arrays are checked against the parameters
        at the next ``update``; malformed keys or values are refused here."""
        where = f"{type(self).__name__}.load_state_dict"
        try:
            scalars, arrays = dict(state["scalars"]), dict(state["arrays"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{where}: state must be a dict with 'scalars' and 'arrays'") from None
        for k, v in scalars.items():
            if k not in vars(self) or isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
                raise ValueError(f"{where}: unknown or non-numeric scalar {k!r}")
        loaded = {}
        for key, a in arrays.items():
            name, _, index = str(key).partition(".")
            if name not in self.state_names or not index.isdigit():
                raise ValueError(f"{where}: unknown state array {key!r}")
            loaded.setdefault(name, {})[int(index)] = np.array(a)
        for name, slots in loaded.items():
            if sorted(slots) != list(range(len(slots))):
                raise ValueError(f"{where}: state {name!r} has slots {sorted(slots)}, not 0..{len(slots) - 1}")
        for k, v in scalars.items():
            setattr(self, k, v)
        for name in self.state_names:
            slots = loaded.get(name)
            setattr(self, name, [slots[i] for i in range(len(slots))] if slots else None)


class SGD(_Optimizer):
    """``param -= lr * grad``."""
    _kernel = "sgd_update"

    def __init__(self, lr=0.01):
        self.lr = lr

    def _scalars(self):
        return (self.lr,)


class Momentum(_Optimizer):
    """``v = momentum * v - lr * grad; param += v``."""
    state_names = ("v",)
    _kernel = "momentum_update"

    def __init__(self, lr=0.01, momentum=0.9):
        self.lr = lr
        self.momentum = momentum
        self.v = None

    def _scalars(self):
        return (self.lr, self.momentum)


class Nesterov(Momentum):
    """Nesterov's accelerated gradient in the book's form."""
    _kernel = "nesterov_update"


class AdaGrad(_Optimizer):
    """``h += grad**2; param -= lr * grad / (sqrt(h) + 1e-7)``."""
    state_names = ("h",)
    _kernel = "adagrad_update"

    def __init__(self, lr=0.01):
        self.lr = lr
        self.h = None

    def _scalars(self):
        return (self.lr, _EPS)


class RMSprop(_Optimizer):
    """``h = decay * h + (1 - decay) * grad**2; param -= lr * grad / (sqrt(h) + 1e-7)``."""
    state_names = ("h",)
    _kernel = "rmsprop_update"

    def __init__(self, lr=0.01, decay_rate=0.99):
        self.lr = lr
        self.decay_rate = decay_rate
        self.h = None

    def _scalars(self):
        return (self.lr, self.decay_rate, _EPS)


class Adam(_Optimizer):
    """Adam with the bias correction folded into the step: ``lr * sqrt(1-beta2^t) / (1-beta1^t)``."""
    state_names = ("m", "v")
    _kernel = "adam_update"

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.iter = 0
        self.m = None
        self.v = None

    def _begin_step(self):
        self.iter += 1

    def _scalars(self):
        lr_t = self.lr * np.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)
        return (lr_t, self.beta1, self.beta2, _EPS)
