"""Language-model runs on Penn Treebank: the book's recipes with a log, checkpoints and resume.

A run lives in a ``fastseq.runs.RunFolder`` (locked, checked before work, atomic writes):

* ``config.json``: the recipe and the vocabulary size (read by ``resume``, ``eval-lm`` and
  ``generate``);
* ``checkpoint.npz``: everything needed to continue exactly where training stopped: the
  parameters, the optimizer's state, the LSTMs' carried state, NumPy's global RNG (it seeds the
  dropout masks), the epoch, the iteration within it and the data position; written at the end
  of every epoch and when training is interrupted;
* ``best.npz``: the parameters with the best validation perplexity (recipes that validate), or
  the final ones;
* ``log.jsonl``: one JSON line per epoch (train and validation perplexity, lr, seconds,
  tokens/s, resident memory) and a last one with the test perplexity; ``perplexity.png`` when
  matplotlib is installed.

Each step is the book trainers' ``fastseq.trainer.train_step`` on ``truncated_bptt_batch``.
Ctrl-C during training finishes the current iteration, writes the checkpoint and raises
``KeyboardInterrupt``; a second Ctrl-C interrupts at once (the last checkpoint stays valid).
"""
import dataclasses
import json
import math
import os
import time

import numpy as np
from tqdm.auto import tqdm

from fastseq import _validate as v
from fastseq._threads import available_cores, policy
from fastseq.layers.sampled_softmax import SampledTraining
from fastseq.models import BetterRnnlm, BetterRnnlmGen, Rnnlm, RnnlmGen
from fastseq.optimizers import SGD
from fastseq.runs import RunError, RunFolder, StopFlag, atomic_write, conflicts, rss_mib, save_curve
from fastseq.trainer import train_step, truncated_bptt_batch
from fastseq.util import eval_perplexity

__all__ = ["RECIPES", "Recipe", "train", "load_run_model"]


