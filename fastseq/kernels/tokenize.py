"""Tokenising raw UTF-8 bytes into word entries of a growing hash table, for ``fastseq.corpus``.

A chunk of bytes (uint8) is split into words at white space: the characters Python's
``str.split()`` splits on (ASCII white space, the separators \\x1c-\\x1f, and the Unicode
spaces U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000, matched
as their UTF-8 bytes). With ``split_dot`` a ``.`` also starts a new word (the book's
``text.replace('.', ' .')``); with ``eos`` every ``\\n`` adds the word ``<eos>``. ASCII letters
are lower-cased in place by ``ascii_lower`` beforehand where wanted; other letters are
lower-cased later, per distinct word, in Python.

Every word is looked up in an open-addressing hash table (a 64-bit multiply-xorshift hash of
the word's bytes read 8 at a time, linear probing, at most half full) and, when new, appended:
entries are numbered in order of first appearance, and their bytes are kept in one arena. The
table is a tuple ``(slots int64 (4 * 2**k,), starts int64 (E + 1,), arena uint8 (A,), state
int64 (2,))``: a slot is four int64 (hash, first 8 bytes, next 8 bytes, entry | length << 32;
-1 when empty), entry e's bytes are ``arena[starts[e]:starts[e + 1]]``, and ``state`` =
(entries used, arena bytes used). ``fastseq.corpus`` grows it when ``scan_words`` stops for
room (``scan_words`` releases the GIL, so two threads may scan two halves of a chunk into two
tables, the second merged into the first by ``merge_entries``).

``scan_words`` finds and hashes ``SCAN_BLOCK`` words, then looks them all up in one call of
``_look_up_block`` (each slot prefetched ``PREFETCH_AHEAD`` words before it is read), then
counts them. Word ends are found 8 bytes at a time (``_stop_bytes``: one load and a few integer
operations while the bytes are ASCII letters). On 7.8M words of the synthetic Zipf text of
``bench/corpus_scale.py`` (200,000 distinct words, one thread, the same full table, three
runs, 2026-12-07), the scan took 40–52 ns a word, counting included, against 80 ns for the
byte-at-a-time FNV-1a scan with a lookup call per word that it replaced; finding and hashing
alone took 19 ns. ``bench/corpus_scale.py`` measures the whole reader against gensim.
"""
import numpy as np
from numba import njit

from fastseq.kernels.intrinsics import load_u64, prefetch_row, trailing_zeros


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


# Multipliers of the word hash (odd 64-bit constants with well-mixed bits).
_MIX1 = np.uint64(0x9E3779B97F4A7C15)
_MIX2 = np.uint64(0xC2B2AE3D27D4EB4F)
_MIX3 = np.uint64(0xD6E8FEB86659FD93)


@njit(cache=True, inline="always")
def _block(key, i, end):
    """``key[i:min(i + 8, end)]`` as a little-endian uint64, zero-padded: one load where 8 bytes
    from ``i`` lie inside ``key``, else byte by byte."""
    if i + 8 <= end:
        return load_u64(key, i)
    if i >= end:
        return np.uint64(0)
    if i + 8 <= key.shape[0]:                   # the bytes past ``end`` are masked off
        return load_u64(key, i) & ((np.uint64(1) << np.uint64(8 * (end - i))) - np.uint64(1))
    v = np.uint64(0)
    for j in range(end - 1, i - 1, -1):
        v = (v << np.uint64(8)) | np.uint64(key[j])
    return v


@njit(cache=True, inline="always")
def _hash_and_head(key, start, end):
    """A 64-bit hash of ``key[start:end]`` and its first 16 bytes as two little-endian int64
    (zero-padded). The word is read 8 bytes at a time: its two head blocks, then any further
    blocks, each folded in by a multiply, and the whole mixed down by xor-shift-multiply so that
    the low bits, which index the table, depend on every byte."""
    head0 = _block(key, start, end)
    head1 = _block(key, start + 8, end)
    h = (head0 * _MIX1) ^ (head1 * _MIX2) ^ np.uint64(end - start)
    for i in range(start + 16, end, 8):
        h = ((h ^ _block(key, i, end)) * _MIX1) ^ (h >> np.uint64(29))
    h ^= h >> np.uint64(32)
    h *= _MIX3
    h ^= h >> np.uint64(29)
    return np.int64(h), np.int64(head0), np.int64(head1)


# Slots are prefetched this many words ahead of their lookup.
PREFETCH_AHEAD = 16


