"""The book's ``common/util``: text preprocessing, similarity, gradient helpers, evaluation.

Vectorised where the book loops in Python; printed output keeps the book's format and scores.
``most_similar`` and ``analogy`` print the book's scores (cosine with the book's eps; for
analogies, raw rows against the unit query) in the book's order (a full argsort, which decides
how equal scores are listed); ``KeyedVectors`` ranks with a partial sort instead.
``create_co_matrix`` and ``ppmi`` come from ``fastseq.count``, imported when first used.
"""
import os
import sys

import numpy as np

from fastseq import kernels
from fastseq._lang import phrase
from fastseq._progress import progress_bar
from fastseq._validate import flat_view


def tokenize(text, sep=None):
    """fastseq's one tokeniser: the words of ``text``, lower-cased, with ``.`` split off as a
    word of its own, split on ``sep``. ``sep=None`` (corpus files) splits on any run of white
    space, line breaks included; the book's ``preprocess`` splits on single spaces (" ")."""
    return text.lower().replace(".", " .").split(sep)


def word_ids(words, dtype=None):
    """``(corpus int array, word_to_id, id_to_word)`` of a word list, ids in order of first
    appearance."""
    word_to_id = {}
    for word in words:
        word_to_id.setdefault(word, len(word_to_id))
    id_to_word = {i: w for w, i in word_to_id.items()}
    corpus = np.array([word_to_id[w] for w in words], dtype=dtype)
    return corpus, word_to_id, id_to_word


def preprocess(text):
    """The book's preprocessing: ``tokenize(text, " ")`` → ``(corpus int array, word_to_id,
    id_to_word)`` with ids in order of first appearance."""
    return word_ids(tokenize(text, " "))


def cos_similarity(x, y, eps=1e-8):
    """Cosine similarity of two vectors, ``eps`` added to each norm."""
    nx = x / (np.sqrt(np.sum(x ** 2)) + eps)
    ny = y / (np.sqrt(np.sum(y ** 2)) + eps)
    return np.dot(nx, ny)


def _cos_all(word_matrix, query_vec, eps=1e-8):
    """cos_similarity of every row of word_matrix with query_vec (V,) float64. float32/float64
    rows go through one matrix product; float16 rows (the book's pickled vectors) are computed
    row by row in float16, as the book does, so the printed scores are the book's."""
    if word_matrix.dtype == np.float16:
        return np.array([cos_similarity(row, query_vec, eps) for row in word_matrix], dtype=np.float64)
    norms = np.sqrt(np.sum(word_matrix.astype(np.float64) ** 2, axis=1)) + eps
    q = query_vec / (np.sqrt(np.sum(query_vec.astype(np.float64) ** 2)) + eps)
    return (word_matrix @ q) / norms


def _print_ranked(similarity, id_to_word, skip_words, top, skip_nan):
    """Print `` word: score`` for the ``top`` best ids in the book's order: a full descending
    argsort of ``similarity`` (so equal scores come out as the book prints them), the words in
    ``skip_words`` (and NaN scores if ``skip_nan``) left out."""
    count = 0
    for i in (-1 * similarity).argsort():
        if (skip_nan and np.isnan(similarity[i])) or id_to_word[i] in skip_words:
            continue
        print(" {0}: {1}".format(id_to_word[i], similarity[i]))
        count += 1
        if count >= top:
            return


def most_similar(query, word_to_id, id_to_word, word_matrix, top=5):
    """Print the ``top`` words most cosine-similar to ``query`` (the query itself excluded)."""
    if query not in word_to_id:
        print(phrase("not_found") % query)
        return
    print("\n[query] " + query)
    similarity = _cos_all(word_matrix[:len(id_to_word)], word_matrix[word_to_id[query]])
    _print_ranked(similarity, id_to_word, (query,), top, skip_nan=False)


def convert_one_hot(corpus, vocab_size):
    """Ids (N,) or (N, C) → one-hot int32 (N, V) or (N, C, V)."""
    corpus = np.asarray(corpus)
    if corpus.ndim not in (1, 2):
        raise ValueError(f"convert_one_hot: corpus must be 1-D or 2-D, got shape {corpus.shape}")
    one_hot = np.zeros(corpus.shape + (vocab_size,), dtype=np.int32)
    np.put_along_axis(one_hot, corpus[..., None], 1, axis=-1)
    return one_hot


