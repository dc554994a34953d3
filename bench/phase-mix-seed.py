"""Times the Python feeder's _compute_phase_mix on a data root (the seed baseline for
bench/phase-mix.mjs). Usage: python3 bench/phase-mix-seed.py DATA_ROOT SAMPLE [SEED_DIR]
Prints one JSON line: {"seconds": wall, "cpu_seconds": own + zstd children CPU, "mix": {...}}.
Needs the `zstd` command."""
import json
import resource
import sys
import time
from pathlib import Path

root, sample = Path(sys.argv[1]), int(sys.argv[2])
sys.path.insert(0, sys.argv[3] if len(sys.argv) > 3 else "/work/shared/seed")
import feeder  # noqa: E402

def cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


t0, c0 = time.perf_counter(), cpu()
mix = feeder._compute_phase_mix(root, sample=sample)
seconds, cpu_seconds = time.perf_counter() - t0, cpu() - c0
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "mix": mix}))
