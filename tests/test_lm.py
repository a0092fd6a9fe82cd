"""Language models and their runs: BetterRnnlm/SimpleRnnlm == reference, generation, the
train-lm / eval-lm / generate commands, checkpoints and exact resume."""
import dataclasses
import json

import numpy as np
import pytest

from fastseq import lm
from fastseq.cli import main
from fastseq.models import BetterRnnlm, BetterRnnlmGen, RnnlmGen, SimpleRnnlm
from fastseq.optimizers import SGD
from fastseq.reference import models as ref_models
from fastseq.reference.optimizers import SGD as RefSGD
from fastseq.reference.util import clip_grads as ref_clip
from fastseq.reference.util import remove_duplicate as ref_remove_duplicate
from fastseq.runs import read_log
from fastseq.util import clip_grads, remove_duplicate


def _pair(fast_cls, ref_cls, *args):
    np.random.seed(3)
    fast = fast_cls(*args)
    np.random.seed(3)
    return fast, ref_cls(*args)


@pytest.mark.parametrize("which", ["simple", "better"])
def test_training_steps_match_reference(rng, which):
    V = 30
    if which == "simple":
        fast, ref = _pair(SimpleRnnlm, ref_models.SimpleRnnlm, V, 6, 5)
    else:   # dropout 0: the two layers' masks come from different streams; weight tying is exercised
        fast, ref = _pair(BetterRnnlm, ref_models.BetterRnnlm, V, 6, 6, 0.0)
    fo, ro = SGD(5.0), RefSGD(5.0)
    for _ in range(3):
        xs, ts = rng.integers(0, V, (4, 5)), rng.integers(0, V, (4, 5))
        np.testing.assert_allclose(fast.forward(xs, ts), ref.forward(xs, ts), rtol=1e-5)
        fast.backward()
        ref.backward()
        fp, fg = remove_duplicate(fast.params, fast.grads)
        rp, rg = ref_remove_duplicate(ref.params, ref.grads)
        assert len(fp) == len(rp)
        clip_grads(fg, 0.25)
        ref_clip(rg, 0.25)
        fo.update(fp, fg)
        ro.update(rp, rg)
        for a, b in zip(fast.params, ref.params):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_better_rnnlm_dropout_only_in_training(rng):
    np.random.seed(0)
    model = BetterRnnlm(20, 8, 8, 0.5)
    xs = rng.integers(0, 20, (2, 4))
    eval_a, eval_b = model.predict(xs), (model.reset_state(), model.predict(xs))[1]
    np.testing.assert_array_equal(eval_a, eval_b)                 # no dropout: deterministic
    model.reset_state()
    assert not np.allclose(model.predict(xs, train_flg=True), eval_a)
    assert model.layers[6].params[0].base is model.params[0]      # affine tied to the embedding


def test_generation_is_seeded_skips_ids_and_restores_state():
    np.random.seed(0)
    model = RnnlmGen(50, 8, 8)
    np.random.seed(1)
    a = model.generate(3, skip_ids=[4, 5], sample_size=40)
    assert len(a) == 40 and a[0] == 3 and not {4, 5} & set(a)
    model.reset_state()
    np.random.seed(1)
    assert model.generate(3, skip_ids=[4, 5], sample_size=40) == a
    state = model.get_state()
    greedy = model.generate(7, sample_size=10, top_k=1)
    model.set_state(state)
    assert model.generate(7, sample_size=10, top_k=1) == greedy   # top_k=1 is argmax: no randomness
    with pytest.raises(ValueError, match="sample_size must be a positive integer"):
        model.generate(3, sample_size=0)
    with pytest.raises(IndexError, match="start_id 50 is outside"):
        model.generate(50)
    with pytest.raises(ValueError, match="every id is excluded"):
        model.generate(1, skip_ids=range(50), sample_size=2)
    better = BetterRnnlmGen(50, 8, 8)
    assert len(better.generate(2, sample_size=5, temperature=0.5)) == 5
    assert len(better.get_state()) == 2


@pytest.fixture(scope="module")
def ptb_small():
    from fastseq.datasets import ptb
    train, word_to_id, _ = ptb.load_data("train")
    return (train[:4000], ptb.load_data("val")[0][:800], ptb.load_data("test")[0][:800]), len(word_to_id)


