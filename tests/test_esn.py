import numpy as np
import pytest
import scipy.sparse as sp

import fastseq
from fastseq.datasets.mackey_glass import mackey_glass, nrmse
from fastseq.layers import reservoir as rl
from fastseq.models.esn import EchoStateNetwork
from fastseq.reference import reservoir as ref


def _inputs(N, T, D, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).uniform(-1, 1, (N, T, D)).astype(dtype)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("N", [1, 3])
def test_states_equal_the_twin_and_carry_across_calls(dtype, tol, N):
    layer = rl.TimeReservoir(2, 120, connectivity=0.1, spectral_radius=0.95, leak=0.3, input_scaling=0.7,
                             bias_scaling=0.2, seed=3, dtype=dtype)
    xs = _inputs(N, 40, 2, dtype=dtype)
    first, second = layer.forward(xs[:, :25]), layer.forward(xs[:, 25:])
    want = ref.reservoir_states(layer.W, layer.Win, layer.bias, layer.leak, xs)
    assert first.dtype == dtype
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), want, atol=tol, rtol=0)
    np.testing.assert_array_equal(layer.h, second[:, -1])
    layer.reset_state()
    np.testing.assert_array_equal(layer.forward(xs[:, :25]), first)
    layer.set_state(np.zeros((N, 120)))
    np.testing.assert_array_equal(layer.forward(xs[:, :25]), first)


@pytest.mark.parametrize("N", [1, 3])
def test_noisy_states_computed_block_by_block_equal_the_twin(monkeypatch, N):
    monkeypatch.setattr(rl, "_NOISE_BYTES", 7 * N * 90 * 8)      # 40 steps: five blocks of 7 and one of 5
    layer = rl.TimeReservoir(2, 90, connectivity=0.2, spectral_radius=0.9, leak=0.6, bias_scaling=0.3, noise=0.05,
                             seed=5)
    xs = _inputs(N, 40, 2, seed=1)
    draws = np.random.default_rng([5, 2])                        # the layer's noise stream, block by block
    noise = np.concatenate([0.05 * draws.standard_normal((N, min(7, 40 - f), 90)) for f in range(0, 40, 7)], axis=1)
    h, want = np.zeros((N, 90)), np.empty((N, 40, 90))
    for t in range(40):
        for n in range(N):
            want[n, t] = ref.reservoir_states(layer.W, layer.Win, layer.bias + noise[n, t], layer.leak,
                                              xs[n:n + 1, t:t + 1], h0=h[n:n + 1])[0, 0]
        h = want[:, t]
    np.testing.assert_allclose(layer.forward(xs), want, atol=1e-12, rtol=0)


