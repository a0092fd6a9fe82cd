"""The Hogwild word2vec trainer: it learns, it is reproducible on one thread, it refuses bad input."""
import numpy as np
import pytest

import fastseq
from fastseq import cli
from fastseq.kernels.sampling import alias_table
from fastseq.kernels.word2vec import CBOW, SKIPGRAM, SKIPGRAM_SHARED, train_span
from fastseq.reference.word2vec import hogwild_span
from fastseq.word2vec import keep_probabilities, train_word2vec


def _topics_corpus(n=30000, seed=0):
    """Sentences drawn from two disjoint 10-word topics, separated by word 20."""
    rng = np.random.default_rng(seed)
    parts = []
    while sum(len(p) for p in parts) < n:
        topic = rng.integers(0, 2)
        parts.append(rng.integers(0, 10, rng.integers(5, 12)) + 10 * topic)
        parts.append(np.array([20]))
    return np.concatenate(parts)


def _unit(W):
    return W / np.linalg.norm(W, axis=1, keepdims=True)


@pytest.mark.parametrize("model, shared", [("cbow", False), ("skipgram", False), ("skipgram", True)])
def test_vectors_separate_the_two_topics(model, shared):
    corpus = _topics_corpus()
    r = train_word2vec(corpus, 21, model=model, dim=16, window=3, epochs=3, lr=0.05, sample=0, progress=False,
                       shared_negatives=shared)
    U = _unit(r.W_in[:20])
    sims = U @ U.T
    within = (sims[:10, :10].sum() + sims[10:, 10:].sum() - 20) / 180
    across = sims[:10, 10:].mean()
    assert within > across + 0.2          # typically 0.5 (CBOW) to 0.9 (skip-gram); Hogwild races vary it
    np.fill_diagonal(sims, -2)
    assert np.array_equal(sims.argmax(axis=1) // 10, np.arange(20) // 10)   # every nearest neighbour in-topic
    assert len(r.epochs) == 3 and r.epochs[-1]["loss"] < r.epochs[0]["loss"]
    assert r.epochs[0]["words"] == corpus.size and not r.interrupted


@pytest.mark.parametrize("mode", [CBOW, SKIPGRAM, SKIPGRAM_SHARED])
def test_one_thread_span_equals_the_python_twin(mode):
    rng = np.random.default_rng(4)
    V, D, window, negative = 12, 8, 3, 4
    corpus = rng.integers(0, V, 300).astype(np.int32)
    p = np.bincount(corpus, minlength=V) ** 0.75
    prob, alias = alias_table(p / p.sum())
    W_in = ((rng.random((V, D)) - 0.5) / D).astype(np.float32)
    W_out = (0.1 * rng.standard_normal((V, D))).astype(np.float32)
    fast_in, fast_out, ref_in, ref_out = W_in.copy(), W_out.copy(), W_in.copy(), W_out.copy()
    loss, pairs = np.zeros(3), np.zeros(3, dtype=np.int64)        # 3 chunks of 87, 87 and 86 words
    args = (prob, alias, window, negative, mode, 0.05, 40.0, 1000.0)
    train_span(corpus, 20, 280, fast_in, fast_out, *args, np.uint64(77), 1, loss, pairs)
    ref_loss, ref_pairs = hogwild_span(corpus, 20, 280, ref_in, ref_out, *args, 77, 3)
    assert pairs.sum() == ref_pairs and ref_pairs >= 260 and pairs.min() > 0
    np.testing.assert_allclose(fast_in, ref_in, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fast_out, ref_out, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(loss.sum(), ref_loss, rtol=1e-5)
    assert not np.allclose(fast_in, W_in) and not np.allclose(fast_out, W_out)


def test_one_thread_and_a_seed_reproduce_the_run():
    corpus = _topics_corpus(5000)
    with fastseq.threads(1):
        a = train_word2vec(corpus, dim=8, epochs=2, seed=7, progress=False)
        b = train_word2vec(corpus, dim=8, epochs=2, seed=7, progress=False)
    np.testing.assert_array_equal(a.W_in, b.W_in)
    np.testing.assert_array_equal(a.W_out, b.W_out)


def test_subsampling_keeps_rare_words_and_thins_frequent_ones():
    counts = np.array([1000, 10, 0])
    keep = keep_probabilities(counts, 1e-2)
    t = 1e-2 * 1010
    assert keep[0] == pytest.approx((np.sqrt(1000 / t) + 1) * t / 1000)
    assert keep[1] == 1.0 and keep[2] == 1.0
    np.testing.assert_array_equal(keep_probabilities(counts, 0), [1, 1, 1])


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="shared_negatives applies to model='skipgram' only"):
        train_word2vec(np.array([0, 1, 2]), shared_negatives=True)
    with pytest.raises(TypeError, match="shared_negatives must be True, False or None"):
        train_word2vec(np.array([0, 1, 2]), model="skipgram", shared_negatives="yes")
    with pytest.raises(TypeError, match="corpus must be a 1-D array of integer ids"):
        train_word2vec(np.array([0.0, 1.0]))
    with pytest.raises(IndexError, match=r"corpus holds id -1"):
        train_word2vec(np.array([0, -1, 2]))
    with pytest.raises(IndexError, match=r"corpus holds id 3, outside \[0, 3\)"):
        train_word2vec(np.array([0, 1, 3]), vocab_size=3)
    with pytest.raises(ValueError, match="at least 2 words"):
        train_word2vec(np.array([], dtype=np.int64))
    with pytest.raises(ValueError, match="window must be an integer ≥ 1"):
        train_word2vec(np.array([0, 1, 2]), window=0)
    with pytest.raises(ValueError, match="model must be 'cbow' or 'skipgram'"):
        train_word2vec(np.array([0, 1, 2]), model="glove")
    with pytest.raises(ValueError, match="at least 2 distinct words"):
        train_word2vec(np.array([1, 1, 1]))


def test_cli_trains_and_saves(tmp_path, capsys):
    text = tmp_path / "tiny.txt"
    text.write_text("the cat sat on the mat . the dog sat on the log .\n" * 50)
    out = tmp_path / "run"
    assert cli.main(["train-word2vec", "--corpus", str(text), "--epochs", "2", "--dim", "8",
                     "--model", "skipgram", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "epoch 2:" in printed and "words/s" in printed and "vectors.npz, vectors.txt" in printed
    from fastseq.vectors import KeyedVectors
    text_format = KeyedVectors.load_word2vec_format(out / "vectors.txt")
    npz = KeyedVectors.load(out / "vectors.npz")
    assert text_format.vectors.shape == (8, 8) and text_format.id_to_word == npz.id_to_word
    np.testing.assert_allclose(text_format.vectors, npz.vectors, rtol=1e-5, atol=1e-6)



def test_cli_shared_negatives_is_saved_and_refused_with_cbow_before_any_folder(tmp_path, capsys):
    import json

    text = tmp_path / "tiny.txt"
    text.write_text("the cat sat on the mat . the dog sat on the log .\n" * 50)
    refused = tmp_path / "refused"
    assert cli.main(["train-word2vec", "--corpus", str(text), "--epochs", "1", "--dim", "8", "--shared-negatives",
                     "--out", str(refused)]) != 0
    assert "--shared-negatives needs --model skipgram" in capsys.readouterr().err and not refused.exists()
    out = tmp_path / "run"
    assert cli.main(["train-word2vec", "--corpus", str(text), "--epochs", "1", "--dim", "8", "--model", "skipgram",
                     "--shared-negatives", "--threads", "1", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["shared_negatives"] is True
    # shared negatives are skip-gram's default; --no-shared-negatives is the classic skip-gram
    for flags, shared in (([], True), (["--no-shared-negatives"], False)):
        assert cli.main(["train-word2vec", "--corpus", str(text), "--epochs", "1", "--dim", "8", "--model",
                         "skipgram", *flags, "--threads", "1", "--out", str(tmp_path / f"d{shared}")]) == 0
        assert json.loads((tmp_path / f"d{shared}" / "config.json").read_text())["shared_negatives"] is shared
    # resuming takes the saved choice; the run's only epoch is done, so nothing more is trained
    assert cli.main(["train-word2vec", "--resume", str(out), "--threads", "1"]) == 0
    # a run folder of an earlier version, which saved no such key, resumes as the classic skip-gram it was
    config = json.loads((out / "config.json").read_text())
    del config["shared_negatives"]
    (out / "config.json").write_text(json.dumps(config))
    assert cli.main(["train-word2vec", "--resume", str(out), "--threads", "1"]) == 0
    assert json.loads((out / "config.json").read_text())["shared_negatives"] is False


def test_loss_stays_finite_when_every_target_is_at_the_probability_floor():
    """30 negatives all given probability ~0 (clamped to 1e-12): 1e-12**31 per example would
    underflow a per-example product; the kernel folds target by target."""
    V, D, negative = 40, 8, 30
    corpus = np.arange(200, dtype=np.int32) % V
    prob, alias = alias_table(np.full(V, 1.0 / V))
    W_in, W_out = np.full((V, D), 10.0, np.float32), np.full((V, D), 10.0, np.float32)
    loss, pairs = np.zeros(2), np.zeros(2, dtype=np.int64)
    train_span(corpus, 0, 200, W_in, W_out, prob, alias, 2, negative, CBOW, 1e-9, 0.0, 1e6, np.uint64(5), 1,
               loss, pairs)
    per_example = loss.sum() / pairs.sum()
    assert np.isfinite(per_example) and per_example == pytest.approx(negative * -np.log(1e-12), rel=1e-3)
