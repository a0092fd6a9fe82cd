"""Word vectors keyed by word: similarity queries, analogies, evaluation, saving.

``KeyedVectors(vectors (V, D), words)`` where ``words`` is the id → word list (or the book's
``id_to_word`` dict). Cosine similarity throughout; analogies by 3CosAdd (the word closest to
b - a + c on unit vectors, a, b and c excluded), as word2vec's ``compute-accuracy`` scores them.
"""
import numpy as np

from fastseq.datasets import evaluation
from fastseq.runs import atomic_write, savez

__all__ = ["KeyedVectors", "nearest"]


def nearest(scores, exclude=(), topn=10):
    """The ``topn`` ids with the highest ``scores`` (V,), best first, leaving out the ids in
    ``exclude`` and NaN scores: [(id, score)]; equal scores in id order. One partial sort, not a
    sort of all V scores."""
    scores = np.array(scores, dtype=np.float64)
    scores[np.isnan(scores)] = -np.inf
    keep = np.ones(scores.shape[0], dtype=bool)
    keep[list(exclude)] = False
    keep &= scores > -np.inf
    candidates = np.flatnonzero(keep)
    topn = min(topn, candidates.size)
    if topn <= 0:
        return []
    best = candidates[np.argpartition(-scores[candidates], topn - 1)[:topn]]
    best = best[np.lexsort((best, -scores[best]))]            # ties: the lower id first
    return [(int(i), float(scores[i])) for i in best]


