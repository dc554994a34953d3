"""Runs the Python feeder's `_snapshot_state` once on a data root (the seed baseline for
bench/run.mjs), and with --phase-mix N also `_compute_phase_mix(sample=N)` in the same process.
Usage: python3 bench/seed-snapshot.py DATA_ROOT SEED_DIR [--phase-mix N]
Prints one JSON line: seconds and CPU of the snapshot (and phase mix), the process's peak RSS."""
import json
import resource
import sys
import time
from pathlib import Path

root, seed_dir = Path(sys.argv[1]), sys.argv[2]
phase_sample = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--phase-mix" else 0
sys.path.insert(0, seed_dir)
import feeder  # noqa: E402


def cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


t0, c0 = time.perf_counter(), cpu(resource.RUSAGE_SELF)
snap = feeder._snapshot_state(root, root / "index.jsonl", root / "alerts.jsonl")
out = {
    "seconds": time.perf_counter() - t0,
    "cpu_seconds": cpu(resource.RUSAGE_SELF) - c0,
    "total_episodes": snap["total_episodes"],
}
if phase_sample:
    t1, c1 = time.perf_counter(), cpu(resource.RUSAGE_SELF) + cpu(resource.RUSAGE_CHILDREN)
    mix = feeder._compute_phase_mix(root, sample=phase_sample)
    out["phase_mix_seconds"] = time.perf_counter() - t1
    out["phase_mix_cpu_seconds"] = cpu(resource.RUSAGE_SELF) + cpu(resource.RUSAGE_CHILDREN) - c1
    out["phase_mix_sampled"] = mix.get("sampled_episodes")
# ru_maxrss is in KiB on Linux; the zstd children are not counted (each is short-lived).
out["max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(out))
