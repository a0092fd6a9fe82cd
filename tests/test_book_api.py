"""Every public name of the book's modules, compared with what the drop-in serves under that name.

The book's modules are imported in this process from ``$FASTSEQ_BOOK_DIR`` (then taken out of
``sys.modules`` again); fastseq's are the ones ``fastseq.dropin.MODULES`` serves. Each class is
built with the book's positional arguments on both sides, fed the same random inputs (NumPy
seeded the same before every call, in "book" draw mode), and compared after every call: the
returned values, ``params`` and ``grads``, and every array or number attribute the book's object
has. Layers run in float32 and float64; the models build float32 weights, as the book's do.

Tolerances: float64 results within 1e-9 relative; float32 within 1e-4 relative to the largest
magnitude of the compared array (kernels sum in another order than NumPy's pairwise sums and
BLAS, and a float32 gradient summed over a few hundred terms moves by a few 1e-6 of its
largest entry), with at least 1e-6 absolute. Where the book itself rounds a float64
computation to float32 (its time layers write into ``dtype='f'`` buffers), the float32
tolerance applies; fastseq keeps float64 there.
"""
import ast
import contextlib
import importlib
import io
import os
import sys

import numpy as np
import pytest

import book_oracle
from fastseq import dropin
from fastseq._draws import get_draws, set_draws
from fastseq._lang import get_language, set_language

BOOK_MODULES = {
    "common.layers": "common/layers.py", "common.time_layers": "common/time_layers.py",
    "common.functions": "common/functions.py", "common.optimizer": "common/optimizer.py",
    "common.trainer": "common/trainer.py", "common.util": "common/util.py",
    "common.base_model": "common/base_model.py",
    "ch04.negative_sampling_layer": "ch04/negative_sampling_layer.py",
    "ch03.simple_cbow": "ch03/simple_cbow.py", "ch03.simple_skip_gram": "ch03/simple_skip_gram.py",
    "ch04.cbow": "ch04/cbow.py", "ch04.skip_gram": "ch04/skip_gram.py",
    "ch05.simple_rnnlm": "ch05/simple_rnnlm.py", "ch06.rnnlm": "ch06/rnnlm.py",
    "ch06.better_rnnlm": "ch06/better_rnnlm.py", "ch07.rnnlm_gen": "ch07/rnnlm_gen.py",
    "ch07.seq2seq": "ch07/seq2seq.py", "ch07.peeky_seq2seq": "ch07/peeky_seq2seq.py",
    "ch08.attention_layer": "ch08/attention_layer.py",
    "ch08.attention_seq2seq": "ch08/attention_seq2seq.py",
}


@pytest.fixture(scope="module")
def book():
    """{module name: the book's module object}, imported from the book checkout."""
    root = book_oracle.book_dir()
    os.environ.setdefault("MPLBACKEND", "Agg")
    if not hasattr(np, "int"):
        np.int = int            # removed in NumPy 2; the book's dataset/spiral.py uses it
    saved_path, before = list(sys.path), set(sys.modules)
    sys.path[:0] = [str(root)] + sorted(str(p) for p in root.glob("ch0*"))
    try:
        modules = {name: importlib.import_module(name) for name in BOOK_MODULES}
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - before:
            if not name.startswith(("fastseq", "numpy", "matplotlib", "PIL", "scipy")):
                del sys.modules[name]
    return modules


def served(module_name, attr):
    """What ``from <module_name> import <attr>`` gives under the drop-in."""
    return getattr(importlib.import_module(dropin.MODULES[module_name]), attr)


