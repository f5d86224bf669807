"""Benchmark of the learned router (issue 12): quality, learning curve, speed, training cost, model size.

Usage::

    .venv/bin/python bench/router_learning/run.py [--messages 20000] [--synthetic 20000] [--skip-quality]

- quality: 5-fold cross-validation (seed 0) of keywords alone, model alone and combined on
  bench/router_eval/complaints.tsv, blind.tsv and both together; thresholds chosen inside each training fold.
- learning curve: both sets replayed in file order (complaints.tsv, then blind.tsv: grouped by agency, so
  agencies arrive in blocks) and shuffled (seed 5), retrained every 50 once 100 examples are known.
- speed and cost, each in a child process pinned to one core (so peak RSS is its own):
  routing with a model trained on both sets (keyword-only routing measured in the same run as the baseline),
  and training on ``--synthetic`` examples made from the two sets (see ``synthetic``), then routing with
  that model. Rates are [per wall second, per CPU second of the process] (the machine is shared); routing is
  measured with 3 similar examples per message and without (``similar=0``).
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
sys.path.insert(0, str(ROOT / "bench" / "router_eval"))

from eval import read_set  # noqa: E402  (bench/router_eval/eval.py)

from router import load_table  # noqa: E402
from router.learning import (  # noqa: E402
    Example,
    curve_table,
    decide,
    dumps,
    evaluate,
    examples_from_rows,
    learning_curve,
    train,
)

SETS = {"complaints.tsv": ROOT / "bench/router_eval/complaints.tsv", "blind.tsv": ROOT / "bench/router_eval/blind.tsv"}
FILLERS = ["tolong", "mohon segera ditindak", "pak", "min", "sudah lama", "bagaimana ini", "terima kasih",
           "mohon dicek", "sudah lapor tapi belum ada tindakan", "warga resah", "cepat ya"]


def load_examples(path: Path) -> list[Example]:
    """The examples of one labelled set (first label is the agency, the others also acceptable)."""
    return examples_from_rows([{"ref": r[0], "labels": r[2], "text": r[3]} for r in read_set(path)])


def typo(word: str, rng: random.Random) -> str:
    """One random deletion, substitution or swap of neighbours inside ``word``."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + rng.choice("aiueokrstnmlgh") + word[i + 1 :]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def synthetic(examples: list[Example], count: int, seed: int = 11) -> list[Example]:
    """``count`` examples recombined and perturbed from labelled ones (agency examples only).

    Each: a random source complaint; half the time a 3-8 word span of another complaint of the same agency
    is appended; every word dropped with probability 0.1; one or two words of 5+ letters get a typo (a
    deletion, substitution or swap: new spellings, as real archives have); a third get a filler phrase and a
    house number. The label is the source's agency.
    """
    rng = random.Random(seed)
    usable = [e for e in examples if e.agency]
    by_agency: dict[str, list[Example]] = {}
    for e in usable:
        by_agency.setdefault(e.agency or "", []).append(e)
    made = []
    for i in range(count):
        source = rng.choice(usable)
        words = source.text.split()
        if rng.random() < 0.5:
            other = rng.choice(by_agency[source.agency or ""]).text.split()
            start = rng.randrange(max(1, len(other) - 3))
            words += other[start : start + rng.randint(3, 8)]
        words = [w for w in words if rng.random() > 0.1] or words
        for _ in range(rng.randint(1, 2)):
            long = [j for j, w in enumerate(words) if len(w) >= 5]
            if long:
                j = rng.choice(long)
                words[j] = typo(words[j], rng)
        if rng.random() < 0.33:
            words += [rng.choice(FILLERS), "no", str(rng.randint(1, 200))]
        made.append(Example(" ".join(words), source.agency, f"syn{i}"))
    return made


def rates(fn, messages: list[str]) -> tuple[float, float]:
    """(messages per wall second, messages per CPU second) of ``fn`` over ``messages``."""
    wall, cpu = time.perf_counter(), time.process_time()
    for message in messages:
        fn(message)
    return len(messages) / (time.perf_counter() - wall), len(messages) / (time.process_time() - cpu)


def scenario(name: str, messages: int, synthetic_count: int) -> dict:
    """Run one timed scenario in this (pinned) process; returns its figures."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    table = load_table((ROOT / "config.yaml").read_text(encoding="utf-8"))
    real = [e for path in SETS.values() for e in load_examples(path)]
    texts = [e.text for e in real]
    stream = (texts * (messages // len(texts) + 1))[:messages]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    examples = real if name == "route" else synthetic(real, synthetic_count)
    wall, cpu = time.perf_counter(), time.process_time()
    model = train(examples, table)
    train_wall, train_cpu = time.perf_counter() - wall, time.process_time() - cpu
    for text in texts:  # warm the normaliser's and the vectorizer's memos, as in a long-running worker
        decide(text, table, model)
    keyword = rates(table.route, stream)
    learned = rates(lambda m: decide(m, table, model), stream)
    bare = rates(lambda m: decide(m, table, model, similar=0), stream)
    return {
        "scenario": name, "examples": model.example_count, "features": model.vectorizer.width,
        "train_wall_s": round(train_wall, 1), "train_cpu_s": round(train_cpu, 1),
        "keyword_msg_s": [round(r) for r in keyword], "model_msg_s": [round(r) for r in learned],
        "model_no_similar_msg_s": [round(r) for r in bare],
        "model_bytes": len(dumps(model)), "rss_before_train_mb": round(rss_before, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threshold": model.threshold, "cv": model.metadata["cv"],
    }


def main() -> None:
    """Print every section as markdown, ready for bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--synthetic", type=int, default=20_000)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--scenario", choices=["route", "train"], help="internal: run one scenario here")
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(scenario(args.scenario, args.messages, args.synthetic)))
        return
    table = load_table((ROOT / "config.yaml").read_text(encoding="utf-8"))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; load average {os.getloadavg()}\n")
    if not args.skip_quality:
        sets = {name: load_examples(path) for name, path in SETS.items()}
        sets["both"] = sets["complaints.tsv"] + sets["blind.tsv"]
        for name, examples in sets.items():
            print(f"### Quality: {name}\n\n{evaluate(examples, table, folds=5, seed=0).to_text()}")
        print(f"### Learning curve (both sets in file order)\n\n{curve_table(learning_curve(sets['both'], table))}\n")
        shuffled = random.Random(5).sample(sets["both"], len(sets["both"]))
        print(f"### Learning curve (both sets shuffled, seed 5)\n\n{curve_table(learning_curve(shuffled, table))}\n")
    for name in ("route", "train"):
        child = [sys.executable, __file__, "--scenario", name, "--messages", str(args.messages),
                 "--synthetic", str(args.synthetic)]
        figures = json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout)
        figures["model_vs_keywords_wall"] = round(figures["keyword_msg_s"][0] / figures["model_msg_s"][0], 1)
        print(f"### Speed and cost: {name}\n\n```\n{json.dumps(figures, indent=1)}\n```\n")


if __name__ == "__main__":
    main()
