"""Run the book's own code beside fastseq: the harness of the book-oracle tests.

The book (``$FASTSEQ_BOOK_DIR``, a checkout of the Korean edition's repository) is read, never
copied into the project: each test session copies its tree into a temporary folder, puts PTB
into the copy's ``dataset/`` (where the book's loader keeps it) and runs a chapter script there
twice, as its reader does: ``python script.py`` under the book's own modules, and
``python -m fastseq.dropin script.py``. Both runs start from the same NumPy seed (a
``sitecustomize`` on ``PYTHONPATH`` seeds NumPy's global generator before the script starts and
gives NumPy 2 the ``np.int`` alias the book's ``dataset/spiral.py`` uses).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from queue import Empty, Queue

import pytest

ENV = "FASTSEQ_BOOK_DIR"
SEED = 1234

# Run before every script. Both runs: NumPy's global generator seeded, and NumPy 2's missing
# ``np.int`` restored (the book's dataset/spiral.py uses it).
SITECUSTOMIZE = f"""
import numpy
if not hasattr(numpy, "int"):
    numpy.int = int
numpy.random.seed({SEED})
"""

# Book runs only: on NumPy 2 ``int()`` of a one-element 1-D array fails, which the book's
# ch07/rnnlm_gen.py does with ``np.random.choice(..., size=1)``. The result is handed back as
# an array that converts to int, drawing exactly the same numbers.
BOOK_SHIM = """
class _IntArray(numpy.ndarray):
    def __int__(self):
        return int(self.reshape(-1)[0])
_choice = numpy.random.choice
def _choice_int(*args, **kwargs):
    out = _choice(*args, **kwargs)
    return out.view(_IntArray) if isinstance(out, numpy.ndarray) and out.size == 1 else out
numpy.random.choice = _choice_int
"""

# The perturbed book: every ``np.random.randn`` draw scaled by (1 + 2**-20), a change of a few
# float32 ulps in every initial weight and nothing else. How far its printed figures move from
# the unperturbed book's is how much rounding alone moves that script's training.
PERTURBATION = """
_randn = numpy.random.randn
numpy.random.randn = lambda *shape: _randn(*shape) * (1 + 2.0 ** -20)
"""

SITES = {"book": SITECUSTOMIZE + BOOK_SHIM, "fastseq": SITECUSTOMIZE,
         "perturbed": SITECUSTOMIZE + BOOK_SHIM + PERTURBATION}


def book_dir():
    """The book checkout named by ``$FASTSEQ_BOOK_DIR``, or skip the calling test."""
    path = os.environ.get(ENV)
    if not path:
        pytest.skip(f"{ENV} is not set: the book-oracle tests need a checkout of the book's code")
    path = Path(path)
    if not (path / "common" / "layers.py").is_file():
        pytest.fail(f"{ENV}={path} does not hold the book's code (no common/layers.py)")
    return path


def prepare_tree(src, dest):
    """Copy the book tree ``src`` to ``dest`` with PTB in ``dataset/`` and one
    ``sitecustomize`` per run mode in ``dest/_site/<mode>``; returns ``dest``.

    The book does not ship ``ch06/BetterRnnlm.pkl``, which ch07/generate_better_text.py loads
    (its reader trains it for hours first); the book's own BetterRnnlm, seeded, writes an
    untrained one, so that script runs on the same weights both ways."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", ".git"))
    data = os.environ.get("FASTSEQ_DATA")
    if data:
        for split in ("train", "valid", "test"):
            txt = Path(data) / "ptb" / f"ptb.{split}.txt"
            if txt.is_file():
                shutil.copy(txt, dest / "dataset" / txt.name)
    for mode, text in SITES.items():
        site = dest / "_site" / mode
        site.mkdir(parents=True)
        (site / "sitecustomize.py").write_text(text)
    subprocess.run([sys.executable, "-c", "import sys; sys.path.append('..'); import numpy; "
                    "numpy.random.seed(0); from better_rnnlm import BetterRnnlm; "
                    "BetterRnnlm().save_params()"],
                   cwd=dest / "ch06", check=True, env=_env(dest, "book"), capture_output=True)
    return dest


def _env(tree, mode):
    env = dict(os.environ)
    env.update(MPLBACKEND="Agg", PYTHONUNBUFFERED="1", PYTHONHASHSEED="0",
               PYTHONPATH=str(Path(tree) / "_site" / mode))
    env.pop(ENV, None)
    # Modules' compiled bytecode is cached between runs, as on a reader's machine, for the
    # book's modules and fastseq's alike: with PYTHONDONTWRITEBYTECODE set, every run compiles
    # every module it imports again, which weighs on the shortest scripts' timings (fastseq
    # imports more modules: ch07/generate_text.py took 258 ms under the drop-in against the
    # book's 254 ms that way, and 229 against 249 ms with cached bytecode).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_script(tree, script, mode, max_lines=None, timeout=600, extra_args=()):
    """Run ``tree/script`` in its own folder, ``mode`` "book", "perturbed" (the book with its
    initial weights moved by rounding, see PERTURBATION) or "fastseq" (the drop-in).

    Stops the process after ``max_lines`` lines of stdout (None: let it finish). Returns
    ``(lines, seconds, returncode, stderr)``; returncode is None when it was stopped."""
    path = Path(tree) / script
    env = _env(tree, mode)
    if mode == "fastseq":
        cmd = [sys.executable, "-m", "fastseq.dropin", path.name]
    else:
        cmd = [sys.executable, path.name]
    cmd += list(extra_args)
    start = time.perf_counter()
    err_file = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    proc = subprocess.Popen(cmd, cwd=path.parent, env=env, stdout=subprocess.PIPE,
                            stderr=err_file)
    lines = []
    stopped = timed_out = False
    queue = Queue()
    reader = threading.Thread(target=_pump, args=(proc.stdout, queue), daemon=True)
    reader.start()
    try:
        deadline = start + timeout
        while True:
            try:
                line = queue.get(timeout=max(deadline - time.perf_counter(), 0.01))
            except Empty:
                timed_out = True
                break
            if line is None:
                break
            lines.append(line.decode("utf-8", "replace").rstrip("\n"))
            if max_lines is not None and len(lines) >= max_lines:
                stopped = True
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        reader.join(5)
        err_file.seek(0)
        err = err_file.read()
        err_file.close()
    if timed_out:
        raise TimeoutError(f"{script} ({mode}) printed {len(lines)} lines in {timeout} s, "
                           f"then nothing more; stderr ends: {err[-500:]}")
    seconds = time.perf_counter() - start
    return lines, seconds, (None if stopped else proc.returncode), err


