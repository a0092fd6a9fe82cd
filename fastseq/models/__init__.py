"""The book's models on fastseq's layers: word2vec models, language models and their generators."""
from fastseq.models.base import BaseModel
from fastseq.models.rnnlm import BetterRnnlm, BetterRnnlmGen, Rnnlm, RnnlmGen, SimpleRnnlm
from fastseq.models.word2vec import CBOW, SimpleCBOW, SimpleSkipGram, SkipGram

__all__ = ["BaseModel", "SimpleCBOW", "SimpleSkipGram", "CBOW", "SkipGram", "SimpleRnnlm", "Rnnlm", "BetterRnnlm",
           "RnnlmGen", "BetterRnnlmGen"]
