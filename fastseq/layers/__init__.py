"""Fast drop-in replacements for the book's layers (``common.layers``, ``common.time_layers``)."""
from fastseq.layers.core import (Affine, Dropout, Embedding, MatMul, Sigmoid, SigmoidWithLoss,
                                 Softmax, SoftmaxWithLoss)

__all__ = ["Affine", "Dropout", "Embedding", "MatMul", "Sigmoid", "SigmoidWithLoss", "Softmax",
           "SoftmaxWithLoss"]
