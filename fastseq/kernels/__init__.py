"""``@njit`` kernels over plain arrays: no classes, no validation, no I/O.

Every kernel trusts its inputs (shapes, dtypes, index ranges); the layers in ``fastseq.layers``
check them first. Outputs are written into arrays the caller allocates.

The submodules are imported on first use (``kernels.softmax`` imports
``fastseq.kernels.softmax``), so that importing fastseq, the layers or the drop-in does not
import numba: a script that only builds models or loads data never pays numba's start-up, and
one that does starts numba through ``fastseq._numba_start``.
"""
import importlib

from fastseq._numba_start import start


def __getattr__(name):
    """A kernel submodule, imported on first access (it then sits in this package's namespace)."""
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    start()
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