def test_noise_follows_its_seed():
    xs = _inputs(1, 30, 2)
    quiet = rl.TimeReservoir(2, 50, seed=2, stateful=False).forward(xs)
    runs = [rl.TimeReservoir(2, 50, noise=0.01, seed=2, stateful=False).forward(xs) for _ in range(2)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert 1e-4 < np.abs(runs[0] - quiet).max() < 0.1


@pytest.mark.parametrize("N", [1, 4])
def test_states_do_not_depend_on_the_thread_count(monkeypatch, N):
    from fastseq.kernels import threads

    from fastseq.kernels import reservoir as kernel

    monkeypatch.setattr(threads, "PARALLEL_MIN_WORK", 0)      # the parallel build even when small
    monkeypatch.setattr(kernel, "TEAM_MIN_STEP", 0)           # and the team of threads for one sequence
    monkeypatch.setattr(kernel, "others_hold_the_cores", lambda: False)
    layer = rl.TimeReservoir(3, 300, connectivity=0.05, spectral_radius=1.1, leak=0.5, seed=1,
                             dtype=np.float32, stateful=False)
    xs = _inputs(N, 30, 3, dtype=np.float32)
    results = []
    for n in (1, 2):
        with fastseq.threads(n):
            results.append(layer.forward(xs))
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("blocks", [1, 2, 3, 5])
@pytest.mark.parametrize("N", [1, 2])
def test_the_team_kernel_equals_one_thread_whoever_runs_the_blocks(blocks, N):
    """More blocks than threads: the blocks of team members that never run are taken over."""
    from fastseq.kernels import reservoir as kernel

    layer = rl.TimeReservoir(2, 210, connectivity=0.1, spectral_radius=1.2, leak=0.4, bias_scaling=0.2, seed=3)
    xs = _inputs(N, 50, 2, seed=4)
    inputs = (xs[:, 10:], layer.Win, layer.bias, np.empty((N, 0, 210)))
    start = np.random.default_rng(5).uniform(-0.5, 0.5, (N, 210))
    want_state, want = start.copy(), np.full((N, 60, 210), np.nan)
    kernel.reservoir_run.serial(layer.csr, inputs, 0.4, want_state, want, 20)
    cuts = kernel.unit_cuts(layer.csr[0], blocks)
    assert cuts[0] == 0 and cuts[-1] == 210 and np.all(np.diff(cuts) > 0)
    for threads_ in (1, 2):
        state, out = start.copy(), np.full((N, 60, 210), np.nan)
        with fastseq.threads(threads_):
            kernel.reservoir_run_team(layer.csr, inputs, 0.4, state, out, 20, cuts)
        np.testing.assert_array_equal(out, want)          # steps 20..59 written, the rest untouched
        np.testing.assert_array_equal(state, want_state)
    np.testing.assert_allclose(want[:, 20:], ref.reservoir_states(layer.W, layer.Win, layer.bias, 0.4, xs[:, 10:],
                                                                  h0=start), atol=1e-12, rtol=0)


def test_unit_cuts_share_the_connections_evenly():
    from fastseq.kernels import reservoir as kernel

    indptr = np.concatenate([[0], np.cumsum([90] * 10 + [1] * 90)]).astype(np.uint64)   # 10 heavy units first
    cuts = kernel.unit_cuts(indptr, 2)
    work = (indptr.astype(np.int64) + np.arange(101))[cuts]
    assert cuts[0] == 0 and cuts[-1] == 100
    assert abs((work[1] - work[0]) - (work[2] - work[1])) <= 92          # within one unit's work


def test_map_pages_writes_one_zero_a_page_and_nothing_else():
    from fastseq.kernels import reservoir as kernel

    for dtype, per_page in ((np.float64, 512), (np.float32, 1024)):
        flat = np.full(5000, 7, dtype=dtype)
        kernel.map_pages(flat)
        zeros = np.flatnonzero(flat == 0)
        np.testing.assert_array_equal(zeros, np.arange(0, 5000, per_page))
        assert np.all(np.delete(flat, zeros) == 7)


def test_the_kernels_tanh_is_within_3e_16_of_numpys():
    from numba import njit

    from fastseq.kernels import reservoir as kernel

    @njit(**kernel.KERNEL)           # the kernels' fastmath flags, as they inline it
    def tanh_all(x, out):
        for i in range(x.shape[0]):
            out[i] = kernel._tanh(x[i])

    x = np.concatenate([np.linspace(-25, 25, 400001), [-0.0, 1e-300, -1e-300, 40.0, -40.0, 1e300]])
    out = np.empty_like(x)
    tanh_all(x, out)
    assert np.abs(out - np.tanh(x)).max() < 3e-16


def test_the_reservoir_follows_its_seed_connectivity_and_radius():
    W = rl.random_reservoir(200, 0.05, 1.3, seed=7)
    assert W.shape == (200, 200) and W.nnz == 200 * 10
    assert all(len(set(W.indices[W.indptr[i]:W.indptr[i + 1]])) == 10 for i in range(200))
    assert abs(np.abs(np.linalg.eigvals(W.toarray())).max() - 1.3) < 1e-6
    again, other = rl.random_reservoir(200, 0.05, 1.3, seed=7), rl.random_reservoir(200, 0.05, 1.3, seed=8)
    assert (W != again).nnz == 0 and (W != other).nnz > 0
    full = rl.random_reservoir(5, 1.0, 0.5, seed=0)
    assert full.nnz == 25


def test_a_large_reservoir_shows_arpacks_products_and_gets_the_same_radius(monkeypatch, capsys):
    products = []
    assert rl.spectral_radius(rl.random_reservoir(200, 0.05, 1.0, seed=7), progress=products.append) \
        == pytest.approx(1.0, abs=1e-8)
    assert len(products) > 8 and set(products) == {1}
    quiet = rl.random_reservoir(200, 0.05, 1.3, seed=7)
    assert "spectral radius" not in capsys.readouterr().err
    monkeypatch.setattr(rl, "_BAR_CONNECTIONS", 0)          # as if it had 2^21 connections
    shown = rl.random_reservoir(200, 0.05, 1.3, seed=7)
    assert "reservoir spectral radius (ARPACK)" in capsys.readouterr().err
    assert (shown != quiet).nnz == 0


@pytest.mark.parametrize("units, connectivity, seed", [(300, 0.1, 1), (600, 0.05, 2), (100, 0.2, 1)])
def test_the_radius_is_the_largest_eigenvalue_where_eigenvalues_crowd(units, connectivity, seed):
    """Reservoirs whose largest eigenvalues lie close together: ARPACK asked for one eigenvalue
    scaled the first two 0.6% and 0.7% too large and did not converge on the third."""
    W = rl.random_reservoir(units, connectivity, 1.0, seed=seed)
    assert abs(np.abs(np.linalg.eigvals(W.toarray())).max() - 1.0) < 1e-8


def test_ridge_equals_the_svd_twin_and_predicts():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 150, 20))
    Y = X @ rng.standard_normal((20, 3)) + 0.5 + 0.01 * rng.standard_normal((2, 150, 3))
    fit = rl.Ridge(1e-3).fit(X, Y)
    Wout, bout = ref.ridge_fit(X.reshape(-1, 20), Y.reshape(-1, 3), 1e-3)
    np.testing.assert_allclose(fit.Wout, Wout, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fit.bout, bout, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fit.predict(X), X @ Wout + bout, rtol=1e-8, atol=1e-10)


