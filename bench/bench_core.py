"""Core layers, functions and gradient helpers: fast vs reference on the same inputs."""
import numpy as np
import pytest

import fastseq.functions as FF
import fastseq.layers as F
import fastseq.reference.functions as RF
import fastseq.reference.layers as R
import fastseq.reference.util as RU
import fastseq.util as FU

IMPLS = [("fast", F), ("reference", R)]
rng = np.random.default_rng(0)


@pytest.mark.parametrize("impl,L", IMPLS)
def test_softmax_with_loss(benchmark, paired, impl, L):
    x = rng.standard_normal((700, 10000)).astype(np.float32)
    t = rng.integers(0, 10000, 700)
    layer = L.SoftmaxWithLoss()

    def step():
        layer.forward(x, t)
        layer.backward()
    paired(benchmark, "SoftmaxWithLoss fwd+bwd N=700 V=10000 f32", impl, step)


@pytest.mark.parametrize("impl,fn", [("fast", FF.softmax), ("reference", RF.softmax)])
def test_softmax_function(benchmark, paired, impl, fn):
    x = rng.standard_normal((700, 10000)).astype(np.float32)
    paired(benchmark, "softmax() 700x10000 f32", impl, lambda: fn(x))


@pytest.mark.parametrize("impl,L", IMPLS)
def test_softmax_layer(benchmark, paired, impl, L):
    x = rng.standard_normal((700, 1000)).astype(np.float32)
    dout = rng.standard_normal((700, 1000)).astype(np.float32)
    layer = L.Softmax()

    def step():
        layer.forward(x)
        layer.backward(dout)
    paired(benchmark, "Softmax fwd+bwd 700x1000 f32", impl, step)


@pytest.mark.parametrize("impl,L", IMPLS)
def test_sigmoid(benchmark, paired, impl, L):
    x = rng.standard_normal((1000, 1000)).astype(np.float32)
    layer = L.Sigmoid()

    def step():
        layer.forward(x)
        layer.backward(x)
    paired(benchmark, "Sigmoid fwd+bwd 1000x1000 f32", impl, step)


@pytest.mark.parametrize("impl,L", IMPLS)
def test_sigmoid_with_loss(benchmark, paired, impl, L):
    x = rng.standard_normal(100000).astype(np.float32)
    t = rng.integers(0, 2, 100000)
    layer = L.SigmoidWithLoss()

    def step():
        layer.forward(x, t)
        layer.backward()
    paired(benchmark, "SigmoidWithLoss fwd+bwd N=100000 f32", impl, step)


@pytest.mark.parametrize("impl,L", IMPLS)
def test_dropout(benchmark, paired, impl, L):
    x = rng.standard_normal((700, 650)).astype(np.float32)
    layer = L.Dropout(0.5)

    def step():
        layer.forward(x)
        layer.backward(x)
    paired(benchmark, "Dropout fwd+bwd 700x650 f32", impl, step)


@pytest.mark.parametrize("impl,L", IMPLS)
def test_affine(benchmark, paired, impl, L):
    W = rng.standard_normal((650, 650)).astype(np.float32)
    b = np.zeros(650, np.float32)
    x = rng.standard_normal((700, 650)).astype(np.float32)
    layer = L.Affine(W, b)

    def step():
        out = layer.forward(x)
        layer.backward(out)
    paired(benchmark, "Affine fwd+bwd 700x650 @ 650x650 f32", impl, step)


@pytest.mark.parametrize("impl,L", IMPLS)
def test_matmul(benchmark, paired, impl, L):
    W = rng.standard_normal((650, 650)).astype(np.float32)
    x = rng.standard_normal((700, 650)).astype(np.float32)
    layer = L.MatMul(W)

    def step():
        out = layer.forward(x)
        layer.backward(out)
    paired(benchmark, "MatMul fwd+bwd 700x650 @ 650x650 f32", impl, step)


@pytest.mark.parametrize("impl,L", IMPLS)
def test_embedding_backward(benchmark, paired, impl, L):
    W = rng.standard_normal((10000, 100)).astype(np.float32)
    idx = rng.integers(0, 10000, 1000)
    dout = rng.standard_normal((1000, 100)).astype(np.float32)
    layer = L.Embedding(W)
    layer.forward(idx)
    paired(benchmark, "Embedding backward V=10000 D=100 1000 ids f32", impl, lambda: layer.backward(dout))


@pytest.mark.parametrize("impl,clip", [("fast", FU.clip_grads), ("reference", RU.clip_grads)])
def test_clip_grads(benchmark, paired, impl, clip):
    grads = [rng.standard_normal(s).astype(np.float32) for s in [(10000, 100), (100, 400), (400,)]]
    paired(benchmark, "clip_grads 1.04M floats f32", impl, lambda: clip(grads, 1e-3))
