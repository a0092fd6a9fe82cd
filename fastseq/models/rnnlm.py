"""The book's ``Rnnlm`` on fastseq's fast time layers (structure shared with the reference)."""
from fastseq.layers import time_layers
from fastseq.models.base import BaseModel
from fastseq.reference.models import Rnnlm as _RnnlmStructure


class Rnnlm(_RnnlmStructure, BaseModel):
    """``Rnnlm(vocab_size=10000, wordvec_size=100, hidden_size=100)`` as in the book, fast layers."""

    layer_module = time_layers
