"""An echo state network on the Mackey-Glass series, as ``fastseq train-esn`` runs it.

The series (tau = 17) is cut into inputs u_t = x_t and targets x_{t+1}. The network is fitted
teacher-forced on the first ``train`` steps (the first ``warmup`` states dropped), then:

* closed loop: from the state at the end of training, ``generate`` steps, each output fed back
  as the next input, scored against the series' next ``generate`` values (``generate``-step-ahead
  NRMSE);
* one step: from the same state, teacher-forced over the next ``test`` steps (one-step NRMSE).

The run folder holds ``config.json``, ``log.jsonl`` (a line per stage with its seconds and
NRMSE), ``esn.npz`` (the reservoir, input weights, bias and readout) and ``prediction.png``
(true against closed-loop series) when matplotlib is installed.
"""
import time

import numpy as np
from tqdm.auto import tqdm

from fastseq import _validate as v
from fastseq._threads import available_cores, policy
from fastseq.datasets.mackey_glass import mackey_glass, nrmse
from fastseq.models.esn import EchoStateNetwork
from fastseq.runs import RunFolder, rss_mib, save_curve

__all__ = ["DATA", "train_esn"]

DATA = ("mackey-glass",)


def train_esn(out, data="mackey-glass", units=500, connectivity=0.1, spectral_radius=1.25, leak=0.3,
              input_scaling=1.0, ridge=1e-7, warmup=100, train=2000, test=500, generate=100, seed=0, force=False,
              threads=None, progress=True):
    """Fit and score an echo state network in the run folder ``out``; returns a dict of the
    scores (``one_step_nrmse``, ``closed_loop_nrmse``) and the model (``model``)."""
    if data not in DATA:
        raise ValueError(f"train_esn: data must be one of {', '.join(DATA)}, got {data!r}")
    for name, value in (("train", train), ("test", test), ("generate", generate)):
        v.integer("train_esn", name, value)
    config = {"data": data, "units": units, "connectivity": connectivity, "spectral_radius": spectral_radius,
              "leak": leak, "input_scaling": input_scaling, "ridge": ridge, "warmup": warmup, "train": train,
              "test": test, "generate": generate, "seed": seed}
    # every option is checked (by building the network) before the run folder is touched
    net = EchoStateNetwork(1, units, ridge=ridge, warmup=warmup, connectivity=connectivity,
                           spectral_radius=spectral_radius, leak=leak, input_scaling=input_scaling, seed=seed)
    if warmup >= train:
        raise ValueError(f"train_esn: warmup ({warmup}) must be smaller than train ({train})")
    series = mackey_glass(train + max(test, generate) + 1)
    u, y = series[:-1, None], series[1:, None]
    with RunFolder(out, "train-esn", force=force) as run, policy(1, threads or available_cores()):
        run.write_config(config)
        start = time.perf_counter()
        with tqdm(total=train, desc="reservoir states", unit="step", disable=not progress) as bar:
            net.fit(u[:train], y[:train], progress=bar.update)
        run.log({"stage": "fit", "seconds": round(time.perf_counter() - start, 3), "steps": train,
                 "nnz": int(net.reservoir.W.nnz), "rss_mib": rss_mib()})
        state = net.reservoir.h.copy()

        start = time.perf_counter()
        closed = net.generate(generate)
        truth = series[train:train + generate]          # the series continued after its first `train` values
        closed_nrmse = nrmse(truth[:, None], closed)
        run.log({"stage": "closed-loop", "seconds": round(time.perf_counter() - start, 3), "steps": generate,
                 "nrmse": closed_nrmse})

        net.reservoir.set_state(state)
        start = time.perf_counter()
        one_step_nrmse = nrmse(y[train:train + test], net.predict(u[train:train + test]))
        run.log({"stage": "one-step", "seconds": round(time.perf_counter() - start, 3), "steps": test,
                 "nrmse": one_step_nrmse})

        r = net.reservoir
        run.save_arrays("esn.npz", {"W_indptr": r.W.indptr, "W_indices": r.W.indices, "W_data": r.W.data,
                                    "Win": r.Win, "bias": r.bias, "Wout": net.readout.Wout,
                                    "bout": net.readout.bout})
        steps = np.arange(train, train + generate)
        save_curve(run.file("prediction.png"), {"true series": (steps, truth),
                                                "closed loop": (steps, closed[:, 0])},
                   "time step", "x(t)")
    return {"one_step_nrmse": one_step_nrmse, "closed_loop_nrmse": closed_nrmse, "model": net}
