"""Router speed on one core: the shipped config and a synthetic 200 x 200 config, with peak memory.

Usage::

    .venv/bin/python bench/router_eval/speed.py [--messages 100000]

Each scenario runs in its own process pinned to one CPU, so its peak memory (max RSS) is its own. The
messages are the evaluation set's complaint texts, cycled. Three passes per scenario:

- warm: the steady state, every word already memoised by the normaliser (the normal case in a
  long-running worker, where the vocabulary of complaints is small);
- fresh typos: every message carries one random typo never seen before, so each message costs at
  least one uncached word (affix stripping, Sastrawi, typo search over the keyword vocabulary);
- baseline: ``text.lower().split()`` over the same messages, measured in the same run; the router's
  figure is also given as a ratio to it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from eval import read_set  # noqa: E402  (bench/router_eval/eval.py, beside this file)

from router import load_table, route  # noqa: E402
from router.lexicon import default_lexicon  # noqa: E402


def eval_texts() -> list[str]:
    """The complaint texts of the evaluation set."""
    return [text for _, _, _, text in read_set()]


def synthetic_config(agencies: int, keywords: int, seed: int = 7) -> str:
    """A config.yaml text with ``agencies`` x ``keywords`` distinct terms drawn from Indonesian root words."""
    rng = random.Random(seed)
    roots = sorted(w for w in default_lexicon().root_words if w.isalpha() and 4 <= len(w) <= 9)
    lines = ["router:", "  threshold: 0.55", "agencies:"]
    used: set[str] = set()
    for a in range(agencies):
        lines += [f"  - code: AG{a:03d}", f"    name: Synthetic agency {a}", "    keywords:"]
        count = 0
        while count < keywords:
            term = " ".join(rng.sample(roots, rng.choice((1, 1, 2, 2, 3))))
            if term in used:
                continue
            used.add(term)
            lines.append(f"      {term}: {rng.choice((1, 2, 3))}")
            count += 1
    return "\n".join(lines) + "\n"


def with_typo(text: str, rng: random.Random, serial: int) -> str:
    """``text`` plus one never-seen word (six random letters and a serial spelled in letters)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    word = "".join(rng.choice(letters) for _ in range(6)) + "".join(letters[int(d)] for d in str(serial))
    return f"{text} {word}"


def timed(fn, messages: list[str]) -> float:
    """Messages per second for ``fn`` over ``messages``."""
    start = time.perf_counter()
    for message in messages:
        fn(message)
    return len(messages) / (time.perf_counter() - start)


def run_scenario(name: str, count: int) -> dict[str, float | str | int]:
    """Build the table for ``name`` and time it; returns the figures (runs inside the pinned child)."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    if name == "shipped":
        config_text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    else:
        config_text = synthetic_config(200, 200)
    default_lexicon()  # word lists are per process; time the table compile alone
    start = time.perf_counter()
    table = load_table(config_text, source=name)
    compile_seconds = time.perf_counter() - start
    texts = eval_texts()
    messages = (texts * (count // len(texts) + 1))[:count]
    rng = random.Random(1)
    typo_messages = [with_typo(t, rng, i) for i, t in enumerate(messages[: count // 5])]
    for message in texts:  # warm the memo with the set's vocabulary
        route(message, table)
    warm = timed(lambda m: route(m, table), messages)
    baseline = timed(lambda m: m.lower().split(), messages)
    typos = timed(lambda m: route(m, table), typo_messages)
    routed = sum(route(m, table).agency is not None for m in texts)
    return {
        "scenario": name,
        "agencies": len(table.agencies),
        "keywords": sum(len(a.keywords) + len(a.negative) for a in table.agencies),
        "compile_s": round(compile_seconds, 3),
        "messages": len(messages),
        "warm_msg_s": round(warm),
        "typo_msg_s": round(typos),
        "typo_messages": len(typo_messages),
        "baseline_msg_s": round(baseline),
        "warm_vs_baseline": round(baseline / warm, 1),
        "typo_vs_baseline": round(baseline / typos, 1),
        "routed_of_set": f"{routed}/{len(texts)}",
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    """Run each scenario in a pinned child process and print the figures as a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--scenario", choices=["shipped", "synthetic"], help="run one scenario here (internal)")
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario, args.messages)))
        return
    rows = []
    for scenario in ("shipped", "synthetic"):
        child = [sys.executable, __file__, "--scenario", scenario, "--messages", str(args.messages)]
        rows.append(json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout))
    print(f"python {sys.version.split()[0]}, one core (sched_setaffinity), {os.cpu_count()} cores on the machine\n")
    print(
        "| config | agencies | terms | compile | warm msg/s | x slower than baseline | fresh-typo msg/s "
        "| x slower than baseline | baseline lower+split msg/s | peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['scenario']} | {r['agencies']} | {r['keywords']} | {r['compile_s']} s | {r['warm_msg_s']:,} "
            f"| {r['warm_vs_baseline']} | {r['typo_msg_s']:,} ({r['typo_messages']:,} msgs) | {r['typo_vs_baseline']} "
            f"| {r['baseline_msg_s']:,} | {r['peak_rss_mb']} MB |"
        )


if __name__ == "__main__":
    main()
