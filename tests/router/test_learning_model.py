"""Training, the threshold, and the combined decision with its explanations."""

from __future__ import annotations

import numpy as np
import pytest

from router.learning import Example, LearningError, LearningSettings, decide, train
from router.learning.threshold import choose_threshold, fit_temperature, softmax
from tests.router.learning_data import examples, table

TABLE = table()


@pytest.fixture(scope="module")
def model():
    """A model trained on 150 separable examples of three agencies."""
    return train(examples(150), TABLE, LearningSettings(), version="v1")


@pytest.mark.parametrize(("text", "agency"), [
    ("aspal retak dan ambles depan rumah", "ROADS"),
    ("tumpukan bau belum diangkut truk", "WASTE"),
    ("pipa bocor, air keruh", "WATER"),
    ("kran meteran bocor pak", "WATER"),
], ids=["roads-without-keyword", "waste", "water-keyword", "water-without-keyword"])
def test_model_routes_learned_words(model, text: str, agency: str) -> None:
    answer = decide(text, TABLE, model)
    assert (answer.agency, answer.top, answer.model) == (agency, agency, "v1")
    assert answer.confidence >= model.threshold
    assert answer.candidates[0]["agency"] == agency
    assert abs(sum(c["score"] for c in answer.candidates) - 1) < 0.02


def test_matched_keywords_and_similar_examples(model) -> None:
    answer = decide("sampah tumpukan bau tolong", TABLE, model)
    assert answer.matched == ["sampah"]
    assert 1 <= len(answer.similar) <= 3
    assert all(s.agency == "WASTE" and s.ref.startswith("T") for s in answer.similar)
    assert [s.similarity for s in answer.similar] == sorted((s.similarity for s in answer.similar), reverse=True)
    assert 0 < answer.similar[0].similarity <= 1
    assert answer.to_dict()["similar"][0].keys() == {"ref", "agency", "similarity"}


def test_similar_finds_the_same_text(model) -> None:
    first = examples(150)[7]
    found = decide(first.text, TABLE, model).similar[0]
    assert (found.ref, found.agency) == (first.ref, first.agency)
    assert found.similarity == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize(("count", "settings", "uses"), [
    (150, LearningSettings(), True),
    (150, LearningSettings(enabled=False), False),
    (150, LearningSettings(min_examples=151), False),
    (60, LearningSettings(), False),
], ids=["enough", "disabled", "min-raised", "too-few"])
def test_keyword_router_alone_below_min_examples_or_disabled(count: int, settings, uses: bool) -> None:
    trained = train(examples(count), TABLE, settings)
    text = "aspal retak ambles"  # no keyword: the keyword router alone sends it to review
    answer = decide(text, TABLE, trained, settings)
    keywords = TABLE.route(text)
    if uses:
        assert answer.model == trained.version and answer.agency == "ROADS"
    else:
        assert (answer.model, answer.agency, answer.confidence, answer.similar) == (None, keywords.agency,
                                                                                    keywords.confidence, [])
    assert decide("jalan rusak parah", TABLE, None, settings).to_dict()["agency"] == "ROADS"


@pytest.mark.parametrize(("text", "active", "reason"), [
    ("sampah tumpukan bau, kata polisi pln", None, "out_of_scope"),
    ("token pln habis", None, "out_of_scope"),
    ("sampah tumpukan bau truk", {"ROADS", "WATER"}, "inactive"),
    ("sampah tumpukan bau truk", {"WASTE"}, None),
], ids=["out-of-scope-leads", "out-of-scope-alone", "inactive-agency", "active-agency"])
def test_review_rules(model, text: str, active, reason: str | None) -> None:
    for current in (model, None):
        answer = decide(text, TABLE, current, active=active)
        if current is None and reason is None:
            continue  # the keyword router's own confidence decides there
        assert answer.review_reason == reason
        assert (answer.agency is None) == (reason is not None)


@pytest.mark.parametrize(("confidence", "correct", "target", "expected"), [
    ([0.9, 0.8, 0.7, 0.6], [True, True, True, False], 0.9, (0.7, 1.0, 0.75, True)),
    ([0.9, 0.8, 0.7, 0.6], [True, False, True, True], 0.75, (0.6, 0.75, 1.0, True)),
    ([0.9, 0.8], [False, False], 0.9, (0.8, 0.0, 1.0, False)),
    ([0.5, 0.5, 0.4], [True, False, True], 0.6, (0.4, 2 / 3, 1.0, True)),
], ids=["cut-before-error", "lowest-reaching", "unreachable", "ties-routed-together"])
def test_choose_threshold(confidence, correct, target, expected) -> None:
    choice = choose_threshold(confidence, correct, target)
    assert (choice.threshold, choice.precision, choice.coverage, choice.target_met) == pytest.approx(expected)


@pytest.mark.parametrize("target", [0.8, 0.92, 0.99], ids=["0.80", "0.92", "0.99"])
def test_threshold_reaches_target_on_separable_data(target: float) -> None:
    trained = train(examples(300, noise=0.1), TABLE, LearningSettings(target_precision=target))
    cv = trained.metadata["cv"]["model"]
    assert trained.metadata["target_met"] and cv["precision"] >= target
    fresh = examples(300, seed=99, noise=0.1)
    routed = [(decide(e.text, TABLE, trained).agency, e.agency) for e in fresh]
    routed = [(got, want) for got, want in routed if got]
    assert sum(got == want for got, want in routed) / len(routed) >= target - 0.05


def test_temperature_calibrates() -> None:
    margins = np.array([[2.0, 0.0], [2.0, 0.0], [2.0, 0.0], [2.0, 0.0]])
    truth = np.array([0, 0, 0, 1])  # 75% right: the probability of the first should come out near 0.75
    assert softmax(margins, fit_temperature(margins, truth))[0, 0] == pytest.approx(0.75, abs=0.01)


