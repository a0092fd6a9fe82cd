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
        import zipfile          # here and in save_params: a script that only builds models never pays for them
        try:
            with np.load(io.BytesIO(raw), allow_pickle=False) as data:
                count = sum(1 for name in data.files if name[:1] == "p" and name[1:].isdigit())
                return [data[f"p{i}"] for i in range(count)]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"load_params: {path} is damaged or not a fastseq parameter file "
                             f"({type(exc).__name__}: {exc})") from None
    try:
        arrays = _ArraysOnly(io.BytesIO(raw)).load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise ValueError(f"load_params: {path} is neither a fastseq .npz nor a readable book .pkl ({exc})") from None
    if not isinstance(arrays, (list, tuple)) or not all(isinstance(a, np.ndarray) for a in arrays):
        raise ValueError(f"load_params: {path} must hold a list of arrays")
    return list(arrays)


class BaseModel:
    """Mixin for models with ``params``: ``save_params`` / ``load_params``."""

    def _default_path(self, file_name, ext):
        return file_name if file_name is not None else type(self).__name__ + ext

    def save_params(self, file_name=None):
        """Write params to ``file_name`` (default ``<ClassName>.npz``) atomically."""
        from fastseq.runs import savez
        path = self._default_path(file_name, ".npz")
        savez(path, self.param_arrays(), finite=False)
        return path

    def load_params(self, file_name=None):
        """Copy saved arrays into ``params`` in place (by position); shapes must all match."""
        path = self._default_path(file_name, ".npz")
        if file_name is None and not os.path.exists(path) and os.path.exists(type(self).__name__ + ".pkl"):
            path = type(self).__name__ + ".pkl"
        self.set_params(_read(path), path)

    def param_arrays(self):
        """The parameters as ``{"p0": array, ...}``, the layout of a saved ``.npz``."""
        return {f"p{i}": p for i, p in enumerate(self.params)}

    def set_params(self, arrays, path="the arrays"):
        """Copy ``arrays`` (a list, in ``params`` order) into ``params`` in place, after checking
        every count and shape; ``path`` names their source in errors."""
        if len(arrays) != len(self.params):
            raise ValueError(f"load_params: {path} holds {len(arrays)} arrays, {type(self).__name__} "
                             f"has {len(self.params)} parameters")
        for i, (a, p) in enumerate(zip(arrays, self.params)):
            if a.shape != p.shape:
                raise ValueError(f"load_params: parameter {i} has shape {p.shape} in the model but "
                                 f"{a.shape} in {path}")
        for a, p in zip(arrays, self.params):
            p[...] = a
