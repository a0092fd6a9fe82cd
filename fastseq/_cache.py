"""Where numba caches fastseq's compiled kernels.

numba writes its cache beside the source (``fastseq/kernels/__pycache__``). When that folder
cannot be written (a read-only install, a system site-packages), numba would fail at import
with "cannot cache function"; fastseq then points ``NUMBA_CACHE_DIR`` at the user cache
(``$XDG_CACHE_HOME/fastseq/numba`` or ``~/.cache/fastseq/numba``) and warns once. A
``NUMBA_CACHE_DIR`` the user set is left alone.
"""
import _thread
import os
import warnings
from pathlib import Path


def _writable(folder):
    """True when a file can be created in ``folder`` (made if missing). The probe is a plain
    ``os.open``: ``tempfile`` would add a few milliseconds to every ``import fastseq``."""
    probe = folder / f".fastseq-probe-{os.getpid()}-{_thread.get_ident()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        os.unlink(probe)
        return True
    except OSError:
        return False


def ensure_writable_cache(numba_config=None):
    """Point numba's cache at a writable folder if the package's own is not (see the module
    docstring): through ``NUMBA_CACHE_DIR`` for a numba imported later, and through
    ``numba_config`` (``numba.config``) for one already imported. Returns the folder used, or
    None when numba's default is fine."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    if _writable(Path(__file__).parent / "kernels" / "__pycache__"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    target = Path(base) / "fastseq" / "numba"
    if not _writable(target):
        import tempfile
        target = Path(tempfile.gettempdir()) / f"fastseq-numba-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
        target.mkdir(parents=True, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = str(target)
    if numba_config is not None:
        numba_config.CACHE_DIR = str(target)
    warnings.warn(f"fastseq: {Path(__file__).parent / 'kernels'} is not writable; compiled kernels are "
                  f"cached in {target} (set NUMBA_CACHE_DIR to choose)", RuntimeWarning, stacklevel=3)
    return target
