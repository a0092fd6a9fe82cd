"""What the book builds out of other layers, written once for the reference twins
(``fastseq.reference``) and fastseq's fast layers (``fastseq.layers``), which give it their
parts as class attributes. It imports NumPy only, so that neither side's import pulls in the
other's modules."""
import importlib

import numpy as np


class LayerModule:
    """A class attribute naming the module a model takes its layers from (``layer_module``),
    imported when first read: the reference models' default, which fastseq's models replace
    with their own, so that importing those never imports the reference layers."""

    def __init__(self, name):
        self.name = name

    def __get__(self, obj, owner=None):
        return importlib.import_module(self.name)


class Attention:
    """AttentionWeight then WeightSum: ``forward(hs (N, T, H), h (N, H))`` → contexts (N, H);
    ``backward(dout (N, H))`` → (dhs, dh). ``attention_weight`` keeps the weights (N, T).
    ``parts`` is the pair of classes (AttentionWeight, WeightSum) a subclass names."""

    parts = ()

    def __init__(self):
        self.params, self.grads = [], []
        self.attention_weight_layer = self.parts[0]()
        self.weight_sum_layer = self.parts[1]()
        self.attention_weight = None

    def forward(self, hs, h):
        a = self.attention_weight_layer.forward(hs, h)
        self.attention_weight = a
        return self.weight_sum_layer.forward(hs, a)

    def backward(self, dout):
        dhs0, da = self.weight_sum_layer.backward(dout)
        dhs1, dh = self.attention_weight_layer.backward(da)
        return dhs0 + dhs1, dh


class TimeBiLSTM:
    """A TimeLSTM forward in time and one over the reversed sequence, outputs concatenated:
    ``forward(xs (N, T, D))`` → (N, T, 2H); ``params`` / ``grads`` are the two layers' lists
    joined. ``lstm_class`` is the TimeLSTM class a subclass names."""

    lstm_class = None

    def __init__(self, Wx1, Wh1, b1, Wx2, Wh2, b2, stateful=False):
        self.forward_lstm = self.lstm_class(Wx1, Wh1, b1, stateful)
        self.backward_lstm = self.lstm_class(Wx2, Wh2, b2, stateful)
        self.params = self.forward_lstm.params + self.backward_lstm.params
        self.grads = self.forward_lstm.grads + self.backward_lstm.grads

    def forward(self, xs):
        o1 = self.forward_lstm.forward(xs)
        o2 = self.backward_lstm.forward(xs[:, ::-1])
        return np.concatenate((o1, o2[:, ::-1]), axis=2)

    def backward(self, dhs):
        H = dhs.shape[2] // 2
        dxs = self.forward_lstm.backward(dhs[:, :, :H])
        return dxs + self.backward_lstm.backward(dhs[:, :, H:][:, ::-1])[:, ::-1]
