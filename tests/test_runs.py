"""Run folders: checked before work, locked, resumable, never losing or overwriting a result.

Every command is driven through its command line: a bad --out is refused before any training,
a second run on a busy folder is refused with the holder's PID, and Ctrl-C followed by
--resume gives the uninterrupted run's result."""
import json
import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

from fastseq import cli, count, lm, runs, seq2seq_train, word2vec
from fastseq.runs import RunError, RunFolder, atomic_write


# -- atomic writes -------------------------------------------------------------------------

def test_atomic_write_replaces_regular_files_only_and_honours_the_umask(tmp_path):
    target = tmp_path / "f.bin"
    old = os.umask(0o027)
    try:
        atomic_write(target, lambda f: f.write(b"one"))
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
        atomic_write(target, lambda f: f.write(b"two"))
        assert target.read_bytes() == b"two"
    finally:
        os.umask(old)
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link").symlink_to(target)
    for name, kind in (("dir", "a folder"), ("fifo", "a special file"), ("link", "a symlink")):
        with pytest.raises(RunError, match=kind):
            atomic_write(tmp_path / name, lambda f: f.write(b"x"))
    assert (tmp_path / "link").is_symlink() and stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)
    with pytest.raises(RunError, match="a special file"):
        atomic_write("/dev/null", lambda f: f.write(b"x"))
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "f.bin", "fifo", "link"]   # no temporaries left


def test_a_failed_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def fail(f):
        f.write(b"half")
        raise RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert target.read_bytes() == b"old" and len(list(tmp_path.iterdir())) == 1


def test_nan_is_never_saved_over_a_product(tmp_path):
    with RunFolder(tmp_path, "count") as run:
        run.save_arrays("vectors.npz", {"v": np.ones(3)})
        with pytest.raises(FloatingPointError, match="NaN or inf"):
            run.save_arrays("vectors.npz", {"v": np.array([1.0, np.nan])})
    with np.load(tmp_path / "vectors.npz") as z:
        np.testing.assert_array_equal(z["v"], np.ones(3))


# -- the folder's rules --------------------------------------------------------------------

def test_bad_folders_are_refused(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    for bad, message in ((tmp_path / "file.txt", "exists and is not a folder"),
                         (tmp_path / "file.txt" / "run", "cannot create or write"),
                         ("", "non-empty path"), ("/proc/fastseq-run", "cannot create or write")):
        with pytest.raises(RunError, match=message):
            RunFolder(bad, "count").__enter__()
    (tmp_path / "run" / "best.npz").mkdir(parents=True)
    with pytest.raises(RunError, match="best.npz is a folder"):
        RunFolder(tmp_path / "run", "count").__enter__()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "vectors.txt").symlink_to(tmp_path / "file.txt")
    with pytest.raises(RunError, match="vectors.txt is a symlink"):
        RunFolder(tmp_path / "other", "count").__enter__()
    assert (tmp_path / "file.txt").read_text() == "x"


def test_lock_names_the_holder_and_dies_with_it(tmp_path):
    with RunFolder(tmp_path, "count"):
        with pytest.raises(RunError, match=f"in use by another fastseq run \\(PID {os.getpid()}\\)"):
            RunFolder(tmp_path, "count").__enter__()
    with RunFolder(tmp_path, "count"):      # released on exit
        pass


def test_force_deletes_the_previous_runs_files_and_nothing_else(tmp_path):
    with RunFolder(tmp_path, "train-lm") as run:
        run.write_config({"a": 1})
        run.save_arrays("best.npz", {"p0": np.ones(2)})
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="already holds a run .*--resume .*--force"):
        RunFolder(tmp_path, "train-lm").__enter__()
    with RunFolder(tmp_path, "train-lm", force=True):
        assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "notes.txt"]


def test_temporaries_left_by_a_kill_are_removed_under_the_lock(tmp_path):
    (tmp_path / ".best.npz.x1y2.part").write_bytes(b"half")
    (tmp_path / ".mine.part").write_bytes(b"not ours")
    with RunFolder(tmp_path, "count"):
        assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", ".mine.part"]


