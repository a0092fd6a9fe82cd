"""The book's word2vec models: SimpleCBOW and SimpleSkipGram (chapter 3, one-hot contexts
through MatMul) and CBOW and SkipGram (chapter 4, Embedding + negative sampling), in the book's
structure. The Simple* structures take their layers from ``layer_module`` and are shared with
``fastseq.models``."""
import numpy as np

from fastseq.reference import layers
from fastseq.reference.layers import Embedding
from fastseq.reference.negative_sampling import NegativeSamplingLoss
from fastseq.reference.util import collect_params as _collect


def _simple_weights(V, H):
    """The chapter 3 models' W_in (V, H) and W_out (H, V), float32, 0.01 * randn."""
    return 0.01 * np.random.randn(V, H).astype("f"), 0.01 * np.random.randn(H, V).astype("f")


class SimpleCBOW:
    """Two context one-hots (N, 2, V) → mean of their W_in rows → W_out → softmax loss."""

    layer_module = layers

    def __init__(self, vocab_size, hidden_size):
        L = self.layer_module
        W_in, W_out = _simple_weights(vocab_size, hidden_size)
        self.in_layer0 = L.MatMul(W_in)
        self.in_layer1 = L.MatMul(W_in)
        self.out_layer = L.MatMul(W_out)
        self.loss_layer = L.SoftmaxWithLoss()
        _collect(self, [self.in_layer0, self.in_layer1, self.out_layer])
        self.word_vecs = W_in

    def forward(self, contexts, target):
        h0 = self.in_layer0.forward(contexts[:, 0])
        h1 = self.in_layer1.forward(contexts[:, 1])
        h = (h0 + h1) * 0.5
        return self.loss_layer.forward(self.out_layer.forward(h), target)

    def backward(self, dout=1):
        da = self.out_layer.backward(self.loss_layer.backward(dout))
        da *= 0.5
        self.in_layer1.backward(da)
        self.in_layer0.backward(da)
        return None


class SimpleSkipGram:
    """The target one-hot (N, V) → W_in → W_out → a softmax loss for each of the two contexts."""

    layer_module = layers

    def __init__(self, vocab_size, hidden_size):
        L = self.layer_module
        W_in, W_out = _simple_weights(vocab_size, hidden_size)
        self.in_layer = L.MatMul(W_in)
        self.out_layer = L.MatMul(W_out)
        self.loss_layer1 = L.SoftmaxWithLoss()
        self.loss_layer2 = L.SoftmaxWithLoss()
        _collect(self, [self.in_layer, self.out_layer])
        self.word_vecs = W_in

    def forward(self, contexts, target):
        s = self.out_layer.forward(self.in_layer.forward(target))
        return self.loss_layer1.forward(s, contexts[:, 0]) + self.loss_layer2.forward(s, contexts[:, 1])

    def backward(self, dout=1):
        ds = self.loss_layer1.backward(dout) + self.loss_layer2.backward(dout)
        self.in_layer.backward(self.out_layer.backward(ds))
        return None


class CBOW:
    """Context ids (N, 2*window) → mean of W_in rows → negative-sampling loss on W_out."""

    def __init__(self, vocab_size, hidden_size, window_size, corpus):
        V, H = vocab_size, hidden_size
        W_in = 0.01 * np.random.randn(V, H).astype("f")
        W_out = 0.01 * np.random.randn(V, H).astype("f")
        self.in_layers = [Embedding(W_in) for _ in range(2 * window_size)]
        self.ns_loss = NegativeSamplingLoss(W_out, corpus, power=0.75, sample_size=5)
        _collect(self, self.in_layers + [self.ns_loss])
        self.word_vecs = W_in

    def forward(self, contexts, target):
        h = 0
        for i, layer in enumerate(self.in_layers):
            h += layer.forward(contexts[:, i])
        h *= 1 / len(self.in_layers)
        return self.ns_loss.forward(h, target)

    def backward(self, dout=1):
        dout = self.ns_loss.backward(dout)
        dout *= 1 / len(self.in_layers)
        for layer in self.in_layers:
            layer.backward(dout)
        return None


