"""A streaming corpus reader: text files of any size to int32 word ids and a vocabulary.

``read_corpus(paths, ...)`` reads one file, several, or folders (every file under them, in
sorted path order), plain or compressed (``.gz``, ``.bz2``, ``.xz``), in chunks of
``chunk_bytes``, never whole. The hot path is ``fastseq.kernels.tokenize``: raw bytes are split
into words, looked up in a hash table and counted by a numba kernel, and each chunk's word ids
are written to disk, into what becomes the cache's ``ids.npy``; they are renumbered there in
place once the vocabulary is known (not at all when its numbering is the scan's). With two
threads or more (``fastseq.threads``), a chunk is scanned as two halves at once, the second
into a side table kept from chunk to chunk, whose new words are then appended to the main one
in order: the ids are the same. Memory is the vocabulary plus one chunk and its ids; the ids
are never Python objects.

Tokenising (``tokenize``):

* ``"book"`` (default): the book's ``preprocess`` rules, as ``fastseq.util.tokenize``: text
  lower-cased (Python's ``str.lower``), ``.`` split off as the start of a new word, words split
  on white space (what ``str.split()`` splits on);
* ``"whitespace"``: words as they are, split on white space only.

``line_ends="eos"`` adds the word ``<eos>`` at every line end (the PTB convention; PTB read
with ``tokenize="whitespace", line_ends="eos"`` gets the book's ids), ``"ignore"`` (default)
treats line ends as white space.

Vocabulary: words counted over the whole input. ``min_count`` drops rarer words and
``max_vocab_size`` keeps only the most frequent (ties: the earlier first appearance wins),
``<unk>`` included. Kept words are numbered in order of first appearance, as the book numbers
them. When a word is dropped, every occurrence becomes ``<unk>``: the corpus's own ``<unk>``
when it has one (always kept), else a new last id.

Cached: the result is written once under ``cache_dir`` (default ``~/.cache/fastseq/corpus``)
as ``ids.npy`` (int32, loaded memory-mapped), ``vocab.tsv`` (word, tab, count, in id order) and
``meta.json``, in a folder named by a hash of the inputs (absolute path, size, modification
time) and the options, written whole to a temporary name and renamed. A second call with the
same inputs loads it at once; a changed input is read again.
"""
import bz2
import dataclasses
import gzip
import hashlib
import json
import lzma
import os
import shutil
import struct
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from fastseq._threads import get_num_threads
from fastseq.kernels import tokenize as kernels

__all__ = ["Corpus", "read_corpus"]

FORMAT = 1
TOKENIZERS = ("book", "whitespace")
LINE_ENDS = ("ignore", "eos")
EOS, UNK = "<eos>", "<unk>"
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_ASCII_SPACE = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_IS_ASCII_SPACE = np.zeros(256, bool)
_IS_ASCII_SPACE[list(_ASCII_SPACE)] = True


@dataclasses.dataclass
class Corpus:
    """``ids`` int32 (n,) (memory-mapped when cached), ``words`` list (id → word), ``counts``
    int64 (V,) occurrences per id, ``unk`` the id that dropped words became (None: none was
    dropped), ``files`` the input files read, ``cache`` the folder holding it (or None)."""
    ids: np.ndarray
    words: list
    counts: np.ndarray
    unk: int = None
    files: list = dataclasses.field(default_factory=list)
    cache: Path = None


