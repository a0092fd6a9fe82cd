"""``BaseModel``: saving and loading a model's parameters safely.

``save_params(path)`` writes an ``.npz`` (no pickle) through a temporary file renamed into
place, so a crash never leaves a half-written checkpoint. ``load_params(path)`` reads that
format, and also the book's pickled list of float16 arrays (``Rnnlm.pkl``) through an
unpickler that admits NumPy arrays and nothing else; every array is checked against the
model's parameter of the same position before any is copied in.
"""
import io
import os
import pickle
import tempfile

import numpy as np


class _ArraysOnly(pickle.Unpickler):
    _allowed = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                ("numpy._core.multiarray", "scalar")}

    def find_class(self, module, name):
        if (module, name) in self._allowed:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"load_params: the pickle holds {module}.{name}; only NumPy arrays are allowed")


def _read(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"PK":
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            count = sum(1 for name in data.files if name[:1] == "p" and name[1:].isdigit())
            return [data[f"p{i}"] for i in range(count)]
    try:
        arrays = _ArraysOnly(io.BytesIO(raw)).load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise ValueError(f"load_params: {path} is neither a fastseq .npz nor a readable book .pkl ({exc})") from None
    if not isinstance(arrays, (list, tuple)) or not all(isinstance(a, np.ndarray) for a in arrays):
        raise ValueError(f"load_params: {path} must hold a list of arrays")
    return list(arrays)


def atomic_savez(path, arrays):
    """Write ``arrays`` (name → array) as an ``.npz`` at ``path`` through a temporary file in the
    same folder renamed into place: readers see the old file or the new one, never half of one."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class BaseModel:
    """Mixin for models with ``params``: ``save_params`` / ``load_params``."""

    def _default_path(self, file_name, ext):
        return file_name if file_name is not None else type(self).__name__ + ext

    def save_params(self, file_name=None):
        """Write params to ``file_name`` (default ``<ClassName>.npz``) atomically."""
        path = self._default_path(file_name, ".npz")
        atomic_savez(path, {f"p{i}": p for i, p in enumerate(self.params)})
        return path

    def load_params(self, file_name=None):
        """Copy saved arrays into ``params`` in place (by position); shapes must all match."""
        path = self._default_path(file_name, ".npz")
        if file_name is None and not os.path.exists(path) and os.path.exists(type(self).__name__ + ".pkl"):
            path = type(self).__name__ + ".pkl"
        arrays = _read(path)
        if len(arrays) != len(self.params):
            raise ValueError(f"load_params: {path} holds {len(arrays)} arrays, {type(self).__name__} "
                             f"has {len(self.params)} parameters")
        for i, (a, p) in enumerate(zip(arrays, self.params)):
            if a.shape != p.shape:
                raise ValueError(f"load_params: parameter {i} has shape {p.shape} in the model but "
                                 f"{a.shape} in {path}")
        for a, p in zip(arrays, self.params):
            p[...] = a
