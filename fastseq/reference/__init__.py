"""Pure-NumPy twins of fastseq's fast layers, functions and optimizers.

Written as the book writes them, plainly and per step: the readable specification, the oracle
of the tests and the baseline of the benchmarks. Nothing here imports from the fast side.
"""
