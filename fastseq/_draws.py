"""Where the book-facing layers' random draws come from.

``"fast"`` (the library default): counter-based streams inside the kernels, seeded by one draw
from NumPy's global generator per call, so ``np.random.seed`` still makes a run reproducible.
``"book"``: the book's own draws on NumPy's global generator, in the book's order
(``np.random.rand(*x.shape) > ratio`` for dropout masks; ``np.random.choice(V, K,
replace=False, p)`` per row for negative samples), so a seeded book script prints the book's
numbers. The drop-in runner sets ``"book"``; ``FASTSEQ_DRAWS`` or ``set_draws`` choose.
"""
from fastseq._settings import ProcessSetting

MODES = ("fast", "book")
_DRAWS = ProcessSetting("FASTSEQ_DRAWS", MODES, "fast")


def get_draws():
    """The draw mode now: "fast" or "book"."""
    return _DRAWS.get()


def set_draws(mode):
    """Draw randomness the ``"book"`` way or the ``"fast"`` way from now on, process-wide."""
    _DRAWS.set(mode, "set_draws")


def book_draws():
    """True when layers draw as the book does."""
    return get_draws() == "book"