def test_deterministic() -> None:
    one, two = (train(examples(120), TABLE) for _ in range(2))
    assert one.version == two.version and one.threshold == two.threshold
    assert np.array_equal(one.text_weights, two.text_weights)
    assert decide("pipa bocor", TABLE, one).to_dict() == decide("pipa bocor", TABLE, two).to_dict()


def test_metadata_and_none_examples() -> None:
    from router.learning import Example

    trained = train(examples(120) + [Example("halo selamat pagi", None)], TABLE)
    meta = trained.metadata
    assert (meta["examples"], meta["none_examples"], meta["agencies"], trained.example_count) == (120, 1, 3, 120)
    assert set(meta["cv"]) == {"folds", "model", "keywords"}
    assert set(meta["cv"]["model"]) == {"coverage", "precision", "forced_top1"}


@pytest.mark.parametrize(("values", "message"), [
    ({"treshold": 1}, "router.learning.treshold: unknown setting"),
    ({"min_examples": -1}, "min_examples must be an integer >= 0"),
    ({"target_precision": 1.5}, "target_precision must be a number > 0 and <= 1"),
    ({"enabled": "yes"}, "enabled must be true or false"),
], ids=["unknown", "negative", "above-one", "not-bool"])
def test_settings_refused(values, message: str) -> None:
    with pytest.raises(LearningError, match=message):
        LearningSettings.from_mapping(values)


def test_one_agency_refused() -> None:
    with pytest.raises(LearningError, match="at least two agencies"):
        train([e for e in examples(60) if e.agency == "ROADS"], TABLE)


@pytest.mark.parametrize(("section", "ok"), [
    ("  learning: {min_examples: 50, target_precision: 0.9}\n", True),
    ("  learning:\n", True),
    ("  learning: [1]\n", False),
], ids=["mapping", "empty", "list"])
def test_config_accepts_learning_section(section: str, ok: bool) -> None:
    from router import RouterConfigError, load_table

    text = "router:\n  threshold: 0.5\n" + section + "agencies:\n  - code: AB\n    name: X\n"
    if ok:
        assert load_table(text).threshold == 0.5
    else:
        with pytest.raises(RouterConfigError, match="router.learning must be a mapping"):
            load_table(text)


def test_keyword_decision_stands_for_an_agency_the_model_barely_knows() -> None:
    few = [e for e in examples(200) if e.agency != "WATER"] + [e for e in examples(200) if e.agency == "WATER"][:2]
    trained = train(few, TABLE)
    answer = decide("air mati sejak pagi", TABLE, trained)
    assert (answer.agency, answer.model) == ("WATER", trained.version)
    strict = decide("air mati sejak pagi", TABLE, trained, LearningSettings(min_agency_examples=0))
    assert abs(sum(c["score"] for c in strict.candidates) - 1) < 0.05  # the model's probabilities decided


# --- a bounce ("bukan wewenang") is evidence against the agency that sent it back ---------------------------

BOUNCED_TEXT = "tumpukan sampah di saluran air depan pasar belakang masjid"


@pytest.mark.parametrize(("against", "accepted_too", "expected_agency", "reason"), [
    ([], False, "WASTE", None),
    ([("WASTE", BOUNCED_TEXT)], False, None, "bounced"),
    ([("WASTE", BOUNCED_TEXT)], True, "WASTE", None),
    ([("WATER", BOUNCED_TEXT)], False, "WASTE", None),
    ([("WASTE", "pipa pecah air keruh meteran kran rusak total")], False, "WASTE", None),
], ids=["no-bounce", "bounced-near-identical", "also-accepted-as-similar", "other-agency-bounced",
        "unrelated-bounce"])
def test_a_bounce_sends_a_near_identical_complaint_to_review(against, accepted_too: bool,
                                                             expected_agency, reason) -> None:
    trained = examples(150)
    if accepted_too:
        trained = [*trained, Example(BOUNCED_TEXT, "WASTE", "T-accepted")]
    model = train(trained, TABLE, LearningSettings(),
                  against=[Example(text, agency, f"B{i}") for i, (agency, text) in enumerate(against)])
    answer = decide(BOUNCED_TEXT + " tolong", TABLE, model)
    assert answer.top == "WASTE"
    assert (answer.agency, answer.review_reason) == (expected_agency, reason)
    if reason == "bounced":
        assert answer.to_dict()["bounced"][0]["ref"] == "B0" and answer.bounced[0].agency == "WASTE"
        assert answer.bounced[0].similarity >= LearningSettings().bounce_similarity
    assert model.metadata["against_examples"] == len(against)


def test_bounces_change_the_version_and_survive_serialisation() -> None:
    from router.learning import dumps, loads

    plain = train(examples(150), TABLE, LearningSettings())
    with_bounce = train(examples(150), TABLE, LearningSettings(), against=[Example(BOUNCED_TEXT, "WASTE", "B0")])
    assert plain.version != with_bounce.version
    loaded = loads(dumps(with_bounce), TABLE)
    assert (loaded.against_refs, loaded.against_labels) == (["B0"], ["WASTE"])
    assert decide(BOUNCED_TEXT, TABLE, loaded).review_reason == "bounced"
    assert loads(dumps(plain), TABLE).against is None


@pytest.mark.parametrize("value", [0, 1.5, "x", True])
def test_bounce_similarity_refused_out_of_range(value) -> None:
    with pytest.raises(LearningError, match="bounce_similarity"):
        LearningSettings(bounce_similarity=value).check()
