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
appearance, and each keeps its bytes (in one arena), hash and count. The table is a tuple
``(slots int32 (2**k,), hashes uint64 (E,), starts int64 (E,), lengths int32 (E,),
counts int64 (E,), arena uint8 (A,), state int64 (2,))``, ``state`` = (entries used, arena
bytes used); ``fastseq.corpus`` grows it when ``scan_words`` stops for room.
"""
import numpy as np
from numba import njit

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


@njit(cache=True, inline="always")
def _space_length(buf, i, n):
    """Bytes of the white-space character at ``buf[i]`` (0: none)."""
    b = buf[i]
    if b == 32 or 9 <= b <= 13 or 28 <= b <= 31:
        return 1
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


@njit(cache=True)
def _fnv1a(key, start, end):
    h = _FNV_OFFSET
    for i in range(start, end):
        h = (h ^ np.uint64(key[i])) * _FNV_PRIME
    return h


@njit(cache=True)
def _add_word(key, start, end, table):
    """The entry of ``key[start:end]`` (inserted when new), its count raised by one."""
    slots, hashes, starts, lengths, counts, arena, state = table
    mask = slots.shape[0] - 1
    h = _fnv1a(key, start, end)
    length = end - start
    idx = np.int64(h & np.uint64(mask))
    while True:
        entry = slots[idx]
        if entry < 0:
            break
        if hashes[entry] == h and lengths[entry] == length:
            base = starts[entry]
            same = True
            for j in range(length):
                if arena[base + j] != key[start + j]:
                    same = False
                    break
            if same:
                counts[entry] += 1
                return entry
        idx = (idx + 1) & mask
    entry = state[0]
    base = state[1]
    for j in range(length):
        arena[base + j] = key[start + j]
    hashes[entry] = h
    starts[entry] = base
    lengths[entry] = length
    counts[entry] = 1
    slots[idx] = entry
    state[0] = entry + 1
    state[1] = base + length
    return entry


@njit(cache=True, inline="always")
def _room(table, length):
    slots, hashes, starts, lengths, counts, arena, state = table
    return (state[0] < starts.shape[0] and 2 * (state[0] + 1) <= slots.shape[0]
            and state[1] + length <= arena.shape[0])


@njit(cache=True)
def scan_words(buf, pos, table, eos_word, flags, out, n_out):
    """Tokenise ``buf[pos:]`` (uint8, ending at a word boundary) into ``table``, writing each
    word's entry to ``out[n_out:]`` (int32, room for one per byte). ``flags`` (uint8 (2,)):
    split_dot, eos; ``eos_word``: the bytes of ``<eos>``. Returns ``(pos, n_out)``: ``pos`` is
    ``len(buf)`` when done, else where it stopped because the table needs room (grow it and
    call again from there)."""
    split_dot, eos = flags[0] != 0, flags[1] != 0
    n = buf.shape[0]
    i = pos
    while i < n:
        space = _space_length(buf, i, n)
        if space:
            if eos and buf[i] == 10:
                if not _room(table, eos_word.shape[0]):
                    return i, n_out
                out[n_out] = _add_word(eos_word, 0, eos_word.shape[0], table)
                n_out += 1
            i += space
            continue
        start = i
        i += 1
        while i < n and not _space_length(buf, i, n) and not (split_dot and buf[i] == 46):
            i += 1
        if not _room(table, i - start):
            return start, n_out
        out[n_out] = _add_word(buf, start, i, table)
        n_out += 1
    return n, n_out


@njit(cache=True)
def rehash(slots, hashes, n_entries):
    """Fill empty ``slots`` (-1, a power of two long) with entries 0..n_entries-1 by their hashes."""
    mask = slots.shape[0] - 1
    for entry in range(n_entries):
        idx = np.int64(hashes[entry] & np.uint64(mask))
        while slots[idx] >= 0:
            idx = (idx + 1) & mask
        slots[idx] = entry