def test_mackey_glass_is_learned_teacher_forced_and_in_closed_loop():
    series = mackey_glass(2300)
    assert series.shape == (2300,) and 0.2 < series.min() < series.max() < 1.5
    u, y = series[:-1, None], series[1:, None]
    net = EchoStateNetwork(1, 300, ridge=1e-8, warmup=100, connectivity=0.1, spectral_radius=1.25, leak=0.3,
                           seed=0)
    net.fit(u[:2000], y[:2000])
    one_step = nrmse(y[2000:2200], net.predict(u[2000:2200]))
    r = net.reservoir
    h = r.h[0].copy()
    generated = net.generate(50)
    want = ref.closed_loop(r.W, r.Win, r.bias, net.readout.Wout, net.readout.bout, r.leak, h, 50)
    np.testing.assert_allclose(generated, want, atol=1e-9)
    assert one_step < 0.01                              # a mean predictor scores 1.0
    assert nrmse(series[2200:2250, None], generated) < 0.05        # it continues the series


@pytest.mark.parametrize("kwargs, match", [
    ({"spectral_radius": 0}, "spectral_radius must be a number in"),
    ({"spectral_radius": -1.0}, "spectral_radius must be a number in"),
    ({"spectral_radius": float("nan")}, "spectral_radius must be a number in"),
    ({"connectivity": 0}, r"connectivity must be a number in \(0, 1\]"),
    ({"connectivity": 1.5}, r"connectivity must be a number in \(0, 1\]"),
    ({"leak": 0}, "leak must be a number in"),
    ({"noise": -0.1}, "noise must be a number in"),
    ({"seed": -1}, "seed must be an integer >= 0"),
])
def test_bad_hyper_parameters_are_refused_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rl.TimeReservoir(1, 10, **kwargs)


