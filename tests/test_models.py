import numpy as np
import pytest

from fastseq.cli import main
from fastseq.models import Rnnlm
from fastseq.optimizers import SGD
from fastseq.reference.models import Rnnlm as RefRnnlm
from fastseq.reference.optimizers import SGD as RefSGD
from fastseq.reference.util import clip_grads as ref_clip
from fastseq.reference.util import remove_duplicate as ref_remove
from fastseq.util import clip_grads, remove_duplicate


def test_rnnlm_training_steps_match_reference(rng):
    V, D, H = 30, 8, 6
    np.random.seed(1)
    fast = Rnnlm(V, D, H)
    np.random.seed(1)
    ref = RefRnnlm(V, D, H)
    fo, ro = SGD(5.0), RefSGD(5.0)
    for _ in range(4):
        xs, ts = rng.integers(0, V, (3, 5)), rng.integers(0, V, (3, 5))
        lf, lr = fast.forward(xs, ts), ref.forward(xs, ts)
        assert lf == pytest.approx(lr, rel=1e-5)
        fast.backward()
        ref.backward()
        pf, gf = remove_duplicate(fast.params, fast.grads)
        pr, gr = ref_remove(ref.params, ref.grads)
        clip_grads(gf, 0.25)
        ref_clip(gr, 0.25)
        fo.update(pf, gf)
        ro.update(pr, gr)
    for a, b in zip(fast.params, ref.params):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_save_and_load_params_round_trip_and_mismatch(tmp_path):
    np.random.seed(0)
    model = Rnnlm(20, 4, 3)
    path = model.save_params(str(tmp_path / "m.npz"))
    saved = [p.copy() for p in model.params]
    for p in model.params:
        p[...] = 0
    ids = [id(p) for p in model.params]
    model.load_params(path)
    assert [id(p) for p in model.params] == ids
    for a, b in zip(model.params, saved):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"parameter 0 has shape \(21, 4\) in the model but \(20, 4\)"):
        Rnnlm(21, 4, 3).load_params(path)


def test_loads_book_pickle_and_refuses_code(tmp_path):
    import pickle
    np.random.seed(0)
    model = Rnnlm(20, 4, 3)
    book_file = tmp_path / "Rnnlm.pkl"
    with open(book_file, "wb") as f:
        pickle.dump([p.astype(np.float16) for p in model.params], f)
    other = Rnnlm(20, 4, 3)
    other.load_params(str(book_file))
    for a, b in zip(other.params, model.params):
        np.testing.assert_allclose(a, b.astype(np.float16), rtol=0)
    evil = tmp_path / "evil.pkl"
    with open(evil, "wb") as f:
        pickle.dump([__import__("os").getcwd], f)
    with pytest.raises(ValueError, match="only NumPy arrays are allowed"):
        other.load_params(str(evil))


def test_cli_missing_data_is_one_clear_line(tmp_path, monkeypatch, capsys):
    from fastseq.datasets import ptb
    monkeypatch.setenv("FASTSEQ_DATA", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(ptb, "URL", (tmp_path / "offline" / "ptb.{}.txt").as_uri())
    assert main(["train-lm", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fastseq: error: no verified copy of ptb/ptb.train.txt")


def test_cli_rejects_unknown_model():
    with pytest.raises(SystemExit) as exc:
        main(["train-lm", "--model", "transformer"])
    assert exc.value.code == 2
