import numpy as np
import pytest

import fastseq.layers as FL
import fastseq.optimizers as FO
import fastseq.reference.layers as RL
import fastseq.reference.optimizers as RO
from fastseq.datasets import spiral
from fastseq.trainer import RnnlmTrainer, Trainer


class TwoLayerNet:
    """The book's chapter 1 network, built from a layer module (fast or reference)."""

    def __init__(self, L, input_size, hidden_size, output_size, seed=0):
        rng = np.random.default_rng(seed)
        W1 = 0.01 * rng.standard_normal((input_size, hidden_size))
        b1 = np.zeros(hidden_size)
        W2 = 0.01 * rng.standard_normal((hidden_size, output_size))
        b2 = np.zeros(output_size)
        self.layers = [L.Affine(W1, b1), L.Sigmoid(), L.Affine(W2, b2)]
        self.loss_layer = L.SoftmaxWithLoss()
        self.params = sum((layer.params for layer in self.layers), [])
        self.grads = sum((layer.grads for layer in self.layers), [])

    def forward(self, x, t):
        for layer in self.layers:
            x = layer.forward(x)
        return self.loss_layer.forward(x, t)

    def backward(self, dout=1):
        dout = self.loss_layer.backward(dout)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout


def _train(L, O, capsys):
    x, t = spiral.load_data()
    model = TwoLayerNet(L, 2, 10, 3)
    trainer = Trainer(model, O.SGD(lr=1.0))
    np.random.seed(0)
    trainer.fit(x, t, max_epoch=30, batch_size=30, eval_interval=10)
    return trainer, capsys.readouterr().out


def test_trainer_fast_equals_reference_on_spiral(capsys):
    fast, out = _train(FL, FO, capsys)
    ref, _ = _train(RL, RO, capsys)
    assert len(fast.loss_list) == 30 == len(ref.loss_list)
    np.testing.assert_allclose(fast.loss_list, ref.loss_list, rtol=1e-9)
    assert fast.loss_list[-1] < fast.loss_list[0] * 0.8
    first = out.splitlines()[0]
    assert first.startswith("| epoch 1 |  iter 1 / 10 | time ") and first.endswith("| loss %.2f" % fast.loss_list[0])


class _Diverging:
    def __init__(self):
        self.W = np.ones(2)
        self.params, self.grads = [self.W], [np.ones(2)]

    def forward(self, x, t):
        return np.nan

    def backward(self):
        raise AssertionError("backward must not run on a NaN loss")


def test_nan_loss_stops_before_touching_weights():
    model = _Diverging()
    with pytest.raises(FloatingPointError, match="loss is nan at epoch 1 iter 1"):
        Trainer(model, FO.SGD()).fit(np.zeros((4, 2)), np.zeros(4, int), batch_size=2)
    np.testing.assert_array_equal(model.W, 1)


def test_rnnlm_trainer_batches_like_the_book():
    xs = np.arange(1000)
    trainer = RnnlmTrainer(None, None)
    trainer.time_idx = 0
    for _ in range(3):
        before = trainer.time_idx
        bx, bt = trainer.get_batch(xs, xs + 1, 4, 5)
        for i in range(4):
            for k in range(5):
                assert bx[i, k] == (i * 250 + before + k) % 1000
        np.testing.assert_array_equal(bt, bx + 1)
        assert bx.dtype == np.int32 and trainer.time_idx == before + 5


def test_plot_writes_png(tmp_path, capsys):
    trainer = Trainer(None, None)
    trainer.loss_list, trainer.eval_interval = [3.0, 2.0, 1.5], 20
    path = trainer.plot(path=str(tmp_path / "loss.png"))
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG" and path.endswith("loss.png")


