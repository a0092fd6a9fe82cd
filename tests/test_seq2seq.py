"""Attention layers and the seq2seq models: fast == reference, finite differences, generation."""
import numpy as np
import pytest

from fastseq.gradcheck import numerical_gradient, relative_error
from fastseq.layers import attention as FA
from fastseq.models import seq2seq as M
from fastseq.optimizers import Adam
from fastseq.reference import attention as RA
from fastseq.reference import seq2seq as RM
from fastseq.reference.optimizers import Adam as RefAdam
from fastseq.reference.util import clip_grads as ref_clip
from fastseq.util import clip_grads


@pytest.mark.parametrize("name", ["WeightSum", "AttentionWeight", "Attention"])
def test_attention_parts_match_reference(rng, name):
    hs, h = rng.standard_normal((3, 5, 4)), rng.standard_normal((3, 4))
    second = rng.random((3, 5)) if name == "WeightSum" else h
    fast, ref = getattr(FA, name)(), getattr(RA, name)()
    out = fast.forward(hs, second)
    np.testing.assert_allclose(out, ref.forward(hs, second), rtol=1e-10)
    dout = rng.standard_normal(out.shape)
    for a, b in zip(fast.backward(dout), ref.backward(dout)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_time_attention_matches_reference_and_finite_differences(rng):
    enc, dec = rng.standard_normal((2, 6, 4)), rng.standard_normal((2, 3, 4))
    fast, ref = FA.TimeAttention(), RA.TimeAttention()
    out = fast.forward(enc, dec)
    np.testing.assert_allclose(out, ref.forward(enc, dec), rtol=1e-10)
    assert len(fast.attention_weights) == 3
    np.testing.assert_allclose(np.array(fast.attention_weights), np.array(ref.attention_weights), rtol=1e-10)
    G = rng.standard_normal(out.shape)
    denc, ddec = fast.backward(G)
    renc, rdec = ref.backward(G)
    np.testing.assert_allclose(denc, renc, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ddec, rdec, rtol=1e-9, atol=1e-12)
    f = lambda: float(np.sum(fast.forward(enc, dec) * G))       # noqa: E731
    assert relative_error(denc, numerical_gradient(f, enc)) < 1e-7
    assert relative_error(ddec, numerical_gradient(f, dec)) < 1e-7
    with pytest.raises(ValueError, match="TimeAttention: hs_dec must end in dimension 4"):
        fast.forward(enc, dec[:, :, :3])


@pytest.mark.parametrize("name", ["Seq2seq", "PeekySeq2seq", "AttentionSeq2seq"])
def test_models_train_like_the_reference(rng, name):
    V, D, H, N = 13, 5, 6, 4
    xs, ts = rng.integers(0, V, (N, 7)), rng.integers(0, V, (N, 5))
    np.random.seed(4)
    fast = getattr(M, name)(V, D, H)
    np.random.seed(4)
    ref = getattr(RM, name)(V, D, H)
    fo, ro = Adam(0.01), RefAdam(0.01)
    for _ in range(3):
        np.testing.assert_allclose(fast.forward(xs, ts), ref.forward(xs, ts), rtol=1e-5)
        fast.backward()
        ref.backward()
        for gf, gr in zip(fast.grads, ref.grads):
            np.testing.assert_allclose(gf, gr, rtol=1e-4, atol=1e-6)
        clip_grads(fast.grads, 5.0)
        ref_clip(ref.grads, 5.0)
        fo.update(fast.params, fast.grads)
        ro.update(ref.params, ref.grads)
    assert fast.generate(xs[:1], 3, 6) == ref.generate(xs[:1], 3, 6)


def test_attention_weights_of_a_generated_sequence(rng):
    model = M.AttentionSeq2seq(10, 4, 5)
    out = model.generate(rng.integers(0, 10, (1, 7)), 1, 4)
    weights = np.array(model.decoder.attention.attention_weights)
    assert len(out) == 4 and weights.shape == (4, 1, 7)
    np.testing.assert_allclose(weights.sum(axis=2), 1, rtol=1e-5)


def test_cli_trains_evaluates_and_keeps_the_best(tmp_path, capsys):
    import json
    from fastseq.cli import main
    out = tmp_path / "run"
    assert main(["train-seq2seq", "--data", "date", "--model", "attention", "--reverse", "--epochs", "2",
                 "--hidden", "16", "--train-examples", "512", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "epoch 2: val acc" in printed and printed.count("\nQ ") >= 5
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2] and all(0 <= r["val_acc"] <= 1 for r in log)
    assert (out / "best.npz").exists() and (out / "attention.png").exists()


def test_generate_batch_equals_one_by_one(rng):
    model = M.PeekySeq2seq(12, 4, 6)
    xs = rng.integers(0, 12, (5, 6))
    batch = model.generate_batch(xs, 2, 4)
    for i in range(5):
        assert list(batch[i]) == model.generate(xs[i:i + 1], 2, 4)
    with pytest.raises(ValueError, match="sample_size must be a positive integer"):
        model.generate(xs[:1], 2, 0)
