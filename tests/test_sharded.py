"""A corpus read and its co-occurrences counted over a 2-worker Dask LocalCluster equal the
single-machine ones."""
import numpy as np
import pytest

from fastseq.count import co_occurrence
from fastseq.datasets.text import load_corpus
from fastseq.sharded import client_for, sharded_corpus, sharded_counts


@pytest.fixture(scope="module")
def client():
    with client_for("local", workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards")
    rng = np.random.default_rng(0)
    words = ["the", "cat", "sat", "on", "mat", "학교", "집", "dog.", "Ran"]
    texts = [" ".join(rng.choice(words, 400)) + "\n",
             "one",                                           # shorter than the window: pairs span 3 files
             "   \n",                                         # no words at all
             "\n".join(" ".join(rng.choice(words, 20)) for _ in range(30)),
             "Last words here."]
    paths = []
    for k, text in enumerate(texts):
        path = folder / f"{k}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("reading,window", [
    ({}, 2),
    ({"line_ends": "eos", "min_count": 3}, 3),
    ({"tokenize": "whitespace", "max_vocab_size": 6}, 5),
])
def test_sharded_counts_equal_the_single_machine_counts(client, files, reading, window):
    ids, words = load_corpus(files, progress=False, **reading)
    single = co_occurrence(ids, len(words), window)
    counts, sharded_words, word_counts = sharded_counts(files, window, client, reading)
    assert sharded_words == words
    np.testing.assert_array_equal(word_counts, np.bincount(ids, minlength=len(words)))
    assert counts.shape == single.shape and (counts != single).nnz == 0
    np.testing.assert_array_equal(counts.indptr, single.indptr)


@pytest.mark.parametrize("reading", [
    {},
    {"line_ends": "eos", "min_count": 3},
    {"tokenize": "whitespace", "max_vocab_size": 6},
])
def test_sharded_corpus_equals_the_single_machine_read(client, files, reading):
    ids, words = load_corpus(files, progress=False, **reading)
    sharded_ids, sharded_words = sharded_corpus(files, client, reading)
    assert sharded_words == words
    assert sharded_ids.dtype == np.int32
    np.testing.assert_array_equal(sharded_ids, ids)


def test_harmonic_counts_agree_to_rounding(client, files):
    ids, words = load_corpus(files, progress=False)
    single = co_occurrence(ids, len(words), 4, harmonic=True).toarray()
    counts, _, _ = sharded_counts(files, 4, client, harmonic=True)
    np.testing.assert_allclose(counts.toarray(), single, rtol=1e-6)


def test_count_command_with_dask(files, tmp_path, capsys):
    from fastseq.cli import main
    from fastseq.vectors import KeyedVectors

    assert main(["count", "--corpus", *files, "--dim", "3", "--dask", "--out", str(tmp_path / "d")]) == 0
    assert main(["count", "--corpus", *files, "--dim", "3", "--out", str(tmp_path / "s")]) == 0
    d, s = (KeyedVectors.load(tmp_path / k / "vectors.npz") for k in "ds")
    assert d.id_to_word == s.id_to_word
    np.testing.assert_allclose(np.abs(d.vectors), np.abs(s.vectors), atol=1e-5)   # SVD signs may differ
    capsys.readouterr()
    assert main(["count", "--dask", "--out", str(tmp_path / "p")]) == 1
    assert "--dask shards text files" in capsys.readouterr().err


def test_word2vec_command_with_dask(files, tmp_path, capsys):
    from fastseq.cli import main
    from fastseq.vectors import KeyedVectors

    common = ["train-word2vec", "--corpus", *files, "--min-count", "2", "--dim", "4", "--epochs", "2",
              "--threads", "1"]
    assert main([*common, "--dask", "--out", str(tmp_path / "d")]) == 0
    assert main([*common, "--out", str(tmp_path / "s")]) == 0
    d, s = (KeyedVectors.load(tmp_path / k / "vectors.npz") for k in "ds")
    assert d.id_to_word == s.id_to_word
    np.testing.assert_array_equal(d.vectors, s.vectors)          # the same ids, one thread: the same run
    capsys.readouterr()
    assert main(["train-word2vec", "--dask", "--out", str(tmp_path / "p")]) == 1
    assert "--dask shards text files" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()



def test_a_word2vec_run_resumes_with_its_corpus_read_on_dask(files, tmp_path):
    from fastseq.runs import read_log
    from fastseq.vectors import KeyedVectors
    from fastseq.word2vec import train_run

    folder = tmp_path / "r"
    first = train_run(folder, corpus=files, dim=4, epochs=1, threads=1, progress=False)
    # the resumed run checks that its corpus, read on Dask, has the saved tokens and vocabulary
    again = train_run(folder, corpus=files, dim=4, epochs=1, threads=1, progress=False, resume=True, dask="local")
    assert [e["epoch"] for e in read_log(folder)] == [1]
    assert again.id_to_word == first.id_to_word == load_corpus(files, progress=False)[1]
    np.testing.assert_array_equal(KeyedVectors.load(folder / "vectors.npz").vectors, first.vectors)
