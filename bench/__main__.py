"""`python -m bench`: every benchmark in turn (each is also its own command: python -m bench.NAME)."""

import subprocess
import sys

BENCHMARKS = ("bench.overhead", "bench.batch", "bench.streams", "bench.cache", "bench.live", "bench.generation")

for name in BENCHMARKS:
    print(f"== python -m {name}", flush=True)
    completed = subprocess.run([sys.executable, "-m", name], check=False)
    if completed.returncode:
        sys.exit(completed.returncode)
    print(flush=True)
