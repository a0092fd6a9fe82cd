"""The book's language models on fastseq's fast time layers (structures shared with the
reference), and their text generators ``RnnlmGen`` / ``BetterRnnlmGen`` (chapter 7)."""
import numpy as np

from fastseq._draws import book_draws
from fastseq.functions import softmax
from fastseq.layers import time_layers
from fastseq.models.base import BaseModel
from fastseq.reference import models as structure

__all__ = ["SimpleRnnlm", "Rnnlm", "BetterRnnlm", "RnnlmGen", "BetterRnnlmGen"]


class SimpleRnnlm(structure.SimpleRnnlm, BaseModel):
    """``SimpleRnnlm(vocab_size, wordvec_size, hidden_size)`` as in the book, fast layers."""

    layer_module = time_layers


class Rnnlm(structure.Rnnlm, BaseModel):
    """``Rnnlm(vocab_size=10000, wordvec_size=100, hidden_size=100)`` as in the book, fast layers."""

    layer_module = time_layers


class BetterRnnlm(structure.BetterRnnlm, BaseModel):
    """``BetterRnnlm(vocab_size=10000, wordvec_size=650, hidden_size=650, dropout_ratio=0.5)``
    as in the book, fast layers."""

    layer_module = time_layers


class _Generator:
    """Sampling one word at a time from a language model's ``predict``."""

    def generate(self, start_id, skip_ids=None, sample_size=100, temperature=1.0, top_k=None):
        """Ids of a sampled text that begins with ``start_id``, ``sample_size`` ids long.

        Each next id is drawn from softmax(scores / ``temperature``), restricted to the
        ``top_k`` best ids when given; ids in ``skip_ids`` are never drawn (their probability is
        set to zero). Randomness: ``np.random``.

        In "book" draw mode (the drop-in's), with temperature 1 and no top_k, it draws as the
        book does, so a seeded script prints the book's text: one ``np.random.choice`` per draw
        from the full softmax, and a skipped id is redrawn after another ``predict`` of the
        same word (which advances the state, as in the book); more than ``MAX_REDRAWS``
        redraws in a row stop with ValueError instead of looping."""
        V = self.params[0].shape[0]
        if isinstance(sample_size, bool) or not isinstance(sample_size, (int, np.integer)) or sample_size < 1:
            raise ValueError(f"generate: sample_size must be a positive integer, got {sample_size!r}")
        if not temperature > 0:
            raise ValueError(f"generate: temperature must be > 0, got {temperature}")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1):
            raise ValueError(f"generate: top_k must be a positive integer or None, got {top_k!r}")
        if not 0 <= int(start_id) < V:
            raise IndexError(f"generate: start_id {start_id} is outside [0, {V})")
        allowed = np.ones(V, dtype=bool)
        if skip_ids is not None:
            skip = np.asarray(list(skip_ids), dtype=np.int64)
            if skip.size and (skip.min() < 0 or skip.max() >= V):
                raise IndexError(f"generate: skip_ids holds an id outside [0, {V})")
            allowed[skip] = False
        if book_draws() and temperature == 1.0 and top_k is None:
            return self._generate_like_book(int(start_id), ~allowed, sample_size)
        word_ids = [int(start_id)]
        while len(word_ids) < sample_size:
            score = self.predict(np.array([[word_ids[-1]]], dtype=np.int32)).reshape(-1)
            logits = np.where(allowed, score.astype(np.float64) / temperature, -np.inf)
            if top_k is not None and top_k < V:
                cutoff = np.partition(logits, V - top_k)[V - top_k]
                logits[logits < cutoff] = -np.inf
            if not np.isfinite(logits.max()):
                raise ValueError("generate: every id is excluded by skip_ids/top_k")
            p = np.exp(logits - logits.max())
            word_ids.append(int(np.random.choice(V, p=p / p.sum())))
        return word_ids

    MAX_REDRAWS = 10000

    def _generate_like_book(self, start_id, skipped, sample_size):
        """The book's sampling loop; ``skipped`` (V,) bool marks the skip ids."""
        word_ids = [start_id]
        x, redraws = start_id, 0
        while len(word_ids) < sample_size:
            p = softmax(self.predict(np.array([[x]], dtype=np.int32)).reshape(-1))
            sampled = int(np.random.choice(p.shape[0], size=1, p=p)[0])
            if skipped[sampled]:
                redraws += 1
                if redraws > self.MAX_REDRAWS:
                    raise ValueError(f"generate: {self.MAX_REDRAWS} draws in a row fell on skip_ids")
                continue
            x, redraws = sampled, 0
            word_ids.append(x)
        return word_ids


class RnnlmGen(_Generator, Rnnlm):
    """Rnnlm with ``generate``; ``get_state()`` → (h, c), ``set_state((h, c))``."""

    def get_state(self):
        return self.lstm_layer.h, self.lstm_layer.c

    def set_state(self, state):
        self.lstm_layer.set_state(*state)


class BetterRnnlmGen(_Generator, BetterRnnlm):
    """BetterRnnlm with ``generate`` (dropout off); ``get_state()`` → [(h, c) per LSTM layer]."""

    def get_state(self):
        return [(layer.h, layer.c) for layer in self.lstm_layers]

    def set_state(self, states):
        for layer, state in zip(self.lstm_layers, states):
            layer.set_state(*state)
