"""One family of fuzz targets, run in its own process by ``tests/test_fuzz.py``.

    python tests/fuzz_worker.py FAMILY EXAMPLES

Hypothesis draws bad and good inputs for every target of FAMILY (shapes with 0 and 1, dtypes
from float16 to complex, Fortran, strided and read-only layouts, ids out of range, NaN and inf,
calls out of order). Each call must either equal the reference twin or raise a clear exception:
one of CLEAR_TYPES with a message that begins with the fastseq name that refused it
(``Affine: x must ...``). The line ``CASE <target>`` is printed before each call, so a crash or a
hang names its target; the last line is the JSON counts of the family.
"""
import json
import os
import re
import sys
import tempfile
import warnings

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import fastseq.functions as FF
import fastseq.models as FM
import fastseq.layers.attention as FA
import fastseq.layers.time_layers as FT
import fastseq.optimizers as FO
import fastseq.reference.attention as RA
import fastseq.reference.functions as RF
import fastseq.reference.layers as RL
import fastseq.reference.models as RM
import fastseq.reference.optimizers as RO
import fastseq.reference.time_layers as RT
from fastseq import count, layers as FL
from fastseq.layers import negative_sampling as FN
from fastseq.reference import count as RC
from fastseq.reference import negative_sampling as RN
from fastseq.vectors import KeyedVectors
from fastseq.word2vec import train_word2vec

CLEAR_TYPES = (TypeError, ValueError, IndexError, RuntimeError, FloatingPointError, KeyError)
_PREFIX = re.compile(r"^[A-Za-z_][\w.]*(\([^)]*\))?: ")
COUNTS = {"inputs": 0, "clear errors": 0, "equal results": 0, "empty results": 0, "violations": 0}
VIOLATIONS = {}          # message -> how many inputs gave it


class Violation(AssertionError):
    """A call that neither equals the reference nor raises a clear error."""


def _violation(message):
    """Record a violation (the run goes on, so that one run lists every kind) and stop this call."""
    COUNTS["violations"] += 1
    VIOLATIONS[message] = VIOLATIONS.get(message, 0) + 1
    return Violation(message)


# ---------------------------------------------------------------------------------------------
# Drawing inputs

DTYPES = [np.float32, np.float64, np.float16, np.int64, np.complex64, np.bool_]


