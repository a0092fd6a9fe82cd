"""The book's sequence-to-sequence models (chapters 7 and 8): Encoder, Decoder, Seq2seq,
PeekyDecoder, PeekySeq2seq, AttentionEncoder, AttentionDecoder, AttentionSeq2seq.

Every class takes its layers from ``layer_module`` (the reference time layers here, fastseq's
in ``fastseq.models.seq2seq``), so each structure is written once. ``generate`` decodes greedily
(argmax), one step at a time."""
import numpy as np

from fastseq._composite import LayerModule
from fastseq.reference.util import collect_params as _collect

_TIME_LAYERS = LayerModule("fastseq.reference.time_layers")


def _lstm_weights(D, H):
    rn = np.random.randn
    return ((rn(D, 4 * H) / np.sqrt(D)).astype("f"), (rn(H, 4 * H) / np.sqrt(H)).astype("f"),
            np.zeros(4 * H).astype("f"))


def _check_sample_size(sample_size):
    if isinstance(sample_size, bool) or not isinstance(sample_size, (int, np.integer)) or sample_size < 1:
        raise ValueError(f"generate: sample_size must be a positive integer, got {sample_size!r}")


class Encoder:
    """Ids (N, T) → embedding → LSTM; returns the last hidden state (N, H)."""

    layer_module = _TIME_LAYERS

    def __init__(self, vocab_size, wordvec_size, hidden_size):
        L = self.layer_module
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.embed = L.TimeEmbedding((np.random.randn(V, D) / 100).astype("f"))
        self.lstm = L.TimeLSTM(*_lstm_weights(D, H), stateful=False)
        _collect(self, [self.embed, self.lstm])
        self.hs = None

    def forward(self, xs):
        self.hs = self.lstm.forward(self.embed.forward(xs))
        return self.hs[:, -1, :]

    def backward(self, dh):
        dhs = np.zeros_like(self.hs)
        dhs[:, -1, :] = dh
        return self.embed.backward(self.lstm.backward(dhs))


class Decoder:
    """Ids (N, T) and the encoder's state h → scores (N, T, V); ``generate`` decodes greedily."""

    layer_module = _TIME_LAYERS
    peeky = False

    def __init__(self, vocab_size, wordvec_size, hidden_size):
        L = self.layer_module
        V, D, H = vocab_size, wordvec_size, hidden_size
        rn = np.random.randn
        P = H if self.peeky else 0
        self.embed = L.TimeEmbedding((rn(V, D) / 100).astype("f"))
        self.lstm = L.TimeLSTM(*_lstm_weights(P + D, H), stateful=True)
        self.affine = L.TimeAffine((rn(P + H, V) / np.sqrt(P + H)).astype("f"), np.zeros(V).astype("f"))
        _collect(self, [self.embed, self.lstm, self.affine])
        self.cache = None

    def _peek(self, h, out):
        """Peeky: the encoder state concatenated in front of every step's input."""
        if not self.peeky:
            return out
        N, T, _ = out.shape
        return np.concatenate((np.repeat(h[:, None, :], T, axis=1).astype(out.dtype), out), axis=2)

    def forward(self, xs, h):
        self.lstm.set_state(h)
        self.cache = h.shape[1]
        out = self.lstm.forward(self._peek(h, self.embed.forward(xs)))
        return self.affine.forward(self._peek(h, out))

    def backward(self, dscore):
        dout = self.affine.backward(dscore)
        if not self.peeky:
            self.embed.backward(self.lstm.backward(dout))
            return self.lstm.dh
        H = self.cache
        dhs0, dout = dout[:, :, :H], dout[:, :, H:]
        dout = self.lstm.backward(dout)
        dhs1, dembed = dout[:, :, :H], dout[:, :, H:]
        self.embed.backward(dembed)
        return self.lstm.dh + np.sum(dhs0 + dhs1, axis=1)

    def generate(self, h, start_id, sample_size):
        """Greedy decoding of ``sample_size`` ids from state h (1, H): a list of ints."""
        return [int(i) for i in self.generate_batch(h, np.array([start_id]), sample_size)[0]]

    def generate_batch(self, h, start_ids, sample_size):
        """Greedy decoding for every row of h (N, H) at once: (N, sample_size) ids."""
        _check_sample_size(sample_size)
        ids = np.asarray(start_ids).reshape(-1, 1)
        out = np.empty((ids.shape[0], sample_size), dtype=np.int64)
        self.lstm.set_state(h)
        for t in range(sample_size):
            step = self.lstm.forward(self._peek(h, self.embed.forward(ids)))
            score = self.affine.forward(self._peek(h, step))
            ids = score.argmax(axis=2)
            out[:, t] = ids[:, 0]
        return out


class PeekyDecoder(Decoder):
    """Decoder whose LSTM and affine layers also see the encoder's state at every step."""

    peeky = True


