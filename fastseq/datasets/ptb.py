"""Penn Treebank (Mikolov's preprocessed split), loaded as the book's ``dataset/ptb.py`` does.

``load_data(data_type)`` → ``(corpus, word_to_id, id_to_word)``: every newline becomes
``<eos>``, the vocabulary comes from the train split with ids in order of first appearance
(10,000 words), corpus is int32. Parsed corpora are cached as ``.npy`` in the user cache,
keyed by the SHA-256 of the text they came from.
"""
import json

import numpy as np

from fastseq.datasets._files import cache_dir, find_file
from fastseq.runs import atomic_write

URL = "https://raw.githubusercontent.com/tomsercu/lstm/master/data/ptb.{}.txt"
VOCAB_SIZE = 10000
SHA256 = {
    "train": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
    "valid": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
    "test": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
}


def _split_name(data_type):
    data_type = "valid" if data_type == "val" else data_type
    if data_type not in SHA256:
        raise ValueError(f"ptb.load_data: data_type must be 'train', 'val'/'valid' or 'test', got {data_type!r}")
    return data_type


def _words(path):
    with open(path, encoding="utf-8") as f:
        return f.read().replace("\n", "<eos>").strip().split()


def _atomic_save(path, write):
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write)


def _vocab():
    train_path = find_file("ptb", "ptb.train.txt", SHA256["train"], URL.format("train"))
    cached = cache_dir() / "ptb" / f"vocab.{SHA256['train'][:16]}.json"
    words = None
    if cached.exists():
        try:
            with open(cached, encoding="utf-8") as f:
                words = json.load(f)
        except (OSError, ValueError):
            words = None
    if not isinstance(words, list) or len(words) != VOCAB_SIZE:
        words = list(dict.fromkeys(_words(train_path)))

        _atomic_save(cached, lambda f: f.write(json.dumps(words).encode("utf-8")))
    word_to_id = {w: i for i, w in enumerate(words)}
    id_to_word = dict(enumerate(words))
    return word_to_id, id_to_word


def load_data(data_type="train"):
    """``(corpus int32 (n,), word_to_id, id_to_word)`` for 'train', 'val'/'valid' or 'test'."""
    split = _split_name(data_type)
    path = find_file("ptb", f"ptb.{split}.txt", SHA256[split], URL.format(split))
    word_to_id, id_to_word = _vocab()
    cached = cache_dir() / "ptb" / f"ptb.{split}.{SHA256['train'][:8]}{SHA256[split][:8]}.npy"
    corpus = _load_cached_corpus(cached, len(word_to_id))
    if corpus is None:
        corpus = np.array([word_to_id[w] for w in _words(path)], dtype=np.int32)

        _atomic_save(cached, lambda f: np.save(f, corpus))
    return corpus, word_to_id, id_to_word


def _load_cached_corpus(path, vocab_size):
    """The cached corpus, or None when it is missing or unreadable or holds foreign ids."""
    if not path.exists():
        return None
    try:
        corpus = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if corpus.dtype != np.int32 or corpus.ndim != 1 or (corpus.size and (corpus.min() < 0 or corpus.max() >= vocab_size)):
        return None
    return corpus
