"""``fastseq warm-up`` fills an empty numba cache with every kernel the commands use: a command
run after it loads its kernels from the cache and compiles none."""
import os
import subprocess
import sys


def _fastseq(*args, env, timeout=600):
    return subprocess.run([sys.executable, "-m", "fastseq.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_warm_up_leaves_nothing_to_compile(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    done = _fastseq("warm-up", env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "warm-up done" in done.stdout and "train-lm" in done.stdout and "count" in done.stdout
    assert "train-esn" in done.stdout
    env["NUMBA_DEBUG_CACHE"] = "1"
    text = tmp_path / "text.txt"           # over 2 MiB: read as two halves at once where 2 cores are free
    text.write_text("the cat sat on the mat . 고양이가 매트 위에 앉았다 .\n" * 40000, encoding="utf-8")
    # train-esn at 300 units: 9,300 connections and units a step, where one series gets the team of threads
    for command in (["train-lm", "--epochs", "1", "--train-tokens", "2000"], ["count"],
                    ["train-word2vec", "--corpus", str(text), "--epochs", "1", "--dim", "8"],
                    ["train-esn", "--units", "300", "--train", "300", "--test", "50", "--generate", "10"]):
        run = _fastseq(*command, "--out", str(tmp_path / command[0]), env=env)
        assert run.returncode == 0, run.stderr[-2000:]
        log = run.stdout + run.stderr
        assert "[cache] data loaded" in log
        compiled = sorted({line.split("/")[-1] for line in log.splitlines() if "[cache] data saved" in line})
        assert not compiled, f"{command[0]} compiled kernels the warm-up missed: {compiled}"
