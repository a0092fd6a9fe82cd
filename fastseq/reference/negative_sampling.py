"""The book's ``ch04/negative_sampling_layer`` in plain NumPy: EmbeddingDot, UnigramSampler
(CPU semantics: no target, no repeats within a row), NegativeSamplingLoss (one EmbeddingDot and
one SigmoidWithLoss per target)."""
import numpy as np

from fastseq.reference.layers import Embedding, SigmoidWithLoss


class EmbeddingDot:
    def __init__(self, W):
        self.embed = Embedding(W)
        self.params = self.embed.params
        self.grads = self.embed.grads
        self.cache = None

    def forward(self, h, idx):
        target_W = self.embed.forward(idx)
        out = np.sum(target_W * h, axis=1)
        self.cache = (h, target_W)
        return out

    def backward(self, dout):
        h, target_W = self.cache
        dout = dout.reshape(dout.shape[0], 1)
        self.embed.backward(dout * h)
        return dout * target_W


class UnigramSampler:
    """Negative ids with probability ∝ count**power over the ``len(distinct ids)`` first ids;
    each row one ``np.random.choice`` without replacement from that distribution with the row's
    target taken out (int32 (N, sample_size))."""

    def __init__(self, corpus, power, sample_size):
        self.sample_size = sample_size
        ids = np.asarray(corpus, dtype=np.int64)
        self.vocab_size = np.unique(ids).size
        weights = np.bincount(ids, minlength=self.vocab_size)[:self.vocab_size].astype(np.float64) ** power
        self.word_p = weights / weights.sum()

    def get_negative_sample(self, target):
        out = np.empty((len(target), self.sample_size), dtype=np.int32)
        for row, t in enumerate(target):
            q = self.word_p.copy()
            q[t] = 0.0
            out[row] = np.random.choice(self.vocab_size, self.sample_size, replace=False, p=q / q.sum())
        return out


class NegativeSamplingLoss:
    def __init__(self, W, corpus, power=0.75, sample_size=5):
        self.sample_size = sample_size
        self.sampler = UnigramSampler(corpus, power, sample_size)
        self.loss_layers = [SigmoidWithLoss() for _ in range(sample_size + 1)]
        self.embed_dot_layers = [EmbeddingDot(W) for _ in range(sample_size + 1)]
        self.params, self.grads = [], []
        for layer in self.embed_dot_layers:
            self.params += layer.params
            self.grads += layer.grads

    def forward(self, h, target):
        batch_size = target.shape[0]
        negative_sample = self.sampler.get_negative_sample(target)
        score = self.embed_dot_layers[0].forward(h, target)
        correct_label = np.ones(batch_size, dtype=np.int32)
        loss = self.loss_layers[0].forward(score, correct_label)
        negative_label = np.zeros(batch_size, dtype=np.int32)
        for i in range(self.sample_size):
            score = self.embed_dot_layers[1 + i].forward(h, negative_sample[:, i])
            loss += self.loss_layers[1 + i].forward(score, negative_label)
        return loss

    def backward(self, dout=1):
        dh = 0
        for l0, l1 in zip(self.loss_layers, self.embed_dot_layers):
            dscore = l0.backward(dout)
            dh += l1.backward(dscore)
        return dh
