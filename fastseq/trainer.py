"""The book's ``common/trainer``: Trainer and RnnlmTrainer, with a progress bar.

Same signatures, batching, printed lines (``| epoch E |  iter I / M | time S[s] | loss L``) and
``loss_list``/``ppl_list`` as the book. Additions: a tqdm bar on a terminal (``progress=False``
turns it off; it is off by itself when stderr is not a terminal), a non-finite loss stops
training with ``FloatingPointError`` before the optimizer touches the weights, and ``plot``
writes a PNG instead of opening a window.
"""
import math
import os
import sys
import time

import numpy as np

from fastseq._lang import phrase
from fastseq._progress import progress_bar, write
from fastseq._threads import one_blas_thread
from fastseq.util import clip_grads, remove_duplicate


def train_step(model, optimizer, batch_x, batch_t, max_grad, epoch, iters, max_loss=np.inf):
    """The book's training step: forward, backward, fold shared weights, clip, update; returns
    the loss. A loss that is not finite, or above ``max_loss``, raises FloatingPointError before
    the weights are touched. NumPy's overflow warnings are silenced through the step: a run that
    diverges is stopped by that check instead."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _step(model, optimizer, batch_x, batch_t, max_grad, epoch, iters, max_loss)


def _step(model, optimizer, batch_x, batch_t, max_grad, epoch, iters, max_loss=np.inf):
    """``train_step`` without its ``np.errstate``, for loops that enter it once: entering it
    around every step cost 2.6 µs a step here, against 41 µs for a whole chapter-3 step."""
    try:
        loss = model.forward(batch_x, batch_t)
    except (FloatingPointError, ValueError) as exc:             # a NaN/inf reached a layer's check
        if not isinstance(exc, FloatingPointError) and all(np.isfinite(p).all() for p in model.params):
            raise
        loss = float("nan")
    if not (math.isfinite(loss) and loss <= max_loss):
        bound = "" if np.isnan(loss) or np.isinf(loss) else f", above {max_loss:g}"
        raise FloatingPointError(
            f"training diverged: loss is {loss:g}{bound} at epoch {epoch} iter {iters}; the weights were "
            "not updated with it. Lower the learning rate or set max_grad.")
    model.backward()
    params, grads = remove_duplicate(model.params, model.grads)
    if max_grad is not None:
        clip_grads(grads, max_grad)
    optimizer.update(params, grads)
    return loss


def truncated_bptt_batch(x, t, batch_size, time_size, time_idx):
    """The language-model batch at data position ``time_idx``: row i reads ``time_size`` ids
    from offset ``i * (len(x) // batch_size) + time_idx``, wrapping around. Returns (xs, ts),
    each (batch_size, time_size) of x's and t's dtype."""
    data_size = len(x)
    pos = (np.arange(batch_size)[:, None] * (data_size // batch_size) + time_idx
           + np.arange(time_size)[None, :]) % data_size
    return x[pos], t[pos]


def _save_curve(values, eval_interval, ylabel, ylim, path):
    """Write ``values`` against iterations as a PNG at ``path`` and say so; None without
    matplotlib. ``ylabel`` is a phrase key ("loss" or "perplexity")."""
    from fastseq.runs import save_curve      # here: run folders' imports cost more than a short script's loop
    written = save_curve(path, {"train": (np.arange(len(values)), values)}, phrase("iterations") % eval_interval,
                         phrase(ylabel), ylim=ylim,
                         fallback_labels=(phrase("iterations", "en") % eval_interval, phrase(ylabel, "en")))
    if written is None:
        print("plot: matplotlib is not installed (pip install fastseq[plot]); no figure written")
    else:
        print(f"plot: wrote {os.path.abspath(path)}", file=sys.stderr)
    return written


def _train(trainer, max_epoch, max_iters, epoch_batches, max_grad, eval_interval, progress,
           metric, record):
    """The loop both trainers share: forward, check, step, report every ``eval_interval`` steps.

    ``epoch_batches()`` yields the epoch's (x, t) batches; ``metric`` is "loss" or "perplexity";
    each report appends the running value to ``record``."""
    model, optimizer = trainer.model, trainer.optimizer
    total_loss, loss_count = 0.0, 0
    start_time = time.time()
    bar = progress_bar(total=max_epoch * max_iters, unit="it", progress=progress)
    try:
        # Divergence is checked in _step. BLAS stays on one thread for the whole loop (its products
        # are split by fastseq._threads.matmul) instead of being switched around each product.
        with np.errstate(over="ignore", invalid="ignore"), one_blas_thread:
            for _ in range(max_epoch):
                for iters, (batch_x, batch_t) in enumerate(epoch_batches()):
                    loss = _step(model, optimizer, batch_x, batch_t, max_grad, trainer.current_epoch + 1, iters + 1)
                    total_loss += loss
                    loss_count += 1
                    bar.update(1)
                    if eval_interval is not None and iters % eval_interval == 0:
                        value = total_loss / loss_count
                        if metric == "perplexity":
                            value = np.exp(value)
                        bar.set_postfix({metric: f"{value:.2f}"})
                        write(phrase("progress") % (trainer.current_epoch + 1, iters + 1, max_iters,
                                                    time.time() - start_time, phrase(metric), value))
                        record.append(float(value))
                        total_loss, loss_count = 0.0, 0
                trainer.current_epoch += 1
    finally:
        bar.close()


class Trainer:
    """Mini-batch training of a book-style model (``forward(x, t)`` → loss, ``backward()``)."""

    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer
        self.loss_list = []
        self.eval_interval = None
        self.current_epoch = 0

    def fit(self, x, t, max_epoch=10, batch_size=32, max_grad=None, eval_interval=20,
            progress=None):
        """Shuffle every epoch, ``len(x) // batch_size`` steps each; record the mean loss every
        ``eval_interval`` steps. ``progress``: True/False forces the bar on/off.

        The shuffle is cumulative, as in the book: each epoch permutes the previous epoch's
        order (one ``np.random.permutation`` per epoch), so a seeded run draws the same batches."""
        data_size = len(x)
        max_iters = data_size // batch_size
        if max_iters < 1:
            raise ValueError(f"Trainer.fit: {data_size} samples is fewer than batch_size={batch_size}")
        self.eval_interval = eval_interval

        order = [x, t]

        def epoch_batches():
            idx = np.random.permutation(np.arange(data_size))
            order[0], order[1] = order[0][idx], order[1][idx]
            xe, te = order
            for i in range(max_iters):
                yield xe[i * batch_size:(i + 1) * batch_size], te[i * batch_size:(i + 1) * batch_size]

        _train(self, max_epoch, max_iters, epoch_batches, max_grad, eval_interval, progress,
               "loss", self.loss_list)

    def plot(self, ylim=None, path="loss.png"):
        """Save the loss curve as a PNG (needs matplotlib); returns the path, or None."""
        return _save_curve(self.loss_list, self.eval_interval, "loss", ylim, path)


class RnnlmTrainer:
    """Truncated-BPTT training of a language model on one long id sequence."""

    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer
        self.time_idx = None
        self.ppl_list = None
        self.eval_interval = None
        self.current_epoch = 0

    def get_batch(self, x, t, batch_size, time_size):
        """Row i reads ``time_size`` ids from offset ``i * (len(x) // batch_size) + time_idx``
        (wrapping around); ``time_idx`` advances by ``time_size``. Returns int32 (xs, ts)."""
        xs, ts = truncated_bptt_batch(x, t, batch_size, time_size, self.time_idx)
        self.time_idx += time_size
        return xs.astype(np.int32), ts.astype(np.int32)

    def fit(self, xs, ts, max_epoch=10, batch_size=20, time_size=35, max_grad=None,
            eval_interval=20, progress=None):
        """``len(xs) // (batch_size * time_size)`` steps per epoch; record the perplexity every
        ``eval_interval`` steps. ``time_idx`` restarts at 0 on every call, as in the book."""
        data_size = len(xs)
        max_iters = data_size // (batch_size * time_size)
        if max_iters < 1:
            raise ValueError(f"RnnlmTrainer.fit: {data_size} ids is fewer than one batch "
                             f"(batch_size={batch_size} x time_size={time_size})")
        self.time_idx = 0
        self.ppl_list = []
        self.eval_interval = eval_interval

        def epoch_batches():
            for _ in range(max_iters):
                yield self.get_batch(xs, ts, batch_size, time_size)

        _train(self, max_epoch, max_iters, epoch_batches, max_grad, eval_interval, progress,
               "perplexity", self.ppl_list)

    def plot(self, ylim=None, path="perplexity.png"):
        """Save the perplexity curve as a PNG (needs matplotlib); returns the path, or None."""
        return _save_curve(self.ppl_list, self.eval_interval, "perplexity", ylim, path)
