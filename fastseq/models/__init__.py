"""The book's models on fastseq's layers: language models and their generators."""
from fastseq.models.base import BaseModel
from fastseq.models.rnnlm import BetterRnnlm, BetterRnnlmGen, Rnnlm, RnnlmGen, SimpleRnnlm

__all__ = ["BaseModel", "SimpleRnnlm", "Rnnlm", "BetterRnnlm", "RnnlmGen", "BetterRnnlmGen"]
