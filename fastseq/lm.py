"""Language-model runs on Penn Treebank: the book's recipes with a log, checkpoints and resume.

A run lives in one folder:

* ``config.json``: the model and recipe (written once, read by ``--resume``, ``eval-lm`` and
  ``generate``);
* ``checkpoint.npz``: everything needed to continue exactly where training stopped: the
  parameters, the optimizer's state, the LSTMs' carried state, NumPy's global RNG (it seeds the
  dropout masks), the epoch, the iteration within it and the data position; written atomically
  at the end of every epoch and when training is interrupted;
* ``best.npz``: the parameters with the best validation perplexity (recipes that validate), or
  the final ones;
* ``log.jsonl``: one JSON line per epoch (train and validation perplexity, lr, seconds,
  tokens/s, resident memory) and a last one with the test perplexity; ``perplexity.png`` when matplotlib is
  installed.

Ctrl-C during training finishes the current iteration, writes the checkpoint and raises
``KeyboardInterrupt``; a second Ctrl-C interrupts at once (the last checkpoint stays valid).
"""
import dataclasses
import json
import os
import signal
import time

import numpy as np
from tqdm.auto import tqdm

from fastseq import _validate as v
from fastseq.models import BetterRnnlm, BetterRnnlmGen, Rnnlm, RnnlmGen
from fastseq.models.base import atomic_savez
from fastseq.optimizers import SGD
from fastseq.util import clip_grads, eval_perplexity, remove_duplicate

__all__ = ["RECIPES", "Recipe", "train", "load_run_model"]


@dataclasses.dataclass
class Recipe:
    """A training recipe. ``validate``: evaluate validation perplexity after every epoch, keep
    the best parameters and divide lr by 4 when it gets worse; ``restart_each_epoch``: read the
    data from its start at every epoch (the book's BetterRnnlm script calls ``fit`` per epoch);
    ``anneal_epochs``: the epochs (counted from 1) that start with lr divided by 4, on top of the
    validation rule."""
    model: str = "rnnlm"
    epochs: int = 4
    lr: float = 20.0
    max_grad: float = 0.25
    batch_size: int = 20
    time_size: int = 35
    wordvec: int = 100
    hidden: int = 100
    dropout: float = 0.0
    validate: bool = False
    restart_each_epoch: bool = False
    seed: int = 1984
    train_tokens: int = None
    eval_interval: int = 20
    anneal_epochs: tuple = ()

    def __post_init__(self):
        self.anneal_epochs = tuple(self.anneal_epochs)     # config.json stores a list
        if any(not isinstance(e, int) or e < 2 for e in self.anneal_epochs):
            raise ValueError(f"anneal_epochs: epochs counted from 2 up, got {list(self.anneal_epochs)}")


_BETTER = Recipe(model="better", epochs=40, wordvec=650, hidden=650, dropout=0.5, validate=True,
                 restart_each_epoch=True)
RECIPES = {
    "rnnlm": Recipe(),
    "better": _BETTER,
    # BetterRnnlm cut to one hour of training here: 6 epochs, the last at lr 5.
    "better-1h": dataclasses.replace(_BETTER, epochs=6, anneal_epochs=(6,)),
}
_MODELS = {"rnnlm": (Rnnlm, RnnlmGen), "better": (BetterRnnlm, BetterRnnlmGen)}


def build_model(recipe, vocab_size, generator=False):
    """The recipe's model (or its generator class) with freshly initialised weights."""
    cls = _MODELS[recipe.model][1 if generator else 0]
    if recipe.model == "better":
        return cls(vocab_size, recipe.wordvec, recipe.hidden, recipe.dropout)
    return cls(vocab_size, recipe.wordvec, recipe.hidden)