def create_contexts_target(corpus, window_size=1):
    """``(contexts (N, 2*window), target (N,))`` from a 1-D id corpus, without a Python loop."""
    corpus = np.asarray(corpus)
    if window_size < 1:
        raise ValueError(f"create_contexts_target: window_size must be ≥ 1, got {window_size}")
    if corpus.ndim != 1 or corpus.size < 2 * window_size + 1:
        raise ValueError("create_contexts_target: corpus must be 1-D and longer than 2*window_size, "
                         f"got shape {corpus.shape}")
    windows = np.lib.stride_tricks.sliding_window_view(corpus, 2 * window_size + 1)
    contexts = np.delete(windows, window_size, axis=1)
    target = corpus[window_size:-window_size]
    return contexts, target


def normalize(x):
    """Scale ``x`` (a vector, or the rows of a matrix) to unit L2 norm, in place; returns x."""
    if x.ndim == 2:
        s = np.sqrt((x * x).sum(1))
        x /= s.reshape((s.shape[0], 1))
    elif x.ndim == 1:
        s = np.sqrt((x * x).sum())
        x /= s
    return x


def analogy(a, b, c, word_to_id, id_to_word, word_matrix, top=5, answer=None):
    """Print the words closest to ``b - a + c`` (3CosAdd), the three query words excluded."""
    for word in (a, b, c):
        if word not in word_to_id:
            print(phrase("not_found") % word)
            return
    print("\n[analogy] " + a + ":" + b + " = " + c + ":?")
    a_vec, b_vec, c_vec = (word_matrix[word_to_id[w]] for w in (a, b, c))
    query_vec = normalize(b_vec - a_vec + c_vec)
    similarity = np.dot(word_matrix, query_vec)
    if answer is not None:
        print("==>" + answer + ":" + str(np.dot(word_matrix[word_to_id[answer]], query_vec)))
    _print_ranked(similarity, id_to_word, (a, b, c), top, skip_nan=True)


def clip_grads(grads, max_norm):
    """Scale every gradient in place by ``max_norm / (norm + 1e-6)`` when that is below 1, where
    norm is the global L2 norm of all of them (sum of squares in float64, one pass each)."""
    views = []
    for i, g in enumerate(grads):
        gv = flat_view(g)
        if gv is None:
            raise ValueError(f"clip_grads: grads[{i}] (shape {g.shape}) must be contiguous")
        views.append(gv)
    total_norm = np.sqrt(sum(kernels.optim.sum_of_squares(gv) for gv in views))
    rate = max_norm / (total_norm + 1e-6)
    if rate < 1:
        for gv in views:
            kernels.optim.scale_inplace(gv, gv.dtype.type(rate))


def same_memory_transposed(a, b):
    """True when b is a's transpose over the same memory (weight tying: ``W.T`` passed as a weight)."""
    return (a.ndim == 2 and b.ndim == 2 and b.shape == a.shape[::-1] and b.strides == a.strides[::-1]
            and a.__array_interface__["data"][0] == b.__array_interface__["data"][0])


def _is_zero_view(g):
    """True for a read-only zero-stride array holding 0 (see ``zero_grad_view``)."""
    return (isinstance(g, np.ndarray) and g.size > 0 and not g.flags.writeable
            and all(stride == 0 for stride in g.strides) and g.flat[0] == 0)


def remove_duplicate(params, grads):
    """Fold shared parameters into one entry each, adding their gradients in place.

    Two entries are folded when they are the same object, or one is the transpose of the other
    over the same memory (``TimeAffine(embed_W.T, b)``). The book also folds distinct arrays
    that merely hold transposed-equal values; that case cannot arise from weight sharing and is
    not folded here. A gradient that is a read-only all-zero view (``zero_grad_view``, used by
    the fused word2vec layers for their extra entries) adds nothing and costs nothing.
    Returns new lists; the input lists are unchanged.
    """
    params, grads = list(params), list(grads)
    keep_p, keep_g = [], []
    for p, g in zip(params, grads):
        transposed_shape = p.shape[::-1] if p.ndim == 2 else None     # only a 2-D entry can be a transpose
        for k, q in enumerate(keep_p):
            if p is q:
                if _is_zero_view(keep_g[k]):
                    keep_g[k] = np.array(g)
                elif not _is_zero_view(g):
                    keep_g[k] += g
                break
            if transposed_shape is not None and q.shape == transposed_shape and same_memory_transposed(q, p):
                if not _is_zero_view(g):
                    keep_g[k] += g.T
                break
        else:
            keep_p.append(p)
            keep_g.append(g)
    return keep_p, keep_g