TINY = lm.Recipe(model="better", epochs=2, wordvec=8, hidden=8, dropout=0.3, validate=True,
                 restart_each_epoch=True, batch_size=4, time_size=5, lr=5.0, eval_interval=50)


def test_interrupted_run_resumes_exactly(tmp_path, ptb_small):
    data, V = ptb_small
    ppl_straight = lm.train(TINY, tmp_path / "a", data, V, progress_bar=False)
    assert lm.train(TINY, tmp_path / "b", data, V, stop_after=250, progress_bar=False) is None   # mid-epoch 2
    with np.load(tmp_path / "b" / "checkpoint.npz") as z:
        interrupted_epoch_seconds = json.loads(str(z["meta"]))["progress"]["epoch_seconds"]
    assert interrupted_epoch_seconds > 0
    ppl_resumed = lm.train(TINY, tmp_path / "b", data, V, resume=True, progress_bar=False)
    assert ppl_resumed == ppl_straight
    timing = ("epoch_seconds", "train_seconds")
    with np.load(tmp_path / "a" / "checkpoint.npz") as a, np.load(tmp_path / "b" / "checkpoint.npz") as b:
        for key in a.files:
            if key == "meta":
                meta_a, meta_b = json.loads(str(a[key])), json.loads(str(b[key]))
                for meta in (meta_a, meta_b):
                    for name in timing:
                        meta["progress"].pop(name)
                assert meta_a == meta_b
            else:
                np.testing.assert_array_equal(a[key], b[key])
    log = read_log(tmp_path / "b")
    assert [r.get("epoch") for r in log[:2]] == [1, 2] and "val_ppl" in log[0] and "test_ppl" in log[-1]
    # the whole run's training time, the interrupted session's part of epoch 2 included
    assert log[-1]["train_seconds"] == pytest.approx(sum(r["seconds"] for r in log if "epoch" in r), abs=0.02)
    assert log[1]["seconds"] >= interrupted_epoch_seconds
    # a finished run resumed: the saved test perplexity, nothing evaluated or logged again
    assert lm.train(TINY, tmp_path / "b", data, V, resume=True, progress_bar=False) == ppl_resumed
    assert read_log(tmp_path / "b") == log


def test_lr_is_divided_when_validation_gets_worse(tmp_path, ptb_small):
    data, V = ptb_small
    recipe = dataclasses.replace(TINY, epochs=3, lr=200.0, dropout=0.0)   # too large a step: validation worsens
    lm.train(recipe, tmp_path, data, V, progress_bar=False)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()][:-1]
    for before, after in zip(log, log[1:]):
        best = min(r["val_ppl"] for r in log[:log.index(after)])
        assert after["lr"] == (before["lr"] if before["val_ppl"] <= best else before["lr"] / 4)


def test_annealed_epochs_start_at_a_quarter_of_the_lr_and_resume_exactly(tmp_path, ptb_small):
    data, V = ptb_small
    recipe = dataclasses.replace(TINY, epochs=3, anneal_epochs=(2, 3))
    ppl_straight = lm.train(recipe, tmp_path / "a", data, V, progress_bar=False)
    log = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()][:-1]
    for before, after in zip(log, log[1:]):
        worse = before["val_ppl"] > min([r["val_ppl"] for r in log[:log.index(before)]] or [np.inf])
        assert after["lr"] == before["lr"] / (16 if worse else 4)
    assert lm.train(recipe, tmp_path / "b", data, V, stop_after=199, progress_bar=False) is None   # at epoch 2's start
    assert lm.train(recipe, tmp_path / "b", data, V, resume=True, progress_bar=False) == ppl_straight
    with pytest.raises(ValueError, match="anneal_epochs"):
        lm.Recipe(anneal_epochs=(1,))


