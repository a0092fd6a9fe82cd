"""The book's models on fastseq's fast layers."""
from fastseq.models.base import BaseModel
from fastseq.models.rnnlm import Rnnlm

__all__ = ["BaseModel", "Rnnlm"]
