"""bench/embedded.py: its CPU meter, and a short run on the embedded model (marked embedded)."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench import embedded

ROOT = Path(__file__).resolve().parents[2]


def test_the_cpu_meter_tells_a_servers_threads_from_pythons_and_leaves_out_ended_ones():
    meter = embedded.CpuMeter()
    if not meter.available:
        pytest.skip("no /proc/self/task here")
    meter.servers = {"raw": {"1001"}, "draftgate": {"1002"}}
    before = {"1001": 1.0, "1002": 5.0, "7": 2.0, "8": 3.0}
    after = {"1001": 1.5, "1002": 5.25, "7": 2.125, "9": 0.0625}  # 8 ended, 9 began
    assert meter.spent(before, after, "raw") == (0.1875, 0.5)
    assert meter.spent(before, after, "draftgate") == (0.1875, 0.25)


def test_the_cpu_meter_counts_this_threads_work_as_pythons():
    meter = embedded.CpuMeter()
    if not meter.available:
        pytest.skip("no /proc/self/task here")
    meter.servers = {"raw": set()}
    before = meter.read()
    sum(i * i for i in range(300_000))
    python, server = meter.spent(before, meter.read(), "raw")
    assert python > 0 and server == 0


def test_settling_waits_until_the_servers_threads_are_idle():
    meter = embedded.CpuMeter()
    if not meter.available:
        pytest.skip("no /proc/self/task here")
    done = threading.Event()

    def busy() -> None:  # a server finishing its work after its stream ended
        until = time.monotonic() + 0.3
        while time.monotonic() < until:
            pass
        done.set()
        time.sleep(0.5)  # then idle, its thread still there

    server = threading.Thread(target=busy)
    server.start()
    meter.servers = {"raw": {str(server.native_id)}}
    meter.settle(quiet_s=0.05, longest_s=30)
    assert done.is_set()
    server.join()


@pytest.mark.embedded
def test_the_bench_runs_two_turns_on_both_sides():
    # its own process, as the bench runs: a test process may already hold an embedded server
    # started with other settings (one per process), and the bench sets the environment
    run = subprocess.run([sys.executable, "-m", "bench.embedded", "--turns", "2", "--max-tokens", "8", "--threads", "1",
                          "--split"],
                         cwd=ROOT, env={k: v for k, v in os.environ.items() if k != "DRAFTGATE_DATABASE_URL"},
                         capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    assert out.count("same text") == 2 and "TEXT DIFFERS" not in out
    assert "draftgate / raw, median over the turns: first token" in out
    assert "CPU to the first token, summed over the turns" in out
    assert out.count("draftgate: request sent at") == 2 and "the server's part" in out
