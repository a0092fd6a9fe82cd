"""fastseq: Numba-compiled layers for the sequence models of *Deep Learning from Scratch 2*.

The public surface mirrors the book's ``common`` package (``fastseq.layers``,
``fastseq.functions``, ``fastseq.optimizers``, ``fastseq.trainer``, ``fastseq.util``);
``fastseq.reference`` holds the pure-NumPy twins used as test oracle and benchmark baseline.
"""
from fastseq._threads import get_num_threads, set_num_threads, threads

__version__ = "0.1.0"
__all__ = ["get_num_threads", "set_num_threads", "threads", "__version__"]