@pytest.mark.parametrize("font", [None, "DejaVu Sans"])
def test_korean_plot_labels_use_a_hangul_font_or_english_and_never_warn(tmp_path, monkeypatch, font):
    import warnings

    from matplotlib.figure import Figure

    from fastseq import runs
    from fastseq._lang import get_language, set_language

    monkeypatch.setattr(runs, "_hangul_font", [font])   # font: what the machine is said to have
    labels = []
    real_savefig = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: (
        labels.append([(t.get_text(), t.get_fontfamily()) for t in (fig.axes[0].xaxis.label, fig.axes[0].yaxis.label)]),
        real_savefig(fig, *a, **k))[1])
    trainer = RnnlmTrainer(None, None)
    trainer.ppl_list, trainer.eval_interval = [300.0, 200.0, 150.0], 20
    old = get_language()
    set_language("ko")
    try:
        with warnings.catch_warnings():
            # no "Glyph ... missing" warnings (DejaVu Sans only stands in for a Korean font)
            warnings.simplefilter("error" if font is None else "ignore")
            trainer.plot(path=str(tmp_path / "ppl.png"))
    finally:
        set_language(old)
    if font is None:
        assert [text for text, _ in labels[0]] == ["iterations (x20)", "perplexity"]
    else:
        assert labels[0] == [("반복 (x20)", [font]), ("퍼플렉서티", [font])]
    assert (tmp_path / "ppl.png").read_bytes()[:4] == b"\x89PNG"


class _Recorder:
    """A model that records the targets of every batch it sees (loss 0, nothing to learn)."""

    def __init__(self):
        self.params, self.grads, self.seen = [], [], []

    def forward(self, x, t):
        self.seen.append(t.copy())
        return 0.0

    def backward(self):
        pass


def test_shuffle_is_cumulative_as_in_the_book():
    x = np.arange(12).reshape(12, 1)
    model = _Recorder()
    np.random.seed(3)
    Trainer(model, FO.SGD()).fit(x, np.arange(12), max_epoch=3, batch_size=4, eval_interval=None)
    np.random.seed(3)
    order = np.arange(12)
    for epoch in range(3):                      # each epoch permutes the previous epoch's order
        order = order[np.random.permutation(np.arange(12))]
        np.testing.assert_array_equal(np.concatenate(model.seen[3 * epoch:3 * epoch + 3]), order)


def test_progress_lines_in_korean(capsys):
    from fastseq._lang import get_language, set_language
    previous = get_language()
    set_language("ko")
    try:
        np.random.seed(0)
        Trainer(_Recorder(), FO.SGD()).fit(np.zeros((8, 1)), np.zeros(8, int), max_epoch=1, batch_size=4)
        RnnlmTrainer(_Recorder(), FO.SGD()).fit(np.arange(100), np.arange(100), 1, 2, 5)
    finally:
        set_language(previous)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| 에폭 1 |  반복 1 / 2 | 시간 ") and lines[0].endswith("| 손실 0.00")
    assert lines[1].startswith("| 에폭 1 |  반복 1 / 10 | 시간 ") and lines[1].endswith("| 퍼플렉서티 1.00")


def test_a_bar_that_is_not_drawn_never_imports_tqdm(tmp_path):
    """tqdm's import (20-50 ms, as long as a chapter-1 training loop) is paid only for a bar that
    is drawn: not when stderr is not a terminal, as here, and again when progress=True forces it.
    The printed lines are the same either way."""
    script = (
        "import sys, numpy as np\n"
        "from fastseq.datasets import spiral\n"
        "from fastseq.optimizers import SGD\n"
        "from fastseq.trainer import Trainer\n"
        "import fastseq.layers as L\n"
        "from test_trainer import TwoLayerNet\n"
        "x, t = spiral.load_data()\n"
        "Trainer(TwoLayerNet(L, 2, 10, 3), SGD(1.0)).fit(x, t, max_epoch=1, batch_size=30, eval_interval=5)\n"
        "print('tqdm' in sys.modules)\n"
        "Trainer(TwoLayerNet(L, 2, 10, 3), SGD(1.0)).fit(x, t, max_epoch=1, batch_size=30, eval_interval=5,\n"
        "                                                progress=True)\n"
        "print('tqdm' in sys.modules)\n")
    import os
    import subprocess
    import sys
    env = {**os.environ, "PYTHONPATH": os.path.dirname(__file__)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[2] == "False" and lines[5] == "True"
    assert [line[:27] for line in lines[:2]] == [line[:27] for line in lines[3:5]]
    assert lines[0].startswith("| epoch 1 |  iter 1 / 10 |")
    assert "it/s" in done.stderr or "it]" in done.stderr      # the forced bar was drawn
