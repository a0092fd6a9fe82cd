"""Run folders: the one place where fastseq's training commands keep their files.

Every command (``train-lm``, ``train-word2vec``, ``count``, ``train-seq2seq``, ``train-esn``) and its Python
function writes one folder of the same shape:

* ``config.json``: the command and every option that decides the result;
* ``log.jsonl``: one JSON line per epoch or stage (loss or perplexity, seconds, throughput,
  resident memory);
* ``checkpoint.npz``: what ``--resume`` needs to continue exactly (commands that resume);
* the product: ``best.npz`` (model parameters), ``vectors.npz`` plus ``vectors.txt`` (word
  vectors, also in the word2vec text format) or ``esn.npz`` (an echo state network);
* a PNG curve when matplotlib is installed.

``RunFolder`` owns the rules, all applied before any work starts:

* the folder can be created and written, and no name the run writes is taken by a folder,
  a symlink or a special file;
* an exclusive lock (``.lock``, holding the PID): a second run on the same folder is refused
  with the holder's PID; the lock dies with its process, kill -9 included;
* a folder that already holds a run is refused unless the run is resumed (``resume=True``)
  or restarted (``force=True``, which first deletes the previous run's files and nothing else);
* writes are atomic (a temporary file renamed into place), never replace anything but a
  regular file, honour the umask, and refuse NaN or inf;
* the checkpoint records how many log lines it covers, and resuming cuts the log back to
  them, so a crash between the two writes never duplicates an epoch.

Damaged or foreign files give a ``RunError`` (a ``ValueError``) naming the file.
"""
import fcntl
import json
import os
import signal
import stat
import tempfile
import zipfile

import numpy as np

from fastseq._lang import has_hangul

__all__ = ["RunError", "RunFolder", "StopFlag", "atomic_write", "conflicts", "read_log", "rss_mib", "save_curve",
           "savez"]

# Every name a run may write, for every command: --force deletes these and nothing else.
RUN_FILES = ("config.json", "log.jsonl", "checkpoint.npz", "best.npz", "vectors.npz", "vectors.txt", "vocab.txt",
             "esn.npz", "perplexity.png", "loss.png", "accuracy.png", "attention.png", "prediction.png")
LOCK = ".lock"


class RunError(ValueError):
    """A run folder or one of its files cannot be used; the message names it."""


def _kind(path):
    """'a folder', 'a symlink', 'a special file' or None (a regular file or nothing)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISDIR(mode):
        return "a folder"
    return None if stat.S_ISREG(mode) else "a special file"


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path, write):
    """Write a file through ``write(f)`` (``f`` a binary file object) into a temporary file
    beside ``path``, then rename it into place: readers see the old file or the new one,
    never half of one. Refuses to replace a folder, symlink or special file; the file gets
    the permissions a plain ``open`` would (0666 less the umask)."""
    path = os.fspath(path)
    kind = _kind(path)
    if kind:
        raise RunError(f"{path} is {kind}; fastseq writes over regular files only")
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".part")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)


def _finite(name, arrays):
    for key, a in arrays.items():
        a = np.asarray(a)
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            raise FloatingPointError(f"{name}: {key} holds NaN or inf; nothing was saved over the previous file")


def savez(path, arrays, finite=True):
    """``arrays`` (name → array) as an ``.npz`` at ``path``, atomically; with ``finite``, arrays
    holding NaN or inf are refused (FloatingPointError) and nothing is written."""
    if finite:
        _finite(os.fspath(path), arrays)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def rss_mib():
    """Resident memory of this process now, in MiB (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20, 1)
    except (OSError, ValueError, IndexError):
        return None


def conflicts(saved, given, may_change=()):
    """Refuse options given on resume that differ from the run's saved config: ``given`` maps
    option names (as in the config) to values; names in ``may_change`` are exempt."""
    for key, value in given.items():
        if key in may_change or key not in saved:
            continue
        old = saved[key]
        if isinstance(old, list) and isinstance(value, tuple):
            value = list(value)
        if old != value:
            raise RunError(f"--{key.replace('_', '-')} {value} conflicts with the run being resumed "
                           f"({key} = {old}); leave it out, or start a new run with --force or another --out")