def eval_perplexity(model, corpus, batch_size=10, time_size=35):
    """Perplexity of ``model`` on a 1-D id corpus: ``batch_size`` streams at evenly spaced offsets,
    ``time_size`` steps per call, ``model.forward(xs, ts, train_flg=False)`` (or without the flag).
    Prints the book's header line and, after the progress bar (on stderr), its closing blank line."""
    corpus = np.asarray(corpus)
    corpus_size = len(corpus)
    max_iters = (corpus_size - 1) // (batch_size * time_size)
    if max_iters < 1:
        raise ValueError(f"eval_perplexity: corpus of {corpus_size} ids is shorter than one batch "
                         f"({batch_size} x {time_size} + 1)")
    jump = (corpus_size - 1) // batch_size
    starts = np.arange(batch_size)[:, None] * jump + np.arange(time_size)[None, :]
    total_loss = 0.0
    print(phrase("evaluating_perplexity"))
    for iters in progress_bar(range(max_iters), desc="perplexity", unit="batch", leave=False, file=sys.stderr):
        pos = starts + iters * time_size
        xs = corpus[pos % corpus_size].astype(np.int32)
        ts = corpus[(pos + 1) % corpus_size].astype(np.int32)
        try:
            loss = model.forward(xs, ts, train_flg=False)
        except TypeError:
            loss = model.forward(xs, ts)
        total_loss += loss
    print("")
    return float(np.exp(total_loss / max_iters))


def eval_seq2seq(model, question, correct, id_to_char, verbose=False, is_reverse=False, *,
                 verbos=None):
    """1 if ``model.generate`` reproduces ``correct`` (whose first id is the start id) else 0;
    prints question / answer / guess when ``verbose`` (the book spells it ``verbos``; both work)."""
    if verbos is not None:
        verbose = verbos
    correct = np.asarray(correct).flatten()
    start_id = correct[0]
    correct = correct[1:]
    guess = model.generate(question, start_id, len(correct))
    question = "".join(id_to_char[int(c)] for c in np.asarray(question).flatten())
    correct = "".join(id_to_char[int(c)] for c in correct)
    guess = "".join(id_to_char[int(c)] for c in guess)
    if verbose:
        if is_reverse:
            question = question[::-1]
        ok, fail, close = "\033[92m", "\033[91m", "\033[0m"
        windows = os.name == "nt"
        print("Q", question)
        print("T", correct)
        if correct == guess:
            print(("O" if windows else ok + "☑" + close) + " " + guess)
        else:
            print(("X" if windows else fail + "☒" + close) + " " + guess)
        print("---")
    return 1 if guess == correct else 0


def to_cpu(x):
    """The book's GPU helper; fastseq runs on the CPU, so arrays pass through unchanged."""
    return np.asarray(x)


def to_gpu(x):
    """The book's GPU helper; fastseq has no GPU mode."""
    raise RuntimeError("to_gpu: fastseq runs on the CPU only; set GPU = False in common/config.py")


# served from fastseq.count (numba, SciPy), imported on first use by __getattr__
_FROM_COUNT = ("create_co_matrix", "ppmi")
__all__ = ["preprocess", "cos_similarity", "most_similar", "convert_one_hot", *_FROM_COUNT,
           "create_contexts_target", "normalize", "analogy", "clip_grads", "remove_duplicate",
           "eval_perplexity", "eval_seq2seq", "to_cpu", "to_gpu"]


def __getattr__(name):
    """``create_co_matrix`` and ``ppmi``, from ``fastseq.count`` on first use."""
    if name in _FROM_COUNT:
        from fastseq import count
        return getattr(count, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
