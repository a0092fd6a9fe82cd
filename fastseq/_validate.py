"""Boundary checks shared by layers, functions and optimizers.

Each check raises ``TypeError`` (wrong kind of array) or ``ValueError``/``IndexError`` (wrong
shape or value) with a message naming the caller, the argument, what was expected and what came.
They are cheap: dtype and shape tests, and one ``min``/``max`` over an index array.
"""
import numpy as np


def is_kernel_float(dtype):
    """True for native-order float32 and float64, the dtypes the kernels are compiled for
    (a dtype's one-letter code is cheaper to test than ``dtype in (np.float32, np.float64)``)."""
    return dtype.char in "fd" and dtype.isnative


def float_array(where, name, x, ndims=None):
    """``x`` as a float32 or float64 ndarray, kept as is; ints, complex, float16 and extended
    precision are refused (the kernels are compiled for float32 and float64)."""
    x = np.asarray(x)
    if not is_kernel_float(x.dtype):
        raise TypeError(f"{where}: {name} must be a float32 or float64 array, got dtype {x.dtype}")
    if ndims is not None and x.ndim not in ndims:
        want = " or ".join(str(d) for d in ndims)
        raise ValueError(f"{where}: {name} must have {want} dimensions, got shape {x.shape}")
    return x


def integer(where, name, value, low=1):
    """``value`` as an int, after refusing anything but an integer (bools included) ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{where}: {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def gradient(where, name, g, shape, dtype):
    """An incoming gradient as a C-contiguous ``dtype`` array of ``shape``; a ``g`` that
    broadcasts to it (a scalar, a missing axis) is broadcast, as NumPy would in the book."""
    if type(g) is np.ndarray and g.dtype == dtype and g.shape == shape and g.flags.c_contiguous:
        return g                        # the usual case, without broadcast_to's cost
    g = np.asarray(g)
    if g.dtype.kind not in "fiu" or g.dtype == np.float16 or g.dtype.itemsize > 8:
        raise TypeError(f"{where}: {name} must be a float32 or float64 array, got dtype {g.dtype}")
    try:
        g = np.broadcast_to(g, shape)
    except ValueError:
        raise ValueError(f"{where}: {name} must have shape {tuple(shape)}, got {g.shape}") from None
    return np.ascontiguousarray(g, dtype=dtype)


def forward_done(where, cache):
    """``cache`` unchanged, after refusing a backward that came before any forward."""
    if cache is None:
        raise RuntimeError(f"{where}: backward called before forward")
    return cache


def finite(where, name, x):
    """``x`` unchanged, after refusing NaN and inf anywhere in it."""
    if not np.isfinite(x).all():
        raise ValueError(f"{where}: {name} contains NaN or inf")
    return x


def no_nan(where, name, x):
    """``x`` unchanged, after refusing NaN anywhere in it."""
    if np.isnan(x).any():
        raise ValueError(f"{where}: {name} contains NaN")
    return x


def label_array(where, name, t, n_classes, shape, ignore_label=None):
    """Integer labels of the given shape, each in ``[0, n_classes)`` (or equal to ``ignore_label``)."""
    t = np.asarray(t)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{where}: {name} must hold integer class ids, got dtype {t.dtype}")
    if t.shape != tuple(shape):
        raise ValueError(f"{where}: {name} must have shape {tuple(shape)}, got {t.shape}")
    if t.size:
        check = t if ignore_label is None else t[t != ignore_label]
        if check.size:
            lo, hi = check.min(), check.max()
            if lo < 0 or hi >= n_classes:
                bad = lo if lo < 0 else hi
                extra = "" if ignore_label is None else f" (or {ignore_label} to ignore)"
                raise IndexError(f"{where}: {name} holds id {bad}, outside [0, {n_classes}){extra}")
    return t


def id_array(where, name, idx, n_rows):
    """Integer ids of any shape, each in ``[0, n_rows)``; returned as an int64 or int32 array."""
    idx = np.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{where}: {name} must hold integer ids, got dtype {idx.dtype}")
    if idx.size:
        lo, hi = idx.min(), idx.max()
        if lo < 0 or hi >= n_rows:
            bad = lo if lo < 0 else hi
            raise IndexError(f"{where}: {name} holds id {bad}, outside [0, {n_rows})")
    if idx.dtype not in (np.int32, np.int64):
        idx = idx.astype(np.int64)
    return idx


def targets_from_onehot(where, name, t, x_shape):
    """Labels from ``t``: one-hot of the same shape as the scores (argmax over the last axis) or ids."""
    t = np.asarray(t)
    if x_shape and x_shape[-1] == 1 and t.size == int(np.prod(x_shape)) and t.size:
        raise ValueError(f"{where}: with a single class, {name} of labels and {name} of one-hot rows "
                         "look the same; give at least two classes")
    if t.shape == tuple(x_shape) and t.ndim >= 1 and x_shape[-1] > 1:
        return t.argmax(axis=-1)
    return t


def flat_view(a):
    """A 1-D view of ``a`` in memory order, or None when ``a`` is neither C- nor F-contiguous."""
    if a.flags.c_contiguous:
        return a.reshape(-1)
    if a.flags.f_contiguous:
        return a.T.reshape(-1)
    return None
