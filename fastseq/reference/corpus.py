"""The plain-Python twin of ``fastseq.corpus.read_corpus``: every file read whole as text, split
with ``str.split``, counted with a dict. The specification the fast reader is tested against."""
import bz2
import gzip
import lzma
from pathlib import Path

import numpy as np

_OPEN = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def files_of(paths):
    """Files in reading order: each path as given, a folder as its files in sorted path order."""
    out = []
    for p in map(Path, [paths] if isinstance(paths, (str, Path)) else paths):
        out.extend(sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p])
    return out


def words_of(text, tokenize="book", line_ends="ignore"):
    """The words of one file's text."""
    if line_ends == "eos":
        text = text.replace("\n", " <eos> ")
    words = []
    for word in text.split():
        if tokenize == "book":
            # '.' starts a new word; each piece is then lower-cased on its own
            words.extend(piece.lower() for piece in word.replace(".", " .").split())
        else:
            words.append(word)
    return words


def read_corpus(paths, tokenize="book", line_ends="ignore", min_count=1, max_vocab_size=None):
    """``(ids int32 (n,), words list, counts int64 (V,), unk id or None)``."""
    all_words = []
    for f in files_of(paths):
        with _OPEN.get(f.suffix, open)(f, "rb") as fh:
            all_words.extend(words_of(fh.read().decode("utf-8"), tokenize, line_ends))
    first = {}
    count = {}
    for w in all_words:
        first.setdefault(w, len(first))
        count[w] = count.get(w, 0) + 1
    order = list(first)                                    # first appearance
    others = [w for w in order if w != "<unk>"]
    kept = [w for w in others if count[w] >= min_count]
    dropping = len(kept) < len(others)
    if max_vocab_size is not None:
        has_unk = "<unk>" in count
        if len(kept) + has_unk > max_vocab_size:
            dropping = True
        limit = max_vocab_size - 1 if dropping else max_vocab_size
        if len(kept) > limit:
            by_count = sorted(kept, key=lambda w: (-count[w], first[w]))[:limit]
            chosen = set(by_count)
            kept = [w for w in kept if w in chosen]
            dropping = True
    if not dropping:
        vocab = order
    else:
        keep = set(kept) | ({"<unk>"} & set(count))
        vocab = [w for w in order if w in keep]
        if "<unk>" not in keep:
            vocab.append("<unk>")
    word_to_id = {w: i for i, w in enumerate(vocab)}
    unk = word_to_id["<unk>"] if dropping else None
    ids = np.array([word_to_id.get(w, unk) for w in all_words], dtype=np.int32)
    counts = np.bincount(ids, minlength=len(vocab)).astype(np.int64)
    return ids, vocab, counts, unk