@st.composite
def arrays(draw, shape, dtypes=(np.float32, np.float64), bad_dtype=0.15, specials=0.1):
    """An array of ``shape`` in a drawn dtype and layout (C, Fortran, strided, read-only), with
    NaN/inf now and then."""
    dtype = draw(st.sampled_from(DTYPES)) if draw(st.floats(0, 1)) < bad_dtype else draw(st.sampled_from(dtypes))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(tuple(2 * s for s in shape) if shape else ()) * 2
    layout = draw(st.sampled_from(["C", "F", "strided", "readonly"]))
    x = base[tuple(slice(None, None, 2) for _ in shape)] if layout == "strided" else base[tuple(slice(0, s) for s in shape)]
    x = x.astype(dtype) if dtype is not np.bool_ else x > 0
    if layout == "F":
        x = np.asfortranarray(x)
    if x.dtype.kind == "f" and x.size and draw(st.floats(0, 1)) < specials:
        x = np.array(x, order="K")
        x.flat[draw(st.integers(0, x.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    if layout == "readonly":
        x = np.array(x)
        x.setflags(write=False)
    return x


@st.composite
def ids(draw, shape, V):
    """Integer ids of ``shape``, now and then outside [0, V) or of a float/huge type."""
    kind = draw(st.sampled_from(["good", "good", "good", "negative", "too big", "huge", "float", "int32"]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    x = rng.integers(0, max(V, 1), shape)
    if x.size and kind == "negative":
        x.flat[0] = -draw(st.integers(1, 3))
    elif x.size and kind == "too big":
        x.flat[-1] = V + draw(st.integers(0, 3))
    elif x.size and kind == "huge":
        x.flat[0] = 2 ** 40
    elif kind == "float":
        x = x.astype(np.float64)
    elif kind == "int32":
        x = x.astype(np.int32)
    return x


dims = st.integers(0, 4)
pos = st.integers(1, 4)


# ---------------------------------------------------------------------------------------------
# Running one call on both sides

def _clear(exc):
    return isinstance(exc, CLEAR_TYPES) and not type(exc).__module__.startswith("numba") \
        and bool(_PREFIX.match(str(exc)))


def _same(a, b, single=False):
    """fastseq's result ``a`` equals the reference's ``b``: within 1e-4 of the largest magnitude
    when float32 took part (``single``, or a float32 result), else within 1e-9."""
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b) \
            and all(_same(x, y, single) for x, y in zip(a, b))
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind not in "fc" or b.dtype.kind not in "fc":
        return np.array_equal(a, b)
    rtol = 1e-4 if single or np.float32 in (a.dtype, b.dtype) else 1e-9
    # Non-finite inputs (NaN or inf in a weight) give non-finite results; which of NaN and inf
    # comes out depends on the order of operations, so only where they are is compared.
    finite = np.isfinite(a)
    if not np.array_equal(finite, np.isfinite(b)):
        return False
    a, b = a[finite].astype(np.float64), b[finite].astype(np.float64)
    scale = float(np.max(np.abs(b))) if b.size else 1.0
    return bool(np.allclose(a, b, rtol=rtol, atol=rtol * max(scale, 1.0)))


def _empty(x):
    if isinstance(x, (tuple, list)):
        return all(_empty(a) for a in x)
    return x is None or np.asarray(x).size == 0


def _describe(x):
    if isinstance(x, (tuple, list)):
        return "(" + ", ".join(_describe(a) for a in x) + ")"
    a = np.asarray(x)
    return f"{a.dtype}{a.shape} " + " ".join(np.array2string(a.ravel()[:6], precision=12).split())


def check(target, fast, reference, inputs=()):
    """Call ``fast()``; it must raise a clear error, or return what ``reference()`` returns
    (float32 tolerance when a float32 or float16 array is among ``inputs``). Returns the fast result (None
    when it raised)."""
    print("CASE", target, flush=True)
    COUNTS["inputs"] += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = fast()
    except Exception as exc:  # noqa: BLE001 (every exception is classified)
        if _clear(exc):
            COUNTS["clear errors"] += 1
            return None
        raise _violation(f"{target}: unclear {type(exc).__module__}.{type(exc).__name__}: {str(exc)[:200]}") from exc
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            want = reference()
    except Exception as exc:  # noqa: BLE001
        if _empty(got):                    # a correct empty result where the reference fails
            COUNTS["empty results"] += 1
            return got
        raise _violation(f"{target}: fastseq returned a result where the reference raised "
                         f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    # A float16 input counts as single precision too: NumPy keeps a Python float times a float16
    # array in float16, so the reference rounds such products to half precision where fastseq
    # casts the input to the weights' dtype first.
    single = any(isinstance(x, np.ndarray) and x.dtype in (np.float32, np.float16) for x in inputs)
    if not _same(got, want, single):
        message = f"{target}: result differs from the reference twin"
        if message not in VIOLATIONS:
            print(f"DIFFERS {target}: fastseq {_describe(got)}, reference {_describe(want)}", flush=True)
        raise _violation(message)
    COUNTS["equal results"] += 1
    return got


def pair_calls(target, fast_obj, ref_obj, calls, ctor=()):
    """Replay (method, args) on both objects; stop at the first clear refusal."""
    for method, args in calls:
        result = check(f"{target}.{method}", lambda: getattr(fast_obj, method)(*args),
                       lambda: getattr(ref_obj, method)(*[np.array(a) if isinstance(a, np.ndarray) else a
                                                          for a in args]), list(args) + list(ctor))
        if result is None:
            return


def build(target, fast_cls, ref_cls, args):
    """Construct both; the fast side must refuse clearly or build (then so must the reference)."""
    holder = {}

    def fast():
        holder["fast"] = fast_cls(*args)
        return 0

    def ref():
        holder["ref"] = ref_cls(*[np.array(a) if isinstance(a, np.ndarray) else a for a in args])
        return 0
    return (holder["fast"], holder["ref"]) if check(f"{target}()", fast, ref) is not None else (None, None)


# ---------------------------------------------------------------------------------------------
# Families

SETTINGS = dict(deadline=None, database=None, derandomize=True, phases=[Phase.generate],
                suppress_health_check=list(HealthCheck))


def family(body):
    """A fuzz family: ``body(data)`` run on ``n`` hypothesis examples when the returned function
    is called with n; a violation is recorded (see ``_violation``) and the run goes on."""
    def each(data):
        try:
            body(data)
        except Violation:
            pass

    def run(n):
        settings(max_examples=n, **SETTINGS)(given(st.data())(each))()
    return run


@family
def family_layers(data):
    N, D, M, T = data.draw(dims), data.draw(pos), data.draw(pos), data.draw(dims)
    name = data.draw(st.sampled_from(["MatMul", "Affine", "Softmax", "SoftmaxWithLoss", "Sigmoid",
                                      "SigmoidWithLoss", "Embedding", "TimeAffine", "TimeEmbedding",
                                      "TimeSoftmaxWithLoss", "TimeSigmoidWithLoss"]))
    backward_first = data.draw(st.floats(0, 1)) < 0.1
    if name in ("MatMul", "Affine", "TimeAffine"):
        W = data.draw(arrays((D, M)))
        ctor = [W] if name == "MatMul" else [W, data.draw(arrays((M,)))]
        x = data.draw(arrays((N, T, data.draw(st.sampled_from([D, D + 1]))) if name == "TimeAffine"
                             else (N, data.draw(st.sampled_from([D, D + 1])))))
        dout_shape = (N, T, M) if name == "TimeAffine" else (N, M)
        calls = [("forward", [x]), ("backward", [data.draw(arrays(dout_shape))])]
    elif name in ("Embedding", "TimeEmbedding"):
        ctor = [data.draw(arrays((M + 1, D)))]
        shape = (N, T) if name == "TimeEmbedding" else (N,)
        calls = [("forward", [data.draw(ids(shape, M + 1))]), ("backward", [data.draw(arrays(shape + (D,)))])]
    elif name in ("Softmax", "Sigmoid"):
        ctor = []
        x = data.draw(arrays((N, M)))
        calls = [("forward", [x]), ("backward", [data.draw(arrays(x.shape))])]
    elif name == "SoftmaxWithLoss":
        ctor = []
        calls = [("forward", [data.draw(arrays((N, M))), data.draw(ids((N,), M))]), ("backward", [])]
    elif name == "TimeSoftmaxWithLoss":
        ctor = []
        calls = [("forward", [data.draw(arrays((N, T, M))), data.draw(ids((N, T), M))]), ("backward", [])]
    else:
        shape = (N, T) if name == "TimeSigmoidWithLoss" else (N,)
        ctor = []
        calls = [("forward", [data.draw(arrays(shape)), data.draw(ids(shape, 2))]), ("backward", [])]
    module_f, module_r = (FT, RT) if name.startswith("Time") else (FL, RL)
    fast, ref = build(name, getattr(module_f, name), getattr(module_r, name), ctor)
    if fast is None:
        return
    if backward_first and calls[-1][0] == "backward":
        calls = [calls[-1]] + calls
    pair_calls(name, fast, ref, calls, ctor)


@family
def family_recurrent(data):
    N, T, D, H = data.draw(dims), data.draw(dims), data.draw(pos), data.draw(pos)
    cell = data.draw(st.sampled_from(["RNN", "LSTM", "GRU"]))
    k = {"RNN": 1, "LSTM": 4, "GRU": 3}[cell]
    params = [data.draw(arrays((D, k * H))), data.draw(arrays((H, k * H))), data.draw(arrays((k * H,)))]
    name = data.draw(st.sampled_from(["Time" + cell, cell]))
    fast, ref = build(name, getattr(FT, name), getattr(RT, name),
                      params + ([True] if name.startswith("Time") else []))
    if fast is None:
        return
    if name.startswith("Time"):
        calls = [("forward", [data.draw(arrays((N, T, data.draw(st.sampled_from([D, D + 1])))))]),
                 ("forward", [data.draw(arrays((data.draw(st.sampled_from([N, N + 1])), T, D)))]),
                 ("backward", [data.draw(arrays((N, T, H)))])]
        if data.draw(st.booleans()):                      # params swapped after construction
            fast.params[1] = ref.params[1] = data.draw(arrays((H + 1, k * H)))
    else:
        state = [data.draw(arrays((N, H)))] * (2 if cell == "LSTM" else 1)
        dstate = [data.draw(arrays((N, data.draw(st.sampled_from([H, H + 1])))))] * len(state)
        calls = [("forward", [data.draw(arrays((N, D)))] + state), ("backward", dstate)]
    if data.draw(st.floats(0, 1)) < 0.1:
        calls = [calls[-1]] + calls
    pair_calls(name, fast, ref, calls, params)


@family
def family_attention(data):
    N, T, H, Td = data.draw(dims), data.draw(pos), data.draw(pos), data.draw(pos)
    name = data.draw(st.sampled_from(["WeightSum", "AttentionWeight", "Attention", "TimeAttention"]))
    fast, ref = build(name, getattr(FA, name), getattr(RA, name), [])
    hs = data.draw(arrays((N, T, H)))
    bad = data.draw(st.sampled_from([0, 1]))
    if name == "WeightSum":
        calls = [("forward", [hs, data.draw(arrays((N, T + bad)))]), ("backward", [data.draw(arrays((N, H + bad)))])]
    elif name == "TimeAttention":
        calls = [("forward", [hs, data.draw(arrays((N, Td, H + bad)))]),
                 ("backward", [data.draw(arrays((N, Td + bad, H)))])]
    else:
        out = (N, T + bad) if name == "AttentionWeight" else (N, H + bad)
        calls = [("forward", [hs, data.draw(arrays((N, H)))]), ("backward", [data.draw(arrays(out))])]
    if data.draw(st.floats(0, 1)) < 0.1:
        calls = [calls[-1]] + calls
    pair_calls(name, fast, ref, calls)


@family
def family_functions(data):
    N, C = data.draw(dims), data.draw(pos)
    name = data.draw(st.sampled_from(["sigmoid", "relu", "softmax", "cross_entropy_error"]))
    x = data.draw(arrays(data.draw(st.sampled_from([(N, C), (C,)]))))
    if name == "cross_entropy_error":
        t = data.draw(ids(x.shape[:-1], C))
        check(name, lambda: FF.cross_entropy_error(x, t), lambda: RF.cross_entropy_error(np.array(x), t), [x])
    else:
        check(name, lambda: getattr(FF, name)(x), lambda: getattr(RF, name)(np.array(x)), [x])


@family
def family_optimizers(data):
    name = data.draw(st.sampled_from(["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"]))
    fast, ref = getattr(FO, name)(), getattr(RO, name)()
    for _ in range(data.draw(st.integers(1, 3))):
        shapes = [(data.draw(pos), data.draw(pos)) for _ in range(data.draw(st.integers(1, 3)))]
        params = [data.draw(arrays(s, bad_dtype=0.1, specials=0)) for s in shapes]
        grads = [data.draw(arrays(s if data.draw(st.floats(0, 1)) > 0.1 else (s[0] + 1, s[1]),
                                  bad_dtype=0.1, specials=0)) for s in shapes]
        ref_params = [np.array(p) for p in params]

        def fast_update():
            fast.update(params, grads)
            return params

        def ref_update():
            ref.update(ref_params, [np.array(g) for g in grads])
            return ref_params
        if check(f"{name}.update", fast_update, ref_update, params + grads) is None:
            return


@family
def family_count(data):
    V = data.draw(pos) + 1
    corpus = data.draw(ids((data.draw(st.integers(0, 30)),), V))
    window = data.draw(st.sampled_from([1, 2, 3, 0, -1, 10 ** 9]))
    # the reference's loop runs over the whole window: past the corpus it counts nothing more
    ref_window = min(window, len(corpus) + 1)
    name = data.draw(st.sampled_from(["create_co_matrix", "ppmi", "co_occurrence"]))
    if name == "create_co_matrix":
        check(name, lambda: count.create_co_matrix(corpus, V, window),
              lambda: RC.create_co_matrix(corpus, V, ref_window))
    elif name == "co_occurrence":
        check(name, lambda: count.co_occurrence(corpus, V, window).toarray(),
              lambda: RC.create_co_matrix(corpus, V, ref_window))
    else:
        C = data.draw(arrays((V, V), dtypes=(np.int32, np.int64, np.float64)))
        check(name, lambda: count.ppmi(C), lambda: RC.ppmi(np.array(C)))


@family
def family_word2vec(data):
    V, D, N = data.draw(pos) + 2, data.draw(pos), data.draw(dims)
    corpus = data.draw(ids((data.draw(st.integers(0, 40)),), V))
    power = data.draw(st.sampled_from([0.75, 1.0, 0.0, -0.75, 200.0, 500.0, float("nan"), float("inf")]))
    k = data.draw(st.integers(0, 6))
    name = data.draw(st.sampled_from(["UnigramSampler", "EmbeddingDot", "NegativeSamplingLoss", "train_word2vec"]))
    if name == "UnigramSampler":
        def draw():
            sampler = FN.UnigramSampler(corpus, power, k, exclude=data.draw(st.booleans()))
            target = data.draw(ids((N,), sampler.vocab_size))
            neg = sampler.get_negative_sample(target)
            if neg.size and (neg.min() < 0 or neg.max() >= sampler.vocab_size):
                raise _violation("UnigramSampler: a negative is out of range")
            if sampler.exclude and not all(len(set(row)) == k and t not in row
                                           for row, t in zip(neg.tolist(), target.tolist())):
                raise _violation("UnigramSampler: a negative is the row's target or repeated")
            return 0
        check(name, draw, lambda: 0)
    elif name == "EmbeddingDot":
        W = data.draw(arrays((V, D)))
        fast, ref = build(name, FN.EmbeddingDot, RN.EmbeddingDot, [W])
        if fast is not None:
            pair_calls(name, fast, ref, [("forward", [data.draw(arrays((N, D))), data.draw(ids((N,), V))]),
                                         ("backward", [data.draw(arrays((N,)))])], [W])
    elif name == "NegativeSamplingLoss":
        W = data.draw(arrays((V, D)))

        def loss():
            layer = FN.NegativeSamplingLoss(W, corpus, power, k)
            value = layer.forward(data.draw(arrays((N, D))), data.draw(ids((N,), V)))
            dh = layer.backward()
            if not (np.isfinite(value) and np.isfinite(dh).all()):
                raise _violation("NegativeSamplingLoss: a non-finite loss or gradient came back")
            return 0
        check(name, loss, lambda: 0)
    else:
        lr = data.draw(st.sampled_from([0.025, 0.0, -1.0, float("inf"), float("nan")]))

        def train():
            result = train_word2vec(corpus, V, model=data.draw(st.sampled_from(["cbow", "skipgram"])), dim=D,
                                    window=data.draw(st.sampled_from([1, 2, 0])), negative=max(k, 1),
                                    epochs=1, lr=lr, power=power, progress=False)
            if not (np.isfinite(result.W_in).all() and np.isfinite(result.W_out).all()):
                raise _violation("train_word2vec: non-finite vectors came back")
            return 0
        check(name, train, lambda: 0)


@family
def family_models(data):
    V, D, H, N, T = data.draw(pos) + 1, data.draw(pos), data.draw(pos), data.draw(dims), data.draw(dims)
    name = data.draw(st.sampled_from(["SimpleRnnlm", "Rnnlm", "BetterRnnlm"]))
    np.random.seed(0)
    fast = getattr(FM, name)(V, D, D if name == "BetterRnnlm" else H)
    np.random.seed(0)
    ref = getattr(RM, name)(V, D, D if name == "BetterRnnlm" else H)
    xs, ts = data.draw(ids((N, T), V)), data.draw(ids((N, T), V))
    calls = [("forward", [xs, ts] + ([False] if name == "BetterRnnlm" else [])), ("backward", [])]
    if data.draw(st.floats(0, 1)) < 0.1:
        calls = [calls[-1]] + calls
    if name != "SimpleRnnlm" and data.draw(st.booleans()):            # state of another batch size
        fast.forward(np.zeros((N + 1, 1), np.int64), np.zeros((N + 1, 1), np.int64), *calls[0][1][2:])
        ref.forward(np.zeros((N + 1, 1), np.int64), np.zeros((N + 1, 1), np.int64), *calls[0][1][2:])
    pair_calls(name, fast, ref, calls, fast.params)


@family
def family_vectors(data):
    V, D = data.draw(pos), data.draw(pos)
    vectors = data.draw(arrays((V, D)))
    words = [data.draw(st.sampled_from(["a", "b c", "", "d\n", "é", "x", "x", "한국어", "tab\t"])) + str(i % 3)
             for i in range(V)]

    def round_trip():
        kv = KeyedVectors(vectors, words)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "v.txt")
            kv.save_word2vec_format(path)
            back = KeyedVectors.load_word2vec_format(path)
        if back.id_to_word != kv.id_to_word:
            raise _violation("KeyedVectors: the words did not survive the text format")
        return back.vectors

    check("KeyedVectors.save/load_word2vec_format", round_trip,
          lambda: np.array([[float(f"{x:.6g}") for x in row] for row in np.asarray(vectors, np.float64)],
                           dtype=np.float32), [np.zeros(1, np.float32)])


FAMILIES = {"layers": family_layers, "recurrent": family_recurrent, "attention": family_attention,
            "functions": family_functions, "optimizers": family_optimizers, "count": family_count,
            "word2vec": family_word2vec, "models": family_models, "vectors": family_vectors}


if __name__ == "__main__":
    family, examples = sys.argv[1], int(sys.argv[2])
    try:
        FAMILIES[family](examples)
    finally:
        for message, times in sorted(VIOLATIONS.items()):
            print(f"VIOLATION x{times}: {message}", flush=True)
        print(json.dumps(COUNTS), flush=True)
    sys.exit(1 if VIOLATIONS else 0)
