"""Cross-validated evaluation and the learning curve on small labelled sets, without a database."""

from __future__ import annotations

import json

import pytest

from router.learning import Example, LearningSettings, curve_table, evaluate, examples_from_rows, learning_curve
from tests.router.learning_data import examples, table

TABLE = table()


@pytest.fixture(scope="module")
def evaluation():
    labelled = examples(150, noise=0.05) + [Example("selamat pagi semua", None, "N1"), Example("pln padam", None)]
    return evaluate(labelled, TABLE, LearningSettings(), folds=3, seed=1)


def test_shape(evaluation) -> None:
    found = json.loads(json.dumps(evaluation.to_dict()))
    assert (found["folds"], found["examples"], found["agencies"], found["none"]) == (3, 152, 3, 2)
    assert set(found["scores"]) == {"keywords", "model", "combined"}
    for scores in found["scores"].values():
        assert set(scores) == {"n", "routed", "wrong", "coverage", "precision", "forced_top1", "none_review"}
    assert {len(ts) for ts in found["thresholds"].values()} == {3}
    assert sum(sum(row.values()) for row in found["confusion"].values()) == 152
    assert found["sweep"][0].keys() == {"threshold", "keywords", "model", "combined"}


@pytest.mark.parametrize("part", ["| combined |", "| keywords alone |", "Across thresholds", "Confusion matrix",
                                  "| ROADS |", "REVIEW"], ids=str)
def test_text(evaluation, part: str) -> None:
    assert part in evaluation.to_text()


def test_learned_beats_keywords_on_words_the_keywords_miss(evaluation) -> None:
    scores = evaluation.scores
    assert scores["combined"].forced_top1 > scores["keywords"].forced_top1
    assert scores["combined"].coverage > scores["keywords"].coverage


def test_deterministic(evaluation) -> None:
    labelled = examples(150, noise=0.05) + [Example("selamat pagi semua", None, "N1"), Example("pln padam", None)]
    assert evaluate(labelled, TABLE, LearningSettings(), folds=3, seed=1).to_dict() == evaluation.to_dict()


@pytest.mark.parametrize(("row", "labels"), [
    ({"text": "x", "labels": "A+B", "ref": "r1"}, ("A", "B")),
    ({"text": "x", "labels": "NONE"}, ()),
], ids=["two-agencies", "none"])
def test_examples_from_rows(row, labels) -> None:
    assert examples_from_rows([row])[0].labels == labels


def test_learning_curve() -> None:
    settings = LearningSettings(min_examples=60, retrain_every=30)
    points = learning_curve(examples(240), TABLE, settings, window=60)
    assert [(p.start, p.end) for p in points] == [(1, 60), (61, 120), (121, 180), (181, 240)]
    assert points[0].model_examples == 0 and points[-1].model_examples >= 150
    assert points[-1].needs_person < points[0].needs_person
    assert points[0].needs_person == points[0].keywords_needs_person
    assert "| 181-240 |" in curve_table(points)
