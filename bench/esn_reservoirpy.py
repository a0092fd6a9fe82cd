"""Echo state networks against reservoirpy (0.4), side by side in one run, both given the same
matrices (fastseq draws them; reservoirpy gets them as arrays):

* reservoir states over T steps of one sequence, H = 1,000 and 10,000 units, connectivity 0.1
  and 0.01 (float64, reservoirpy's default), checked equal;
* ridge training of the readout on those states;
* Mackey-Glass (tau = 17): one-step and 100-step closed-loop NRMSE with the same
  hyper-parameters.

    python bench/esn_reservoirpy.py [--steps 10000] [--units 1000 10000] [--threads 2]

Medians of ``--rounds`` runs (for the states, the two sides alternate round by round, after one
untimed run of fastseq's); without reservoirpy only fastseq's side is timed.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _reservoirpy as rp  # noqa: E402

import fastseq  # noqa: E402
from fastseq.datasets.mackey_glass import mackey_glass, nrmse  # noqa: E402
from fastseq.layers.reservoir import Ridge, TimeReservoir  # noqa: E402
from fastseq.models.esn import EchoStateNetwork  # noqa: E402


def _median_time(fn, rounds):
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _row(name, ours, theirs, note=""):
    ratio = f"{theirs / ours:6.2f}x" if theirs is not None else "     -"
    theirs_text = f"{theirs:10.3f}" if theirs is not None else "         -"
    print(f"{name:44s} {ours:10.3f} {theirs_text} {ratio}  {note}", flush=True)


def states_and_ridge(units, connectivity, steps, rounds):
    layer = TimeReservoir(1, units, connectivity=connectivity, spectral_radius=1.25, leak=0.3, seed=0,
                          stateful=False)
    xs = np.random.default_rng(0).uniform(-1, 1, (1, steps, 1))
    layer.forward(xs)              # compiled, and the process's first use of this much new memory, untimed
    ours, theirs, mine, states = [], [], None, None
    for _ in range(rounds):        # the sides alternate, so both meet the machine in the same state
        took, mine = _median_time(lambda: layer.forward(xs)[0], 1)
        ours.append(took)
        if rp.reservoirpy is not None:
            took, states = _median_time(lambda: rp.states(rp.reservoir_like(layer), xs[0]), 1)
            theirs.append(took)
    ours, theirs = statistics.median(ours), statistics.median(theirs) if theirs else None
    note = f"max |difference| {np.abs(states - mine).max():.1e}" if theirs else ""
    _row(f"states H={units} c={connectivity} T={steps} (s)", ours, theirs, note)
    target = np.sin(np.arange(steps, dtype=np.float64))[:, None]
    ours, fit = _median_time(lambda: Ridge(1e-6).fit(mine, target), rounds)
    theirs, note = None, ""
    if rp.reservoirpy is not None:
        theirs, other = _median_time(lambda: rp.ridge(1e-6).fit(mine, target), rounds)
        note = f"max |Wout difference| {np.abs(other.Wout - fit.Wout).max():.1e}"
    _row(f"ridge fit {steps}x{units} (s)", ours, theirs, note)


def mackey_glass_quality(units=500, train=2000, test=500, ahead=100):
    series = mackey_glass(train + test + 1)
    u, y = series[:-1, None], series[1:, None]
    net = EchoStateNetwork(1, units, ridge=1e-7, warmup=100, connectivity=0.1, spectral_radius=1.25, leak=0.3,
                           seed=0)
    net.fit(u[:train], y[:train])
    state = net.reservoir.h.copy()
    truth = series[train:train + ahead, None]      # generation continues the series after its first `train` values
    ours_closed = nrmse(truth, net.generate(ahead))
    net.reservoir.set_state(state)
    ours_one = nrmse(y[train:train + test], net.predict(u[train:train + test]))
    print(f"Mackey-Glass H={units} c=0.1 sr=1.25 leak=0.3 ridge=1e-7 warm-up 100, train {train}:")
    print(f"  fastseq:     one-step NRMSE {ours_one:.3e}, {ahead}-step closed-loop NRMSE {ours_closed:.3e}")
    if rp.reservoirpy is None:
        return
    node, readout = rp.reservoir_like(net.reservoir), rp.ridge(1e-7)
    states = rp.states(node, u[:train])
    readout.fit(states[100:], y[100:train])
    after_fit = node.state["out"].copy()
    outputs, h = [], after_fit
    for _ in range(ahead):                  # closed loop: each output is the next input
        out = np.asarray(readout.run(h[None]))[0]
        outputs.append(out)
        h = np.asarray(node.run(out[None]))[0]
    theirs_closed = nrmse(truth, np.array(outputs))
    node.state["out"] = after_fit
    theirs_one = nrmse(y[train:train + test], np.asarray(readout.run(rp.states(node, u[train:train + test]))))
    print(f"  reservoirpy: one-step NRMSE {theirs_one:.3e}, {ahead}-step closed-loop NRMSE {theirs_closed:.3e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--units", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--connectivity", type=float, nargs="+", default=[0.1, 0.01])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if rp.reservoirpy is None:
        print("reservoirpy is not installed: its column is empty")
    threads = args.threads or fastseq.get_num_threads()
    print(f"fastseq on {threads} threads; reservoirpy {getattr(rp.reservoirpy, '__version__', '-')}")
    print(f"{'case':44s} {'fastseq':>10s} {'reservoirpy':>10s} {'ratio':>7s}")
    with fastseq.threads(threads):
        for units in args.units:
            for c in args.connectivity:
                states_and_ridge(units, c, args.steps, args.rounds)
        mackey_glass_quality()


if __name__ == "__main__":
    main()