def test_a_new_run_that_fails_before_saving_leaves_no_half_run(tmp_path):
    with pytest.raises(ValueError):
        with RunFolder(tmp_path, "count") as run:
            run.write_config({"a": 1})
            run.log({"stage": "load"})
            raise ValueError("bad option")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock"]


def test_config_is_checked_key_by_key(tmp_path):
    schema = {"a": (int,), "b": (str,)}
    with RunFolder(tmp_path, "count") as run:
        for config, message in (({"a": 1}, "missing key 'b'"), ({"a": 1, "b": "x", "c": 0}, "unknown key 'c'"),
                                ({"a": "1", "b": "x"}, "a = '1' has the wrong type"),
                                ({"a": True, "b": "x"}, "has the wrong type")):
            run.write_config(config)
            with pytest.raises(RunError, match=message):
                run.read_config(schema)
        run.write_config({"a": 1, "b": "x"})
        assert run.read_config(schema) == {"a": 1, "b": "x"}
        with pytest.raises(RunError, match="is not a train-lm run"):
            RunFolder(tmp_path, "train-lm").read_config(schema)
        (tmp_path / "config.json").write_text('{"command": "count", "a": 1, "b"')
        with pytest.raises(RunError, match="not JSON"):
            run.read_config(schema)


# -- each command through its command line -------------------------------------------------

LM = ["train-lm", "--train-tokens", "20000", "--hidden", "8", "--wordvec", "8", "--batch-size", "4",
      "--time-size", "5", "--epochs", "8", "--threads", "1"]
W2V = ["train-word2vec", "--dim", "16", "--epochs", "10", "--threads", "1", "--sample", "0"]
S2S = ["train-seq2seq", "--data", "date", "--model", "peeky", "--hidden", "16", "--train-examples", "3000",
       "--epochs", "10", "--threads", "1"]
COUNT = ["count", "--dim", "4", "--threads", "1"]


@pytest.fixture(scope="module")
def text_corpus(tmp_path_factory):
    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(200)])
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    lines = [" ".join(words[rng.zipf(1.5, 12) % 200]) + " ." for _ in range(40000)]
    path.write_text("\n".join(lines))
    return str(path)


def _argv(base, corpus):
    return base + ["--corpus", corpus] if base[0] in ("train-word2vec", "count") else list(base)


# the function that does each command's work, replaced to prove a refusal came before it
_WORK = {"train-lm": (lm, "_train"), "train-word2vec": (word2vec, "train_word2vec"),
         "count": (count, "count_vectors"), "train-seq2seq": (seq2seq_train, "_train")}


@pytest.mark.parametrize("base", [LM, W2V, COUNT, S2S], ids=lambda b: b[0])
def test_bad_out_is_refused_before_any_work(base, text_corpus, tmp_path, monkeypatch, capsys):
    def no_work(*args, **kwargs):
        raise AssertionError("the work started")
    monkeypatch.setattr(*_WORK[base[0]], no_work)
    (tmp_path / "file.txt").write_text("x")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "run" / "config.json").mkdir(parents=True)
    for out in (str(tmp_path / "file.txt"), str(tmp_path / "file.txt" / "v"), "", "/proc/x", str(tmp_path / "fifo"),
                str(tmp_path / "run")):
        assert cli.main(_argv(base, text_corpus) + ["--out", out]) == 1, out
        err = capsys.readouterr().err
        assert err.startswith("fastseq: error: --out") and err.count("\n") == 1, err
    assert (tmp_path / "file.txt").read_text() == "x" and stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)


