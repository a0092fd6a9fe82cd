"""KeyedVectors: queries, analogies, evaluation against hand-made files, saving and loading."""
import numpy as np
import pytest
from scipy.stats import rankdata

from fastseq.datasets import evaluation
from fastseq.vectors import KeyedVectors

WORDS = ["king", "queen", "man", "woman", "apple", "car"]
VECS = np.array([[1, 1, 0], [1, -1, 0], [0, 1, 0.1], [0, -1, 0.1], [0, 0, 1], [0.3, 0, 1]], dtype=np.float32)


@pytest.fixture
def kv():
    return KeyedVectors(VECS, WORDS)


def test_similarity_and_most_similar(kv):
    unit = VECS / np.linalg.norm(VECS, axis=1, keepdims=True)
    assert kv.similarity("king", "man") == pytest.approx(float(unit[0] @ unit[2]), rel=1e-6)
    top = kv.most_similar("apple", topn=2)
    assert top[0][0] == "car" and all(w != "apple" for w, _ in top)
    assert [s for _, s in top] == sorted([s for _, s in top], reverse=True)
    with pytest.raises(KeyError, match="'pear' is not in the vocabulary"):
        kv.most_similar("pear")


def test_analogy_excludes_the_query_words(kv):
    # king - man + woman: nearest is queen; king itself (closest before exclusion) is excluded
    assert kv.analogy("man", "king", "woman")[0][0] == "queen"
    assert {w for w, _ in kv.analogy("man", "king", "woman", topn=10)}.isdisjoint({"man", "king", "woman"})


def test_evaluation_files(kv, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text(": royal\nMan King Woman Queen\nman king woman apple\nman king woman pear\n: other\nking queen apple car\n")
    result = kv.evaluate_analogies(questions)
    assert result["sections"]["royal"] == (1, 2) and result["skipped"] == 1
    assert result["total"] == 3 and result["accuracy"] == pytest.approx(result["correct"] / 3)
    pairs = tmp_path / "ws.tsv"
    pairs.write_text("# comment\nking\tqueen\t8\nking\tapple\t1\napple\tcar\t9\nking\tpear\t3\n")
    sim = kv.evaluate_similarity(pairs)
    assert sim["pairs"] == 3 and sim["skipped"] == 1
    ours = [kv.similarity("king", "queen"), kv.similarity("king", "apple"), kv.similarity("apple", "car")]
    expected = np.corrcoef(rankdata(ours), [2, 1, 3])[0, 1]        # Pearson of (tie-averaged) ranks
    assert sim["spearman"] == pytest.approx(expected)
    bad = tmp_path / "bad.tsv"
    bad.write_text("king queen\n")
    with pytest.raises(ValueError, match="bad.tsv:1: expected 'word1<TAB>word2<TAB>score'"):
        kv.evaluate_similarity(bad)


def test_packaged_evaluation_sets_load():
    sections = evaluation.load_analogies()
    assert len(sections) == 14 and sum(len(q) for q in sections.values()) == 19544
    assert sections["capital-common-countries"][0] == ("athens", "greece", "baghdad", "iraq")
    pairs = evaluation.load_word_pairs()
    assert len(pairs) == 353 and pairs[0] == ("love", "sex", 6.77)


def test_save_and_load_round_trip(kv, tmp_path):
    kv.save(tmp_path / "v.npz")
    back = KeyedVectors.load(tmp_path / "v.npz")
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    assert back.id_to_word == WORDS
    kv.save_word2vec_format(tmp_path / "v.txt")
    assert (tmp_path / "v.txt").read_text().splitlines()[0] == "6 3"
    back = KeyedVectors.load_word2vec_format(tmp_path / "v.txt")
    np.testing.assert_allclose(back.vectors, kv.vectors, rtol=1e-5)
    assert back.id_to_word == WORDS


def test_bad_construction():
    with pytest.raises(ValueError, match="5 words for 6 vectors"):
        KeyedVectors(VECS, WORDS[:5])
    with pytest.raises(ValueError, match="words must be distinct"):
        KeyedVectors(VECS, WORDS[:5] + ["king"])
    with pytest.raises(ValueError, match="vectors must be a 2-D float array"):
        KeyedVectors(VECS.astype(int), WORDS)