def public_names(module_name):
    root = book_oracle.book_dir()
    tree = ast.parse((root / BOOK_MODULES[module_name]).read_text(encoding="utf-8"))
    return [n.name for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")]


def test_every_public_name_of_the_book_is_served():
    missing = []
    for module_name in BOOK_MODULES:
        for name in public_names(module_name):
            try:
                served(module_name, name)
            except (AttributeError, ImportError):
                missing.append(f"{module_name}.{name}")
    assert not missing, "names of the book that the drop-in does not serve: " + ", ".join(missing)


# ---------------------------------------------------------------------------------------------
# Comparison machinery

def _tol(a, dtype):
    if np.dtype(dtype) == np.float64:
        return dict(rtol=1e-9, atol=1e-12)
    scale = float(np.max(np.abs(a))) if np.size(a) else 0.0
    return dict(rtol=0, atol=max(1e-4 * scale, 1e-6))


def assert_same(got, want, what, dtype=np.float32):
    """``got`` (fastseq) equals ``want`` (the book) within the tolerance of a computation in
    ``dtype`` (see the module docstring)."""
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want), \
            f"{what}: {type(got).__name__} of {len(got) if hasattr(got, '__len__') else '?'}, book has {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{what}[{i}]", dtype)
        return
    if want is None:
        assert got is None, f"{what}: fastseq returned {type(got).__name__}, the book None"
        return
    want_a, got_a = np.asarray(want), np.asarray(got)
    assert got_a.shape == want_a.shape, f"{what}: shape {got_a.shape}, the book's {want_a.shape}"
    if want_a.dtype.kind in "iub":
        assert np.array_equal(got_a, want_a), f"{what}: {got_a} != the book's {want_a}"
        return
    assert got_a.dtype.kind == "f", f"{what}: dtype {got_a.dtype}, the book's {want_a.dtype}"
    if want_a.dtype == np.float32:
        dtype = np.float32          # the book rounded this result to float32 (its time layers do)
    np.testing.assert_allclose(got_a.astype(np.float64), want_a.astype(np.float64), **_tol(want_a, dtype),
                               err_msg=what)


# fastseq's fused word2vec layers keep the book's params layout, but a shared weight's whole
# gradient sits in its first grads entry and the other entries are read-only zeros (the book
# spreads the same sum over one array per context or per negative). What an optimizer sees,
# the grads after remove_duplicate, is compared for them instead.
FUSED = ("CBOW", "SkipGram", "NegativeSamplingLoss")


def assert_state_matches(fast, book_obj, what, dtype=np.float32, book_fold=None):
    """params, grads and every array/number attribute of the book's object."""
    for name, value in vars(book_obj).items():
        if name.startswith("_"):
            continue
        if name == "grads" and type(book_obj).__name__ in FUSED:
            folded = served("common.trainer", "remove_duplicate")
            assert_same(folded(fast.params, fast.grads)[1], book_fold(book_obj.params, value)[1],
                        f"{what}.grads after remove_duplicate", dtype)
        elif name in ("params", "grads"):
            assert_same(getattr(fast, name), value, f"{what}.{name}", dtype)
        elif isinstance(value, np.ndarray) or (isinstance(value, (int, float, np.number))
                                               and not isinstance(value, bool)):
            assert hasattr(fast, name), f"{what}: fastseq has no attribute {name!r}, the book has"
            assert_same(getattr(fast, name), value, f"{what}.{name}", dtype)