class Seq2seq:
    """Encoder + Decoder + TimeSoftmaxWithLoss; ``forward(xs, ts)`` teaches the decoder ts[:, :-1]
    → ts[:, 1:]; ``generate(xs, start_id, sample_size)`` → list of ids."""

    layer_module = _TIME_LAYERS
    encoder_class, decoder_class = Encoder, Decoder

    def __init__(self, vocab_size, wordvec_size, hidden_size):
        args = vocab_size, wordvec_size, hidden_size
        self.encoder = self.encoder_class(*args)
        self.decoder = self.decoder_class(*args)
        self.softmax = self.layer_module.TimeSoftmaxWithLoss()
        self.params = self.encoder.params + self.decoder.params
        self.grads = self.encoder.grads + self.decoder.grads

    def forward(self, xs, ts):
        h = self.encoder.forward(xs)
        score = self.decoder.forward(ts[:, :-1], h)
        return self.softmax.forward(score, ts[:, 1:])

    def backward(self, dout=1):
        dh = self.decoder.backward(self.softmax.backward(dout))
        return self.encoder.backward(dh)

    def generate(self, xs, start_id, sample_size):
        return self.decoder.generate(self.encoder.forward(xs), start_id, sample_size)

    def generate_batch(self, xs, start_id, sample_size):
        """Greedy answers for every question row of xs (N, T) at once: (N, sample_size) ids."""
        xs = np.asarray(xs)
        return self.decoder.generate_batch(self.encoder.forward(xs), np.full(xs.shape[0], start_id), sample_size)


class PeekySeq2seq(Seq2seq):
    decoder_class = PeekyDecoder


class AttentionEncoder(Encoder):
    """Encoder returning every hidden state (N, T, H)."""

    def forward(self, xs):
        self.hs = self.lstm.forward(self.embed.forward(xs))
        return self.hs

    def backward(self, dhs):
        return self.embed.backward(self.lstm.backward(dhs))


class AttentionDecoder:
    """Embedding → LSTM (initial state: the encoder's last) → TimeAttention over the encoder's
    states → affine on [context, hidden]. ``attention.attention_weights`` keeps the weights."""

    layer_module = _TIME_LAYERS

    def __init__(self, vocab_size, wordvec_size, hidden_size):
        L = self.layer_module
        V, D, H = vocab_size, wordvec_size, hidden_size
        rn = np.random.randn
        self.embed = L.TimeEmbedding((rn(V, D) / 100).astype("f"))
        self.lstm = L.TimeLSTM(*_lstm_weights(D, H), stateful=True)
        self.attention = L.TimeAttention()
        self.affine = L.TimeAffine((rn(2 * H, V) / np.sqrt(2 * H)).astype("f"), np.zeros(V).astype("f"))
        _collect(self, [self.embed, self.lstm, self.attention, self.affine])

    def _scores(self, xs, enc_hs):
        dec_hs = self.lstm.forward(self.embed.forward(xs))
        c = self.attention.forward(enc_hs, dec_hs)
        return self.affine.forward(np.concatenate((c, dec_hs), axis=2))

    def forward(self, xs, enc_hs):
        self.lstm.set_state(enc_hs[:, -1])
        return self._scores(xs, enc_hs)

    def backward(self, dscore):
        dout = self.affine.backward(dscore)
        H = dout.shape[2] // 2
        dc, ddec_hs0 = dout[:, :, :H], dout[:, :, H:]
        denc_hs, ddec_hs1 = self.attention.backward(dc)
        dout = self.lstm.backward(ddec_hs0 + ddec_hs1)
        denc_hs = np.array(denc_hs)
        denc_hs[:, -1] += self.lstm.dh
        self.embed.backward(dout)
        return denc_hs

    def generate(self, enc_hs, start_id, sample_size):
        """Greedy decoding from the encoder states (1, Te, H): a list of ints;
        ``attention.attention_weights`` then holds one (1, Te) array per generated id."""
        return [int(i) for i in self.generate_batch(enc_hs, np.array([start_id]), sample_size)[0]]

    def generate_batch(self, enc_hs, start_ids, sample_size):
        """Greedy decoding for every row of enc_hs (N, Te, H) at once: (N, sample_size) ids."""
        _check_sample_size(sample_size)
        ids = np.asarray(start_ids).reshape(-1, 1)
        out = np.empty((ids.shape[0], sample_size), dtype=np.int64)
        self.lstm.set_state(enc_hs[:, -1])
        weights = []
        for t in range(sample_size):
            ids = self._scores(ids, enc_hs).argmax(axis=2)
            weights += self.attention.attention_weights
            out[:, t] = ids[:, 0]
        self.attention.attention_weights = weights
        return out


class AttentionSeq2seq(Seq2seq):
    encoder_class, decoder_class = AttentionEncoder, AttentionDecoder
