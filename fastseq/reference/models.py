"""The book's language models (SimpleRnnlm, chapter 5; Rnnlm and BetterRnnlm, chapter 6)
assembled from a layer module.

``layer_module`` names where a model's layers come from: the reference twins here, fastseq's
fast layers in ``fastseq.models``. Each structure is written once."""
import numpy as np

from fastseq._composite import LayerModule
from fastseq.reference.util import collect_params


class _LanguageModel:
    """predict → loss → backward over ``self.layers``; subclasses build the layers."""

    layer_module = LayerModule("fastseq.reference.time_layers")

    def _collect(self):
        collect_params(self, self.layers)

    def predict(self, xs):
        """Scores (N, T, V) for ids (N, T)."""
        for layer in self.layers:
            xs = layer.forward(xs)
        return xs

    def forward(self, xs, ts, train_flg=True):
        """Mean cross-entropy of next-word prediction (``train_flg`` matters only with dropout)."""
        return self.loss_layer.forward(self.predict(xs), ts)

    def backward(self, dout=1):
        """Fill every layer's grads."""
        dout = self.loss_layer.backward(dout)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def reset_state(self):
        """Forget the recurrent layers' carried state."""
        for layer in self.recurrent_layers:
            layer.reset_state()


class SimpleRnnlm(_LanguageModel):
    """TimeEmbedding → TimeRNN (stateful) → TimeAffine → TimeSoftmaxWithLoss (chapter 5)."""

    def __init__(self, vocab_size, wordvec_size, hidden_size):
        L = self.layer_module
        V, D, H = vocab_size, wordvec_size, hidden_size
        rn = np.random.randn
        embed_W = (rn(V, D) / 100).astype("f")
        rnn_Wx = (rn(D, H) / np.sqrt(D)).astype("f")
        rnn_Wh = (rn(H, H) / np.sqrt(H)).astype("f")
        rnn_b = np.zeros(H).astype("f")
        affine_W = (rn(H, V) / np.sqrt(H)).astype("f")
        affine_b = np.zeros(V).astype("f")
        self.layers = [L.TimeEmbedding(embed_W),
                       L.TimeRNN(rnn_Wx, rnn_Wh, rnn_b, stateful=True),
                       L.TimeAffine(affine_W, affine_b)]
        self.loss_layer = L.TimeSoftmaxWithLoss()
        self.rnn_layer = self.layers[1]
        self.recurrent_layers = [self.rnn_layer]
        self._collect()


class Rnnlm(_LanguageModel):
    """TimeEmbedding → TimeLSTM (stateful) → TimeAffine → TimeSoftmaxWithLoss, float32 weights
    initialised as the book does (``np.random.randn`` scaled by 1/100 and 1/sqrt(fan-in))."""

    def __init__(self, vocab_size=10000, wordvec_size=100, hidden_size=100):
        L = self.layer_module
        V, D, H = vocab_size, wordvec_size, hidden_size
        rn = np.random.randn
        embed_W = (rn(V, D) / 100).astype("f")
        lstm_Wx = (rn(D, 4 * H) / np.sqrt(D)).astype("f")
        lstm_Wh = (rn(H, 4 * H) / np.sqrt(H)).astype("f")
        lstm_b = np.zeros(4 * H).astype("f")
        affine_W = (rn(H, V) / np.sqrt(H)).astype("f")
        affine_b = np.zeros(V).astype("f")
        self.layers = [L.TimeEmbedding(embed_W),
                       L.TimeLSTM(lstm_Wx, lstm_Wh, lstm_b, stateful=True),
                       L.TimeAffine(affine_W, affine_b)]
        self.loss_layer = L.TimeSoftmaxWithLoss()
        self.lstm_layer = self.layers[1]
        self.recurrent_layers = [self.lstm_layer]
        self._collect()


class BetterRnnlm(_LanguageModel):
    """Embedding → dropout → LSTM → dropout → LSTM → dropout → affine tied to the embedding
    (``TimeAffine(embed_W.T, b)``), the book's chapter 6 improvements. ``predict(xs,
    train_flg=False)`` switches the dropout layers."""

    def __init__(self, vocab_size=10000, wordvec_size=650, hidden_size=650, dropout_ratio=0.5):
        L = self.layer_module
        V, D, H = vocab_size, wordvec_size, hidden_size
        rn = np.random.randn
        embed_W = (rn(V, D) / 100).astype("f")
        lstm_Wx1 = (rn(D, 4 * H) / np.sqrt(D)).astype("f")
        lstm_Wh1 = (rn(H, 4 * H) / np.sqrt(H)).astype("f")
        lstm_b1 = np.zeros(4 * H).astype("f")
        lstm_Wx2 = (rn(H, 4 * H) / np.sqrt(H)).astype("f")
        lstm_Wh2 = (rn(H, 4 * H) / np.sqrt(H)).astype("f")
        lstm_b2 = np.zeros(4 * H).astype("f")
        affine_b = np.zeros(V).astype("f")
        self.layers = [L.TimeEmbedding(embed_W),
                       L.TimeDropout(dropout_ratio),
                       L.TimeLSTM(lstm_Wx1, lstm_Wh1, lstm_b1, stateful=True),
                       L.TimeDropout(dropout_ratio),
                       L.TimeLSTM(lstm_Wx2, lstm_Wh2, lstm_b2, stateful=True),
                       L.TimeDropout(dropout_ratio),
                       L.TimeAffine(embed_W.T, affine_b)]      # weight tying
        self.loss_layer = L.TimeSoftmaxWithLoss()
        self.lstm_layers = [self.layers[2], self.layers[4]]
        self.drop_layers = [self.layers[1], self.layers[3], self.layers[5]]
        self.recurrent_layers = self.lstm_layers
        self._collect()

    def predict(self, xs, train_flg=False):
        for layer in self.drop_layers:
            layer.train_flg = train_flg
        return super().predict(xs)

    def forward(self, xs, ts, train_flg=True):
        return self.loss_layer.forward(self.predict(xs, train_flg), ts)