def copies(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


@contextlib.contextmanager
def language(lang):
    previous = get_language()
    set_language(lang)
    try:
        yield
    finally:
        set_language(previous)


@contextlib.contextmanager
def book_on_numpy2():
    """While the book's code runs: ``book_oracle.BOOK_SHIM`` (its rnnlm_gen calls ``int()`` on
    a one-element array from ``np.random.choice``, which NumPy 2 refuses), undone after."""
    choice = np.random.choice
    exec(book_oracle.BOOK_SHIM, {"numpy": np})
    try:
        yield
    finally:
        np.random.choice = choice


@contextlib.contextmanager
def book_draws():
    previous = get_draws()
    set_draws("book")
    try:
        yield
    finally:
        set_draws(previous)


def run_pair(book_cls, fast_cls, ctor, calls, what, dtype=np.float32, book_fold=None):
    """Build both with ``ctor`` (each side its own copies) and replay ``calls``: (method, args)
    pairs; NumPy is seeded the same before every call on both sides."""
    with book_draws():
        np.random.seed(7)
        b = book_cls(*copies(ctor))
        np.random.seed(7)
        f = fast_cls(*copies(ctor))
        assert_state_matches(f, b, f"{what} after construction", dtype, book_fold)
        for k, (method, args) in enumerate(calls):
            np.random.seed(100 + k)
            with book_on_numpy2():
                want = getattr(b, method)(*copies(args))
            np.random.seed(100 + k)
            got = getattr(f, method)(*copies(args))
            assert_same(got, want, f"{what}.{method} (call {k + 1})", dtype)
            assert_state_matches(f, b, f"{what} after {method} (call {k + 1})", dtype, book_fold)
    return b, f


# ---------------------------------------------------------------------------------------------
# Cases: (module, class, constructor arguments, calls), built for one float dtype.

def layer_cases(dt):
    rng = np.random.default_rng(3)
    N, T, D, H, V, C = 4, 5, 3, 6, 11, 7

    def r(*shape):
        return rng.standard_normal(shape).astype(dt)

    ids = rng.integers(0, V, N)
    ids[1] = ids[0]                                     # a repeated id: scatter-add must add
    labels = rng.integers(0, C, N)
    ts = rng.integers(0, V, (N, T))
    ts_ignored = ts.copy()
    ts_ignored[0, :2] = -1
    Wx, Wh, b = r(D, 4 * H), r(H, 4 * H), r(4 * H)
    return [
        ("common.layers", "MatMul", [r(D, C)], [("forward", [r(N, D)]), ("backward", [r(N, C)])]),
        ("common.layers", "Affine", [r(D, C), r(C)], [("forward", [r(N, D)]), ("backward", [r(N, C)])]),
        ("common.layers", "Softmax", [], [("forward", [r(N, C)]), ("backward", [r(N, C)])]),
        ("common.layers", "SoftmaxWithLoss", [], [("forward", [r(N, C), labels]), ("backward", [])]),
        ("common.layers", "SoftmaxWithLoss", [], [("forward", [r(N, C), np.eye(C, dtype=np.int32)[labels]]),
                                                  ("backward", [2.0])]),
        ("common.layers", "Sigmoid", [], [("forward", [r(N, C)]), ("backward", [r(N, C)])]),
        ("common.layers", "SigmoidWithLoss", [], [("forward", [r(N), rng.integers(0, 2, N)]), ("backward", [])]),
        ("common.layers", "Dropout", [0.3], [("forward", [r(N, C)]), ("backward", [r(N, C)]),
                                             ("forward", [r(N, C), False])]),
        ("common.layers", "Embedding", [r(V, D)], [("forward", [ids]), ("backward", [r(N, D)])]),
        ("common.time_layers", "RNN", [r(D, H), r(H, H), r(H)],
         [("forward", [r(N, D), r(N, H)]), ("backward", [r(N, H)])]),
        ("common.time_layers", "TimeRNN", [r(D, H), r(H, H), r(H), True],
         [("forward", [r(N, T, D)]), ("forward", [r(N, T, D)]), ("backward", [r(N, T, H)])]),
        ("common.time_layers", "LSTM", [Wx, Wh, b],
         [("forward", [r(N, D), r(N, H), r(N, H)]), ("backward", [r(N, H), r(N, H)])]),
        ("common.time_layers", "TimeLSTM", [Wx, Wh, b, True],
         [("forward", [r(N, T, D)]), ("forward", [r(N, T, D)]), ("backward", [r(N, T, H)])]),
        ("common.time_layers", "GRU", [r(D, 3 * H), r(H, 3 * H)],
         [("forward", [r(N, D), r(N, H)]), ("backward", [r(N, H)])]),
        ("common.time_layers", "TimeGRU", [r(D, 3 * H), r(H, 3 * H), True],
         [("forward", [r(N, T, D)]), ("forward", [r(N, T, D)]), ("backward", [r(N, T, H)])]),
        ("common.time_layers", "TimeEmbedding", [r(V, D)], [("forward", [ts]), ("backward", [r(N, T, D)])]),
        ("common.time_layers", "TimeAffine", [r(D, C), r(C)],
         [("forward", [r(N, T, D)]), ("backward", [r(N, T, C)])]),
        ("common.time_layers", "TimeSoftmaxWithLoss", [], [("forward", [r(N, T, V), ts_ignored]),
                                                          ("backward", [])]),
        ("common.time_layers", "TimeDropout", [0.5], [("forward", [r(N, T, D)]), ("backward", [r(N, T, D)])]),
        ("common.time_layers", "TimeBiLSTM", [Wx, Wh, b, r(D, 4 * H), r(H, 4 * H), r(4 * H)],
         [("forward", [r(N, T, D)]), ("backward", [r(N, T, 2 * H)])]),
        ("common.time_layers", "TimeSigmoidWithLoss", [], [("forward", [r(N, T), rng.integers(0, 2, (N, T))]),
                                                          ("backward", [])]),
        ("common.time_layers", "Simple_TimeSoftmaxWithLoss", [], [("forward", [r(N, T, V), ts]),
                                                                 ("backward", [])]),
        # the book's Simple_TimeAffine.backward reads Affine.dW, which does not exist: forward only
        ("common.time_layers", "Simple_TimeAffine", [r(D, C), r(C)], [("forward", [r(N, T, D)])]),
        ("ch04.negative_sampling_layer", "EmbeddingDot", [r(V, D)],
         [("forward", [r(N, D), ids]), ("backward", [r(N)])]),
        ("ch08.attention_layer", "WeightSum", [], [("forward", [r(N, T, H), r(N, T)]),
                                                   ("backward", [r(N, H)])]),
        ("ch08.attention_layer", "AttentionWeight", [], [("forward", [r(N, T, H), r(N, H)]),
                                                         ("backward", [r(N, T)])]),
        ("ch08.attention_layer", "Attention", [], [("forward", [r(N, T, H), r(N, H)]),
                                                   ("backward", [r(N, H)])]),
        ("ch08.attention_layer", "TimeAttention", [], [("forward", [r(N, T, H), r(N, 3, H)]),
                                                       ("backward", [r(N, 3, H)])]),
    ]


def _case_id(case):
    return f"{case[0]}.{case[1]}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", range(len(layer_cases(np.float32))))
