"""Where the book-facing layers' random draws come from.

``"fast"`` (the library default): counter-based streams inside the kernels, seeded by one draw
from NumPy's global generator per call, so ``np.random.seed`` still makes a run reproducible.
``"book"``: the book's own draws on NumPy's global generator, in the book's order
(``np.random.rand(*x.shape) > ratio`` for dropout masks; ``np.random.choice(V, K,
replace=False, p)`` per row for negative samples), so a seeded book script prints the book's
numbers. The drop-in runner sets ``"book"``; ``FASTSEQ_DRAWS`` or ``set_draws`` choose.
"""
import os

MODES = ("fast", "book")
_ENV = "FASTSEQ_DRAWS"
_current = None


def get_draws():
    """The draw mode now: "fast" or "book"."""
    global _current
    if _current is None:
        value = os.environ.get(_ENV) or "fast"
        if value not in MODES:
            raise ValueError(f"{_ENV} must be one of {MODES}, got {value!r}")
        _current = value
    return _current


def set_draws(mode):
    """Draw randomness the ``"book"`` way or the ``"fast"`` way from now on, process-wide."""
    global _current
    if mode not in MODES:
        raise ValueError(f"set_draws: mode must be one of {MODES}, got {mode!r}")
    _current = mode


def book_draws():
    """True when layers draw as the book does."""
    return get_draws() == "book"
