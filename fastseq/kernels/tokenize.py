"""Tokenising raw UTF-8 bytes into word entries of a growing hash table, for ``fastseq.corpus``.

A chunk of bytes (uint8) is split into words at white space: the characters Python's
``str.split()`` splits on (ASCII white space, the separators \\x1c-\\x1f, and the Unicode
spaces U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000, matched
as their UTF-8 bytes). With ``split_dot`` a ``.`` also starts a new word (the book's
``text.replace('.', ' .')``); with ``eos`` every ``\\n`` adds the word ``<eos>``. ASCII letters
are lower-cased in place by ``ascii_lower`` beforehand where wanted; other letters are
lower-cased later, per distinct word, in Python.

Every word is looked up in an open-addressing hash table (FNV-1a 64-bit hashes, linear
probing, at most half full) and, when new, appended: entries are numbered in order of first
appearance, and their bytes are kept in one arena. The table is a tuple ``(slots int64
(4 * 2**k,), starts int64 (E + 1,), arena uint8 (A,), state int64 (2,))``: a slot is four
int64 (hash, first 8 bytes, next 8 bytes, entry | length << 32; -1 when empty), entry e's
bytes are ``arena[starts[e]:starts[e + 1]]``, and ``state`` = (entries used, arena bytes
used). ``fastseq.corpus`` grows it when ``scan_words`` stops for room (``scan_words`` releases
the GIL, so two threads may scan two halves of a chunk into two tables, the second merged into
the first by ``merge_entries``), and counts the entries from each chunk's ids
(``np.bincount``), which keeps the scan to about one memory access per word. ``scan_words``
finds ``SCAN_BATCH`` words before it looks any up, and prefetches their slots: on a
10M-word synthetic text with 200,000 distinct words, a scan against a full table took about
64–84 ns a word this way against 105–119 ns one word at a time (one thread), of which finding
the words took about 30. ``bench/corpus_scale.py`` measures the whole reader against gensim.
"""
import numpy as np
from numba import njit

from fastseq.kernels.intrinsics import prefetch_row

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True)
def ascii_lower(buf):
    """Lower-case the ASCII letters of ``buf`` (uint8) in place; UTF-8 continuation and lead
    bytes are all ≥ 0x80, so multi-byte characters are untouched."""
    for i in range(buf.shape[0]):
        b = buf[i]
        if 65 <= b <= 90:
            buf[i] = b + 32


