"""Evaluate the router on the labelled complaint set: coverage, precision, forced top-1, confusion, sweep.

Usage::

    .venv/bin/python bench/router_eval/eval.py [--config config.yaml] [--errors [tune|all]]
    .venv/bin/python bench/router_eval/eval.py --set bench/router_eval/blind.tsv

The set (complaints.tsv) is split by first label, alternating in file order: the first complaint of each
agency goes to "tune", the second to "holdout", and so on. Keywords may be adjusted while looking at the
tune split only; ``--errors`` lists the tune split's misses and never the holdout's. Since blind.tsv (written
without seeing the keyword lists) became the held-out set, all of complaints.tsv may be tuned on:
``--errors all`` lists the misses of both its splits.

``--set PATH`` evaluates another file with the same columns as one held-out split ("blind"); its misses
are never listed.

Definitions (per split):
    coverage   share of complaints that belong to an agency which the router routed (not review).
    precision  share of routed complaints routed to an acceptable agency; a NONE complaint that is
               routed counts as a wrong route.
    forced     top-1 accuracy if forced: share of agency complaints whose best candidate is acceptable.
    none->rev  share of NONE complaints sent to the review queue (the right answer for them).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from router import Decision, load_table, route  # noqa: E402

SET_PATH = Path(__file__).with_name("complaints.tsv")
THRESHOLDS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
REVIEW = "REVIEW"


@dataclass(frozen=True)
class Case:
    """One labelled complaint and the router's decision on it."""

    case_id: str
    channel: str
    labels: tuple[str, ...]
    text: str
    split: str
    decision: Decision

    def routed_to(self, threshold: float) -> str:
        """The agency at ``threshold`` (top candidate if confident enough), else REVIEW."""
        if self.decision.candidates and self.decision.confidence >= threshold:
            return self.decision.candidates[0]["agency"]
        return REVIEW

    @property
    def forced(self) -> str:
        """The best candidate regardless of confidence, or REVIEW when nothing matched."""
        return self.decision.candidates[0]["agency"] if self.decision.candidates else REVIEW


def read_set(path: Path = SET_PATH) -> list[list[str]]:
    """The rows of a set: id, channel, labels, text (comments and header skipped)."""
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader((line for line in f if not line.startswith("#")), delimiter="\t"))[1:]


def load_cases(table: object, path: Path = SET_PATH) -> list[Case]:
    """Read a set, assign the split (tune/holdout for complaints.tsv, all "blind" otherwise), route each."""
    seen: Counter[str] = Counter()
    cases = []
    for case_id, channel, labels, text in read_set(path):
        label_tuple = () if labels == "NONE" else tuple(labels.split("+"))
        first = label_tuple[0] if label_tuple else "NONE"
        if path != SET_PATH:
            split = "blind"
        else:
            split = "tune" if seen[first] % 2 == 0 else "holdout"
        seen[first] += 1
        cases.append(Case(case_id, channel, label_tuple, text, split, route(text, table)))
    return cases


def metrics(cases: list[Case], threshold: float) -> dict[str, float]:
    """Coverage, precision, forced top-1 and NONE-to-review for ``cases`` at ``threshold``."""
    agency_cases = [c for c in cases if c.labels]
    none_cases = [c for c in cases if not c.labels]
    routed = [c for c in cases if c.routed_to(threshold) != REVIEW]
    correct = [c for c in routed if c.routed_to(threshold) in c.labels]
    covered = [c for c in agency_cases if c.routed_to(threshold) != REVIEW]
    return {
        "n": len(cases),
        "coverage": len(covered) / len(agency_cases) if agency_cases else 0.0,
        "precision": len(correct) / len(routed) if routed else 1.0,
        "routed": len(routed),
        "wrong": len(routed) - len(correct),
        "forced": sum(c.forced in c.labels for c in agency_cases) / len(agency_cases) if agency_cases else 0.0,
        "none_review": (
            sum(c.routed_to(threshold) == REVIEW for c in none_cases) / len(none_cases) if none_cases else 1.0
        ),
    }


def splits_of(cases: list[Case]) -> tuple[str, ...]:
    """The splits to report: tune, holdout and all for complaints.tsv; only all for a blind set."""
    return ("tune", "holdout", "all") if any(c.split == "tune" for c in cases) else ("all",)


def summary_table(cases: list[Case], threshold: float) -> str:
    """Markdown table of the metrics per split at one threshold."""
    lines = [
        "| split | n | coverage | precision (wrong/routed) | forced top-1 | NONE -> review |",
        "|---|---|---|---|---|---|",
    ]
    for split in splits_of(cases):
        part = [c for c in cases if split == "all" or c.split == split]
        m = metrics(part, threshold)
        lines.append(
            f"| {split} | {m['n']} | {m['coverage']:.1%} | {m['precision']:.1%} ({m['wrong']}/{m['routed']}) "
            f"| {m['forced']:.1%} | {m['none_review']:.1%} |"
        )
    return "\n".join(lines)