class StopFlag:
    """Context manager: SIGINT sets ``requested`` (the loop stops at its next safe point and
    saves); a second SIGINT raises KeyboardInterrupt at once."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        def handler(signum, frame):
            if self.requested:
                raise KeyboardInterrupt
            self.requested = True
        try:
            self._previous = signal.signal(signal.SIGINT, handler)
        except ValueError:                 # not the main thread: Ctrl-C stays Python's default
            self._previous = None
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class RunFolder:
    """A locked run folder (use it as a context manager; see the module docstring).

    ``command`` names the command (stored in config.json; a resume of another command's
    folder is refused). ``resume``: continue the run there; ``force``: delete a previous run's
    files first."""

    def __init__(self, path, command, resume=False, force=False):
        if path is None or not os.fspath(path):
            raise RunError("--out: the run folder must be a non-empty path")
        self.path = os.fspath(path)
        self.command = command
        self.resume = bool(resume)
        self.force = bool(force)
        self.log_lines = 0
        self._lock = None
        self._kept = False      # something worth keeping was saved: a checkpoint or a product

    def file(self, name):
        return os.path.join(self.path, name)

    # -- opening: every check before any work ------------------------------------------
    def __enter__(self):
        if os.path.lexists(self.path) and not os.path.isdir(self.path):
            raise RunError(f"--out: {self.path} exists and is not a folder")
        try:
            os.makedirs(self.path, exist_ok=True)
            probe = tempfile.TemporaryFile(dir=self.path)
            probe.close()
        except OSError as exc:
            raise RunError(f"--out: cannot create or write the run folder {self.path} "
                           f"({exc.strerror or exc})") from None
        for name in RUN_FILES + (LOCK,):
            kind = _kind(self.file(name))
            if kind:
                raise RunError(f"--out: {self.file(name)} is {kind}; a run writes a regular file there")
        self._take_lock()
        try:
            self._prepare()
        except BaseException:
            self._release()
            raise
        return self

    def _take_lock(self):
        fd = os.open(self.file(LOCK), os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunError(f"--out: {self.path} is in use by another fastseq run (PID {holder})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock = fd

    def _release(self):
        if self._lock is not None:
            os.ftruncate(self._lock, 0)
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            os.close(self._lock)
            self._lock = None

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None and not self._kept and not self.resume:
                # a new run that failed or was stopped before saving anything: leave no half run behind
                for name in ("config.json", "log.jsonl"):
                    if os.path.lexists(self.file(name)):
                        os.remove(self.file(name))
        finally:
            self._release()

    def _prepare(self):
        # temporaries of writes cut short by kill -9 (no writer can hold them: the lock is ours)
        for entry in os.listdir(self.path):
            if entry.endswith(".part") and any(entry.startswith(f".{n}.") for n in RUN_FILES) \
                    and _kind(self.file(entry)) is None:
                os.remove(self.file(entry))
        present = [n for n in RUN_FILES if os.path.lexists(self.file(n))]
        if self.resume:
            for name in ("config.json", "checkpoint.npz"):
                if name not in present:
                    raise RunError(f"--resume: {self.path} holds no run to continue ({name} is missing)")
            return
        if present and not self.force:
            raise RunError(f"--out: {self.path} already holds a run ({', '.join(present)}): continue it with "
                           f"--resume {self.path}, start over with --force, or choose another --out")
        for name in present:
            os.remove(self.file(name))

    # -- config ----------------------------------------------------------------------------
    def write_config(self, config):
        """Store ``config`` (JSON-able dict) with the command's name."""
        text = json.dumps({"command": self.command, **config}, indent=1) + "\n"
        atomic_write(self.file("config.json"), lambda f: f.write(text.encode("utf-8")))

    def peek_config(self):
        """The saved config as a dict, unchecked; {} when it is missing or unreadable (the run
        itself then gives the error)."""
        try:
            with open(self.file("config.json"), encoding="utf-8") as f:
                config = json.load(f)
        except (OSError, ValueError):
            return {}
        return config if isinstance(config, dict) else {}

    def read_config(self, schema, defaults=None):
        """The saved config, checked against ``schema`` (name → tuple of allowed types): the
        same keys, each of an allowed type; anything else is a RunError naming the key.
        ``defaults`` fills keys that runs of an earlier version did not save."""
        path = self.file("config.json")
        try:
            with open(path, encoding="utf-8") as f:
                config = json.load(f)
        except FileNotFoundError:
            raise RunError(f"{self.path} is not a fastseq run folder (it has no config.json)") from None
        except (OSError, ValueError) as exc:
            raise RunError(f"{path} is unreadable or not JSON ({exc})") from None
        if not isinstance(config, dict) or config.get("command") != self.command:
            found = config.get("command") if isinstance(config, dict) else None
            raise RunError(f"{path} is not a {self.command} run (its command: {found!r})")
        config = {**(defaults or {}), **{k: v for k, v in config.items() if k != "command"}}
        for key in sorted(set(schema) ^ set(config)):
            raise RunError(f"{path}: {'unknown' if key in config else 'missing'} key {key!r}")
        for key, types in schema.items():
            value = config[key]
            if isinstance(value, bool) and bool not in types or not isinstance(value, types):
                raise RunError(f"{path}: {key} = {value!r} has the wrong type")
        return config

    # -- log and checkpoint -----------------------------------------------------------------
    def log(self, record):
        """Append one JSON line to log.jsonl (flushed to disk)."""
        with open(self.file("log.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.log_lines += 1

    def save_checkpoint(self, arrays, meta):
        """checkpoint.npz: ``arrays`` plus ``meta`` (a JSON-able dict) and the log length."""
        meta = {**meta, "log_lines": self.log_lines}
        savez(self.file("checkpoint.npz"), {**arrays, "meta": np.array(json.dumps(meta))})
        self._kept = True

    def load_checkpoint(self, restore):
        """Read checkpoint.npz and pass (arrays, meta) to ``restore``, which applies them and
        raises KeyError, TypeError, ValueError or IndexError where they do not fit; those become
        a RunError naming the file. Only then is the log cut back to the lines the checkpoint
        covers. Returns what ``restore`` returned."""
        path = self.file("checkpoint.npz")
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            meta = json.loads(str(arrays.pop("meta")))
            lines = meta["log_lines"]
            if not isinstance(lines, int):
                raise TypeError("log_lines is not an int")
            restored = restore(arrays, meta)
        except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError, zipfile.BadZipFile) as exc:
            raise RunError(f"{path} is damaged or does not fit this run ({type(exc).__name__}: {exc})") from None
        self._cut_log(lines)
        return restored

    def _cut_log(self, lines):
        path = self.file("log.jsonl")
        try:
            with open(path, encoding="utf-8") as f:
                kept = f.readlines()
        except FileNotFoundError:
            kept = []
        except (OSError, ValueError) as exc:
            raise RunError(f"{path} is unreadable ({exc})") from None
        if len(kept) < lines or not all(line.endswith("\n") for line in kept[:lines]):
            raise RunError(f"{path} holds {len(kept)} lines, fewer than the checkpoint's {lines}")
        if len(kept) > lines:
            atomic_write(path, lambda f: f.write("".join(kept[:lines]).encode("utf-8")))
        self.log_lines = lines

    def save_arrays(self, name, arrays):
        """A product file (``best.npz``, ``vectors.npz``), atomically; NaN and inf refused."""
        savez(self.file(name), arrays)
        self._kept = True

    def save_training(self, model, optimizer, meta, arrays=()):
        """checkpoint.npz of a model trained by an optimizer: its parameters, the optimizer's
        state and NumPy's global random state (it draws the shuffles and dropout masks), plus
        the caller's ``meta`` (JSON-able) and extra ``arrays``."""
        rng = np.random.get_state()
        opt = optimizer.state_dict()
        state = {**model.param_arrays(), **{f"opt.{k}": a for k, a in opt["arrays"].items()}, **dict(arrays),
                 "rng.keys": rng[1]}
        self.save_checkpoint(state, {**meta, "optimizer": opt["scalars"],
                                     "rng": [rng[0], int(rng[2]), int(rng[3]), float(rng[4])]})

    def load_training(self, model, optimizer, restore=None):
        """Restore what ``save_training`` wrote into ``model``, ``optimizer`` and NumPy's global
        random state, then call ``restore(meta, arrays)`` for the caller's own entries (see
        ``load_checkpoint``); returns its result, or ``meta`` without it."""
        def apply(arrays, meta):
            model.set_params([arrays[f"p{i}"] for i in range(len(model.params))], self.file("checkpoint.npz"))
            optimizer.load_state_dict({"scalars": meta["optimizer"],
                                       "arrays": {k[4:]: a for k, a in arrays.items() if k.startswith("opt.")}})
            name, pos, has_gauss, cached = meta["rng"]
            np.random.set_state((name, arrays["rng.keys"], pos, has_gauss, cached))
            return restore(meta, arrays) if restore is not None else meta
        return self.load_checkpoint(apply)


def read_log(folder):
    """The records of ``folder/log.jsonl`` (a list of dicts, oldest first)."""
    path = os.path.join(folder, "log.jsonl")
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as exc:
        raise RunError(f"{path} is unreadable ({exc})") from None


# Installed fonts that draw Hangul, by family name: matplotlib's default (DejaVu Sans) has none.
HANGUL_FONTS = ("NanumGothic", "Noto Sans CJK KR", "Noto Sans KR", "Malgun Gothic", "AppleGothic",
                "Apple SD Gothic Neo", "UnDotum", "Baekmuk Gulim")
_hangul_font = []


def hangul_font():
    """The family name of an installed font with Hangul glyphs (the first of HANGUL_FONTS that
    matplotlib knows), or None; looked up once."""
    if not _hangul_font:
        from matplotlib import font_manager
        installed = {f.name for f in font_manager.fontManager.ttflist}
        _hangul_font.append(next((name for name in HANGUL_FONTS if name in installed), None))
    return _hangul_font[0]


def save_curve(path, series, xlabel, ylabel, log_scale=False, ylim=None, fallback_labels=None):
    """A PNG of ``series`` (label → (x, y)) at ``path``, written atomically; None without
    matplotlib. Axis labels with Hangul are drawn in an installed Korean font (``hangul_font``);
    where there is none, ``fallback_labels`` ((xlabel, ylabel), e.g. the English ones) replace
    them, rather than boxes and a warning per missing glyph."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    font = None
    if has_hangul(xlabel + ylabel):
        font = hangul_font()
        if font is None and fallback_labels is not None:
            xlabel, ylabel = fallback_labels
    fig = Figure()
    ax = fig.subplots()
    for label, (x, y) in series.items():
        ax.plot(x, y, "o-" if 0 < len(x) < 30 else "-", label=label)
    ax.set_xlabel(xlabel, fontfamily=font)
    ax.set_ylabel(ylabel, fontfamily=font)
    if log_scale:
        ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    if len(series) > 1:
        ax.legend()
    atomic_write(path, lambda f: fig.savefig(f, format="png"))
    return path