def test_layer_equals_the_book(book, index, dtype):
    module, name, ctor, calls = layer_cases(dtype)[index]
    run_pair(getattr(book[module], name), served(module, name), ctor, calls,
             f"{module}.{name}[{np.dtype(dtype)}]", dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sigmoid", "relu", "softmax", "cross_entropy_error"])
def test_function_equals_the_book(book, name, dtype):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 7)).astype(dtype)
    fn_book, fn_fast = getattr(book["common.functions"], name), served("common.functions", name)
    if name == "cross_entropy_error":
        p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
        for t in (rng.integers(0, 7, 4), np.eye(7, dtype=np.int32)[rng.integers(0, 7, 4)]):
            assert_same(fn_fast(p.copy(), t), fn_book(p.copy(), t), name)
            assert_same(fn_fast(p[0].copy(), t[0]), fn_book(p[0].copy(), t[0]), name + " 1-D")
        return
    assert_same(fn_fast(x.copy()), fn_book(x.copy()), name)
    assert_same(fn_fast(x[0].copy()), fn_book(x[0].copy()), name + " 1-D")


@pytest.mark.parametrize("name", ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"])
def test_optimizer_equals_the_book(book, name):
    rng = np.random.default_rng(6)
    params = [rng.standard_normal((5, 4)).astype("f"), rng.standard_normal(4).astype("f")]
    grads = [[rng.standard_normal(p.shape).astype("f") for p in params] for _ in range(3)]
    ob, of = getattr(book["common.optimizer"], name)(), served("common.optimizer", name)()
    pb, pf = copies(params), copies(params)
    for g in grads:
        ob.update(pb, copies(g))
        of.update(pf, copies(g))
        assert_same(pf, pb, f"{name} params")
        assert_state_matches(of, ob, name)


def _capture(fn, *args, **kwargs):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        value = fn(*args, **kwargs)
    return value, out.getvalue()


def test_util_functions_equal_the_book(book):
    util_b = book["common.util"]

    def fast(name):
        return served("common.util", name)

    text = "You say goodbye and I say hello."
    cb, wb, ib = util_b.preprocess(text)
    cf, wf, i_f = fast("preprocess")(text)
    assert_same(cf, cb, "preprocess corpus")
    assert wf == wb and i_f == ib
    C = util_b.create_co_matrix(cb, len(wb), 2)
    assert_same(fast("create_co_matrix")(cb, len(wb), 2), C, "create_co_matrix")
    assert_same(fast("ppmi")(C), util_b.ppmi(C), "ppmi")
    with language("ko"):
        assert _capture(fast("ppmi"), C, True)[1] == _capture(util_b.ppmi, C, True)[1], "ppmi(verbose=True)"
    assert_same(fast("create_contexts_target")(cb, 2), util_b.create_contexts_target(cb, 2),
                "create_contexts_target")
    assert_same(fast("convert_one_hot")(cb, len(wb)), util_b.convert_one_hot(cb, len(wb)), "convert_one_hot")
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal(5), rng.standard_normal(5)
    assert_same(fast("cos_similarity")(x, y), util_b.cos_similarity(x, y), "cos_similarity")
    m = rng.standard_normal((4, 3))
    assert_same(fast("normalize")(m.copy()), util_b.normalize(m.copy()), "normalize")
    grads = [rng.standard_normal((3, 3)) * 10 for _ in range(2)]
    gb, gf = copies(grads), copies(grads)
    util_b.clip_grads(gb, 1.0)
    fast("clip_grads")(gf, 1.0)
    assert_same(gf, gb, "clip_grads")
    assert_same(fast("to_cpu")(m), util_b.to_cpu(m), "to_cpu")
    W = rng.standard_normal((len(wb), 4)).astype("f")
    W[3] = W[2]                                              # a tie: the book's order decides
    for query in ("you", "say", "nothing"):
        _, out_b = _capture(util_b.most_similar, query, wb, ib, W, top=5)
        with language("ko"):
            _, out_f = _capture(fast("most_similar"), query, wb, ib, W, top=5)
        assert not book_oracle.compare_outputs(out_b.splitlines(), out_f.splitlines(), 1e-5), (out_b, out_f)
    _, out_b = _capture(util_b.analogy, "you", "say", "i", wb, ib, W.copy(), top=3, answer="hello")
    _, out_f = _capture(fast("analogy"), "you", "say", "i", wb, ib, W.copy(), top=3, answer="hello")
    assert not book_oracle.compare_outputs(out_b.splitlines(), out_f.splitlines(), 1e-5), (out_b, out_f)


def test_remove_duplicate_equals_the_book(book):
    rng = np.random.default_rng(9)
    W = rng.standard_normal((5, 3)).astype("f")
    b = rng.standard_normal(5).astype("f")
    params = [W, b, W, W.T]
    grads = [rng.standard_normal(p.shape).astype("f") for p in params]
    pb, gb = book["common.trainer"].remove_duplicate(params, copies(grads))
    pf, gf = served("common.trainer", "remove_duplicate")(params, copies(grads))
    assert len(pf) == len(pb) and all(p is q for p, q in zip(pf, pb))
    assert_same(gf, gb, "remove_duplicate grads")


def model_cases():
    rng = np.random.default_rng(4)
    V, D, H, N, T = 13, 4, 5, 3, 6
    corpus = np.concatenate([np.arange(V), rng.integers(0, V, 200)])
    ctx = rng.integers(0, V, (N, 2))
    tgt = rng.integers(0, V, N)
    onehot = np.eye(V, dtype=np.int32)
    xs, ts = rng.integers(0, V, (N, T)), rng.integers(0, V, (N, T))
    q, a = rng.integers(0, V, (N, 4)), rng.integers(0, V, (N, 5))
    return [
        ("ch03.simple_cbow", "SimpleCBOW", [V, D], [("forward", [onehot[ctx], onehot[tgt]]), ("backward", [])]),
        ("ch03.simple_skip_gram", "SimpleSkipGram", [V, D],
         [("forward", [onehot[ctx], onehot[tgt]]), ("backward", [])]),
        ("ch04.cbow", "CBOW", [V, D, 1, corpus], [("forward", [ctx, tgt]), ("backward", [])]),
        ("ch04.skip_gram", "SkipGram", [V, D, 1, corpus], [("forward", [ctx, tgt]), ("backward", [])]),
        ("ch04.negative_sampling_layer", "NegativeSamplingLoss",
         [rng.standard_normal((V, D)).astype("f"), corpus, 0.75, 3],
         [("forward", [rng.standard_normal((N, D)).astype("f"), tgt]), ("backward", [])]),
        ("ch05.simple_rnnlm", "SimpleRnnlm", [V, D, H], [("forward", [xs, ts]), ("backward", [])]),
        ("ch06.rnnlm", "Rnnlm", [V, D, H], [("forward", [xs, ts]), ("backward", []), ("predict", [xs])]),
        ("ch06.better_rnnlm", "BetterRnnlm", [V, D, D, 0.5],
         [("forward", [xs, ts]), ("backward", []), ("forward", [xs, ts, False])]),
        ("ch07.rnnlm_gen", "RnnlmGen", [V, D, H], [("generate", [1, [2, 3], 12])]),
        ("ch07.rnnlm_gen", "BetterRnnlmGen", [V, D, D], [("generate", [1, [2, 3], 12])]),
        ("ch07.seq2seq", "Seq2seq", [V, D, H], [("forward", [q, a]), ("backward", []), ("generate", [q[:1], 1, 4])]),
        ("ch07.peeky_seq2seq", "PeekySeq2seq", [V, D, H],
         [("forward", [q, a]), ("backward", []), ("generate", [q[:1], 1, 4])]),
        ("ch08.attention_seq2seq", "AttentionSeq2seq", [V, D, H],
         [("forward", [q, a]), ("backward", []), ("generate", [q[:1], 1, 4])]),
    ]


@pytest.mark.parametrize("index", range(len(model_cases())), ids=[_case_id(c) for c in model_cases()])
def test_model_equals_the_book(book, index):
    module, name, ctor, calls = model_cases()[index]
    b, f = run_pair(getattr(book[module], name), served(module, name), ctor, calls, f"{module}.{name}",
                    book_fold=book["common.trainer"].remove_duplicate)
    assert_same(f.params, b.params, f"{name}.params at the end")


def test_unigram_sampler_draws_the_books_negatives(book):
    rng = np.random.default_rng(10)
    corpus = np.concatenate([np.arange(30), (rng.zipf(1.5, 3000) - 1) % 30])
    target = rng.integers(0, 30, 64)
    mod = "ch04.negative_sampling_layer"
    with book_draws():
        for power, k in ((0.75, 5), (1.0, 1), (0.5, 8)):
            np.random.seed(11)
            want = book[mod].UnigramSampler(corpus, power, k).get_negative_sample(target)
            after_book = np.random.rand()
            np.random.seed(11)
            got = served(mod, "UnigramSampler")(corpus, power, k).get_negative_sample(target)
            assert np.array_equal(got, want) and got.dtype == want.dtype
            assert np.random.rand() == after_book        # the same number of draws taken


def test_params_saved_by_the_book_load_into_fastseq(book, tmp_path):
    np.random.seed(12)
    b = book["ch06.rnnlm"].Rnnlm(20, 4, 5)
    path = str(tmp_path / "Rnnlm.pkl")
    b.save_params(path)
    np.random.seed(13)
    f = served("ch06.rnnlm", "Rnnlm")(20, 4, 5)
    f.load_params(path)
    np.random.seed(14)
    b2 = book["ch06.rnnlm"].Rnnlm(20, 4, 5)
    b2.load_params(path)
    assert_same(f.params, b2.params, "loaded params")