def _pump(stream, queue):
    for line in stream:
        queue.put(line)
    queue.put(None)


# A printed line, split into words and numbers. Never compared: the training lines' elapsed
# seconds ("time 3[s]", "시간 3[s]"), wall-clock, and the book's eval_perplexity counter
# ("\r0 / 235\r1 / 235..." on stdout), a progress display that fastseq draws on stderr.
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|(?<![A-Za-z])(?:nan|inf)(?![A-Za-z])")
_ELAPSED = re.compile(r"(시간|time) \d+\[s\]")
_COUNTER = re.compile(r"\r\d+ / \d+")


def split_line(line):
    """``(template, numbers)``: the line with every number replaced by ``#`` and runs of spaces
    folded (NumPy pads the numbers of a printed array to one width, which depends on their
    digits), and the numbers as printed (strings)."""
    line = _ELAPSED.sub(r"\1 #[s]", _COUNTER.sub("", line))
    template = re.sub(r" +", " ", _NUMBER.sub("#", line)).replace("[ ", "[").replace(" ]", "]")
    return template, _NUMBER.findall(line)


def _last_digit(text):
    """One unit in the last printed decimal place of a number (1 for an integer)."""
    mantissa = re.split("[eE]", text)[0]
    places = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(re.split("[eE]", text)[1]) if re.search("[eE]", text) else 0
    return 10.0 ** (exponent - places)


def numbers_agree(book, fast, rtol, spread=0.0):
    """Two printed numbers agree when within ``rtol`` of the book's value, within ``spread``
    (see ``compare_outputs``), or one unit in the last printed place apart (a value within
    rtol can still round to the neighbouring digit)."""
    x, y = float(book), float(fast)
    if x != x or y != y:
        return x != x and y != y
    return abs(x - y) <= max(rtol * abs(x), spread, _last_digit(book) * 1.0000001)


def compare_outputs(book, fast, rtol, perturbed=None, margin=4.0, lookahead=20):
    """A list of differences between two runs' printed lines (empty when they agree): the same
    words line by line, every number within ``rtol`` (see ``numbers_agree``).

    With ``perturbed`` (the perturbed book's lines), a number may also differ from the book's
    by ``margin`` times the largest relative distance between the perturbed book and the book
    on the lines up to ``lookahead`` lines further: a training run's sensitivity to rounding
    grows with its steps, one line's distance alone can be small by chance, and two runs that
    round differently need not leave the book at the same printed line (measured in a whole
    run of ch07/train_seq2seq.py: the perturbed book's largest distance rose from 0.8% to 5.3%
    within the 8 lines after fastseq's first departure of 3.4%, all in the same epoch of 18
    reports). Once rounding alone has changed the book's words (the perturbed book printed
    other words on some line: a flipped ☑/☒ mark, another generated answer), later lines' words
    and numbers are chaotic too and only the number of lines is compared."""
    problems = []
    if len(book) != len(fast):
        problems.append(f"{len(book)} lines from the book, {len(fast)} from fastseq")
    compared = min(len(book), len(fast))
    sensitivity = [0.0] * compared          # the perturbed book's largest distance up to each line
    if perturbed is not None:
        largest = 0.0
        for i in range(compared):
            tb, nb = split_line(book[i])
            if i < len(perturbed):
                tp, npert = split_line(perturbed[i])
                if tp != tb or len(npert) != len(nb):
                    compared = i               # rounding alone changes the book's words from here
                    break
                for x, p in zip(nb, npert):
                    x, p = float(x), float(p)
                    if x == x and p == p and x != 0:
                        largest = max(largest, abs(x - p) / abs(x))
            sensitivity[i] = largest
    for i in range(compared):
        b, f = book[i], fast[i]
        tb, nb = split_line(b)
        tf, nf = split_line(f)
        if tb != tf or len(nb) != len(nf):
            problems.append(f"line {i + 1}: book {b!r}, fastseq {f!r}")
            continue
        seen = sensitivity[min(i + lookahead, compared - 1)]
        for x, y in zip(nb, nf):
            spread = margin * seen * abs(float(x))
            if not numbers_agree(x, y, rtol, spread):
                problems.append(f"line {i + 1}: book {b!r}, fastseq {f!r} ({x} vs {y}, "
                                f"allowed spread {spread:.3g})")
                break
    return problems
