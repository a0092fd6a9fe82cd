"""Slowdown beside a busy neighbour: each workload's wall time quiet, then beside one CPU-bound
process (a NumPy float32 1500x1500 matrix-product loop on NumPy's default threads), and the
ratio. Every workload runs in a fresh process, as a user would run it.

    python bench/contention.py [--rounds 3] [--only NAME ...]

Workloads: the book's ch01/train.py, ch03/train.py, ch05/train.py, ch05/train_custom_loop.py,
ch07/generate_text.py, ch07/generate_better_text.py, the first 6 lines of
ch07/train_seq2seq.py and the first 5 progress lines of ch06/train_rnnlm.py under the drop-in,
and the book itself (with FASTSEQ_BOOK_DIR); Rnnlm and BetterRnnlm training iterations;
an echo state network's states (H = 1,000, connectivity 0.1, one series: the team of threads);
``fastseq count`` on PTB; one epoch of ``fastseq train-word2vec`` on PTB; one epoch of
``fastseq train-seq2seq``. PyTorch on the same iterations is the anchor when it is installed.
Medians of ``--rounds`` runs; quiet and busy alternate, so drift hits both.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

BUSY = ("import numpy as np\n"
        "a = np.random.default_rng(0).standard_normal((1500, 1500)).astype(np.float32)\n"
        "while True:\n    a = a @ a\n    a /= np.abs(a).max()\n")

ITERATIONS = r"""
import sys, time, numpy as np
which, n = sys.argv[1], int(sys.argv[2])
np.random.seed(0)
V, N, T = 10000, 20, 35
x = np.random.randint(0, V, (N, T)); t = np.random.randint(0, V, (N, T))
if which.startswith("torch"):
    import torch
    torch.manual_seed(0)
    H = 100 if which == "torch-rnnlm" else 650
    layers = 1 if which == "torch-rnnlm" else 2
    emb, lstm, fc = torch.nn.Embedding(V, H), torch.nn.LSTM(H, H, layers, batch_first=True), torch.nn.Linear(H, V)
    params = list(emb.parameters()) + list(lstm.parameters()) + list(fc.parameters())
    opt = torch.optim.SGD(params, lr=0.1)
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)
    def step():
        opt.zero_grad()
        out, _ = lstm(emb(xt))
        loss = torch.nn.functional.cross_entropy(fc(out).reshape(-1, V), tt.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.25)
        opt.step()
else:
    from fastseq._threads import available_cores, policy
    from fastseq.models import BetterRnnlm, Rnnlm
    from fastseq.optimizers import SGD
    from fastseq.trainer import train_step
    model = Rnnlm(V, 100, 100) if which == "rnnlm" else BetterRnnlm(V, 650, 650)
    opt = SGD(0.1)
    scope = policy(1, 1, products=available_cores())
    scope.__enter__()
    def step():
        train_step(model, opt, x, t, 0.25, 1, 1)
step()
start = time.perf_counter()
for _ in range(n):
    step()
print((time.perf_counter() - start) / n)
"""


ESN_STATES = r"""
import time, numpy as np
from fastseq.layers.reservoir import TimeReservoir
layer = TimeReservoir(1, 1000, connectivity=0.1, spectral_radius=1.25, leak=0.3, seed=0, stateful=False)
xs = np.random.default_rng(0).uniform(-1, 1, (1, 5000, 1))
layer.forward(xs)
start = time.perf_counter()
for _ in range(3):
    layer.forward(xs)
print((time.perf_counter() - start) / 15000)
"""


def _timed(cmd, cwd=None, env=None):
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {done.stderr[-500:]}")
    return seconds, done.stdout


def workloads(tree, scratch):
    """name → function returning seconds (wall, or per iteration)."""
    py = sys.executable
    out = {}

    def cli(name, *args):
        def run():
            folder = scratch / name
            shutil.rmtree(folder, ignore_errors=True)
            return _timed([py, "-m", "fastseq.cli", *args, "--out", str(folder)])[0]
        out[name] = run

    def iterations(name, which, n):
        def run():
            return float(_timed([py, "-c", ITERATIONS, which, str(n)])[1].split()[-1])
        out[name] = run

    if tree is not None:
        import book_oracle as bo

        def book(script, mode, lines):
            def run():
                return bo.run_script(tree, script, mode, max_lines=lines, timeout=1800)[1]
            return run
        for script in ("ch01/train.py", "ch03/train.py", "ch05/train.py", "ch05/train_custom_loop.py",
                       "ch07/generate_text.py", "ch07/generate_better_text.py"):
            out[f"{script}, drop-in"] = book(script, "fastseq", None)
            out[f"{script}, the book"] = book(script, "book", None)
        out["ch07/train_seq2seq.py 6 lines, drop-in"] = book("ch07/train_seq2seq.py", "fastseq", 6)
        out["ch07/train_seq2seq.py 6 lines, the book"] = book("ch07/train_seq2seq.py", "book", 6)
        out["ch06/train_rnnlm.py 5 lines, drop-in"] = book("ch06/train_rnnlm.py", "fastseq", 5)
        out["ch06/train_rnnlm.py 5 lines, the book"] = book("ch06/train_rnnlm.py", "book", 5)
    iterations("Rnnlm iteration (s)", "rnnlm", 30)
    iterations("BetterRnnlm iteration (s)", "better", 6)
    try:
        import torch  # noqa: F401
        iterations("PyTorch LSTM-LM H100 iteration (s)", "torch-rnnlm", 30)
        iterations("PyTorch LSTM-LM H650x2 iteration (s)", "torch-better", 6)
    except ImportError:
        print("PyTorch is not installed: its anchor rows are skipped")
    out["ESN states H=1000 c=0.1, a step (s)"] = lambda: float(_timed([py, "-c", ESN_STATES])[1].split()[-1])
    cli("count PTB", "count", "--dim", "100")
    cli("train-word2vec PTB 1 epoch", "train-word2vec", "--epochs", "1")
    cli("train-seq2seq addition 1 epoch", "train-seq2seq", "--epochs", "1")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="workload names containing one of these words")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="fastseq-contention-"))
    tree = None
    if os.environ.get("FASTSEQ_BOOK_DIR"):
        import book_oracle as bo
        tree = bo.prepare_tree(Path(os.environ["FASTSEQ_BOOK_DIR"]), scratch / "book")
    else:
        print("FASTSEQ_BOOK_DIR is not set: the book-script rows are skipped")
    runs = workloads(tree, scratch)
    print(f"{'workload':44s} {'quiet':>10s} {'busy':>10s} {'slowdown':>9s}")
    for name, run in runs.items():
        if args.only and not any(word in name for word in args.only):
            continue
        quiet, busy = [], []
        for _ in range(args.rounds):
            quiet.append(run())
            neighbour = subprocess.Popen([sys.executable, "-c", BUSY])
            try:
                time.sleep(1.0)
                busy.append(run())
            finally:
                neighbour.kill()
                neighbour.wait()
        q, b = statistics.median(quiet), statistics.median(busy)
        print(f"{name:44s} {q:10.4g} {b:10.4g} {b / q:8.2f}x", flush=True)
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
