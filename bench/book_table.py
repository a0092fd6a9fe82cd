"""README's table of the book's chapter scripts, from a run of the book-oracle suite.

    FASTSEQ_BOOK_DIR=../shared/book/dlfs2-ko FASTSEQ_BOOK_REPORT=book.jsonl \\
        python -m pytest tests/test_book_scripts.py
    python bench/book_table.py book.jsonl

Each JSON line holds one script's comparison (``tests/test_book_scripts.py`` writes it only
after the script's printed figures agreed): the lines compared, whether it ran whole or up to
its first reports, and both wall times. A script with no line did not pass.
"""
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from test_book_scripts import SCRIPTS  # noqa: E402  (tests/ on the path first)

NOTES = {
    "ch01/two_layer_net.py": "defines TwoLayerNet; prints nothing",
    "ch03/simple_cbow.py": "defines SimpleCBOW; prints nothing",
    "ch03/simple_skip_gram.py": "defines SimpleSkipGram; prints nothing",
    "ch04/cbow.py": "defines CBOW; prints nothing",
    "ch04/skip_gram.py": "defines SkipGram; prints nothing",
    "ch04/negative_sampling_layer.py": "defines the layers; prints nothing",
    "ch05/simple_rnnlm.py": "defines SimpleRnnlm; prints nothing",
    "ch06/rnnlm.py": "defines Rnnlm; prints nothing",
    "ch06/better_rnnlm.py": "defines BetterRnnlm; prints nothing",
    "ch07/seq2seq.py": "defines Seq2seq; prints nothing",
    "ch07/peeky_seq2seq.py": "defines PeekySeq2seq; prints nothing",
    "ch07/rnnlm_gen.py": "defines RnnlmGen; prints nothing",
    "ch08/attention_layer.py": "defines the attention layers; prints nothing",
    "ch08/attention_seq2seq.py": "defines AttentionSeq2seq; prints nothing",
    "ch07/generate_better_text.py": "the book ships no BetterRnnlm.pkl: the test writes an untrained "
                                    "one with the book's own class (seeded) for both runs",
    "ch07/generate_text.py": "the book's int() of a 1-element array fails on NumPy 2; its run gets a "
                             "shim that converts it (same draws)",
}


def table(rows):
    by_script = {}
    for row in rows:
        by_script[row["script"]] = row          # the last run of a script wins
    lines = ["| script | drop-in runs | same figures | lines compared | book s | fastseq s | speed-up | note |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for name in sorted(SCRIPTS):
        row = by_script.get(name)
        if row is None:
            lines.append(f"| {name} | not in this run | | | | | | |")
            continue
        part = "whole run" if row["whole"] else f"first {row['lines']} lines"
        speed = row["book_s"] / row["fastseq_s"] if row["fastseq_s"] > 0 else float("nan")
        note = NOTES.get(name, "")
        if SCRIPTS[name].chaotic:
            note = (note + "; " if note else "") + "training: within the perturbed book's spread"
        lines.append(f"| {name} | yes | yes ({part}) | {row['lines']} | {row['book_s']:.1f} | "
                     f"{row['fastseq_s']:.1f} | {speed:.2f}x | {note} |")
    return "\n".join(lines)


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    stamp = time.strftime("%Y-%m-%d", time.localtime(os.path.getmtime(argv[1])))
    print(f"{stamp}, {platform.machine()}, {os.cpu_count()} cores, "
          f"FASTSEQ_NUM_THREADS={os.environ.get('FASTSEQ_NUM_THREADS', 'unset')}\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
