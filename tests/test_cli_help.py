"""The command line's --version and the defaults shown in every --help."""
import subprocess
import sys

import pytest

from fastseq import __version__


def _run(*args):
    return subprocess.run([sys.executable, "-m", "fastseq.cli", *args], capture_output=True, text=True, timeout=120)


def test_version():
    done = _run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"fastseq {__version__}"


@pytest.mark.parametrize("command,shown", [
    ("count", ["--window WINDOW    (default: 2)", "run folder (default: runs/count)"]),
    ("train-word2vec", ["(default: cbow)", "(default: 10)"]),
    ("train-lm", ["(default: rnnlm)", "--epochs EPOCHS (default: the recipe's)"]),
    ("generate", ["(default: you)", "(default: all)"]),
    ("train-seq2seq", ["(default: 128)", "(default: 1984)"]),
])
def test_help_shows_defaults(command, shown):
    done = _run(command, "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for part in shown:
        assert " ".join(part.split()) in text
    assert "(default: None)" not in text