@dataclasses.dataclass
class Recipe:
    """A training recipe. ``validate``: evaluate validation perplexity after every epoch, keep
    the best parameters and divide lr by 4 when it gets worse; ``restart_each_epoch``: read the
    data from its start at every epoch (the book's BetterRnnlm script calls ``fit`` per epoch);
    ``anneal_epochs``: the epochs (counted from 1) that start with lr divided by 4, on top of the
    validation rule. ``lr_schedule``: "step" keeps lr between those divisions; "cosine" and
    "linear" multiply it at every iteration by ``(1 + cos(pi f)) / 2`` or ``1 - f``, where f is
    the share of the recipe's ``epochs`` x iterations already done (so the decay spans the whole
    run and ends near 0). ``variational_dropout``: BetterRnnlm's dropout layers reuse one mask
    per sequence and feature at every time step (``TimeDropout(variational=True)``).
    ``sampled_softmax``: k > 0 trains BetterRnnlm through a sampled softmax over each target and
    k words drawn per step from the training words' counts ** 0.75
    (``fastseq.layers.sampled_softmax``); evaluation keeps the full softmax."""
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
    lr_schedule: str = "step"
    variational_dropout: bool = False
    sampled_softmax: int = 0

    def __post_init__(self):
        self.anneal_epochs = tuple(self.anneal_epochs)     # config.json stores a list
        if any(not isinstance(e, int) or e < 2 for e in self.anneal_epochs):
            raise ValueError(f"anneal_epochs: epochs counted from 2 up, got {list(self.anneal_epochs)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule: one of {sorted(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.variational_dropout and self.model != "better":
            raise ValueError(f"variational_dropout: only the 'better' model has dropout, not {self.model!r}")
        if isinstance(self.sampled_softmax, bool) or not isinstance(self.sampled_softmax, int) \
                or self.sampled_softmax < 0:
            raise ValueError(f"sampled_softmax: a number of words >= 0, got {self.sampled_softmax!r}")
        if self.sampled_softmax and self.model != "better":
            raise ValueError(f"sampled_softmax: for the 'better' model (tied output weights), not {self.model!r}")


# The lr factor at the share f in [0, 1) of a run's iterations done, per ``Recipe.lr_schedule``.
LR_SCHEDULES = {
    "step": lambda f: 1.0,
    "cosine": lambda f: 0.5 * (1.0 + math.cos(math.pi * f)),
    "linear": lambda f: 1.0 - f,
}


_BETTER = Recipe(model="better", epochs=40, wordvec=650, hidden=650, dropout=0.5, validate=True,
                 restart_each_epoch=True)
# A mean cross-entropy above this (log of float64's largest number) has a perplexity that
# overflows: such a run has diverged even while its loss is still finite (weights near 1e29
# give losses near 1e29 before anything overflows in float32).
MAX_LOSS = float(np.log(np.finfo(np.float64).max))

RECIPES = {
    "rnnlm": Recipe(),
    "better": _BETTER,
    # BetterRnnlm cut to one hour of training here: 6 epochs, the last at lr 5.
    "better-1h": dataclasses.replace(_BETTER, epochs=6, anneal_epochs=(6,)),
    # The lowest test perplexity measured in an hour here: BetterRnnlm at 400 units and dropout 0.3
    # (1.6x the tokens/s of 650 units; ahead at every point of the 15-minute curves), 12 epochs,
    # the 10th at lr 5 and the 11th at 1.25 (test 83.68 after 47.2 minutes of training; README).
    "fast-1h": dataclasses.replace(_BETTER, wordvec=400, hidden=400, dropout=0.3, epochs=12, anneal_epochs=(10, 11)),
}
_MODELS = {"rnnlm": (Rnnlm, RnnlmGen), "better": (BetterRnnlm, BetterRnnlmGen)}


def build_model(recipe, vocab_size, generator=False):
    """The recipe's model (or its generator class) with freshly initialised weights."""
    cls = _MODELS[recipe.model][1 if generator else 0]
    if recipe.model != "better":
        return cls(vocab_size, recipe.wordvec, recipe.hidden)
    model = cls(vocab_size, recipe.wordvec, recipe.hidden, recipe.dropout)
    for layer in model.drop_layers:
        layer.variational = recipe.variational_dropout
    return model


@dataclasses.dataclass
class _Progress:
    epoch: int = 0            # completed epochs
    iteration: int = 0        # completed iterations of the current epoch
    time_idx: int = 0         # data position, as RnnlmTrainer's
    lr: float = 0.0
    best_val: float = float("inf")
    ppl_list: list = dataclasses.field(default_factory=list)
    val_list: list = dataclasses.field(default_factory=list)
    epoch_seconds: float = 0.0  # training seconds of the current epoch's completed iterations
    train_seconds: float = 0.0  # training seconds of the completed epochs, over every session
    test_ppl: float = None    # set once the run has finished and been evaluated


def _recurrent_states(model):
    out = {}
    for k, layer in enumerate(model.recurrent_layers):
        for name in ("h", "c"):
            value = getattr(layer, name, None)
            if value is not None:
                out[f"state.{k}.{name}"] = value
    return out


def _save_checkpoint(run, model, optimizer, progress):
    run.save_training(model, optimizer, {"progress": dataclasses.asdict(progress)}, _recurrent_states(model))


def _set_recurrent_states(model, states):
    """The inverse of ``_recurrent_states``."""
    for k, layer in enumerate(model.recurrent_layers):
        h, c = states.get(f"state.{k}.h"), states.get(f"state.{k}.c")
        if h is None:
            layer.reset_state()
        else:
            layer.set_state(h, c)


def _load_checkpoint(run, model, optimizer):
    def restore(meta, data):
        _set_recurrent_states(model, data)
        return _Progress(**meta["progress"])
    return run.load_training(model, optimizer, restore)


def _test(run, model, optimizer, progress, test_ids):
    """Test perplexity of the best weights, logged and kept in the checkpoint; the model's
    trained weights and carried state are put back before the checkpoint is written, so a
    later ``--resume`` with more epochs continues from them."""
    trained = [p.copy() for p in model.params]
    states = {k: v.copy() for k, v in _recurrent_states(model).items()}
    model.load_params(run.file("best.npz"))
    model.reset_state()
    progress.test_ppl = eval_perplexity(model, test_ids)
    model.set_params(trained)
    _set_recurrent_states(model, states)
    run.log({"test_ppl": progress.test_ppl, "train_seconds": round(progress.train_seconds, 2)})
    _save_checkpoint(run, model, optimizer, progress)


def _plot(run, progress, eval_interval):
    series = {"train": (np.arange(len(progress.ppl_list)) * eval_interval, progress.ppl_list)}
    if progress.val_list:
        iters_per_epoch = len(progress.ppl_list) * eval_interval / max(progress.epoch, 1)
        series["valid"] = ((np.arange(len(progress.val_list)) + 1) * iters_per_epoch, progress.val_list)
    return save_curve(run.file("perplexity.png"), series, "iterations", "perplexity", log_scale=True)


def _schema():
    """config.json's keys and their JSON types (a Recipe plus the vocabulary size)."""
    types = {int: (int,), float: (int, float), str: (str,), bool: (bool,), tuple: (list,)}
    schema = {f.name: types[type(f.default)] if f.default is not None else (int, type(None))
              for f in dataclasses.fields(Recipe)}
    return {**schema, "vocab_size": (int,), "data": (str, dict)}


# Runs of an earlier version saved no "data" (they trained on PTB), and no lr schedule,
# variational dropout or sampled softmax (they had none).
_DEFAULTS = {"data": "ptb", "lr_schedule": "step", "variational_dropout": False, "sampled_softmax": 0}


def _config(recipe, vocab_size, source):
    return {**dataclasses.asdict(recipe), "anneal_epochs": list(recipe.anneal_epochs), "vocab_size": vocab_size,
            "data": source}


def corpus_data(source, progress=None):
    """``((train, valid, test) int32 ids, words list)`` for a language model. ``source`` is
    ``"ptb"`` or a dict: ``corpus`` (paths), ``valid`` and ``test`` (paths, or both None to
    hold out the corpus's last ``held_out`` share, half for validation and half for test),
    and ``fastseq.corpus.read_corpus``'s reading options. Validation and test words missing
    from the training vocabulary become ``<unk>`` (added as a last id when the vocabulary has
    none)."""
    from fastseq.corpus import UNK, read_corpus
    from fastseq.datasets import ptb
    from fastseq.datasets.text import READING_DEFAULTS

    if source == "ptb":
        train, word_to_id, id_to_word = ptb.load_data("train")
        return (train, ptb.load_data("val")[0], ptb.load_data("test")[0]), [id_to_word[i] for i in range(len(id_to_word))]
    reading = {k: source[k] for k in READING_DEFAULTS}
    main = read_corpus(source["corpus"], progress=progress, **reading)
    words = list(main.words)
    if source["valid"] is None and source["test"] is None:
        n = main.ids.shape[0]
        k = int(n * source["held_out"] / 2)
        if k < 1 or n - 2 * k < 2:
            raise ValueError(f"--held-out: {source['held_out']} of {n:,} words leaves no validation, test or "
                             "training words")
        return (main.ids[:n - 2 * k], main.ids[n - 2 * k:n - k], main.ids[n - k:]), words
    if source["valid"] is None or source["test"] is None:
        raise ValueError("--valid and --test go together (or neither: --held-out)")
    index = {w: i for i, w in enumerate(words)}
    parts = []
    for paths in (source["valid"], source["test"]):
        part = read_corpus(paths, progress=progress, **{**reading, "min_count": 1, "max_vocab_size": None})
        lookup = np.array([index.get(w, -1) for w in part.words], np.int64)
        if (lookup < 0).any():
            if UNK not in index:
                index[UNK] = len(words)
                words.append(UNK)
            lookup[lookup < 0] = index[UNK]
        parts.append(lookup[part.ids].astype(np.int32))
    return (main.ids, parts[0], parts[1]), words


def load_source(folder):
    """The ``source`` a train-lm run folder saved (see ``corpus_data``)."""
    return RunFolder(folder, "train-lm").read_config(_schema(), _DEFAULTS)["data"]


def run_data(folder, progress=None):
    """The data of a train-lm run folder: as ``corpus_data``, from its saved source."""
    return corpus_data(load_source(folder), progress)


def train(recipe, folder, data, vocab_size, resume=False, force=False, threads=None, stop_after=None,
          progress_bar=None, source="ptb", words=None):
    """Train ``recipe`` on ``data`` = (train, valid, test) id corpora (int32, ids below
    ``vocab_size``) into the run folder ``folder`` (see ``fastseq.runs``). ``source`` (saved
    in config.json, and checked on resume) says where the data came from (see
    ``corpus_data``); ``words`` (id → word), when given, is saved as ``vocab.txt``.

    ``resume`` continues the run saved there: ``recipe`` may then be None (the saved one) or
    differ from it in ``epochs`` only. ``force`` starts over in a folder that holds a run.
    ``threads``: BLAS threads (default: the available cores; the elementwise kernels run on
    one thread meanwhile), restored on return. ``stop_after`` (iterations) stops early as
    Ctrl-C would, writing the checkpoint (for tests). Returns the test perplexity, or None when
    stopped. Raises FloatingPointError on a non-finite loss, before the weights are touched."""
    for name, ids in zip(("train", "valid", "test"), data):
        v.id_array("train", f"the {name} corpus", ids, vocab_size)
    with RunFolder(folder, "train-lm", resume=resume, force=force) as run:
        if resume:
            saved = run.read_config(_schema(), _DEFAULTS)
            if saved["vocab_size"] != vocab_size:
                raise RunError(f"--resume: the run in {folder} has vocab_size {saved['vocab_size']}, not {vocab_size}")
            if saved["data"] != source:
                raise RunError(f"--resume: the run in {folder} trained on {saved['data']!r}, not {source!r}")
            if recipe is not None:
                conflicts(saved, _config(recipe, vocab_size, source), may_change=("epochs",))
            saved.pop("vocab_size")
            saved.pop("data")
            recipe = Recipe(**{**saved, "epochs": recipe.epochs if recipe is not None else saved["epochs"]})
        run.write_config(_config(recipe, vocab_size, source))
        if words is not None:
            if len(words) != vocab_size:
                raise ValueError(f"train: {len(words)} words for vocab_size {vocab_size}")
            atomic_write(run.file("vocab.txt"), lambda f: f.write("".join(w + "\n" for w in words).encode("utf-8")))
        with policy(1, 1, products=threads or available_cores()):
            return _train(run, recipe, data, vocab_size, resume, stop_after, progress_bar)


def _train(run, recipe, data, vocab_size, resume, stop_after, progress_bar):
    train_ids, valid_ids, test_ids = data
    np.random.seed(recipe.seed)
    model = build_model(recipe, vocab_size)
    optimizer = SGD(recipe.lr)
    progress = _load_checkpoint(run, model, optimizer) if resume else _Progress(lr=recipe.lr)
    decay = LR_SCHEDULES[recipe.lr_schedule]
    corpus = train_ids if recipe.train_tokens is None else train_ids[:recipe.train_tokens]
    trained = model
    if recipe.sampled_softmax:
        trained = SampledTraining(model, np.bincount(corpus, minlength=vocab_size), recipe.sampled_softmax)
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
        with StopFlag() as stop:
            while progress.epoch < recipe.epochs:
                progress.test_ppl = None
                start, tokens = time.time() - progress.epoch_seconds, progress.iteration * per_iter
                total_loss, loss_count, epoch_loss, epoch_count = 0.0, 0, 0.0, 0
                while progress.iteration < max_iters:
                    if stop.requested or (stop_after is not None and done >= stop_after):
                        progress.epoch_seconds = time.time() - start
                        _save_checkpoint(run, model, optimizer, progress)
                        if stop_after is not None:
                            return None
                        raise KeyboardInterrupt(f"training interrupted; resume with --resume {run.path}")
                    batch_x, batch_t = truncated_bptt_batch(xs, ts, recipe.batch_size, recipe.time_size,
                                                            progress.time_idx)
                    optimizer.lr = progress.lr * decay((progress.epoch * max_iters + progress.iteration)
                                                       / (recipe.epochs * max_iters))
                    try:
                        loss = train_step(trained, optimizer, batch_x, batch_t, recipe.max_grad, progress.epoch + 1,
                                          progress.iteration + 1, max_loss=MAX_LOSS)
                    except FloatingPointError as exc:
                        raise FloatingPointError(f"{exc} (--lr, --max-grad); the last checkpoint in {run.path} "
                                                 "is intact") from None
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
                          "rss_mib": rss_mib()}
                progress.epoch += 1
                progress.iteration = 0
                progress.epoch_seconds = 0.0
                progress.train_seconds += seconds
                if recipe.restart_each_epoch:
                    progress.time_idx = 0
                if recipe.validate:
                    record["val_ppl"] = _validate(model, valid_ids, run, progress)
                if progress.epoch + 1 in recipe.anneal_epochs:
                    progress.lr /= 4.0
                run.log(record)
                tqdm.write(json.dumps(record))
                _save_checkpoint(run, model, optimizer, progress)
    finally:
        bar.close()
    if progress.test_ppl is not None:
        tqdm.write(f"the run in {run.path} had already finished its {recipe.epochs} epochs; its test perplexity "
                   "was not computed again (a larger --epochs trains further)")
        return progress.test_ppl
    if not recipe.validate:
        run.save_arrays("best.npz", model.param_arrays())
    _test(run, model, optimizer, progress, test_ids)
    _plot(run, progress, recipe.eval_interval)
    return progress.test_ppl


def _validate(model, valid_ids, run, progress):
    """The book's per-epoch step: validation perplexity, keep the best, lr / 4 when worse."""
    model.reset_state()
    ppl = eval_perplexity(model, valid_ids)
    model.reset_state()
    progress.val_list.append(ppl)
    if ppl < progress.best_val:
        progress.best_val = ppl
        run.save_arrays("best.npz", model.param_arrays())
    else:
        progress.lr /= 4.0
    return ppl


def load_recipe(folder):
    """The Recipe saved in a run folder's config.json."""
    config = RunFolder(folder, "train-lm").read_config(_schema(), _DEFAULTS)
    config.pop("vocab_size")
    config.pop("data")
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