def sweep_table(cases: list[Case], configured: float) -> str:
    """Markdown table: coverage and precision per threshold, tune and holdout side by side."""
    splits = splits_of(cases)
    lines = [
        "| threshold | " + " | ".join(f"{split} coverage | {split} precision" for split in splits) + " |",
        "|---" * (1 + 2 * len(splits)) + "|",
    ]
    for threshold in sorted(set(THRESHOLDS + [configured])):
        cells = []
        for split in splits:
            m = metrics([c for c in cases if split == "all" or c.split == split], threshold)
            cells += [f"{m['coverage']:.1%}", f"{m['precision']:.1%}"]
        mark = " (configured)" if threshold == configured else ""
        lines.append(f"| {threshold:.2f}{mark} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def confusion_table(cases: list[Case], threshold: float) -> str:
    """Markdown confusion matrix: rows are the first label, columns the decision (REVIEW = queue)."""
    truth = sorted({c.labels[0] if c.labels else "NONE" for c in cases})
    predicted = sorted({c.routed_to(threshold) for c in cases} - {REVIEW}) + [REVIEW]
    counts = Counter((c.labels[0] if c.labels else "NONE", c.routed_to(threshold)) for c in cases)
    short = {code: code.split("-")[0][:8] for code in predicted}
    header = "| true \\ routed | " + " | ".join(short[p] for p in predicted) + " |"
    lines = [header, "|---" * (len(predicted) + 1) + "|"]
    for row in truth:
        lines.append(f"| {row} | " + " | ".join(str(counts[(row, p)] or ".") for p in predicted) + " |")
    return "\n".join(lines)


def tune_errors(cases: list[Case], threshold: float, splits: tuple[str, ...] = ("tune",)) -> str:
    """The wrong routes and review-queue misses of ``splits`` (a blind set's are never listed)."""
    lines = []
    for c in cases:
        if c.split not in splits or c.split == "blind":
            continue
        got = c.routed_to(threshold)
        if (c.labels and got not in c.labels) or (not c.labels and got != REVIEW):
            kind = "WRONG" if got != REVIEW else "review"
            cands = ", ".join(f"{d['agency']}={d['score']:g}{d['matched']}" for d in c.decision.candidates[:3])
            lines.append(
                f"{kind:6} {c.case_id:7} want {'+'.join(c.labels) or 'NONE'} got {got} "
                f"conf {c.decision.confidence:.2f} [{cands}] {c.text[:90]}"
            )
    return "\n".join(lines)


def main() -> None:
    """Run the evaluation and print markdown sections ready for bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--set", dest="set_path", type=Path, default=SET_PATH,
                        help="the labelled set (default complaints.tsv); another file is one held-out split")
    parser.add_argument("--errors", nargs="?", const="tune", choices=["tune", "all"],
                        help="list the misses of complaints.tsv's tune split, or of all of it")
    parser.add_argument("--threshold", type=float, help="report at this threshold instead of the configured one")
    args = parser.parse_args()
    table = load_table(Path(args.config).read_text(encoding="utf-8"), source=args.config)
    if args.errors and args.set_path.resolve() != SET_PATH:
        parser.error("--errors lists complaints.tsv's misses only; a held-out set's are never listed")
    if not args.set_path.is_file():
        parser.error(f"no such set: {args.set_path}")
    path = SET_PATH if args.set_path.resolve() == SET_PATH else args.set_path
    cases = load_cases(table, path)
    threshold = table.threshold if args.threshold is None else args.threshold
    by_channel = Counter(c.channel for c in cases)
    splits = ", ".join(f"{split} {sum(c.split == split for c in cases)}" for split in ("tune", "holdout", "blind")
                       if any(c.split == split for c in cases))
    print(
        f"Eval set {path.name}: {len(cases)} complaints ({sum(1 for c in cases if not c.labels)} NONE, "
        f"{sum(1 for c in cases if len(c.labels) > 1)} with two agencies); {splits}; "
        f"sms {by_channel['sms']}, web {by_channel['web']}.\n"
    )
    print(f"At the configured threshold {threshold:g}:\n\n{summary_table(cases, threshold)}\n")
    print(f"Across thresholds:\n\n{sweep_table(cases, threshold)}\n")
    print(f"Confusion matrix, all {len(cases)} complaints, threshold {threshold:g}:\n")
    print(f"{confusion_table(cases, threshold)}\n")
    if args.errors:
        which = ("tune",) if args.errors == "tune" else ("tune", "holdout")
        print(f"Misses of {' and '.join(which)} at threshold {threshold:g}:\n{tune_errors(cases, threshold, which)}")


if __name__ == "__main__":
    main()