def _files(paths):
    """The input files of ``paths`` (files, or folders searched recursively), in order."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            inside = sorted(f for f in p.rglob("*") if f.is_file())
            if not inside:
                raise ValueError(f"read_corpus: paths: folder {p} holds no files")
            found.extend(inside)
        elif p.is_file():
            found.append(p)
        else:
            raise ValueError(f"read_corpus: paths: no file or folder {p}")
    if not found:
        raise ValueError("read_corpus: paths is empty")
    return [f.resolve() for f in found]


def _open(path):
    return _OPENERS.get(path.suffix, open)(path, "rb")


def _last_cut(buf):
    """1 + the index of ``buf``'s last ASCII white-space byte (searched back from the end a
    window at a time), 0 when it has none."""
    step = 1 << 12
    for hi in range(buf.shape[0], 0, -step):
        lo = max(hi - step, 0)
        hits = np.flatnonzero(_IS_ASCII_SPACE[buf[lo:hi]])
        if hits.size:
            return lo + int(hits[-1]) + 1
    return 0


def _fill(f, view):
    """Read from ``f`` into ``view`` until it is full or the input ends; returns the bytes read."""
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def _chunks(files, chunk_bytes, bar):
    """uint8 arrays that each end at an ASCII white-space byte (or the end of a file), so no
    word or multi-byte character is split between two. Each is a view into one buffer that the
    next is read into: use it before asking for the next."""
    buf = np.empty(chunk_bytes, np.uint8)
    for path in files:
        carry = 0                              # bytes at buf's start left from the last read
        with _open(path) as f:
            while True:
                if carry == buf.shape[0]:       # one word longer than the buffer: make it longer
                    buf = np.concatenate([buf, np.empty(chunk_bytes, np.uint8)])
                got = _fill(f, memoryview(buf)[carry:])
                bar.update(got)
                end = carry + got
                if got == 0:
                    if carry:
                        yield buf[:carry]
                    break
                cut = _last_cut(buf[carry:end])
                if cut == 0:                   # no white space in what was read: read on
                    carry = end
                    continue
                cut += carry
                yield buf[:cut]
                carry = end - cut
                buf[:carry] = buf[cut:end]


class _Table:
    """The kernels' hash table (``fastseq.kernels.tokenize``), grown by doubling."""

    def __init__(self, entries=1 << 16, arena=1 << 20):
        self.arrays = (np.full(4 * 2 * entries, -1, np.int64), np.zeros(entries + 1, np.int64),
                       np.zeros(arena, np.uint8), np.zeros(2, np.int64))
        self.counts = np.zeros(entries, np.int64)       # occurrences per entry, counted by the scans
        self._out = np.empty(0, np.int32)

    def grow(self, need_bytes):
        slots, starts, arena, state = self.arrays
        used, used_bytes = int(state[0]), int(state[1])
        if used >= 1 << 30:
            raise ValueError(f"read_corpus: more than {used:,} distinct words")
        room = kernels.SCAN_BLOCK            # new entries the scan needs room for, to go on
        while used + room + 1 >= starts.shape[0] or 2 * (used + room) > slots.shape[0] // 4:
            new = np.full(2 * slots.shape[0], -1, np.int64)
            kernels.rehash(slots, new)
            slots = new
            starts = np.concatenate([starts, np.zeros(starts.shape[0] - 1, np.int64)])
            self.counts = np.concatenate([self.counts, np.zeros(self.counts.shape[0], np.int64)])
        if used_bytes + need_bytes > arena.shape[0]:
            arena = np.concatenate([arena, np.zeros(max(arena.shape[0], need_bytes), np.uint8)])
        self.arrays = (slots, starts, arena, state)

    def scan(self, buf, eos_word, flags):
        """The entries of ``buf``'s words (int32 (n,)), new words added, the table grown as needed.
        The result is a view of a buffer the next ``scan`` of this table writes over: the same
        pages serve every chunk (a new array a chunk cost a page fault per 4 KiB of ids, which
        in a scan of 35 ns a word added about 20 ns a word)."""
        if self._out.shape[0] < buf.shape[0]:
            self._out = np.empty(buf.shape[0], np.int32)
        out = self._out
        pos, n_out, stalled = 0, 0, False
        while True:
            stop, n_out = kernels.scan_words(buf, pos, self.arrays, eos_word, flags, out, n_out, self.counts)
            if stop == buf.shape[0]:
                return out[:n_out]
            if stop == pos and stalled:
                raise RuntimeError(f"read_corpus: the word table did not grow enough to go on at byte {stop}")
            stalled, pos = stop == pos, stop
            # the rest of buf, and for the <eos> words of the next block, their bytes beyond the line ends'
            self.grow(buf.shape[0] - pos + (eos_word.shape[0] - 1) * kernels.SCAN_BLOCK)

    def merge(self, side, mapping):
        """Add ``side``'s words that this table lacks, in ``side``'s order, given ``mapping``
        (int32 (k,)): the entries here of ``side``'s first k entries, merged before. Returns the
        mapping extended to all of ``side``'s entries."""
        starts, state = side.arrays[1], side.arrays[3]
        n = int(state[0])
        e, stalled = mapping.shape[0], False
        mapping = np.concatenate([mapping, np.empty(n - e, np.int32)])
        while True:
            stop = kernels.merge_entries(side.arrays, self.arrays, mapping, e)
            if stop == n:
                return mapping
            if stop == e and stalled:
                raise RuntimeError(f"read_corpus: the word table did not grow enough to merge entry {stop}")
            stalled, e = stop == e, stop
            self.grow(int(starts[min(e + kernels.SCAN_BLOCK, n)] - starts[e]))   # the next block's bytes

    def words(self):
        """The raw words as bytes, in entry order."""
        slots, starts, arena, state = self.arrays
        n = int(state[0])
        raw = arena[:int(state[1])].tobytes()
        bounds = starts[:n + 1].tolist()
        return [raw[bounds[e]:bounds[e + 1]] for e in range(n)]