def _sigint_default():
    """For a child that must see Ctrl-C: a shell that ran these tests in the background has
    SIGINT ignored, which its children inherit and Python then leaves ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_log(path, process, lines=1, limit=120):
    deadline = time.time() + limit
    while time.time() < deadline and process.poll() is None:
        if path.exists() and path.read_text().count("\n") >= lines:
            return
        time.sleep(0.02)
    raise AssertionError(f"no {lines} log line(s) at {path}; the run exited with {process.poll()}")


def _products(folder):
    out = {}
    for name in ("best.npz", "vectors.npz"):
        if (folder / name).exists():
            with np.load(folder / name) as z:
                out.update({f"{name}:{k}": z[k] for k in z.files})
    return out


@pytest.mark.parametrize("base", [LM, W2V, S2S], ids=lambda b: b[0])
def test_ctrl_c_then_resume_equals_the_uninterrupted_run(base, text_corpus, tmp_path, capsys):
    argv = _argv(base, text_corpus)
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # every part in a fresh process, as a user runs it (and as the interrupted part must run)
    done = subprocess.run([sys.executable, "-m", "fastseq.cli", *argv, "--out", str(straight)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    process = subprocess.Popen([sys.executable, "-m", "fastseq.cli", *argv, "--out", str(stopped)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_sigint_default)
    try:
        _wait_for_log(stopped / "log.jsonl", process)
        capsys.readouterr()
        assert cli.main(argv + ["--out", str(stopped)]) == 1          # a second run on a busy folder
        assert f"in use by another fastseq run (PID {process.pid})" in capsys.readouterr().err
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "--resume" in err.strip().splitlines()[-1]
    lines = (stopped / "log.jsonl").read_text().count("\n")
    resumed = subprocess.run([sys.executable, "-m", "fastseq.cli", base[0], "--resume", str(stopped), "--threads", "1"],
                             env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    want, got = _products(straight), _products(stopped)
    assert want.keys() == got.keys() and want
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    log = [json.loads(line) for line in (stopped / "log.jsonl").read_text().splitlines()]
    epochs = [r["epoch"] for r in log if "epoch" in r]
    assert epochs == list(range(1, len(epochs) + 1)) and len(epochs) == (8 if base is LM else 10)
    assert lines < len(log)


def test_ctrl_c_in_count_leaves_no_half_run(text_corpus, tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-c", "import os, signal, sys; from fastseq import cli, count;"
                                "orig = count.ppmi_sparse;"
                                "count.ppmi_sparse = lambda *a, **k: (os.kill(os.getpid(), signal.SIGINT), orig(*a, **k))[1];"
                                f"sys.exit(cli.main({_argv(COUNT, text_corpus) + ['--out', str(out)]!r}))"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_sigint_default)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert sorted(p.name for p in out.iterdir()) == [".lock"]
    assert cli.main(_argv(COUNT, text_corpus) + ["--out", str(out)]) == 0       # no --force needed


def _lm_run(tmp_path, name="run", extra=()):
    folder = tmp_path / name
    assert cli.main(LM[:-4] + ["--epochs", "2", "--threads", "1", "--out", str(folder), *extra]) == 0
    return folder


def test_resume_refuses_conflicting_options_and_allows_epochs(tmp_path, capsys):
    folder = _lm_run(tmp_path)
    capsys.readouterr()
    for option in (["--lr", "1.0"], ["--hidden", "16"], ["--out", str(tmp_path / "other")], ["--model", "better"],
                   ["--force"]):
        assert cli.main(["train-lm", "--resume", str(folder), *option]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and option[0] in err, err
    assert cli.main(["train-lm", "--resume", str(folder), "--epochs", "3", "--threads", "2"]) == 0
    assert json.loads((folder / "config.json").read_text())["epochs"] == 3
    w2v = tmp_path / "w2v"
    assert cli.main(["train-word2vec", "--corpus", "ptb", "--out", str(w2v), "--epochs", "1", "--dim", "4"]) == 0
    assert cli.main(["train-word2vec", "--resume", str(w2v), "--dim", "8"]) == 1
    assert "--dim 8 conflicts with the run being resumed (dim = 4)" in capsys.readouterr().err


def test_force_run_interrupted_never_reports_the_old_runs_perplexity(tmp_path, capsys):
    folder = _lm_run(tmp_path)
    old_best = (folder / "best.npz").read_bytes()
    data_args = LM[:-4] + ["--epochs", "2", "--threads", "1", "--out", str(folder)]
    assert cli.main(data_args) == 1
    assert "already holds a run" in capsys.readouterr().err
    recipe = lm.load_recipe(folder)
    from fastseq.datasets import ptb
    data = tuple(ptb.load_data(s)[0] for s in ("train", "val", "test"))
    assert lm.train(recipe, folder, data, 10000, force=True, stop_after=5, progress_bar=False) is None
    assert not (folder / "best.npz").exists() and old_best
    assert not (folder / "log.jsonl").exists()


def test_seq2seq_refuses_an_existing_run_without_force(tmp_path, capsys):
    folder = tmp_path / "s2s"
    argv = S2S[:-4] + ["--epochs", "1", "--train-examples", "256", "--out", str(folder)]
    assert cli.main(argv) == 0
    before = (folder / "best.npz").read_bytes()
    assert cli.main(argv) == 1 and "already holds a run" in capsys.readouterr().err
    assert (folder / "best.npz").read_bytes() == before
    assert cli.main(argv + ["--force"]) == 0


@pytest.mark.parametrize("damage", ["truncate-checkpoint", "checkpoint-missing-key", "config-extra-key",
                                    "config-wrong-type", "config-missing-key", "truncate-best", "foreign-checkpoint"])
def test_damaged_run_files_give_one_line_errors(damage, tmp_path, capsys):
    folder = _lm_run(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    if damage == "truncate-checkpoint":
        data = (folder / "checkpoint.npz").read_bytes()
        (folder / "checkpoint.npz").write_bytes(data[:len(data) // 2])
    elif damage == "checkpoint-missing-key":
        with np.load(folder / "checkpoint.npz") as z:
            arrays = {k: z[k] for k in z.files if k != "p0"}
        np.savez(folder / "checkpoint.npz", **arrays)
    elif damage == "foreign-checkpoint":
        np.savez(folder / "checkpoint.npz", p0=np.ones(3), meta=np.array('{"log_lines": 1}'))
    elif damage == "truncate-best":
        data = (folder / "best.npz").read_bytes()
        (folder / "best.npz").write_bytes(data[:100])
    else:
        if damage == "config-extra-key":
            config["colour"] = "blue"
        elif damage == "config-wrong-type":
            config["hidden"] = "8"
        else:
            del config["lr"]
        (folder / "config.json").write_text(json.dumps(config))
    command = ["eval-lm", "--checkpoint", str(folder)] if damage == "truncate-best" else \
        ["train-lm", "--resume", str(folder), "--epochs", "3"]
    capsys.readouterr()
    assert cli.main(command) == 1
    err = capsys.readouterr().err
    assert err.startswith("fastseq: error: ") and err.count("\n") == 1 and "Traceback" not in err, err


def test_a_crash_between_log_and_checkpoint_never_duplicates_an_epoch(tmp_path, monkeypatch):
    from fastseq.datasets import ptb
    data = tuple(ptb.load_data(s)[0][:20000] for s in ("train", "val", "test"))
    recipe = lm.Recipe(epochs=3, wordvec=8, hidden=8, batch_size=4, time_size=5, train_tokens=8000)
    want = lm.train(recipe, tmp_path / "straight", data, 10000, progress_bar=False)
    folder = tmp_path / "crashed"
    assert lm.train(recipe, folder, data, 10000, stop_after=10, progress_bar=False) is None

    def crash(self, arrays, meta):
        raise SystemExit("killed")          # as kill -9 right after the epoch's log line
    with monkeypatch.context() as m:
        m.setattr(runs.RunFolder, "save_checkpoint", crash)
        with pytest.raises(SystemExit):
            lm.train(recipe, folder, data, 10000, resume=True, progress_bar=False)
    assert [json.loads(line)["epoch"] for line in (folder / "log.jsonl").read_text().splitlines()] == [1]
    assert lm.train(recipe, folder, data, 10000, resume=True, progress_bar=False) == want
    epochs = [json.loads(line).get("epoch") for line in (folder / "log.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3, None]


def test_word2vec_stops_on_divergence_without_saving(text_corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train-word2vec", "--corpus", text_corpus, "--dim", "8", "--epochs", "2", "--lr", "1e30",
                     "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "train_word2vec: the" in err and "lower lr" in err and err.count("\n") == 1
    assert not (out / "vectors.npz").exists() and not (out / "checkpoint.npz").exists()
    with pytest.raises(SystemExit):
        cli.main(["train-word2vec", "--lr", "inf", "--out", str(out)])
    assert "must be finite and > 0" in capsys.readouterr().err
