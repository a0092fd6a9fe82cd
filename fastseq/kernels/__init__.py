"""``@njit`` kernels over plain arrays: no classes, no validation, no I/O.

Every kernel trusts its inputs (shapes, dtypes, index ranges); the layers in ``fastseq.layers``
check them first. Outputs are written into arrays the caller allocates.
"""
