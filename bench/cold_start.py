"""Cold start: seconds from launching a command to its first training iteration, with an empty
numba cache (a fresh install) and again with the cache that first run left (every later run).

    python bench/cold_start.py [--commands train-lm count ...]

Each command runs in a fresh process with ``NUMBA_CACHE_DIR`` pointing at a new empty folder,
so numba compiles every kernel the command needs. The clock stops at the first progress-bar
tick past zero (``count``, which has no bar, is timed to its exit), and the process is then
stopped. PTB must be reachable (``FASTSEQ_DATA``).
"""
import argparse
import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import tempfile
import termios
import time

COMMANDS = {
    "train-lm": ["train-lm", "--model", "rnnlm"],
    "train-lm better": ["train-lm", "--model", "better"],
    "train-word2vec": ["train-word2vec", "--epochs", "1"],
    "train-seq2seq": ["train-seq2seq", "--epochs", "1"],
    "count": ["count"],
}
# a tqdm bar's count: "| 12/1234 [" or "| 1.20k/929k ["
_TICK = re.compile(rb"\|\s*([0-9.]+)[kMG]?/")


def first_iteration(args, env, out, limit=300.0):
    """Seconds until the command's bar first counts past zero (or until it exits)."""
    cmd = [sys.executable, "-m", "fastseq.cli", *args, "--out", out, "--force"]
    reader, writer = pty.openpty()          # a terminal 120 columns wide, so that tqdm draws its bar
    fcntl.ioctl(writer, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=writer)
    os.close(writer)
    seen = b""
    try:
        while time.perf_counter() - start < limit:
            try:
                chunk = os.read(reader, 4096)
            except OSError:                 # the terminal closes when the process exits
                chunk = b""
            if not chunk:
                proc.wait()
                if proc.returncode != 0:
                    raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}: {seen[-500:].decode(errors='replace')}")
                return time.perf_counter() - start
            seen += chunk
            if any(float(m.group(1)) > 0 for m in _TICK.finditer(seen)):
                return time.perf_counter() - start
        raise TimeoutError(f"{' '.join(args)}: no iteration in {limit} s")
    finally:
        os.close(reader)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", nargs="+", choices=sorted(COMMANDS), default=sorted(COMMANDS))
    parser.add_argument("--warm-up", action="store_true", help="run `fastseq warm-up` into the empty cache "
                                                               "first, as README's set-up command does")
    opts = parser.parse_args()
    print(f"{'command':<16} {'cold (s)':>9} {'warm (s)':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in opts.commands:
            env = {**os.environ, "NUMBA_CACHE_DIR": tempfile.mkdtemp(dir=tmp)}
            warm_up = ""
            if opts.warm_up:
                begin = time.perf_counter()
                subprocess.run([sys.executable, "-m", "fastseq.cli", "warm-up"], env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                warm_up = f"   (warm-up {time.perf_counter() - begin:.1f} s first)"
            out = os.path.join(tmp, name.replace(" ", "-"))
            cold = first_iteration(COMMANDS[name], env, out)
            warm = first_iteration(COMMANDS[name], env, out)
            print(f"{name:<16} {cold:>9.1f} {warm:>9.1f}{warm_up}", flush=True)


if __name__ == "__main__":
    main()
