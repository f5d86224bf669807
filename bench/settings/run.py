"""How long building the settings takes: the first load in a process, and every later one.

    .venv/bin/python bench/settings/run.py [--rounds 20]

Baseline, measured in the same run: what every load cost before settings were parsed once per process, that is
reading config.yaml with PyYAML and compiling the routing table from it (``router.load_table``). The test suite
builds settings for every stack it starts, so a later load's cost is paid hundreds of times per run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml

import router
from gateway.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
ENVIRON = {"DATABASE_URL": "sqlite://", "SECRET_KEY": "bench-secret-of-at-least-32-characters", "SAMBAT_PUBLIC_URL": "https://sambat.example.go.id"}


def timed(action, rounds: int) -> float:  # noqa: ANN001 - any callable
    """Mean seconds of ``rounds`` calls."""
    start = time.perf_counter()
    for _ in range(rounds):
        action()
    return (time.perf_counter() - start) / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    config = str(ROOT / "config.yaml")
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    start = time.perf_counter()
    load_settings(environ=dict(ENVIRON), config_path=config)
    first = time.perf_counter() - start
    later = timed(lambda: load_settings(environ=dict(ENVIRON), config_path=config), args.rounds)
    baseline = timed(lambda: (yaml.safe_load(text), router.load_table(text, source=config)), max(3, args.rounds // 5))
    print(f"first load in a process: {first * 1000:.1f} ms")
    print(f"each later load: {later * 1000:.3f} ms")
    print(f"baseline (parse config.yaml and compile the routing table, as every load did): {baseline * 1000:.1f} ms")
    print(f"ratio later load / baseline: {later / baseline:.5f}")


if __name__ == "__main__":
    main()