@njit(cache=True)
def _look_up_block(key, eos_word, block, table, out, first):
    """Look up the ``found`` words of ``block = (bounds (SCAN_BLOCK, 2), hashes (SCAN_BLOCK, 3),
    found)`` in ``table`` in order, appending the new ones, and write their entries to
    ``out[first:first + found]``. Word q is ``key[bounds[q, 0]:bounds[q, 1]]`` (``eos_word`` where
    ``bounds[q, 1]`` is negative), its ``_hash_and_head`` in ``hashes[q]``. The table must have room
    for them all.

    A slot holds (hash, the word's first 16 bytes, entry | length << 32), so most words are found
    with one memory access, and each slot is prefetched ``PREFETCH_AHEAD`` words before it is
    read; longer words also compare their remaining bytes in the arena. The whole block is one
    call and one tight loop: numba counts references to the arrays passed into a function, and
    per word those counts cost more than the lookup itself."""
    bounds, hashes, found = block
    slots, starts, arena, state = table
    slot_rows = slots.reshape(slots.shape[0] // 4, 4)
    mask = slot_rows.shape[0] - 1
    for q in range(min(PREFETCH_AHEAD, found)):
        prefetch_row(slot_rows, hashes[q, 0] & mask)
    for q in range(found):
        if q + PREFETCH_AHEAD < found:
            prefetch_row(slot_rows, hashes[q + PREFETCH_AHEAD, 0] & mask)
        start, end = bounds[q, 0], bounds[q, 1]
        is_eos = end < 0                # chosen per byte below: choosing an array per word costs more
        length = eos_word.shape[0] if is_eos else end - start
        h, head0, head1 = hashes[q, 0], hashes[q, 1], hashes[q, 2]
        idx = h & mask
        entry = -1
        while True:
            r = 4 * idx
            tag = slots[r + 3]
            if tag < 0:
                break
            if slots[r] == h and slots[r + 1] == head0 and slots[r + 2] == head1 and (tag >> 32) == length:
                entry = tag & 0xFFFFFFFF
                if length > 16:             # the bytes beyond the slot's 16, in the arena
                    base = starts[entry]
                    for j in range(16, length):
                        if arena[base + j] != (eos_word[j] if is_eos else key[start + j]):
                            entry = -1
                            break
                if entry >= 0:
                    break
            idx = (idx + 1) & mask
        if entry < 0:
            entry = state[0]
            base = state[1]
            for j in range(length):
                arena[base + j] = eos_word[j] if is_eos else key[start + j]
            r = 4 * idx
            slots[r] = h
            slots[r + 1] = head0
            slots[r + 2] = head1
            slots[r + 3] = entry | (np.int64(length) << 32)
            state[0] = entry + 1
            state[1] = base + length
            starts[entry + 1] = base + length
        out[first + q] = entry


@njit(cache=True, inline="always")
def _room(table, length, words):
    """Whether ``table`` can take ``words`` new entries of ``length`` bytes in all."""
    slots, starts, arena, state = table
    return (state[0] + words < starts.shape[0] and 2 * (state[0] + words) <= slots.shape[0] // 4
            and state[1] + length <= arena.shape[0])


_ONES = np.uint64(0x0101010101010101)
_HIGH_BITS = np.uint64(0x8080808080808080)


@njit(cache=True, inline="always")
def _stop_bytes(x, split_dot):
    """For 8 bytes ``x`` (uint64, little-endian), a mask whose lowest set bit is bit 7 of the
    first byte that may end a word: one ≤ 0x20 (ASCII white space among them), ≥ 0x80 (a
    character that may be Unicode white space), or ``.`` with ``split_dot``; 0 when none may.
    The bit tricks flag no byte below the first true one (a borrow only carries upwards)."""
    m = ((x - _ONES * np.uint64(0x21)) & ~x) | x
    if split_dot:
        d = x ^ (_ONES * np.uint64(0x2E))
        m |= (d - _ONES) & ~d
    return m & _HIGH_BITS


@njit(cache=True, inline="always")
def _char_length(b):
    """Bytes of the UTF-8 character whose first byte is ``b`` (1 for ASCII and stray bytes)."""
    return 1 if b < 0xC0 else 2 if b < 0xE0 else 3 if b < 0xF0 else 4


@njit(cache=True, inline="always")
def _word_end(buf, i, n, split_dot):
    """The end of the word that goes on at ``buf[i]`` (its first character already taken): 8
    bytes are tested at a time while they are plain ASCII letters, and each byte that may end
    the word is classified exactly. A multi-byte character that is not white space is passed
    whole (its continuation bytes are never white space or ``.`` in UTF-8; in text that is not
    UTF-8 the word then fails to decode, and the reader says so)."""
    while i < n:
        if i + 8 <= n:
            m = _stop_bytes(load_u64(buf, i), split_dot)
            if m == 0:
                i += 8
                continue
            i += np.int64(trailing_zeros(m) >> np.uint64(3))
        b = buf[i]
        cls = _CLASSES[b]
        if cls == _WORD:
            i += _char_length(b)
        elif cls == _DOT:
            if split_dot:
                break
            i += 1
        elif cls == _MAYBE_SPACE and not _space_length(buf, i, n):
            i += _char_length(b)
        else:
            break
    return min(i, n)


@njit(cache=True, inline="always")
def _next_word(buf, i, n, split_dot, eos):
    """From ``buf[i]``: ``(start, end, next i)`` of the next word, with ``end`` = -1 for a line
    end that stands for ``<eos>`` (at ``start``) and ``start`` = n when none is left."""
    while i < n:
        if buf[i] != 32:                        # the usual single space between words, else classify
            cls = _CLASSES[buf[i]]
            space = 1 if cls == _SPACE else _space_length(buf, i, n) if cls == _MAYBE_SPACE else 0
            if space == 0:
                break
            if eos and buf[i] == 10:
                return i, -1, i + 1
            i += space
        else:
            i += 1
    if i >= n:
        return n, n, n
    end = _word_end(buf, i + _char_length(buf[i]), n, split_dot)
    return i, end, end


# Words are found and hashed a block at a time, the table's room is checked once for the block,
# then the block is looked up (``_look_up_block``). The table must have room for this many new
# entries for ``scan_words`` to go on.
SCAN_BLOCK = 1024


@njit(cache=True, nogil=True)
def scan_words(buf, pos, table, eos_word, flags, out, n_out, counts):
    """Tokenise ``buf[pos:]`` (uint8, ending at a word boundary) into ``table``, writing each
    word's entry to ``out[n_out:]`` (int32, room for one per byte) and adding one to
    ``counts[entry]`` (int64, room for as many entries as the table). ``flags`` (uint8 (2,)):
    split_dot, eos; ``eos_word``: the bytes of ``<eos>``. Returns ``(pos, n_out)``: ``pos`` is
    ``len(buf)`` when done, else where it stopped because the table needs room (grow it and
    call again from there). Words are found and hashed ``SCAN_BLOCK`` at a time, then looked
    up in order, then counted."""
    split_dot, eos = flags[0] != 0, flags[1] != 0
    n = buf.shape[0]
    eos_hashed = _hash_and_head(eos_word, 0, eos_word.shape[0])
    bounds = np.empty((SCAN_BLOCK, 2), np.int64)
    hashes = np.empty((SCAN_BLOCK, 3), np.int64)
    i = pos
    while i < n:
        found, length = 0, 0
        while found < SCAN_BLOCK:
            start, end, i = _next_word(buf, i, n, split_dot, eos)
            if start == n:
                break
            bounds[found, 0], bounds[found, 1] = start, end
            h, head0, head1 = eos_hashed if end < 0 else _hash_and_head(buf, start, end)
            hashes[found, 0], hashes[found, 1], hashes[found, 2] = h, head0, head1
            length += eos_word.shape[0] if end < 0 else end - start
            found += 1
        if found and not _room(table, length, found):      # room for the block, were all its words new
            return bounds[0, 0], n_out
        _look_up_block(buf, eos_word, (bounds, hashes, found), table, out, n_out)
        for q in range(n_out, n_out + found):
            counts[out[q]] += 1
        n_out += found
    return n, n_out


@njit(cache=True)
def merge_entries(side, table, mapping, first):
    """Look up entries ``first:`` of the table ``side`` in ``table``, appending the ones it
    lacks in ``side``'s order, and write each one's entry there to ``mapping`` (int32, one per
    ``side`` entry). Returns the side entry where it stopped because ``table`` needs room (grow
    it and call again from there), else the number of ``side`` entries. Entries are hashed and
    looked up ``SCAN_BLOCK`` at a time, as in ``scan_words``."""
    starts, arena, state = side[1], side[2], side[3]
    bounds = np.empty((SCAN_BLOCK, 2), np.int64)
    hashes = np.empty((SCAN_BLOCK, 3), np.int64)
    for e0 in range(first, state[0], SCAN_BLOCK):
        e1 = min(e0 + SCAN_BLOCK, state[0])
        for e in range(e0, e1):
            bounds[e - e0, 0], bounds[e - e0, 1] = starts[e], starts[e + 1]
            h, head0, head1 = _hash_and_head(arena, starts[e], starts[e + 1])
            hashes[e - e0, 0], hashes[e - e0, 1], hashes[e - e0, 2] = h, head0, head1
        if not _room(table, starts[e1] - starts[e0], e1 - e0):
            return e0
        # a side entry is never <eos>'s placeholder (a negative bound), so the arena also stands
        # in for the eos word, which is never read
        _look_up_block(arena, arena, (bounds, hashes, e1 - e0), table, mapping, e0)
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