class KeyedVectors:
    """Vectors (V, D) float with one word per row."""

    def __init__(self, vectors, words):
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or vectors.dtype.kind != "f":
            raise ValueError(f"KeyedVectors: vectors must be a 2-D float array, got {vectors.dtype} {vectors.shape}")
        if isinstance(words, dict):
            words = [words[i] for i in range(len(words))]
        words = [str(w) for w in words]
        if len(words) != vectors.shape[0]:
            raise ValueError(f"KeyedVectors: {len(words)} words for {vectors.shape[0]} vectors")
        self.vectors = vectors
        self.id_to_word = words
        self.word_to_id = {w: i for i, w in enumerate(words)}
        if len(self.word_to_id) != len(words):
            raise ValueError("KeyedVectors: words must be distinct")
        norms = np.linalg.norm(vectors.astype(np.float64), axis=1, keepdims=True)
        self._unit = (vectors / np.where(norms > 0, norms, 1)).astype(np.float32)

    def __len__(self):
        return len(self.id_to_word)

    def __contains__(self, word):
        return word in self.word_to_id

    def __getitem__(self, word):
        return self.vectors[self._id(word)]

    def _id(self, word):
        try:
            return self.word_to_id[word]
        except KeyError:
            raise KeyError(f"KeyedVectors: {word!r} is not in the vocabulary") from None

    def similarity(self, word1, word2):
        """Cosine similarity of two words."""
        return float(self._unit[self._id(word1)] @ self._unit[self._id(word2)])

    def _top(self, query, exclude, topn):
        scores = self._unit @ (query / max(np.linalg.norm(query), 1e-12))
        return [(self.id_to_word[i], score) for i, score in nearest(scores, exclude, topn)]

    def most_similar(self, word, topn=10):
        """The ``topn`` words most cosine-similar to ``word`` (itself excluded): [(word, cos)]."""
        i = self._id(word)
        return self._top(self._unit[i].astype(np.float64), {i}, topn)

    def analogy(self, a, b, c, topn=1):
        """a : b = c : ?  — the ``topn`` words closest to unit(b) - unit(a) + unit(c), a, b, c excluded."""
        ia, ib, ic = self._id(a), self._id(b), self._id(c)
        query = self._unit[ib].astype(np.float64) - self._unit[ia] + self._unit[ic]
        return self._top(query, {ia, ib, ic}, topn)

    def evaluate_similarity(self, file=None):
        """Spearman correlation between cosine similarities and human scores over the pairs with
        both words in the vocabulary (WordSim-353 by default): ``{"spearman", "pairs", "skipped"}``."""
        pairs = evaluation.load_word_pairs(file)
        known = [(a, b, s) for a, b, s in pairs if a in self and b in self]
        if len(known) < 2:
            raise ValueError(f"evaluate_similarity: only {len(known)} of {len(pairs)} pairs are in the vocabulary")
        from scipy.stats import spearmanr      # here, not at import: fastseq.util imports this module

        ours = [self.similarity(a, b) for a, b, _ in known]
        rho = spearmanr(ours, [s for _, _, s in known]).statistic
        return {"spearman": float(rho), "pairs": len(known), "skipped": len(pairs) - len(known)}

    def evaluate_analogies(self, file=None, batch_size=512):
        """3CosAdd accuracy over the questions whose four words are in the vocabulary
        (questions-words.txt by default): ``{"accuracy", "correct", "total", "skipped",
        "sections": {name: (correct, total)}}``."""
        sections = evaluation.load_analogies(file)
        result = {"sections": {}, "correct": 0, "total": 0, "skipped": 0}
        for name, questions in sections.items():
            ids = np.array([[self.word_to_id[w] for w in q] for q in questions if all(w in self for w in q)],
                           dtype=np.int64).reshape(-1, 4)
            result["skipped"] += len(questions) - len(ids)
            correct = 0
            for start in range(0, len(ids), batch_size):
                block = ids[start:start + batch_size]
                queries = self._unit[block[:, 1]] - self._unit[block[:, 0]] + self._unit[block[:, 2]]
                scores = queries @ self._unit.T
                rows = np.arange(len(block))[:, None]
                scores[rows, block[:, :3]] = -np.inf
                correct += int(np.sum(scores.argmax(axis=1) == block[:, 3]))
            result["sections"][name] = (correct, len(ids))
            result["correct"] += correct
            result["total"] += len(ids)
        result["accuracy"] = result["correct"] / result["total"] if result["total"] else 0.0
        return result

    def save(self, path):
        """Write ``.npz`` (vectors and words), atomically (temp file + rename)."""
        savez(path, self._arrays(), finite=False)

    def _arrays(self):
        return {"vectors": self.vectors, "words": np.array(self.id_to_word)}

    def save_to_run(self, run):
        """Write ``vectors.npz`` and ``vectors.txt`` (the word2vec text format) into a
        ``fastseq.runs.RunFolder``; vectors holding NaN or inf are refused before either."""
        run.save_arrays("vectors.npz", self._arrays())
        self.save_word2vec_format(run.file("vectors.txt"))

    @classmethod
    def load(cls, path):
        """Read a file written by ``save``."""
        with np.load(path, allow_pickle=False) as z:
            return cls(z["vectors"], list(z["words"]))

    def save_word2vec_format(self, path):
        """Write the word2vec text format: a ``V D`` header, then ``word v1 ... vD`` per line.
        A word that the format cannot hold (empty, or with a space, tab or line break) is
        refused before anything is written."""
        for word in self.id_to_word:
            if not word or any(ch.isspace() for ch in word):
                raise ValueError(f"KeyedVectors.save_word2vec_format: the word {word!r} is empty or holds "
                                 "white space, which the word2vec text format cannot store (use save: .npz)")

        def write(f):
            f.write(f"{len(self)} {self.vectors.shape[1]}\n".encode())
            for word, vec in zip(self.id_to_word, self.vectors):
                f.write((word + " " + " ".join(f"{x:.6g}" for x in vec) + "\n").encode("utf-8"))
        atomic_write(path, write)

    @classmethod
    def load_word2vec_format(cls, path):
        """Read the word2vec text format (also as the original C tool writes it, with a space
        before each line end)."""
        where = f"KeyedVectors.load_word2vec_format: {path}"
        with open(path, encoding="utf-8") as f:
            header = f.readline().split()
            if len(header) != 2 or not all(h.isdigit() for h in header):
                raise ValueError(f"{where}: first line must be 'count dim', got {' '.join(header)!r}")
            count, dim = int(header[0]), int(header[1])
            words, vectors = [], np.empty((count, dim), dtype=np.float32)
            for i in range(count):
                parts = f.readline().rstrip("\r\n").rstrip(" ").split(" ")
                if len(parts) != dim + 1:
                    raise ValueError(f"{where}:{i + 2}: expected a word and {dim} numbers, got {len(parts) - 1}")
                words.append(parts[0])
                try:
                    vectors[i] = np.array(parts[1:], dtype=np.float32)
                except ValueError:
                    raise ValueError(f"{where}:{i + 2}: the {dim} values are not all numbers") from None
        return cls(vectors, words)