def test_a_reservoir_too_large_for_memory_is_refused_with_the_estimate(monkeypatch):
    monkeypatch.setattr(rl, "available_memory", lambda: 2**30)
    with pytest.raises(MemoryError, match=r"needs about 1\.31 GiB, and 1\.00 GiB"):
        rl.random_reservoir(100_000, 0.01, 0.9)
    layer = rl.TimeReservoir(1, 100)
    with pytest.raises(MemoryError, match=r"the states of 1x2000000 steps of 100 units needs about 1\.49 GiB"):
        layer.forward(np.zeros((1, 2_000_000, 1)))


def test_bad_inputs_are_refused_by_name():
    layer = rl.TimeReservoir(2, 30)
    with pytest.raises(ValueError, match="xs contains NaN"):
        layer.forward(np.full((1, 5, 2), np.nan))
    with pytest.raises(ValueError, match=r"xs must have shape \(N, T, 2\)"):
        layer.forward(np.zeros((1, 5, 3)))
    layer.forward(np.zeros((2, 5, 2)))
    with pytest.raises(ValueError, match="call reset_state"):
        layer.forward(np.zeros((3, 5, 2)))
    net = EchoStateNetwork(1, 20, warmup=10)
    with pytest.raises(RuntimeError, match="fit the network first"):
        net.generate(5)
    with pytest.raises(ValueError, match="not more than warmup=10"):
        net.fit(np.zeros((10, 1)), np.zeros((10, 1)))
    with pytest.raises(ValueError, match="Ridge: X"):
        rl.Ridge().fit(np.zeros((5, 3)), np.zeros((4, 1)))


def test_cli_trains_scores_and_saves_a_run(tmp_path, capsys):
    import json

    from fastseq.cli import main

    out = tmp_path / "esn"
    assert main(["train-esn", "--units", "150", "--train", "600", "--test", "100", "--generate", "20",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "one-step NRMSE" in printed and "closed-loop NRMSE" in printed and str(out) in printed
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in log] == ["fit", "closed-loop", "one-step"]
    assert log[2]["nrmse"] < 0.05
    saved = np.load(out / "esn.npz")
    assert saved["W_data"].size == 150 * 15 and saved["Wout"].shape == (150, 1)
    assert json.loads((out / "config.json").read_text())["command"] == "train-esn"


def test_cli_refuses_bad_options_before_writing_anything(tmp_path, capsys):
    from fastseq.cli import main

    out = tmp_path / "esn"
    assert main(["train-esn", "--connectivity", "1.5", "--out", str(out)]) == 1
    assert "connectivity must be a number in (0, 1]" in capsys.readouterr().err
    assert main(["train-esn", "--warmup", "700", "--train", "600", "--out", str(out)]) == 1
    assert "warmup (700) must be smaller than train (600)" in capsys.readouterr().err
    assert not out.exists()


def test_the_kernels_read_float32_weights_and_the_narrowest_column_index():
    layer = rl.TimeReservoir(1, 50, connectivity=0.2, seed=3)
    indptr, indices, data = layer.csr
    assert (indptr.dtype, indices.dtype, data.dtype) == (np.uint64, np.uint16, np.float32)
    assert layer.W.dtype == np.float64
    np.testing.assert_array_equal(data, layer.W.data)               # float32 numbers, held exactly in float64
    np.testing.assert_array_equal(indices, layer.W.indices)
    wide = sp.csr_matrix(([0.5, -2.0], ([0, 69_999], [69_999, 3])), shape=(70_000, 70_000))
    indptr, indices, data = rl.kernel_csr(wide)
    assert indices.dtype == np.uint32 and indices.tolist() == [69_999, 3] and data.tolist() == [0.5, -2.0]
