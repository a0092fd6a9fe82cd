"""Corpora for the word-vector commands: Penn Treebank's train split, or a user's text file."""
import numpy as np

from fastseq.datasets import ptb
from fastseq.util import tokenize, word_ids

__all__ = ["load_corpus"]


def load_corpus(source):
    """``source`` is ``"ptb"`` (PTB's train split with its 10,000-word vocabulary) or the path of
    a UTF-8 text file, read with ``fastseq.util.tokenize`` (lower-cased, ``.`` split off, split
    on white space). Returns (corpus int32 (n,), id_to_word list, ids in order of first
    appearance)."""
    if source == "ptb":
        corpus, _, id_to_word = ptb.load_data("train")
        return corpus, [id_to_word[i] for i in range(len(id_to_word))]
    try:
        with open(source, encoding="utf-8") as f:
            words = tokenize(f.read())
    except UnicodeDecodeError as exc:
        raise ValueError(f"--corpus: {source} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not words:
        raise ValueError(f"--corpus: {source} holds no words")
    corpus, _, id_to_word = word_ids(words, dtype=np.int32)
    return corpus, [id_to_word[i] for i in range(len(id_to_word))]
