#!/usr/bin/env python3
"""A data root written the way a Python receiver might write it, by a program that is not ours.

The project's `generate` writes `host-NN` hosts, one id form, one line length and a few time forms.
Claims about speed must hold on data of the same kind that we did not make, so this writes a root
from scratch with the standard library only:

- 37 host names of every shape a lab uses: short (`h1`), dotted FQDNs, long ones, upper case,
  non-ASCII (`ws-müller-2`, written as `\\u00fc` by `json.dumps`), underscores;
- ids in three forms (uuid4, a timestamp + host + counter, a hex digest prefix);
- lines from ~150 to ~900 bytes: extra keys (`path`, `receiver_version`, `client_addr`, a nested
  `meta` object with tags and a note, sometimes a list of member names), some with
  `sort_keys=True`, others in insertion order, some with `indent`-free `separators` defaults;
- `received_at_wall` as `datetime.isoformat()` with and without fraction, with `+00:00` and with a
  `+02:00` / `-05:00` offset, `Z`-less naive UTC, or an epoch int or float (`time.time()`);
- `sha256` null on some lines, `size_bytes` an int or an integral float (`1234.0`);
- about 0.5 % of lines repeat an earlier id (a receiver re-logging an upload);
- tarballs (`tar` + the `zstd` command) for the first EPISODES ids, each with a `labels.jsonl`,
  and an `alerts.jsonl` in the same Python shape.

Usage: python3 bench/foreign-root.py OUT [--lines N] [--episodes N] [--alerts N] [--seed S]
"""

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tarfile
import uuid

HOSTS = [
    "h1", "h2", "pi-lab-a07", "pi-lab-a08", "pi-lab-b11", "rack3-gpu-node17.cis490.lab",
    "rack3-gpu-node18.cis490.lab", "rack4-cpu-node02.cis490.lab",
    "collector-building-b-floor-2-room-214-bench-03", "collector-building-b-floor-2-room-214-bench-04",
    "WS-ENG-0042", "WS-ENG-0043", "ws-müller-2", "ws-ødegaard", "bench_under_window",
    "edge.sensor-12", "edge.sensor-13", "edge.sensor-14", "jetson-nano-0001", "jetson-nano-0002",
    "rpi4-a", "rpi4-b", "rpi4-c", "rpi4-d", "lab-pc-α", "nuc-8i5-room-101", "nuc-8i5-room-102",
    "10-0-3-17", "10-0-3-18", "build-agent-7", "vm-sandbox-01", "vm-sandbox-02", "vm-sandbox-03",
    "student-laptop-kim", "student-laptop-osei", "honeypot-east", "honeypot-west",
]
PHASES = ["boot", "baseline", "infecting", "infected_running", "cleanup"]
WORKLOADS = ["botnet-beacon", "cryptominer", "ransomware-sim", "idle", "web-browse"]


def when(rng, t):
    """received_at_wall in one of the forms a Python receiver writes."""
    r = rng.random()
    aware = dt.datetime.fromtimestamp(t, dt.timezone.utc)
    if r < 0.35:
        return aware.isoformat()  # 2026-12-01T10:22:33.123456+00:00
    if r < 0.5:
        return aware.replace(microsecond=0).isoformat()  # no fraction
    if r < 0.6:
        return aware.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()
    if r < 0.68:
        return aware.astimezone(dt.timezone(dt.timedelta(hours=-5))).isoformat(timespec="milliseconds")
    if r < 0.8:
        return aware.replace(tzinfo=None).isoformat()  # naive UTC, no offset
    if r < 0.9:
        return t  # time.time()
    return int(t)


def episode_id(rng, host, n, t):
    r = rng.random()
    if r < 0.4:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if r < 0.8:
        stamp = dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        return f"{stamp}_{host}_{n:06d}"
    return hashlib.sha1(f"{host}/{n}".encode()).hexdigest()[:20]


def index_line(rng, rec):
    extra = rng.random()
    out = dict(rec)
    if extra < 0.7:
        out["path"] = f"episodes/{rec['host_id']}/{rec['episode_id']}.tar.zst"
    if extra < 0.5:
        out["receiver_version"] = rng.choice(["1.4.2", "1.5.0rc1", "2.0.0"])
        out["client_addr"] = f"10.0.{rng.randrange(256)}.{rng.randrange(256)}"
    if extra < 0.25:
        out["meta"] = {
            "tags": rng.sample(["night", "rerun", "pilot", "calibration", "ok", "flaky-net"], rng.randrange(1, 4)),
            "note": "uploaded after retry " * rng.randrange(0, 8),
            "workload": rng.choice(WORKLOADS),
        }
    if extra < 0.08:
        out["members"] = ["metadata.json", "labels.jsonl", "telemetry.csv", "pcap/eth0.pcap"]
    if rng.random() < 0.3:
        return json.dumps(out, sort_keys=True)
    keys = list(out)
    rng.shuffle(keys) if rng.random() < 0.2 else None
    return json.dumps({k: out[k] for k in keys})