def _entries_in_order(word_lists):
    """Word lists (each a bytes of UTF-8 words joined by ``\\n``, words without white space) put
    into one table in order of first appearance by the scan kernel: ``(the table's words as
    bytes, in entry order; per list its words' entries, int32)``."""
    table, flags = _Table(), np.zeros(2, np.uint8)            # as they are: no "." split, no <eos>
    eos_word = np.frombuffer(EOS.encode(), np.uint8).copy()
    entries = [table.scan(np.frombuffer(joined + b"\n", np.uint8), eos_word, flags).copy() for joined in word_lists]
    return table.words(), entries


def _distinct_words(raw_words, raw_counts, lower):
    """(words, counts int64, raw entry → word int64): the raw words decoded as UTF-8 (and, with
    ``lower``, lower-cased beyond ASCII), merged where two became one, in first-appearance order."""
    try:                                   # words hold no white space, so "\n" joins them losslessly
        decoded = b"\n".join(raw_words).decode("utf-8").split("\n")
    except UnicodeDecodeError:
        for raw in raw_words:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"read_corpus: paths: the input is not UTF-8 text (word {raw[:40]!r}: "
                                 f"{exc.reason})") from None
        raise
    if lower:
        decoded = [w.lower() if not w.isascii() else w for w in decoded]
    index = dict.fromkeys(decoded)
    if len(index) == len(decoded):         # no two raw words became one word
        return decoded, raw_counts.astype(np.int64), np.arange(len(decoded), dtype=np.int64)
    words = list(index)
    position = {w: k for k, w in enumerate(words)}
    raw_to_word = np.fromiter(map(position.__getitem__, decoded), np.int64, count=len(decoded))
    counts = np.bincount(raw_to_word, weights=raw_counts, minlength=len(words)).astype(np.int64)
    return words, counts, raw_to_word


def _vocabulary(raw_words, raw_counts, lower, min_count, max_vocab_size):
    """(words, counts, unk, raw entry → id int32): the rules of the module docstring."""
    words, counts, raw_to_word = _distinct_words(raw_words, raw_counts, lower)
    unk = words.index(UNK) if UNK in words else None
    keep = counts >= min_count
    if unk is not None:
        keep[unk] = False                  # the corpus's own <unk> is placed on its own, below
    others = len(words) - (unk is not None)
    if max_vocab_size is not None:
        dropping = keep.sum() < others or keep.sum() + (unk is not None) > max_vocab_size
        limit = max_vocab_size - 1 if dropping else max_vocab_size
        if keep.sum() > limit:             # the most frequent, ties by first appearance
            order = np.lexsort((np.arange(len(words)), -counts))
            chosen = order[keep[order]][:limit]
            keep = np.zeros(len(words), bool)
            keep[chosen] = True
    if unk is not None:
        keep[unk] = True
    if keep.sum() == len(words):
        return words, counts, None, raw_to_word.astype(np.int32)
    new_id = np.cumsum(keep) - 1
    kept_words = [w for w, k in zip(words, keep) if k]
    kept_counts = counts[keep]
    if unk is not None:
        unk = int(new_id[unk])
    else:
        unk = len(kept_words)
        kept_words.append(UNK)
        kept_counts = np.append(kept_counts, 0)
    kept_counts[unk] += int(counts[~keep].sum())
    word_to_new = np.where(keep, new_id, unk)
    return kept_words, kept_counts, unk, word_to_new[raw_to_word].astype(np.int32)