def _byte_classes():
    """Per byte value: 0 a byte of a word, 1 ASCII white space, 2 ``.``, 3 the lead byte of a
    multi-byte character that may be white space (0xC2, 0xE1, 0xE2, 0xE3)."""
    classes = np.zeros(256, np.uint8)
    classes[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = 1
    classes[ord(".")] = 2
    classes[[0xC2, 0xE1, 0xE2, 0xE3]] = 3
    return classes


_CLASSES = _byte_classes()
_WORD, _SPACE, _DOT, _MAYBE_SPACE = 0, 1, 2, 3


@njit(cache=True, inline="always")
def _space_length(buf, i, n):
    """Bytes of the white-space character at ``buf[i]`` (0: none)."""
    cls = _CLASSES[buf[i]]
    if cls == _SPACE:
        return 1
    if cls != _MAYBE_SPACE:
        return 0
    b = buf[i]
    if b == 0xC2:
        if i + 1 < n and (buf[i + 1] == 0x85 or buf[i + 1] == 0xA0):
            return 2
    elif b == 0xE1:
        if i + 2 < n and buf[i + 1] == 0x9A and buf[i + 2] == 0x80:
            return 3
    elif b == 0xE2:
        if i + 2 < n:
            b1, b2 = buf[i + 1], buf[i + 2]
            if b1 == 0x80 and (0x80 <= b2 <= 0x8A or b2 == 0xA8 or b2 == 0xA9 or b2 == 0xAF):
                return 3
            if b1 == 0x81 and b2 == 0x9F:
                return 3
    elif b == 0xE3:
        if i + 2 < n and buf[i + 1] == 0x80 and buf[i + 2] == 0x80:
            return 3
    return 0


@njit(cache=True, inline="always")
def _hash_and_head(key, start, end):
    """FNV-1a 64-bit hash of ``key[start:end]`` and its first 16 bytes packed little-endian
    into two int64 (zero-padded)."""
    h = _FNV_OFFSET
    head0 = np.uint64(0)
    head1 = np.uint64(0)
    for j in range(start, end):
        b = np.uint64(key[j])
        h = (h ^ b) * _FNV_PRIME
        offset = j - start
        if offset < 8:
            head0 |= b << np.uint64(8 * offset)
        elif offset < 16:
            head1 |= b << np.uint64(8 * (offset - 8))
    return np.int64(h), np.int64(head0), np.int64(head1)


@njit(cache=True, inline="always")
def _entry_of(key, start, end, hashed, table):
    """The entry of ``key[start:end]`` whose ``_hash_and_head`` is ``hashed``, inserted when new.
    A slot holds (hash, the word's first 16 bytes, entry | length << 32), so most words are found
    with one memory access; longer ones also compare their remaining bytes in the arena."""
    slots, starts, arena, state = table
    h, head0, head1 = hashed
    mask = slots.shape[0] // 4 - 1
    length = end - start
    idx = h & mask
    while True:
        r = 4 * idx
        tag = slots[r + 3]
        if tag < 0:
            break
        if slots[r] == h and slots[r + 1] == head0 and slots[r + 2] == head1 and (tag >> 32) == length:
            entry = tag & 0xFFFFFFFF
            if length <= 16:
                return entry
            base = starts[entry]
            same = True
            for j in range(16, length):
                if arena[base + j] != key[start + j]:
                    same = False
                    break
            if same:
                return entry
        idx = (idx + 1) & mask
    entry = state[0]
    base = state[1]
    for j in range(length):
        arena[base + j] = key[start + j]
    r = 4 * idx
    slots[r] = h
    slots[r + 1] = head0
    slots[r + 2] = head1
    slots[r + 3] = entry | (np.int64(length) << 32)
    state[0] = entry + 1
    state[1] = base + length
    starts[entry + 1] = base + length
    return entry


@njit(cache=True, inline="always")
def _room(table, length, words):
    """Whether ``table`` can take ``words`` new entries of ``length`` bytes in all."""
    slots, starts, arena, state = table
    return (state[0] + words < starts.shape[0] and 2 * (state[0] + words) <= slots.shape[0] // 4
            and state[1] + length <= arena.shape[0])


# Words found, hashed and prefetched ahead of their lookups, and the table's room checked once
# for them all: a lookup of a rare word misses the cache, and a batch lets those misses overlap.
# The table must have room for this many new entries for ``scan_words`` to go on.
SCAN_BATCH = 16


@njit(cache=True, inline="always")
def _next_word(buf, i, n, split_dot, eos):
    """From ``buf[i]``: ``(start, end, next i)`` of the next word, with ``end`` = -1 for a line
    end that stands for ``<eos>`` (at ``start``) and ``start`` = n when none is left."""
    while i < n:
        cls = _CLASSES[buf[i]]
        space = 1 if cls == _SPACE else _space_length(buf, i, n) if cls == _MAYBE_SPACE else 0
        if space == 0:
            break
        if eos and buf[i] == 10:
            return i, -1, i + 1
        i += space
    if i >= n:
        return n, n, n
    start = i
    i += 1
    while i < n:
        cls = _CLASSES[buf[i]]
        if cls == _WORD or (cls == _DOT and not split_dot):
            i += 1
        elif cls == _MAYBE_SPACE and not _space_length(buf, i, n):
            i += 1
        else:
            break
    return start, i, i


@njit(cache=True, nogil=True)
def scan_words(buf, pos, table, eos_word, flags, out, n_out):
    """Tokenise ``buf[pos:]`` (uint8, ending at a word boundary) into ``table``, writing each
    word's entry to ``out[n_out:]`` (int32, room for one per byte). ``flags`` (uint8 (2,)):
    split_dot, eos; ``eos_word``: the bytes of ``<eos>``. Returns ``(pos, n_out)``: ``pos`` is
    ``len(buf)`` when done, else where it stopped because the table needs room (grow it and
    call again from there). Words are found ``SCAN_BATCH`` at a time, their slots prefetched, then
    looked up in order."""
    split_dot, eos = flags[0] != 0, flags[1] != 0
    n = buf.shape[0]
    slot_rows = table[0].reshape(table[0].shape[0] // 4, 4)
    mask = slot_rows.shape[0] - 1
    eos_hashed = _hash_and_head(eos_word, 0, eos_word.shape[0])
    bounds = np.empty((SCAN_BATCH, 2), np.int64)
    hashes = np.empty((SCAN_BATCH, 3), np.int64)
    i = pos
    while i < n:
        found, length = 0, 0
        while found < SCAN_BATCH:
            start, end, i = _next_word(buf, i, n, split_dot, eos)
            if start == n:
                break
            bounds[found, 0], bounds[found, 1] = start, end
            h, head0, head1 = eos_hashed if end < 0 else _hash_and_head(buf, start, end)
            hashes[found, 0], hashes[found, 1], hashes[found, 2] = h, head0, head1
            prefetch_row(slot_rows, h & mask)
            length += eos_word.shape[0] if end < 0 else end - start
            found += 1
        if found and not _room(table, length, found):      # room for the batch, were all its words new
            return bounds[0, 0], n_out
        for q in range(found):
            start, end = bounds[q, 0], bounds[q, 1]
            hashed = (hashes[q, 0], hashes[q, 1], hashes[q, 2])
            if end < 0:
                out[n_out] = _entry_of(eos_word, 0, eos_word.shape[0], hashed, table)
            else:
                out[n_out] = _entry_of(buf, start, end, hashed, table)
            n_out += 1
    return n, n_out


@njit(cache=True)
def merge_entries(side, table, mapping, first):
    """Look up entries ``first:`` of the table ``side`` in ``table``, appending the ones it
    lacks in ``side``'s order, and write each one's entry there to ``mapping`` (int32, one per
    ``side`` entry). Returns the side entry where it stopped because ``table`` needs room (grow
    it and call again from there), else the number of ``side`` entries. Entries are hashed and
    their slots prefetched ``SCAN_BATCH`` at a time, as in ``scan_words``."""
    starts, arena, state = side[1], side[2], side[3]
    slot_rows = table[0].reshape(table[0].shape[0] // 4, 4)
    mask = slot_rows.shape[0] - 1
    hashes = np.empty((SCAN_BATCH, 3), np.int64)
    for e0 in range(first, state[0], SCAN_BATCH):
        e1 = min(e0 + SCAN_BATCH, state[0])
        for e in range(e0, e1):
            h, head0, head1 = _hash_and_head(arena, starts[e], starts[e + 1])
            hashes[e - e0, 0], hashes[e - e0, 1], hashes[e - e0, 2] = h, head0, head1
            prefetch_row(slot_rows, h & mask)
        if not _room(table, starts[e1] - starts[e0], e1 - e0):
            return e0
        for e in range(e0, e1):
            hashed = (hashes[e - e0, 0], hashes[e - e0, 1], hashes[e - e0, 2])
            mapping[e] = _entry_of(arena, starts[e], starts[e + 1], hashed, table)
    return state[0]


@njit(cache=True)
def rehash(old, new):
    """Move every used slot record of ``old`` into the empty (-1) ``new``, a larger power of two."""
    mask = new.shape[0] // 4 - 1
    for r in range(0, old.shape[0], 4):
        if old[r + 3] >= 0:
            idx = old[r] & mask
            while new[4 * idx + 3] >= 0:
                idx = (idx + 1) & mask
            for k in range(4):
                new[4 * idx + k] = old[r + k]