def tarball(path, rec, rng):
    buf = io.BytesIO()
    t0 = rng.randrange(10**12, 10**13)
    labels, t = [], t0
    for phase in PHASES[: rng.randrange(2, 6)]:
        labels.append(json.dumps({"phase": phase, "t_mono_ns": t}))
        t += rng.randrange(5, 400) * 10**9
    meta = {
        "schema_version": 1, "episode_id": rec["episode_id"], "host_id": rec["host_id"],
        "workload": rng.choice(WORKLOADS), "t_mono_start_ns": t0, "t_mono_end_ns": t,
    }
    top = f"{rec['episode_id']}/" if rng.random() < 0.5 else ""
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in [
            ("metadata.json", json.dumps(meta).encode()),
            ("labels.jsonl", ("\n".join(labels) + "\n").encode()),
            ("telemetry.csv", os.urandom(rng.randrange(512, 8192))),
        ]:
            info = tarfile.TarInfo(top + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def write_episode(out, rec, rng):
    d = os.path.join(out, "episodes", rec["host_id"])
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, f"{rec['episode_id']}.tar")
    tarball(p, rec, rng)
    subprocess.run(["zstd", "-q", "--rm", "-f", "-3", p], check=True)
    with open(p + ".zst", "rb") as f:
        data = f.read()
    return hashlib.sha256(data).hexdigest(), len(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--episodes", type=int, default=2_000)
    ap.add_argument("--alerts", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    if os.path.exists(a.out) and os.listdir(a.out):
        sys.exit(f"foreign-root: {a.out} exists and is not empty")
    rng = random.Random(a.seed)
    os.makedirs(os.path.join(a.out, "episodes"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "health"), exist_ok=True)
    t = 1_790_000_000.0  # late 2026
    counters = {h: 0 for h in HOSTS}
    seen, tars = [], []  # tars: the records given a tarball
    with open(os.path.join(a.out, "index.jsonl"), "w", encoding="utf-8") as f:
        for i in range(a.lines):
            t += rng.expovariate(1 / 2.5)
            if seen and rng.random() < 0.005:
                rec = dict(rng.choice(seen))  # re-logged upload
            else:
                host = rng.choice(HOSTS)
                counters[host] += 1
                rec = {
                    "episode_id": episode_id(rng, host, counters[host], t),
                    "host_id": host,
                    "sha256": None if rng.random() < 0.05 else hashlib.sha256(f"{host}{i}".encode()).hexdigest(),
                    "size_bytes": rng.randrange(200, 50_000_000) * (1.0 if rng.random() < 0.1 else 1),
                    "received_at_wall": when(rng, t),
                }
                if len(tars) < a.episodes:
                    # A real tarball: the line's sha256 and size are the file's, as a receiver logs them.
                    rec["sha256"], rec["size_bytes"] = write_episode(a.out, rec, rng)
                    tars.append(rec)
                if len(seen) < 5000:
                    seen.append(rec)
            f.write(index_line(rng, rec) + "\n")
    symptoms = ["disk_low", "upload_retry", "clock_skew", "sensor_gap", "queue_backlog"]
    with open(os.path.join(a.out, "alerts.jsonl"), "w", encoding="utf-8") as f:
        for i in range(a.alerts):
            host = rng.choice(HOSTS)
            sym = rng.choice(symptoms)
            rec = {
                "host": host, "symptom": sym, "detail": f"{sym} on {host}: value {rng.random():.3f}",
                "suggested_fix": "check the host", "detected_at_wall": when(rng, 1_790_000_000 + i * 30.0),
                "dedup_key": f"{host}:{sym}", "severity": rng.choice(["warning", "critical"]),
            }
            f.write(json.dumps(rec, sort_keys=rng.random() < 0.5) + "\n")
    now = dt.datetime.now(dt.timezone.utc)
    for host in HOSTS:
        with open(os.path.join(a.out, "health", f"{host}.json"), "w", encoding="utf-8") as f:
            json.dump({"host_id": host, "last_heartbeat_wall": now.isoformat(), "disk_free_bytes": 10**11,
                       "disk_total_bytes": 5 * 10**11, "queue_depth": rng.randrange(0, 4)}, f)


if __name__ == "__main__":
    main()
