"""The book's seq2seq toy sets (``addition.txt``, ``date.txt``) and a generator for the addition task.

Each line is a fixed-width question, ``_``, and a fixed-width answer. As in the book, the
character vocabulary is kept at module level and grows with every file loaded;
``get_vocab()`` returns it.
"""
import os
from pathlib import Path

import numpy as np

from fastseq.datasets._files import DataNotFoundError, candidate_dirs

char_to_id = {}
id_to_char = {}


def _update_vocab(text):
    for char in text:
        if char not in char_to_id:
            new_id = len(char_to_id)
            char_to_id[char] = new_id
            id_to_char[new_id] = char


def _resolve(file_name):
    """A path as given if it exists, else ``file_name`` looked up in the data folders' ``seq/``."""
    if os.path.sep in str(file_name) or Path(file_name).exists():
        if Path(file_name).exists():
            return Path(file_name)
        raise DataNotFoundError(f"sequence.load_data: no file {file_name}")
    tried = []
    for d in candidate_dirs("seq"):
        path = d / file_name
        if path.exists():
            return path
        tried.append(str(path))
    raise DataNotFoundError(f"sequence.load_data: {file_name} not found in " + ", ".join(tried)
                            + "; set FASTSEQ_DATA to a folder holding seq/" + file_name)


def _char_codes(path):
    """The file's lines (without line ends) as a (lines, width) uint32 array of code points,
    after refusing an empty file, a line without ``_`` and lines of unequal widths."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()                                 # the last line's end
    if not lines:
        raise ValueError(f"sequence.load_data: {path} is empty")
    missing = next((n for n, line in enumerate(lines, 1) if "_" not in line), None)
    if missing is not None:
        raise ValueError(f"sequence.load_data: {path}:{missing} has no '_' separating question and answer")
    width = len(lines[0])
    if any(len(line) != width for line in lines) or width == 0:
        raise ValueError(f"sequence.load_data: {path} must have fixed-width questions and answers")
    # equal-length strings become one fixed-width unicode array: 4 bytes per character
    codes = np.array(lines, dtype=f"<U{width}").view(np.uint32).reshape(len(lines), width)
    splits = (codes == ord("_")).argmax(axis=1)
    if (splits != splits[0]).any():
        raise ValueError(f"sequence.load_data: {path} must have fixed-width questions and answers")
    return codes, int(splits[0])


def _ids(codes):
    """``codes`` (lines, width) as vocabulary ids, int32, adding each new character to the
    vocabulary in order of first appearance (line by line, left to right, as the book's loop)."""
    chars, first = np.unique(codes, return_index=True)
    for code in chars[np.argsort(first)]:
        _update_vocab(chr(code))
    ids = np.array([char_to_id[chr(c)] for c in chars], dtype=np.int32)
    return ids[np.searchsorted(chars, codes)]


def load_data(file_name="addition.txt", seed=1984):
    """``(x_train, t_train), (x_test, t_test)``: int32 id matrices (questions and answers with
    their leading ``_``), shuffled with ``seed`` (None: not reseeded), last 10% held out."""
    codes, split = _char_codes(_resolve(file_name))
    ids = _ids(codes)
    x, t = ids[:, :split], ids[:, split:]
    indices = np.arange(len(x))
    if seed is not None:
        np.random.seed(seed)
    np.random.shuffle(indices)
    x, t = x[indices], t[indices]
    split_at = len(x) - len(x) // 10
    return (x[:split_at], t[:split_at]), (x[split_at:], t[split_at:])


def load_data_own_vocab(file_name="addition.txt", seed=1984):
    """``load_data`` with a vocabulary of this file's characters alone (ids in order of first
    appearance, whatever was loaded before): ``((x_train, t_train), (x_test, t_test),
    id_to_char)``. The module's shared vocabulary is left as it was. Training runs use it, so a
    model's size and ids never depend on what else the process loaded."""
    saved = dict(char_to_id), dict(id_to_char)
    char_to_id.clear()
    id_to_char.clear()
    try:
        train, test = load_data(file_name, seed)
        own = dict(id_to_char)
    finally:
        char_to_id.clear()
        id_to_char.clear()
        char_to_id.update(saved[0])
        id_to_char.update(saved[1])
    return train, test, own


def get_vocab():
    """``(char_to_id, id_to_char)`` of every character loaded so far."""
    return char_to_id, id_to_char


def generate_addition(path, n, max_digits=3, seed=0):
    """Write ``n`` addition problems in the book's format (``'16+75  _91  '``) to ``path``.

    Operands have 1 to ``max_digits`` digits; the question is padded to ``2*max_digits + 1``
    characters and the answer (``_`` and the sum) to ``max_digits + 2``."""
    if n < 1 or max_digits < 1:
        raise ValueError(f"generate_addition: n and max_digits must be ≥ 1, got {n}, {max_digits}")
    rng = np.random.default_rng(seed)
    digits = rng.integers(1, max_digits + 1, size=(n, 2))
    a = rng.integers(0, 10 ** digits[:, 0])
    b = rng.integers(0, 10 ** digits[:, 1])
    q_width, a_width = 2 * max_digits + 1, max_digits + 2
    with open(path, "w", encoding="utf-8") as f:
        for x, y in zip(a, b):
            f.write(f"{x}+{y}".ljust(q_width) + ("_" + str(x + y)).ljust(a_width) + "\n")
    return Path(path)
