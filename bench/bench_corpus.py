"""The streaming corpus reader (``fastseq.corpus.read_corpus``, no cache) against its plain-Python
twin (``fastseq.reference.corpus``) on the same texts: PTB's train text read as the book reads it
(whitespace words, ``<eos>`` at line ends), and 5M words of the synthetic Zipf text of
``bench/corpus_scale.py`` with the book's tokenising. Both give the same ids (``tests/test_corpus.py``).
At scale and against gensim: ``python bench/corpus_scale.py``.
"""
import os

import pytest

from fastseq.corpus import read_corpus
from fastseq.reference import corpus as ref

PTB = {"tokenize": "whitespace", "line_ends": "eos"}


@pytest.fixture(scope="module")
def zipf_text(tmp_path_factory):
    from corpus_scale import make_text
    path = tmp_path_factory.mktemp("zipf") / "zipf.txt"
    make_text(path, 5_000_000)
    return path


def _read(impl, path, options):
    if impl == "fast":
        return lambda: read_corpus(path, cache=False, progress=False, **options)
    return lambda: ref.read_corpus(path, **options)


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_read_ptb_train(benchmark, paired, impl):
    path = os.path.join(os.environ["FASTSEQ_DATA"], "ptb", "ptb.train.txt")
    paired(benchmark, "read_corpus PTB train (0.9M words, whitespace, <eos>)", impl, _read(impl, path, PTB),
           rounds=3 if impl == "reference" else 10)


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_read_zipf_5m(benchmark, paired, zipf_text, impl):
    paired(benchmark, "read_corpus synthetic Zipf text (5.2M words, book)", impl, _read(impl, zipf_text, {}),
           rounds=3 if impl == "reference" else 10)