def _check(tokenize, line_ends, min_count, max_vocab_size, chunk_bytes):
    if tokenize not in TOKENIZERS:
        raise ValueError(f"read_corpus: tokenize must be one of {TOKENIZERS}, got {tokenize!r}")
    if line_ends not in LINE_ENDS:
        raise ValueError(f"read_corpus: line_ends must be one of {LINE_ENDS}, got {line_ends!r}")
    for name, value, low in (("min_count", min_count, 1), ("max_vocab_size", max_vocab_size, 1),
                             ("chunk_bytes", chunk_bytes, 1)):
        if name == "max_vocab_size" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"read_corpus: {name} must be an int ≥ {low}, got {value!r}")


def _key(files, options):
    stats = [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    text = json.dumps({"format": FORMAT, "files": stats, "options": options}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _default_cache_dir():
    from fastseq.datasets._files import cache_dir
    return cache_dir() / "corpus"


def _load_cached(folder, files):
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        ids = np.load(folder / "ids.npy", mmap_mode="r", allow_pickle=False)
        with open(folder / "vocab.tsv", encoding="utf-8", newline="\n") as f:
            fields = f.read().replace("\t", "\n").split("\n")     # words hold no white space
        if fields[-1] != "" or len(fields) % 2 != 1:
            return None
        words, counts = fields[0:-1:2], np.array(fields[1::2], dtype=object).astype(np.int64)
    except (OSError, ValueError, IndexError, KeyError):
        return None
    if ids.dtype != np.int32 or ids.ndim != 1 or ids.shape[0] != meta.get("tokens") or len(words) != meta.get("words"):
        return None
    return Corpus(ids, words, counts, meta.get("unk"), files, folder)


# A chunk is scanned as two halves at once, the second half into a side table merged into the
# main one afterwards, when each half has at least this many bytes and fastseq's thread setting
# (``fastseq.threads``) allows two threads. Ids are the same either way.
SPLIT_MIN_BYTES = 1 << 20


def _middle_cut(chunk):
    """An index near the middle of ``chunk`` just after an ASCII white-space byte, where no word
    or multi-byte character is cut; 0 when the second half has none."""
    mid = chunk.shape[0] // 2
    step = 1 << 12
    for lo in range(mid, chunk.shape[0], step):
        hits = np.flatnonzero(_IS_ASCII_SPACE[chunk[lo:lo + step]])
        if hits.size:
            return lo + int(hits[0]) + 1
    return 0


def _scan(files, lower, flags, chunk_bytes, raw_file, progress):
    """Pass over the input: the hash table of raw words, and their entry ids written to
    ``raw_file`` (int32). Returns (table, tokens, counts int64: occurrences per entry).

    The side table that second halves are scanned into is kept from chunk to chunk, with the
    entries of its words in the main table (``mapping``): after the first chunks nearly every
    word of a second half is already in it, and only its new entries are merged."""
    table, side, mapping = _Table(), None, np.empty(0, np.int32)
    eos_word = np.frombuffer(EOS.encode(), np.uint8).copy()
    total = sum(f.stat().st_size for f in files)
    tokens = 0
    helper = ThreadPoolExecutor(1, thread_name_prefix="fastseq-scan") if get_num_threads() >= 2 else None
    try:
        with tqdm(total=total, unit="B", unit_scale=True, desc="reading", dynamic_ncols=True,
                  disable=None if progress is None else not progress) as bar:
            for chunk in _chunks(files, chunk_bytes, bar):
                if lower:
                    kernels.ascii_lower(chunk)
                cut = _middle_cut(chunk) if helper is not None and chunk.shape[0] >= 2 * SPLIT_MIN_BYTES else 0
                if cut:
                    side = side or _Table()
                    pending = helper.submit(side.scan, chunk[cut:], eos_word, flags)
                    try:
                        first = table.scan(chunk[:cut], eos_word, flags)
                    finally:                    # the side table is read only once its scan ends
                        second = pending.result()
                    mapping = table.merge(side, mapping)
                    parts = (first, mapping[second])
                else:
                    parts = (table.scan(chunk, eos_word, flags),)
                for ids in parts:
                    raw_file.write(ids)
                    tokens += ids.shape[0]
                bar.set_postfix_str(f"{tokens:,} words")
    finally:
        if helper is not None:
            helper.shutdown(wait=True)
    n = int(table.arrays[3][0])
    counts = table.counts[:n].copy()
    if side is not None:
        np.add.at(counts, mapping, side.counts[:mapping.shape[0]])
    return table, tokens, counts


# The ids are written by the scan straight after room for an .npy header of this many bytes,
# filled in once their number is known: the file becomes the cache's ids.npy in place.
_NPY_HEADER_BYTES = 128


def _npy_header(tokens):
    """A version 1.0 .npy header of exactly ``_NPY_HEADER_BYTES`` for int32 (tokens,)."""
    text = "{'descr': '<i4', 'fortran_order': False, 'shape': (%d,), }" % tokens
    body = text.ljust(_NPY_HEADER_BYTES - 11) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body.encode("ascii")


def _renumber(path, tokens, raw_to_id, block=1 << 22):
    """Map the raw entry ids after the header of ``path`` to word ids, in place, ``block`` at a
    time (none when the mapping is the identity)."""
    if np.array_equal(raw_to_id, np.arange(raw_to_id.shape[0])):
        return
    ids = np.memmap(path, np.int32, "r+", offset=_NPY_HEADER_BYTES, shape=(tokens,))
    for start in range(0, tokens, block):
        ids[start:start + block] = raw_to_id[ids[start:start + block]]
    ids.flush()
    del ids


def read_corpus(paths, tokenize="book", line_ends="ignore", min_count=1, max_vocab_size=None, cache=True,
                cache_dir=None, chunk_bytes=1 << 24, progress=None):
    """Read ``paths`` (a file or folder, or a list of them) into a Corpus; see the module
    docstring for the options. ``cache=False`` writes no cache and returns the ids as an
    in-memory array. ``progress``: None shows a bar (bytes/s and words) on a terminal, False
    never, True always. Errors name the argument (ValueError)."""
    _check(tokenize, line_ends, min_count, max_vocab_size, chunk_bytes)
    files = _files(paths)
    options = {"tokenize": tokenize, "line_ends": line_ends, "min_count": int(min_count),
               "max_vocab_size": None if max_vocab_size is None else int(max_vocab_size)}
    root = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    folder = root / _key(files, options)
    if cache:
        cached = _load_cached(folder, files)
        if cached is not None:
            return cached
        root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".reading-", dir=root if cache else None))
    try:
        flags = np.array([tokenize == "book", line_ends == "eos"], np.uint8)
        with open(work / "ids.npy", "wb") as raw_file:
            raw_file.write(bytes(_NPY_HEADER_BYTES))
            table, tokens, counts = _scan(files, tokenize == "book", flags, chunk_bytes, raw_file, progress)
        if tokens == 0:
            raise ValueError(f"read_corpus: paths: no words in {', '.join(map(str, files[:3]))}"
                             + (" ..." if len(files) > 3 else ""))
        raw_words = table.words()
        raw_counts = np.zeros(len(raw_words), np.int64)
        raw_counts[:counts.shape[0]] = counts
        words, counts, unk, raw_to_id = _vocabulary(raw_words, raw_counts, tokenize == "book", min_count,
                                                    max_vocab_size)
        if not cache:
            raw = np.fromfile(work / "ids.npy", np.int32, offset=_NPY_HEADER_BYTES)
            return Corpus(raw_to_id[raw], words, counts, unk, files, None)
        with open(work / "ids.npy", "r+b") as f:
            f.write(_npy_header(tokens))
        _renumber(work / "ids.npy", tokens, raw_to_id)      # block by block: never all in memory
        with open(work / "vocab.tsv", "w", encoding="utf-8") as f:
            f.writelines(f"{w}\t{c}\n" for w, c in zip(words, counts.tolist()))
        meta = {"format": FORMAT, "files": [str(p) for p in files], "options": options, "tokens": tokens,
                "words": len(words), "unk": unk}
        (work / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        try:
            os.rename(work, folder)
        except OSError:                        # another process cached the same input first
            pass
        loaded = _load_cached(folder, files)
        if loaded is None:
            raise OSError(f"read_corpus: the cache in {folder} could not be read back")
        return loaded
    finally:
        shutil.rmtree(work, ignore_errors=True)
