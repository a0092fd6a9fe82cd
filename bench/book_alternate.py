"""The book's scripts and the drop-in, quiet, in rounds that alternate the two: whole-process
seconds, medians, and the drop-in's speed-up.

    python bench/book_alternate.py [--rounds 7] SCRIPT[:LINES] ...

for example ``ch07/train_seq2seq.py:6 ch05/train.py`` (``:LINES`` stops each run after that many
printed lines). Needs ``FASTSEQ_BOOK_DIR`` (and ``FASTSEQ_DATA`` for PTB). Each side runs in its
own copy of the book's tree (``tests/book_oracle.py``), so neither reads a file the other wrote;
one untimed run of each first leaves the saved PTB parse and compiled bytecode a reader's
second run would find. Alternating the sides round by round lets the machine's drift hit both.
Under load, ``bench/contention.py``.

``--cpu`` also reports each side's main-thread CPU time from the end of Python's start-up
(``site``, which imports NumPy in both trees' ``sitecustomize``) to the script's end, read with
``time.thread_time`` at exit: for the scripts that only define classes, whose few milliseconds of
difference are smaller than the whole process's spread between runs. ``--unseeded`` runs both
sides as a reader does, without that ``sitecustomize`` (which seeds NumPy, and so imports
``numpy.random`` and its own imports before the script starts; the script then imports NumPy
within the measured time); the book's NumPy 2 shims go with it, so it suits only scripts that run
on NumPy 2 unchanged, such as those that only define classes.
"""
import argparse
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import book_oracle as bo  # noqa: E402

SIDES = ("book", "fastseq")
# Appended to both sides' sitecustomize with --cpu: the main thread's CPU time after site, at exit.
CPU_CLOCK = """
import atexit as _atexit, sys as _sys, time as _time
_started = _time.thread_time()
_atexit.register(lambda: _sys.stderr.write(f"main-thread-ms {(_time.thread_time() - _started) * 1e3:.3f}\\n"))
"""
_CPU = re.compile(r"main-thread-ms ([0-9.]+)")


def _cpu_ms(stderr):
    found = _CPU.findall(stderr)
    if not found:
        raise RuntimeError(f"no main-thread time in the run's stderr: {stderr[-500:]}")
    return float(found[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cpu", action="store_true", help="also the main thread's CPU time after start-up")
    parser.add_argument("--unseeded", action="store_true", help="no sitecustomize: NumPy neither seeded nor "
                        "imported before the script (scripts that run on NumPy 2 unchanged only)")
    parser.add_argument("scripts", nargs="+", help="SCRIPT[:LINES], relative to the book's tree")
    args = parser.parse_args()
    if not os.environ.get(bo.ENV):
        parser.error(f"{bo.ENV} is not set: it must name a checkout of the book's code")
    with tempfile.TemporaryDirectory(prefix="fastseq-alternate-") as scratch:
        trees = {side: bo.prepare_tree(Path(os.environ[bo.ENV]), Path(scratch) / side) for side in SIDES}
        if args.cpu or args.unseeded:
            for side in SIDES:
                with open(trees[side] / "_site" / side / "sitecustomize.py", "w" if args.unseeded else "a") as f:
                    f.write(CPU_CLOCK if args.cpu else "")
        cpu_head = f" {'book cpu ms':>11s} {'drop-in cpu ms':>14s} {'cpu ratio':>9s}" if args.cpu else ""
        print(f"{'script':40s} {'book s':>8s} {'drop-in s':>9s} {'speed-up':>8s}{cpu_head}  ({args.rounds} rounds)")
        for spec in args.scripts:
            script, _, lines = spec.partition(":")
            lines = int(lines) if lines else None
            times = {side: [] for side in SIDES}
            cpu = {side: [] for side in SIDES}
            for side in SIDES:
                bo.run_script(trees[side], script, side, max_lines=lines)
            for _ in range(args.rounds):
                for side in SIDES:
                    _, seconds, _, stderr = bo.run_script(trees[side], script, side, max_lines=lines)
                    times[side].append(seconds)
                    if args.cpu:
                        cpu[side].append(_cpu_ms(stderr))
            book, fast = statistics.median(times["book"]), statistics.median(times["fastseq"])
            row = f"{spec:40s} {book:8.3f} {fast:9.3f} {book / fast:7.3f}x"
            if args.cpu:
                book_cpu, fast_cpu = statistics.median(cpu["book"]), statistics.median(cpu["fastseq"])
                row += f" {book_cpu:11.2f} {fast_cpu:14.2f} {book_cpu / fast_cpu:8.3f}x"
            print(row, flush=True)


if __name__ == "__main__":
    main()
