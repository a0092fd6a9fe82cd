"""Penn Treebank (Mikolov's preprocessed split), loaded as the book's ``dataset/ptb.py`` does.

``load_data(data_type)`` → ``(corpus, word_to_id, id_to_word)``: every newline becomes
``<eos>``, the vocabulary comes from the train split with ids in order of first appearance
(10,000 words), corpus is int32.

Where the files come from, in order:

0. Under the drop-in, the book's own saved parse, where its ``dataset/ptb.py`` would read it:
   ``ptb.vocab.pkl`` and ``ptb.<split>.npy`` in the book tree's ``dataset/`` folder. The
   pickle is read by an unpickler that builds only plain containers, strings and numbers, and
   both files are checked (the two dictionaries inverse to each other, every id in range)
   before use. Where they are missing, the drop-in saves them there after parsing, as the
   book's loader does, in the book's formats (announced on stderr).
1. Texts found outside the user cache (``$FASTSEQ_DATA/ptb/``, or the book tree's ``dataset/``
   under the drop-in) are parsed in memory (about 0.13 s), and nothing is written but step 0's
   files under the drop-in.
2. Otherwise the user cache (``~/.cache/fastseq/ptb/``) is used: a parsed copy there (the
   vocabulary as JSON, each split as ``.npy``, each beside a ``.sha256`` of its bytes) is loaded
   when its checksum holds, with or without the text beside it.
3. Otherwise the texts are found in the cache or downloaded into it (SHA-256 checked), parsed,
   and the parsed copies are written there for the next run.
"""
import hashlib
import io
import json
import os
import pickle
import sys

import numpy as np

from fastseq.datasets import _files
from fastseq.datasets._files import cache_dir, find_file, locate
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


def _parse(train_path, split_path):
    """``(vocabulary list, corpus int32)`` from the train text and the split's text."""
    train_words = _words(train_path)
    vocab = list(dict.fromkeys(train_words))
    words = train_words if split_path == train_path else _words(split_path)
    word_to_id = {w: i for i, w in enumerate(vocab)}
    return vocab, np.fromiter(map(word_to_id.__getitem__, words), dtype=np.int32, count=len(words))


def _parsed_paths(split):
    """The user cache's parsed vocabulary and corpus of ``split``, keyed by the texts' hashes."""
    folder = cache_dir() / "ptb"
    return (folder / f"vocab.{SHA256['train'][:16]}.json",
            folder / f"ptb.{split}.{SHA256['train'][:8]}{SHA256[split][:8]}.npy")


def _save_checked(path, data):
    """Write ``data`` (bytes) to ``path`` and its SHA-256 to ``path.sha256``, both atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: f.write(data))
    digest = hashlib.sha256(data).hexdigest()
    atomic_write(path.with_name(path.name + ".sha256"), lambda f: f.write(digest.encode("ascii")))


def _read_checked(path):
    """``path``'s bytes when ``path.sha256`` holds their SHA-256, else None."""
    try:
        data = path.read_bytes()
        expected = path.with_name(path.name + ".sha256").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return data if hashlib.sha256(data).hexdigest() == expected else None


def _load_parsed(split):
    """``(vocabulary list, corpus)`` from the user cache's checked parsed copies, or None."""
    vocab_path, corpus_path = _parsed_paths(split)
    vocab_bytes, corpus_bytes = _read_checked(vocab_path), _read_checked(corpus_path)
    if vocab_bytes is None or corpus_bytes is None:
        return None
    try:
        vocab = json.loads(vocab_bytes.decode("utf-8"))
        corpus = np.load(io.BytesIO(corpus_bytes), allow_pickle=False)
    except ValueError:
        return None
    if (not isinstance(vocab, list) or len(vocab) != VOCAB_SIZE or corpus.dtype != np.int32 or corpus.ndim != 1
            or (corpus.size and (corpus.min() < 0 or corpus.max() >= VOCAB_SIZE))):
        return None
    return vocab, corpus


def _save_parsed(split, vocab, corpus):
    vocab_path, corpus_path = _parsed_paths(split)
    buffer = io.BytesIO()
    np.save(buffer, corpus)
    _save_checked(vocab_path, json.dumps(vocab).encode("utf-8"))
    _save_checked(corpus_path, buffer.getvalue())


