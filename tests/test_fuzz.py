"""The fuzz suite: every family of ``tests/fuzz_worker.py`` in its own process.

A family passes when its process exits cleanly with no violation: every drawn call either
equalled the reference twin or raised a clear error. A segfault, an abort or heap corruption
ends the process with a signal, and a hang runs into the timeout; either fails the test and
names the target the worker was calling (its last ``CASE`` line). The number of examples per
family is ``FASTSEQ_FUZZ_EXAMPLES`` (300 unless set); the draws are derandomized, so a run is
repeatable. The totals are printed at the end of the test session.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("fuzz_worker.py")
FAMILIES = ["layers", "recurrent", "attention", "functions", "optimizers", "count", "word2vec",
            "models", "vectors"]
TOTALS = {}


@pytest.mark.parametrize("family", FAMILIES)
def test_fuzz_family(family):
    examples = os.environ.get("FASTSEQ_FUZZ_EXAMPLES", "300")
    try:
        done = subprocess.run([sys.executable, str(WORKER), family, examples], capture_output=True,
                              text=True, timeout=600)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        cases = [line for line in out.splitlines() if line.startswith("CASE ")]
        pytest.fail(f"fuzz family {family} hung (600 s); last call: {cases[-1] if cases else 'none'}")
    lines = done.stdout.splitlines()
    cases = [line for line in lines if line.startswith("CASE ")]
    if done.returncode < 0 or not lines or not lines[-1].startswith("{"):
        pytest.fail(f"fuzz family {family} crashed (exit {done.returncode}); last call: "
                    f"{cases[-1] if cases else 'none'}\n{done.stderr[-3000:]}")
    counts = json.loads(lines[-1])
    for key, value in counts.items():
        TOTALS[key] = TOTALS.get(key, 0) + value
    violations = [line for line in lines if line.startswith(("VIOLATION", "DIFFERS"))]
    assert done.returncode == 0 and not violations, f"{family}: {counts}\n" + "\n".join(violations) \
        + "\n" + done.stderr[-3000:]
    assert counts["inputs"] > 0 and counts["violations"] == 0
