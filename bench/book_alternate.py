"""The book's scripts and the drop-in, quiet, in rounds that alternate the two: whole-process
seconds, medians, and the drop-in's speed-up.

    python bench/book_alternate.py [--rounds 7] SCRIPT[:LINES] ...

for example ``ch07/train_seq2seq.py:6 ch05/train.py`` (``:LINES`` stops each run after that many
printed lines). Needs ``FASTSEQ_BOOK_DIR`` (and ``FASTSEQ_DATA`` for PTB). Each side runs in its
own copy of the book's tree (``tests/book_oracle.py``), so neither reads a file the other wrote;
one untimed run of each first leaves the saved PTB parse and compiled bytecode a reader's
second run would find. Alternating the sides round by round lets the machine's drift hit both.
Under load, ``bench/contention.py``.
"""
import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import book_oracle as bo  # noqa: E402

SIDES = ("book", "fastseq")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("scripts", nargs="+", help="SCRIPT[:LINES], relative to the book's tree")
    args = parser.parse_args()
    if not os.environ.get(bo.ENV):
        parser.error(f"{bo.ENV} is not set: it must name a checkout of the book's code")
    with tempfile.TemporaryDirectory(prefix="fastseq-alternate-") as scratch:
        trees = {side: bo.prepare_tree(Path(os.environ[bo.ENV]), Path(scratch) / side) for side in SIDES}
        print(f"{'script':40s} {'book s':>8s} {'drop-in s':>9s} {'speed-up':>8s}  ({args.rounds} rounds)")
        for spec in args.scripts:
            script, _, lines = spec.partition(":")
            lines = int(lines) if lines else None
            times = {side: [] for side in SIDES}
            for side in SIDES:
                bo.run_script(trees[side], script, side, max_lines=lines)
            for _ in range(args.rounds):
                for side in SIDES:
                    times[side].append(bo.run_script(trees[side], script, side, max_lines=lines)[1])
            book, fast = statistics.median(times["book"]), statistics.median(times["fastseq"])
            print(f"{spec:40s} {book:8.3f} {fast:9.3f} {book / fast:7.3f}x", flush=True)


if __name__ == "__main__":
    main()