class _PlainUnpickler(pickle.Unpickler):
    """Unpickles containers, strings and numbers only: any class or function is refused."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"it refers to {module}.{name}, and the book's vocabulary holds only "
                                     "dictionaries of words and ids")


def _book_vocab(path):
    """The vocabulary list from the book loader's ``(word_to_id, id_to_word)`` pickle at ``path``."""
    try:
        with open(path, "rb") as f:
            saved = _PlainUnpickler(f).load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as exc:
        raise ValueError(f"ptb.load_data: {path} is not the book's saved vocabulary ({exc}); "
                         "delete it to have the text parsed again") from None
    if not (isinstance(saved, tuple) and len(saved) == 2 and all(type(d) is dict for d in saved)):
        raise ValueError(f"ptb.load_data: {path} is not the book's saved vocabulary (a pair of dictionaries); "
                         "delete it to have the text parsed again")
    word_to_id, id_to_word = saved
    n = len(word_to_id)
    vocab = [None] * n
    for word, i in word_to_id.items():
        if type(word) is not str or type(i) is not int or not 0 <= i < n or vocab[i] is not None \
                or id_to_word.get(i) != word:
            raise ValueError(f"ptb.load_data: {path} does not hold a consistent vocabulary (word {word!r}, "
                             f"id {i!r}); delete it to have the text parsed again")
        vocab[i] = word
    if len(id_to_word) != n:
        raise ValueError(f"ptb.load_data: {path} holds {n} words but {len(id_to_word)} ids; "
                         "delete it to have the text parsed again")
    return vocab


def _book_corpus(path, n_words):
    """The int32 corpus from the book loader's ``ptb.<split>.npy`` at ``path``, ids checked."""
    try:
        corpus = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"ptb.load_data: {path} is not the book's saved corpus ({exc}); "
                         "delete it to have the text parsed again") from None
    if corpus.ndim != 1 or corpus.dtype.kind not in "iu" or (
            corpus.size and (corpus.min() < 0 or corpus.max() >= n_words)):
        raise ValueError(f"ptb.load_data: {path} is not a 1-D array of ids below {n_words} "
                         f"({corpus.dtype}, shape {corpus.shape}); delete it to have the text parsed again")
    return corpus.astype(np.int32)


def _saved_by_book(split):
    """``(vocabulary list, corpus int32)`` from the book's own saved parse in a book tree's
    ``dataset/`` folder (``_files.flat_dirs``, set by the drop-in), or None when none holds
    both ``ptb.vocab.pkl`` and ``ptb.<split>.npy``."""
    for folder in _files.flat_dirs:
        vocab_path = os.path.join(folder, "ptb.vocab.pkl")
        corpus_path = os.path.join(folder, f"ptb.{split}.npy")
        if os.path.isfile(vocab_path) and os.path.isfile(corpus_path):
            vocab = _book_vocab(vocab_path)
            return vocab, _book_corpus(corpus_path, len(vocab))
    return None


def _save_as_book(split, vocab, corpus):
    """Under the drop-in, save what the book's loader saves after parsing: ``ptb.vocab.pkl``
    (its ``(word_to_id, id_to_word)`` pickle) and ``ptb.<split>.npy`` (int64 ids) in the book
    tree's ``dataset/`` folder, each only when missing (the split's ids only beside a vocabulary
    equal to ``vocab``), each announced on stderr. A folder that cannot be written, or a name
    taken by a folder or a symlink, is left as it is."""
    if not _files.flat_dirs:
        return
    from fastseq.runs import atomic_write

    folder = _files.flat_dirs[0]
    vocab_path, corpus_path = os.path.join(folder, "ptb.vocab.pkl"), os.path.join(folder, f"ptb.{split}.npy")
    files = []
    if not os.path.exists(vocab_path):
        pair = ({w: i for i, w in enumerate(vocab)}, dict(enumerate(vocab)))
        files.append((vocab_path, lambda f: pickle.dump(pair, f)))
    elif _book_vocab(vocab_path) != vocab:
        return
    if not os.path.exists(corpus_path):
        files.append((corpus_path, lambda f: np.save(f, corpus.astype(np.int64))))
    for path, write in files:
        try:
            atomic_write(path, write)
        except (OSError, ValueError):      # unwritable, or a folder or symlink in the way: not saved
            return
        print(f"dataset.ptb: saved {path}, as the book's loader does", file=sys.stderr)


def _load(split):
    saved = _saved_by_book(split)
    if saved is not None:
        return saved
    vocab, corpus = _load_found(split)
    _save_as_book(split, vocab, corpus)
    return vocab, corpus


def _load_found(split):
    names = dict.fromkeys(["train", split])
    found = {s: locate("ptb", f"ptb.{s}.txt", SHA256[s])[0] for s in names}
    cache = cache_dir() / "ptb"
    if all(p is not None and p.parent != cache for p in found.values()):
        return _parse(found["train"], found[split])
    parsed = _load_parsed(split)
    if parsed is not None:
        return parsed
    paths = {s: found[s] or find_file("ptb", f"ptb.{s}.txt", SHA256[s], URL.format(s)) for s in names}
    vocab, corpus = _parse(paths["train"], paths[split])
    _save_parsed(split, vocab, corpus)
    return vocab, corpus


def load_data(data_type="train"):
    """``(corpus int32 (n,), word_to_id, id_to_word)`` for 'train', 'val'/'valid' or 'test'."""
    vocab, corpus = _load(_split_name(data_type))
    return corpus, {w: i for i, w in enumerate(vocab)}, dict(enumerate(vocab))
