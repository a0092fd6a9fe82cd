"""The book's language model ``Rnnlm`` (chapter 6) assembled from a layer module.

``Rnnlm.layer_module`` names where its layers come from: the reference twins here, fastseq's
fast layers in ``fastseq.models.Rnnlm``. The structure is written once."""
import numpy as np

from fastseq.reference import time_layers


class Rnnlm:
    """TimeEmbedding → TimeLSTM (stateful) → TimeAffine → TimeSoftmaxWithLoss, float32 weights
    initialised as the book does (``np.random.randn`` scaled by 1/100 and 1/sqrt(fan-in))."""

    layer_module = time_layers

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
        self.params, self.grads = [], []
        for layer in self.layers:
            self.params += layer.params
            self.grads += layer.grads

    def predict(self, xs):
        """Scores (N, T, V) for ids (N, T)."""
        for layer in self.layers:
            xs = layer.forward(xs)
        return xs

    def forward(self, xs, ts, train_flg=True):
        """Mean cross-entropy of next-word prediction (``train_flg`` is accepted and unused:
        this model has no dropout)."""
        return self.loss_layer.forward(self.predict(xs), ts)

    def backward(self, dout=1):
        """Fill every layer's grads."""
        dout = self.loss_layer.backward(dout)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def reset_state(self):
        """Forget the LSTM's carried state."""
        self.lstm_layer.reset_state()
