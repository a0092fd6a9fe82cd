"""Locating, verifying and downloading data files.

``find_file(folder, name, sha256, url)`` returns the path of a file whose SHA-256 matches,
looking in ``$FASTSEQ_DATA/<folder>``, then ``<cache>/<folder>``, then downloading ``url`` into
the cache through a temporary file that is renamed into place only after its hash checks out.
A file whose hash does not match is never returned. ``locate`` does the looking without the
download.
"""
import os
from pathlib import Path

ENV = "FASTSEQ_DATA"


class DataNotFoundError(FileNotFoundError):
    """No verified copy of a data file could be found or downloaded."""


def cache_dir():
    """The user cache folder: ``$XDG_CACHE_HOME/fastseq`` or ``~/.cache/fastseq``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fastseq"


def _sha256():
    """A new SHA-256 digest. hashlib is imported here: its import (OpenSSL's) took about 3 ms in
    ``python -X importtime`` here, which a script that never checks a file (the drop-in runner
    imports this module) need not pay."""
    import hashlib
    return hashlib.sha256()


def sha256_of(path):
    """Hex SHA-256 of a file's bytes."""
    digest = _sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Folders that hold data files directly (no ``ptb/``/``seq/`` level), searched after
# ``$FASTSEQ_DATA``: the drop-in runner adds the book tree's own ``dataset/`` folder here, where
# the book's loaders keep ``ptb.train.txt`` and ``addition.txt``.
flat_dirs = []


def candidate_dirs(folder):
    """The folders searched for ``folder``'s files, in order: ``$FASTSEQ_DATA/<folder>``, each
    of ``flat_dirs``, then the user cache's ``<folder>``."""
    dirs = []
    if os.environ.get(ENV):
        dirs.append(Path(os.environ[ENV]) / folder)
    dirs.extend(Path(d) for d in flat_dirs)
    dirs.append(cache_dir() / folder)
    return dirs


def _download(url, dest, sha256):
    import urllib.request        # here: its import costs more than a run that finds its files
    from fastseq.runs import atomic_write
    dest.parent.mkdir(parents=True, exist_ok=True)

    def write(out):
        digest = _sha256()
        with urllib.request.urlopen(url, timeout=30) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != sha256:
            raise ValueError(f"downloaded {url} has SHA-256 {digest.hexdigest()}, expected {sha256}")
    atomic_write(dest, write)


def locate(folder, name, sha256):
    """``(path, tried)``: the first copy of ``folder/name`` in ``candidate_dirs(folder)`` whose
    SHA-256 matches (``path`` None when there is none), and a line per place that did not."""
    tried = []
    for d in candidate_dirs(folder):
        path = d / name
        if not path.exists():
            tried.append(f"{path}: not there")
            continue
        got = sha256_of(path)
        if got == sha256:
            return path, tried
        tried.append(f"{path}: SHA-256 {got[:12]}… does not match {sha256[:12]}… (corrupt or truncated)")
    return None, tried


def find_file(folder, name, sha256, url=None):
    """Path of a verified copy of ``folder/name`` (see the module docstring)."""
    path, tried = locate(folder, name, sha256)
    if path is not None:
        return path
    if url is not None:
        dest = cache_dir() / folder / name
        try:
            _download(url, dest, sha256)
            return dest
        except (OSError, ValueError) as exc:      # urllib's URLError is an OSError
            tried.append(f"download {url}: {exc}")
    unset = "" if os.environ.get(ENV) else f"{ENV} is not set. "
    raise DataNotFoundError(
        f"no verified copy of {folder}/{name}. Looked in:\n  " + "\n  ".join(tried)
        + f"\n{unset}Put {name} in a folder DIR/{folder}/ and set {ENV}=DIR, or put it in {cache_dir() / folder}/.")