class SkipGram:
    """Target ids (N,) → W_in rows → one negative-sampling loss per context position."""

    def __init__(self, vocab_size, hidden_size, window_size, corpus):
        V, H = vocab_size, hidden_size
        W_in = 0.01 * np.random.randn(V, H).astype("f")
        W_out = 0.01 * np.random.randn(V, H).astype("f")
        self.in_layer = Embedding(W_in)
        self.loss_layers = [NegativeSamplingLoss(W_out, corpus, power=0.75, sample_size=5)
                            for _ in range(2 * window_size)]
        _collect(self, [self.in_layer] + self.loss_layers)
        self.word_vecs = W_in

    def forward(self, contexts, target):
        h = self.in_layer.forward(target)
        loss = 0
        for i, layer in enumerate(self.loss_layers):
            loss += layer.forward(h, contexts[:, i])
        return loss

    def backward(self, dout=1):
        dh = 0
        for layer in self.loss_layers:
            dh += layer.backward(dout)
        self.in_layer.backward(dh)
        return None


_MASK64 = (1 << 64) - 1


def _splitmix64(z):
    z = (z + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _xorshift64star(state):
    state ^= state >> 12
    state ^= (state << 25) & _MASK64
    state ^= state >> 27
    return state, (((state * 2685821657736338717) & _MASK64) >> 11) / 9007199254740992.0


def hogwild_span(corpus, start, stop, W_in, W_out, prob, alias, window, negative, mode, lr0, done_before,
                 total, seed, n_chunks):
    """The one-worker twin of ``fastseq.kernels.word2vec.train_span`` in plain Python and NumPy
    row operations: the same chunks, each with its SplitMix64-seeded xorshift64* stream, the same
    window, negative and learning-rate choices and the same in-place updates of W_in and W_out
    (V, D) float32, with an exact sigmoid. ``mode``: 0 skip-gram, 1 CBOW, 2 skip-gram with one
    draw of negatives shared by a window's context words. Returns (summed loss, number of
    examples)."""
    n, f32 = len(corpus), W_in.dtype.type
    chunk = -(-(stop - start) // n_chunks)
    loss, pairs = 0.0, 0

    def draw(w):
        nonlocal state
        drawn = []
        while len(drawn) < negative:
            state, u1 = _xorshift64star(state)
            state, u2 = _xorshift64star(state)
            j = min(int(u1 * len(prob)), len(prob) - 1)
            t = j if u2 < prob[j] else int(alias[j])
            if t != w:
                drawn.append(t)
        return drawn

    def targets(w, h):
        nonlocal loss
        drawn = draw(w)
        neu1e = np.zeros_like(h)
        for t, label in [(w, 1)] + [(t, 0) for t in drawn]:
            p = f32(1) / (f32(1) + np.exp(-np.dot(h, W_out[t])))
            g = (f32(label) - p) * lr
            neu1e += g * W_out[t]
            W_out[t] += g * h
            loss -= np.log(max(float(p if label else 1 - p), 1e-12))
        return neu1e

    def shared_window(w, ids):
        """All of a window's context rows against the centre word and one draw of negatives."""
        nonlocal loss
        targets_ = [w] + draw(w)
        C, T = W_in[ids], W_out[targets_]           # copies: gradients at the starting weights
        P = f32(1) / (f32(1) + np.exp(-(C @ T.T)))
        labels = np.zeros(len(targets_), f32)
        labels[0] = 1
        G = (labels - P) * lr
        loss -= np.log(np.maximum(np.where(labels == 1, P, 1 - P), 1e-12)).sum()
        for j, t in enumerate(targets_):
            W_out[t] += G[:, j] @ C
        for i, c in enumerate(ids):
            W_in[c] += G[i] @ T

    for c in range(n_chunks):
        state = _splitmix64((seed + (c + 1) * 0x9E3779B97F4A7C15) & _MASK64) | 1
        for pos in range(start + c * chunk, min(start + (c + 1) * chunk, stop)):
            lr = f32(lr0 * max(1.0 - (done_before + pos - start) / total, 1e-4))
            state, u = _xorshift64star(state)
            b = 1 + min(int(u * window), window - 1)
            context = [q for q in range(max(pos - b, 0), min(pos + b, n - 1) + 1) if q != pos]
            if mode == 1:
                if not context:
                    continue
                h = W_in[corpus[context]].sum(axis=0) * f32(1.0 / len(context))
                neu1e = targets(corpus[pos], h)
                pairs += 1
                for q in context:
                    W_in[corpus[q]] += neu1e
            elif mode == 2:
                if not context:
                    continue
                shared_window(corpus[pos], corpus[context])
                pairs += len(context)
            else:
                for q in context:
                    W_in[corpus[q]] += targets(corpus[pos], W_in[corpus[q]].copy())
                    pairs += 1
    return loss, pairs
