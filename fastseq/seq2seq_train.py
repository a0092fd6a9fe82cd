"""Training the book's seq2seq models on its toy sets (addition, date), as ``fastseq
train-seq2seq`` runs it: the book's loop (Trainer with Adam and gradient clipping, one epoch per
``fit``), validation accuracy after every epoch (an answer counts when every character matches,
``eval_seq2seq``'s rule) computed by batched greedy decoding, a few printed examples, the best
parameters kept in the run folder's ``best.npz``, one JSON line per epoch in its ``log.jsonl`` and
a checkpoint per epoch for ``resume`` (see ``fastseq.runs``)."""
import time

import numpy as np

from fastseq._threads import available_cores, policy
from fastseq.datasets import sequence
from fastseq.models.seq2seq import AttentionSeq2seq, PeekySeq2seq, Seq2seq
from fastseq.optimizers import Adam
from fastseq.runs import RunFolder, atomic_write, conflicts, rss_mib, save_curve
from fastseq.trainer import Trainer

__all__ = ["MODELS", "accuracy", "train_seq2seq", "save_attention_heatmap"]

MODELS = {"plain": Seq2seq, "peeky": PeekySeq2seq, "attention": AttentionSeq2seq}


def accuracy(model, questions, answers, batch_size=1000):
    """Share of rows whose greedy answer equals ``answers[:, 1:]`` (answers[:, 0] is the start id);
    also returns the guesses (N, len - 1)."""
    guesses = np.concatenate([model.generate_batch(questions[i:i + batch_size], int(answers[0, 0]),
                                                   answers.shape[1] - 1)
                              for i in range(0, len(questions), batch_size)])
    return float(np.mean(np.all(guesses == answers[:, 1:], axis=1))), guesses


def save_attention_heatmap(weights, input_labels, output_labels, path):
    """Write the attention weights (T_out, T_in) of one generated answer as a PNG heat map
    (rows: output characters, columns: input characters). Needs matplotlib; returns the path,
    or None without it."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    weights = np.asarray(weights)
    if weights.shape != (len(output_labels), len(input_labels)):
        raise ValueError(f"save_attention_heatmap: weights must have shape ({len(output_labels)}, "
                         f"{len(input_labels)}), got {weights.shape}")
    fig = Figure(figsize=(1 + 0.35 * len(input_labels), 1 + 0.35 * len(output_labels)))
    ax = fig.subplots()
    ax.imshow(weights, cmap="Greys_r", vmin=0, vmax=1)
    ax.set_xticks(range(len(input_labels)), list(input_labels))
    ax.set_yticks(range(len(output_labels)), list(output_labels))
    atomic_write(path, lambda f: fig.savefig(f, format="png"))
    return path


_SCHEMA = {"data": (str,), "model": (str,), "reverse": (bool,), "epochs": (int,), "batch_size": (int,),
           "wordvec": (int,), "hidden": (int,), "max_grad": (int, float), "lr": (int, float), "seed": (int,),
           "train_limit": (int, type(None))}


def train_seq2seq(data="addition", model="peeky", reverse=True, epochs=25, batch_size=128, wordvec=16,
                  hidden=128, max_grad=5.0, lr=0.001, seed=1984, out="runs/seq2seq", examples=3, progress=None,
                  train_limit=None, resume=False, force=False, threads=None):
    """Train and evaluate into the run folder ``out`` (see ``fastseq.runs``); returns the list of
    per-epoch records. ``train_limit`` trains on the first N questions only (quick runs). An
    attention model also writes ``attention.png`` for the first test question. ``resume``
    continues the run in ``out`` after its last full epoch (options as saved; ``epochs`` may
    grow); ``force`` starts over there. ``threads``: BLAS threads (default: the available
    cores; the elementwise kernels run on one), restored on return."""
    if model not in MODELS:
        raise ValueError(f"train_seq2seq: model must be one of {sorted(MODELS)}, got {model!r}")
    options = {"data": data, "model": model, "reverse": bool(reverse), "epochs": epochs, "batch_size": batch_size,
               "wordvec": wordvec, "hidden": hidden, "max_grad": max_grad, "lr": lr, "seed": seed,
               "train_limit": train_limit}
    with RunFolder(out, "train-seq2seq", resume=resume, force=force) as run:
        if resume:
            saved = run.read_config(_SCHEMA)
            conflicts(saved, options, may_change=("epochs",))
            options = {**saved, "epochs": epochs}
        run.write_config(options)
        with policy(1, 1, products=threads or available_cores()):
            return _train(run, options, examples, progress, resume)


def _train(run, o, examples, progress, resume):
    (x_train, t_train), (x_test, t_test), id_to_char = sequence.load_data_own_vocab(f"{o['data']}.txt", o["seed"])
    if o["reverse"]:
        x_train, x_test = x_train[:, ::-1], x_test[:, ::-1]
    if o["train_limit"] is not None:
        x_train, t_train = x_train[:o["train_limit"]], t_train[:o["train_limit"]]
    np.random.seed(o["seed"])
    net = MODELS[o["model"]](len(id_to_char), o["wordvec"], o["hidden"])
    trainer = Trainer(net, Adam(o["lr"]))
    best, records = -1.0, []
    if resume:
        def restore(meta, arrays):
            if not isinstance(meta["best"], (int, float)) or not isinstance(meta["records"], list):
                raise TypeError("best or records malformed")
            return meta["best"], meta["records"]
        best, records = run.load_training(net, trainer.optimizer, restore)
    text = lambda ids: "".join(id_to_char[int(i)] for i in ids)            # noqa: E731
    for epoch in range(len(records), o["epochs"]):
        start = time.time()
        try:
            trainer.fit(x_train, t_train, max_epoch=1, batch_size=o["batch_size"], max_grad=o["max_grad"],
                        eval_interval=100, progress=progress)
        except KeyboardInterrupt:
            if not records:
                raise KeyboardInterrupt("interrupted in epoch 1, before the first checkpoint: nothing was kept")
            raise KeyboardInterrupt(f"interrupted in epoch {epoch + 1}; the checkpoint holds {len(records)} full "
                                    f"epochs: continue with --resume {run.path}") from None
        seconds = time.time() - start
        acc, guesses = accuracy(net, x_test, t_test)
        for i in range(examples):
            q = text(x_test[i][::-1] if o["reverse"] else x_test[i])
            print(f"Q {q}  T {text(t_test[i, 1:])}  {'O' if text(guesses[i]) == text(t_test[i, 1:]) else 'X'} "
                  f"{text(guesses[i])}")
        record = {"epoch": epoch + 1, "val_acc": acc, "loss": trainer.loss_list[-1] if trainer.loss_list else None,
                  "seconds": round(seconds, 2), "examples_per_s": round(len(x_train) / seconds),
                  "rss_mib": rss_mib()}
        if acc > best:
            best = acc
            run.save_arrays("best.npz", net.param_arrays())
        run.log(record)
        records.append(record)
        run.save_training(net, trainer.optimizer, {"best": best, "records": records})
        print(f"epoch {epoch + 1}: val acc {acc * 100:.2f}% ({seconds:.1f} s of training)")
    epochs = [r["epoch"] for r in records]
    save_curve(run.file("accuracy.png"), {"validation": (epochs, [r["val_acc"] for r in records])}, "epoch",
               "accuracy")
    if o["model"] == "attention":
        answer = net.generate(x_test[:1], int(t_test[0, 0]), t_test.shape[1] - 1)
        weights = np.array(net.decoder.attention.attention_weights)[:, 0]
        save_attention_heatmap(weights, text(x_test[0]), text(answer), run.file("attention.png"))
    return records
