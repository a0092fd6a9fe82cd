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