@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_lr_schedule_sets_every_iterations_lr_and_resumes_exactly(tmp_path, ptb_small, monkeypatch, schedule):
    data, V = ptb_small
    recipe = dataclasses.replace(TINY, epochs=3, validate=False, lr_schedule=schedule)
    used = []
    step = lm.train_step

    def recording_step(model, optimizer, *args, **kwargs):
        used.append(optimizer.lr)
        return step(model, optimizer, *args, **kwargs)

    monkeypatch.setattr(lm, "train_step", recording_step)
    ppl_straight = lm.train(recipe, tmp_path / "a", data, V, progress_bar=False)
    total = 3 * (3999 // (TINY.batch_size * TINY.time_size))
    decay = {"cosine": lambda f: (1 + np.cos(np.pi * f)) / 2, "linear": lambda f: 1 - f}[schedule]
    np.testing.assert_allclose(used, [recipe.lr * decay(i / total) for i in range(total)], rtol=1e-12)
    assert lm.train(recipe, tmp_path / "b", data, V, stop_after=250, progress_bar=False) is None
    assert lm.train(recipe, tmp_path / "b", data, V, resume=True, progress_bar=False) == ppl_straight
    with pytest.raises(ValueError, match="lr_schedule"):
        lm.Recipe(lr_schedule="exponential")


def test_variational_dropout_recipe_reuses_masks_over_time(tmp_path, ptb_small):
    data, V = ptb_small
    recipe = dataclasses.replace(TINY, epochs=1, variational_dropout=True)
    np.random.seed(0)
    model = lm.build_model(recipe, V)
    xs = np.arange(4 * 5).reshape(4, 5) % V
    model.forward(xs, xs)
    for layer in model.drop_layers:
        assert layer.variational and layer.mask.shape == (4, 1, layer.mask.shape[2])
    assert not any(layer.variational for layer in lm.build_model(TINY, V).drop_layers)
    ppl = lm.train(recipe, tmp_path / "v", data, V, progress_bar=False)
    assert np.isfinite(ppl) and ppl != lm.train(dataclasses.replace(recipe, variational_dropout=False),
                                                tmp_path / "p", data, V, progress_bar=False)
    assert json.loads((tmp_path / "v" / "config.json").read_text())["variational_dropout"] is True
    with pytest.raises(ValueError, match="variational_dropout"):
        lm.Recipe(model="rnnlm", variational_dropout=True)


def test_cli_train_eval_generate(tmp_path, capsys):
    run = str(tmp_path / "run")
    args = ["train-lm", "--epochs", "1", "--train-tokens", "3000", "--hidden", "8", "--wordvec", "8",
            "--batch-size", "4", "--time-size", "5", "--out", run]
    assert main(args) == 0
    ppl = float(capsys.readouterr().out.strip().splitlines()[-1].split(":")[1])
    assert 1 < ppl < 10000
    assert main(args) == 1                                        # never overwrites a run silently
    assert "already holds a run" in capsys.readouterr().err
    assert main(["eval-lm", "--checkpoint", run]) == 0
    assert float(capsys.readouterr().out.strip().split(":")[1]) == pytest.approx(ppl, rel=1e-6)
    assert main(["generate", "--checkpoint", run, "--start", "the", "--length", "12", "--seed", "0"]) == 0
    text = capsys.readouterr().out
    assert text.split()[0] == "the" and len(text.split()) == 12 - text.count(".\n") + text.count(".\n")
    assert main(["generate", "--checkpoint", run, "--start", "zzzz"]) == 1
    assert "'zzzz' is not in the model's vocabulary" in capsys.readouterr().err
    assert main(["eval-lm", "--checkpoint", str(tmp_path / "run" / "best.npz")]) == 1    # needs --model
    assert "--model must be one of" in capsys.readouterr().err


def test_cli_reports_divergence_in_one_line(tmp_path, capsys):
    status = main(["train-lm", "--epochs", "1", "--train-tokens", "3000", "--hidden", "8", "--wordvec", "8",
                   "--batch-size", "4", "--time-size", "5", "--lr", "1e30", "--max-grad", "1e30",
                   "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1 and err.startswith("fastseq: error: training diverged") and err.count("\n") == 1


def test_cli_resume_extends_a_finished_run(tmp_path, capsys):
    run = str(tmp_path / "run")
    base = ["--train-tokens", "3000", "--hidden", "8", "--wordvec", "8", "--batch-size", "4", "--time-size", "5"]
    assert main(["train-lm", "--epochs", "1", "--out", run] + base) == 0
    assert main(["train-lm", "--resume", run, "--epochs", "2"]) == 0
    assert "2 epochs" in capsys.readouterr().out
    epochs = [json.loads(line).get("epoch") for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [e for e in epochs if e] == [1, 2]
    assert main(["train-lm", "--resume", str(tmp_path / "nothing")]) == 1
    assert "is not a fastseq run folder" in capsys.readouterr().err


def test_cli_one_hour_recipe_and_anneal_option(tmp_path, capsys):
    assert lm.RECIPES["better-1h"] == dataclasses.replace(lm.RECIPES["better"], epochs=6, anneal_epochs=(6,))
    assert lm.RECIPES["fast-1h"] == dataclasses.replace(lm.RECIPES["better"], wordvec=400, hidden=400, dropout=0.3,
                                                        epochs=12, anneal_epochs=(10, 11))
    base = ["train-lm", "--train-tokens", "3000", "--hidden", "8", "--wordvec", "8", "--batch-size", "4",
            "--time-size", "5", "--epochs", "2"]
    assert main(base + ["--model", "better-1h", "--anneal-epochs", "1", "--out", str(tmp_path / "a")]) == 1
    assert "anneal_epochs" in capsys.readouterr().err
    assert main(base + ["--model", "better-1h", "--anneal-epochs", "2", "--out", str(tmp_path / "b")]) == 0
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert config["model"] == "better" and config["anneal_epochs"] == [2] and config["dropout"] == 0.5
    assert main(base + ["--model", "fast-1h", "--out", str(tmp_path / "c")]) == 0
    config = json.loads((tmp_path / "c" / "config.json").read_text())
    assert config["model"] == "better" and config["anneal_epochs"] == [10, 11] and config["dropout"] == 0.3
    assert main(base + ["--model", "fast-1h", "--lr-schedule", "cosine", "--variational-dropout",
                        "--out", str(tmp_path / "d")]) == 0
    config = json.loads((tmp_path / "d" / "config.json").read_text())
    assert config["lr_schedule"] == "cosine" and config["variational_dropout"] is True
    assert config["sampled_softmax"] == 0
    assert main(base + ["--model", "fast-1h", "--sampled-softmax", "16", "--out", str(tmp_path / "f")]) == 0
    assert json.loads((tmp_path / "f" / "config.json").read_text())["sampled_softmax"] == 16
    assert main(base + ["--model", "rnnlm", "--variational-dropout", "--out", str(tmp_path / "e")]) == 1
    assert "--variational-dropout applies to the better recipes only" in capsys.readouterr().err


def test_cli_trains_on_a_korean_text_corpus(tmp_path, capsys, monkeypatch):
    """train-lm on the user's own text (held-out validation and test), then eval-lm and generate
    on that run's own vocabulary, and a resume that must name the same data."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    subjects, places, verbs = ["나는", "그는", "우리는"], ["학교에", "집에", "공원에"], ["간다", "온다"]
    lines = [f"{rng.choice(subjects)} {rng.choice(places)} {rng.choice(verbs)} ." for _ in range(2000)]
    (tmp_path / "ko.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = str(tmp_path / "run")
    common = ["--epochs", "1", "--hidden", "8", "--wordvec", "8", "--batch-size", "4", "--time-size", "5"]
    assert main(["train-lm", "--corpus", str(tmp_path / "ko.txt"), *common, "--out", run]) == 0
    ppl = float(capsys.readouterr().out.strip().splitlines()[-1].split(":")[1])
    assert 1 < ppl < 20                                         # 10 words and <eos>: it learns them
    assert (tmp_path / "run" / "vocab.txt").read_text(encoding="utf-8").split("\n")[0] in subjects
    assert main(["eval-lm", "--checkpoint", run]) == 0
    assert float(capsys.readouterr().out.strip().split(":")[1]) == pytest.approx(ppl, rel=1e-6)
    assert main(["generate", "--checkpoint", run, "--start", "나는", "--length", "8", "--seed", "0"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("나는") and set(text.split()) <= set(subjects + places + verbs + ["."])
    assert main(["train-lm", "--resume", run, "--corpus", str(tmp_path / "ko.txt"), "--min-count", "2"]) == 1
    assert "trained on" in capsys.readouterr().err
    assert main(["train-lm", "--min-count", "2", "--out", str(tmp_path / "p")]) == 1
    assert "--min-count goes with a text --corpus" in capsys.readouterr().err