class _StopFlag:
    """SIGINT sets ``requested``; a second SIGINT raises KeyboardInterrupt at once."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        def handler(signum, frame):
            if self.requested:
                raise KeyboardInterrupt
            self.requested = True
        try:
            self._previous = signal.signal(signal.SIGINT, handler)
        except ValueError:                 # not the main thread: Ctrl-C stays Python's default
            self._previous = None
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


@dataclasses.dataclass
class _Progress:
    epoch: int = 0            # completed epochs
    iteration: int = 0        # completed iterations of the current epoch
    time_idx: int = 0         # data position, as RnnlmTrainer's
    lr: float = 0.0
    best_val: float = float("inf")
    ppl_list: list = dataclasses.field(default_factory=list)
    val_list: list = dataclasses.field(default_factory=list)


def _recurrent_states(model):
    out = {}
    for k, layer in enumerate(model.recurrent_layers):
        for name in ("h", "c"):
            value = getattr(layer, name, None)
            if value is not None:
                out[f"state.{k}.{name}"] = value
    return out


def _save_checkpoint(folder, model, optimizer, progress):
    rng = np.random.get_state()
    opt = optimizer.state_dict()
    meta = {"progress": dataclasses.asdict(progress), "optimizer": opt["scalars"],
            "rng": [rng[0], int(rng[2]), int(rng[3]), float(rng[4])]}
    arrays = {f"p{i}": p for i, p in enumerate(model.params)}
    arrays.update({f"opt.{k}": a for k, a in opt["arrays"].items()})
    arrays.update(_recurrent_states(model))
    arrays["rng.keys"] = rng[1]
    arrays["meta"] = np.array(json.dumps(meta))
    atomic_savez(os.path.join(folder, "checkpoint.npz"), arrays)


def _load_checkpoint(folder, model, optimizer):
    path = os.path.join(folder, "checkpoint.npz")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        meta = json.loads(str(data["meta"]))
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"resume: {path} is missing or unreadable ({exc})") from None
    model.load_params(path)
    optimizer.load_state_dict({"scalars": meta["optimizer"],
                               "arrays": {k[4:]: a for k, a in data.items() if k.startswith("opt.")}})
    for k, layer in enumerate(model.recurrent_layers):
        h, c = data.get(f"state.{k}.h"), data.get(f"state.{k}.c")
        if h is None:
            layer.reset_state()
        else:
            layer.set_state(h, c)
    name, pos, has_gauss, cached = meta["rng"]
    np.random.set_state((name, data["rng.keys"], pos, has_gauss, cached))
    return _Progress(**meta["progress"])


def _log(folder, record):
    with open(os.path.join(folder, "log.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def _plot(folder, progress, eval_interval):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    fig = Figure()
    ax = fig.subplots()
    ax.plot(np.arange(len(progress.ppl_list)) * eval_interval, progress.ppl_list, label="train")
    if progress.val_list:
        iters_per_epoch = len(progress.ppl_list) * eval_interval / max(progress.epoch, 1)
        ax.plot((np.arange(len(progress.val_list)) + 1) * iters_per_epoch, progress.val_list, "o-", label="valid")
    ax.set_xlabel("iterations")
    ax.set_ylabel("perplexity")
    ax.set_yscale("log")
    ax.legend()
    path = os.path.join(folder, "perplexity.png")
    fig.savefig(path)
    return path


def _batch(xs, ts, batch_size, time_size, time_idx):
    data_size = len(xs)
    pos = (np.arange(batch_size)[:, None] * (data_size // batch_size) + time_idx
           + np.arange(time_size)[None, :]) % data_size
    return xs[pos], ts[pos]


def train(recipe, folder, data, vocab_size, resume=False, stop_after=None, progress_bar=None):
    """Train ``recipe`` on ``data`` = (train, valid, test) id corpora (int32, ids below
    ``vocab_size``) into ``folder``.

    ``resume`` continues the run saved there. ``stop_after`` (iterations) stops early as Ctrl-C
    would, writing the checkpoint (for tests). Returns the test perplexity, or None when stopped.
    Raises FloatingPointError on a non-finite loss, before the weights are touched."""
    train_ids, valid_ids, test_ids = data
    for name, ids in zip(("train", "valid", "test"), data):
        v.id_array("train", f"the {name} corpus", ids, vocab_size)
    os.makedirs(folder, exist_ok=True)
    config_path = os.path.join(folder, "config.json")
    if resume:
        recipe = load_recipe(folder)
    else:
        with open(config_path, "w", encoding="utf-8") as f:
            json.dump({**dataclasses.asdict(recipe), "vocab_size": vocab_size}, f, indent=1)
        if os.path.exists(os.path.join(folder, "log.jsonl")):
            os.remove(os.path.join(folder, "log.jsonl"))
    np.random.seed(recipe.seed)
    model = build_model(recipe, vocab_size)
    optimizer = SGD(recipe.lr)
    progress = _load_checkpoint(folder, model, optimizer) if resume else _Progress(lr=recipe.lr)
    optimizer.lr = progress.lr
    corpus = train_ids if recipe.train_tokens is None else train_ids[:recipe.train_tokens]
    xs, ts = corpus[:-1], corpus[1:]
    per_iter = recipe.batch_size * recipe.time_size
    max_iters = len(xs) // per_iter
    if max_iters < 1:
        raise ValueError(f"train: {len(xs)} training ids is fewer than one batch ({recipe.batch_size} x "
                         f"{recipe.time_size})")
    done = 0
    bar = tqdm(total=recipe.epochs * max_iters, initial=progress.epoch * max_iters + progress.iteration,
               unit="it", disable=True if progress_bar is False else None, dynamic_ncols=True)
    try:
        with _StopFlag() as stop, np.errstate(over="ignore", invalid="ignore"):   # divergence is checked below
            while progress.epoch < recipe.epochs:
                start, tokens = time.time(), 0
                total_loss, loss_count, epoch_loss, epoch_count = 0.0, 0, 0.0, 0
                while progress.iteration < max_iters:
                    if stop.requested or (stop_after is not None and done >= stop_after):
                        _save_checkpoint(folder, model, optimizer, progress)
                        return None if stop_after is not None else _interrupted(folder)
                    batch_x, batch_t = _batch(xs, ts, recipe.batch_size, recipe.time_size, progress.time_idx)
                    try:
                        loss = model.forward(batch_x, batch_t)
                    except (FloatingPointError, ValueError) as exc:   # a NaN/inf reached a layer's check
                        loss = float("nan")
                        if not isinstance(exc, FloatingPointError) and all(np.isfinite(p).all() for p in model.params):
                            raise
                    if not np.isfinite(loss):
                        raise FloatingPointError(
                            f"training diverged: the loss is not finite at epoch {progress.epoch + 1} iter "
                            f"{progress.iteration + 1}; the weights were not updated with it. Lower --lr or "
                            f"--max-grad; the last checkpoint in {folder} is intact")
                    model.backward()
                    params, grads = remove_duplicate(model.params, model.grads)
                    clip_grads(grads, recipe.max_grad)
                    optimizer.update(params, grads)
                    progress.time_idx += recipe.time_size
                    progress.iteration += 1
                    done += 1
                    tokens += per_iter
                    total_loss += loss
                    loss_count += 1
                    epoch_loss += loss
                    epoch_count += 1
                    bar.update(1)
                    if (progress.iteration - 1) % recipe.eval_interval == 0:
                        ppl = float(np.exp(total_loss / loss_count))
                        progress.ppl_list.append(ppl)
                        bar.set_postfix({"ppl": f"{ppl:.1f}", "tok/s": f"{tokens / (time.time() - start):,.0f}"})
                        tqdm.write("| epoch %d |  iter %d / %d | time %d[s] | perplexity %.2f"
                                   % (progress.epoch + 1, progress.iteration, max_iters, time.time() - start, ppl))
                        total_loss, loss_count = 0.0, 0
                seconds = time.time() - start
                record = {"epoch": progress.epoch + 1, "train_ppl": float(np.exp(epoch_loss / max(epoch_count, 1))),
                          "lr": optimizer.lr, "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds),
                          "rss_mib": _rss_mib()}
                progress.epoch += 1
                progress.iteration = 0
                if recipe.restart_each_epoch:
                    progress.time_idx = 0
                if recipe.validate:
                    record["val_ppl"] = _validate(model, valid_ids, folder, progress, optimizer)
                if progress.epoch + 1 in recipe.anneal_epochs:
                    optimizer.lr /= 4.0
                    progress.lr = optimizer.lr
                _log(folder, record)
                tqdm.write(json.dumps(record))
                _save_checkpoint(folder, model, optimizer, progress)
    finally:
        bar.close()
    if not recipe.validate:
        model.save_params(os.path.join(folder, "best.npz"))
    model.load_params(os.path.join(folder, "best.npz"))
    model.reset_state()
    test_ppl = eval_perplexity(model, test_ids)
    _log(folder, {"test_ppl": test_ppl})
    _plot(folder, progress, recipe.eval_interval)
    return test_ppl


def _rss_mib():
    """Resident memory of this process now, in MiB (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return None


def _validate(model, valid_ids, folder, progress, optimizer):
    """The book's per-epoch step: validation perplexity, keep the best, lr / 4 when worse."""
    model.reset_state()
    ppl = eval_perplexity(model, valid_ids)
    model.reset_state()
    progress.val_list.append(ppl)
    if ppl < progress.best_val:
        progress.best_val = ppl
        model.save_params(os.path.join(folder, "best.npz"))
    else:
        optimizer.lr /= 4.0
    progress.lr = optimizer.lr
    return ppl


def _interrupted(folder):
    raise KeyboardInterrupt(f"training interrupted; resume with --resume {folder}")


def load_recipe(folder):
    """The Recipe saved in a run folder's config.json."""
    path = os.path.join(folder, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{folder} is not a fastseq run folder: {path} is missing or unreadable ({exc})") from None
    config.pop("vocab_size", None)
    return Recipe(**config)


def load_run_model(checkpoint, vocab_size, model=None, generator=False):
    """A model with trained weights from a run folder (its best.npz, else checkpoint.npz) or from a
    parameter file (.npz or the book's .pkl; then ``model`` names a recipe of RECIPES)."""
    if os.path.isdir(checkpoint):
        recipe = load_recipe(checkpoint)
        best = os.path.join(checkpoint, "best.npz")
        path = best if os.path.exists(best) else os.path.join(checkpoint, "checkpoint.npz")
    else:
        if model not in RECIPES:
            raise ValueError(f"--model must be one of {sorted(RECIPES)} to read a parameter file, got {model!r}")
        recipe, path = RECIPES[model], checkpoint
    m = build_model(recipe, vocab_size, generator=generator)
    m.load_params(path)
    return m
