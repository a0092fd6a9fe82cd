"""Corpora for the word-vector commands: Penn Treebank's train split, or a user's text files."""
from fastseq.datasets import ptb

__all__ = ["READING_DEFAULTS", "READING_FLAGS", "check_shardable", "load_corpus"]

# How text files are read (``fastseq.corpus.read_corpus``'s options); PTB ignores them.
READING_DEFAULTS = {"tokenize": "book", "line_ends": "ignore", "min_count": 1, "max_vocab_size": None}
# The command-line flag of each option, for messages.
READING_FLAGS = {"tokenize": "--tokenize", "line_ends": "--line-ends", "min_count": "--min-count",
                 "max_vocab_size": "--max-vocab"}


def check_shardable(source):
    """Refuses ``"ptb"`` as a ``--dask`` source: Dask shards text files, one a shard."""
    if source == "ptb" or source == ["ptb"]:
        raise ValueError("--dask shards text files: give them with --corpus")


def load_corpus(source, progress=None, dask=None, **reading):
    """``source`` is ``"ptb"`` (PTB's train split with its 10,000-word vocabulary) or text files:
    a path, or a list of files and folders, read by ``fastseq.corpus.read_corpus`` with the
    ``reading`` options (``READING_DEFAULTS``: the book's tokenising, line ends ignored, every
    word kept), or with ``dask`` ("local", or a scheduler's address) by
    ``fastseq.sharded.sharded_corpus`` on a Dask cluster, one file a shard, to the same result.
    Returns (corpus int32 (n,), id_to_word list)."""
    from fastseq.corpus import read_corpus

    reading = {**READING_DEFAULTS, **reading}
    if dask is not None:
        check_shardable(source)
    if source == "ptb" or source == ["ptb"]:
        changed = sorted(k for k, v in reading.items() if v != READING_DEFAULTS[k])
        if changed:
            raise ValueError(f"{READING_FLAGS[changed[0]]} applies to text corpora (--corpus FILE), not ptb")
        corpus, _, id_to_word = ptb.load_data("train")
        return corpus, [id_to_word[i] for i in range(len(id_to_word))]
    try:
        if dask is not None:
            from fastseq.sharded import client_for, sharded_corpus

            with client_for(dask) as client:
                return sharded_corpus(source, client, reading)
        corpus = read_corpus(source, progress=progress, **reading)
    except ValueError as exc:
        raise ValueError(str(exc).replace("read_corpus: paths:", "--corpus:")) from None
    return corpus.ids, corpus.words
