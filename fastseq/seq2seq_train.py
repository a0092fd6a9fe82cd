"""Training the book's seq2seq models on its toy sets (addition, date), as ``fastseq
train-seq2seq`` runs it: the book's loop (Trainer with Adam and gradient clipping, one epoch per
``fit``), validation accuracy after every epoch (an answer counts when every character matches,
``eval_seq2seq``'s rule) computed by batched greedy decoding, a few printed examples, the best
parameters kept in ``<out>/best.npz`` and one JSON line per epoch in ``<out>/log.jsonl``."""
import json
import os
import time

import numpy as np

from fastseq.datasets import sequence
from fastseq.models.seq2seq import AttentionSeq2seq, PeekySeq2seq, Seq2seq
from fastseq.optimizers import Adam
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
    fig.savefig(path)
    return path


def train_seq2seq(data="addition", model="peeky", reverse=True, epochs=25, batch_size=128, wordvec=16,
                  hidden=128, max_grad=5.0, lr=0.001, seed=1984, out="runs/seq2seq", examples=3, progress=None,
                  train_limit=None):
    """Train and evaluate; returns the list of per-epoch records. ``train_limit`` trains on the
    first N questions only (quick runs). An attention model also writes ``attention.png`` for the
    first test question."""
    if model not in MODELS:
        raise ValueError(f"train_seq2seq: model must be one of {sorted(MODELS)}, got {model!r}")
    (x_train, t_train), (x_test, t_test) = sequence.load_data(f"{data}.txt", seed=seed)
    _, id_to_char = sequence.get_vocab()
    if reverse:
        x_train, x_test = x_train[:, ::-1], x_test[:, ::-1]
    if train_limit is not None:
        x_train, t_train = x_train[:train_limit], t_train[:train_limit]
    np.random.seed(seed)
    net = MODELS[model](len(id_to_char), wordvec, hidden)
    trainer = Trainer(net, Adam(lr))
    os.makedirs(out, exist_ok=True)
    log_path = os.path.join(out, "log.jsonl")
    open(log_path, "w").close()
    best, records = -1.0, []
    text = lambda ids: "".join(id_to_char[int(i)] for i in ids)            # noqa: E731
    for epoch in range(epochs):
        start = time.time()
        trainer.fit(x_train, t_train, max_epoch=1, batch_size=batch_size, max_grad=max_grad,
                    eval_interval=100, progress=progress)
        seconds = time.time() - start
        acc, guesses = accuracy(net, x_test, t_test)
        for i in range(examples):
            q = text(x_test[i][::-1] if reverse else x_test[i])
            print(f"Q {q}  T {text(t_test[i, 1:])}  {'O' if text(guesses[i]) == text(t_test[i, 1:]) else 'X'} "
                  f"{text(guesses[i])}")
        record = {"epoch": epoch + 1, "val_acc": acc, "loss": trainer.loss_list[-1] if trainer.loss_list else None,
                  "train_seconds": round(seconds, 2)}
        if acc > best:
            best = acc
            net.save_params(os.path.join(out, "best.npz"))
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        print(f"epoch {epoch + 1}: val acc {acc * 100:.2f}% ({seconds:.1f} s of training)")
        records.append(record)
    if model == "attention":
        answer = net.generate(x_test[:1], int(t_test[0, 0]), t_test.shape[1] - 1)
        weights = np.array(net.decoder.attention.attention_weights)[:, 0]
        save_attention_heatmap(weights, text(x_test[0]), text(answer), os.path.join(out, "attention.png"))
    return records
