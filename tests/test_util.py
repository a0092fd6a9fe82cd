import numpy as np
import pytest

import fastseq.reference.util as R
from fastseq import util as U


def test_preprocess_matches_book_example():
    corpus, w2i, i2w = U.preprocess("You say goodbye and I say hello.")
    np.testing.assert_array_equal(corpus, [0, 1, 2, 3, 4, 1, 5, 6])
    assert w2i == {"you": 0, "say": 1, "goodbye": 2, "and": 3, "i": 4, "hello": 5, ".": 6}
    assert i2w[6] == "."


def _contexts_loop(corpus, w):
    contexts = [[corpus[i + k] for k in range(-w, w + 1) if k] for i in range(w, len(corpus) - w)]
    return np.array(contexts), corpus[w:-w]


@pytest.mark.parametrize("window", [1, 2, 3])
def test_create_contexts_target_matches_book_loop(rng, window):
    corpus = rng.integers(0, 20, 30)
    got, want = U.create_contexts_target(corpus, window), _contexts_loop(corpus, window)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    with pytest.raises(ValueError, match="window_size must be"):
        U.create_contexts_target(corpus, 0)


def test_convert_one_hot():
    oh = U.convert_one_hot(np.array([[0, 2], [1, 1]]), 3)
    assert oh.dtype == np.int32 and oh.shape == (2, 2, 3)
    np.testing.assert_array_equal(oh.argmax(-1), [[0, 2], [1, 1]])
    assert oh.sum() == 4


def test_clip_grads_matches_reference(rng):
    grads = [rng.standard_normal((30, 4)).astype(np.float32), rng.standard_normal(7).astype(np.float32)]
    ref = [g.copy() for g in grads]
    U.clip_grads(grads, 0.5)
    R.clip_grads(ref, 0.5)
    for a, b in zip(grads, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    assert np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads)) == pytest.approx(0.5, rel=1e-5)
    small = [np.full(3, 1e-3, np.float32)]
    U.clip_grads(small, 10.0)
    np.testing.assert_array_equal(small[0], np.float32(1e-3))  # under the limit: untouched


def test_remove_duplicate_folds_shared_and_tied_weights(rng):
    W = rng.standard_normal((5, 3))
    b = rng.standard_normal(5)
    gW1, gW2, gT, gb = (rng.standard_normal(s) for s in [(5, 3), (5, 3), (3, 5), (5,)])
    params = [W, W, W.T, b]
    grads = [gW1.copy(), gW2.copy(), gT.copy(), gb.copy()]
    ref_grads = [g.copy() for g in grads]
    p, g = U.remove_duplicate(params, grads)
    rp, rg = R.remove_duplicate(params, ref_grads)
    assert len(p) == len(rp) == 2 and p[0] is W and p[1] is b
    np.testing.assert_allclose(g[0], gW1 + gW2 + gT.T)
    np.testing.assert_allclose(g[0], rg[0])
    assert len(params) == 4  # the caller's list is untouched


def test_remove_duplicate_keeps_distinct_arrays_with_equal_values():
    A, B = np.zeros((2, 3)), np.zeros((3, 2))
    p, _ = U.remove_duplicate([A, B], [np.ones((2, 3)), np.ones((3, 2))])
    assert len(p) == 2


class _UnigramModel:
    """Predicts the corpus' unigram distribution whatever the input: perplexity = exp(entropy)."""

    def __init__(self, probs):
        self.logp = np.log(probs)
        self.calls = []

    def forward(self, xs, ts, train_flg=True):
        self.calls.append((xs.copy(), ts.copy(), train_flg))
        return -self.logp[ts].mean()


def test_eval_perplexity_batches_like_the_book(rng):
    corpus = rng.integers(0, 4, 1000)
    probs = np.bincount(corpus, minlength=4) / len(corpus)
    model = _UnigramModel(probs)
    ppl = U.eval_perplexity(model, corpus, batch_size=5, time_size=7)
    max_iters = 999 // 35
    assert len(model.calls) == max_iters and all(c[2] is False for c in model.calls)
    jump = 999 // 5
    xs, ts, _ = model.calls[3]
    for i in range(5):
        for t in range(7):
            assert xs[i, t] == corpus[(3 * 7 + i * jump + t) % 1000]
            assert ts[i, t] == corpus[(3 * 7 + i * jump + t + 1) % 1000]
    want = np.exp(np.mean([-model.logp[c[1]].mean() for c in model.calls]))
    assert ppl == pytest.approx(want)


def test_most_similar_and_analogy_print_like_the_book(capsys):
    w2i = {"a": 0, "b": 1, "c": 2, "d": 3}
    i2w = {v: k for k, v in w2i.items()}
    M = np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0]], np.float32)
    U.most_similar("a", w2i, i2w, M, top=2)
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "[query] a" and out[2].startswith(" b: ") and out[3].startswith(" c: ")
    U.most_similar("zzz", w2i, i2w, M)
    assert "zzz is not found" in capsys.readouterr().out
    U.analogy("a", "b", "c", w2i, i2w, M.copy(), top=1)
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "[analogy] a:b = c:?" and out[2].startswith(" d: ")


def _book_most_similar(query, word_to_id, id_to_word, word_matrix, top):
    """The book's chapter 2 loop, printed the same way."""
    q = word_matrix[word_to_id[query]]
    similarity = np.array([U.cos_similarity(word_matrix[i], q) for i in range(len(id_to_word))])
    lines, count = ["", "[query] " + query], 0
    for i in (-1 * similarity).argsort():
        if id_to_word[i] == query:
            continue
        lines.append(" %s: %s" % (id_to_word[i], similarity[i]))
        count += 1
        if count >= top:
            break
    return lines


def test_most_similar_ranks_and_prints_as_the_books_loop(capsys, rng):
    M = rng.standard_normal((60, 8)).astype(np.float32)
    i2w = {i: f"w{i}" for i in range(60)}
    w2i = {w: i for i, w in i2w.items()}
    for query in ("w0", "w17", "w59"):
        U.most_similar(query, w2i, i2w, M, top=7)
        got = capsys.readouterr().out.splitlines()
        want = _book_most_similar(query, w2i, i2w, M, 7)
        assert [line.split(":")[0] for line in got] == [line.split(":")[0] for line in want]
        for g, w in zip(got[2:], want[2:]):
            assert float(g.split(": ")[1]) == pytest.approx(float(w.split(": ")[1]), abs=1e-6)


def test_nearest_excludes_ids_and_nan_and_sorts_best_first():
    from fastseq.vectors import nearest
    scores = np.array([0.5, np.nan, 0.9, -1.0, 0.7, 0.9])
    assert nearest(scores, {2}, 3) == [(5, 0.9), (4, 0.7), (0, 0.5)]
    assert nearest(scores, (), 10) == [(2, 0.9), (5, 0.9), (4, 0.7), (0, 0.5), (3, -1.0)]
    assert nearest(scores, {0, 2, 3, 4, 5}, 2) == [] and nearest(scores, (), 0) == []
