"""Routing tables: the shipped config on the issue's examples, and the mechanics on small configs."""

from __future__ import annotations

import json

import pytest

from router import Decision, RoutingTable, load_table, route

# (label, complaint, expected agency or None for the review queue) with the shipped config.yaml.
SHIPPED_CASES = [
    (
        "road, SMS shorthand",
        "sy mau lapor jln rsk parah dpn rmh no 12 gg 3 kel. Sawojajar sdh 2 bln blm diperbaiki",
        "DPUPRPKP",
    ),
    ("street light is Dishub's", "PJU mati di jl. Danau Toba", "DISHUB"),
    ("waste at the TPS", "Tlg sampah numpuk di TPS", "DLH"),
    ("family card", "KK sy blm terdata di dukcapil", "DISPENDUKCAPIL"),
    ("school zoning", "anak sy tdk dpt zonasi SMPN 5", "DISDIKBUD"),
    ("street vendors", "pedagang kaki lima tutup trotoar", "SATPOLPP"),
    ("drinking water is Tugu Tirta's", "air PDAM mati 3 hari", "TUGUTIRTA"),
    ("traffic light is Dishub's", "lampu merah perempatan mati", "DISHUB"),
    ("dengue", "banyak warga kena DBD tolong fogging", "DINKES"),
    ("social aid", "sy warga miskin ga dapet bansos", "DINSOS-P3AP2KB"),
    ("landslide", "tanah longsor di belakang rumah warga", "BPBD"),
    ("thanks is nobody's", "terima kasih", None),
    ("PLN blackout is not the city's", "listrik pln padam dari siang", None),
    ("senior high schools are the province's", "SMA negeri minta sumbangan", None),
    ("two agencies, close scores: review", "sampah menyumbat saluran air sampai banjir", None),
    ("weak hint alone: review", "bau", None),
    ("landmark after 'depan' does not count", "jalan rusak depan rumah sakit", "DPUPRPKP"),
    ("token listrik is PLN's", "token listrik ga bisa diisi, pln ga jawab", None),
    ("a phone lost in an angkot is for the police", "hp sy hilang di angkot, tlg bantu", None),
    ("a madrasah is the ministry's", "madrasah anak sy minta uang seragam mahal", None),
    ("crime as context does not hide a dark street", "lampu jalan di gg 2 mati, gelap rawan begal", "DISHUB"),
    ("storm-felled tree is BPBD's", "pohon tumbang nutup jalan habis angin kencang", "BPBD"),
]


@pytest.mark.parametrize(("text", "agency"), [c[1:] for c in SHIPPED_CASES], ids=[c[0] for c in SHIPPED_CASES])
def test_shipped_config(shipped_table: RoutingTable, text: str, agency: str | None) -> None:
    assert route(text, shipped_table).agency == agency


SMALL = """
router:
  threshold: 0.6
  smoothing: 1
  place_markers: [depan]
agencies:
  - code: PU
    name: Public works
    keywords: {jalan: 1, jalan rusak: 3, lubang: 2, saluran: 2}
    negative: {jalan jalan: 2}
  - code: HUB
    name: Transport
    keywords: {lampu jalan: 3, parkir: 2, lampu: 1}
  - code: DLH
    name: Environment
    keywords: {sampah: 3, bau: 1}
  - code: MANUAL
    name: Assigned by hand only
"""

OUTSIDE = SMALL.replace("  place_markers: [depan]\n", "  place_markers: [depan]\n  out_of_scope: {pln: 3, polisi: 1}\n")


@pytest.mark.parametrize(
    ("text", "agency", "confidence", "outside"),
    [
        ("pln padam", None, 0.0, ["pln"]),  # only out-of-scope evidence: review, nothing to rank
        ("lampu jalan mati, pln tidak datang", None, 0.4286, ["pln"]),  # 3 against 3: a tie
        ("lampu jalan mati, polisi tidak ada", "HUB", 0.6, ["polisi"]),  # weak context: still routed
        ("lampu jalan mati", "HUB", 0.75, []),
    ],
    ids=["alone", "as strong as the agency", "weak context", "absent"],
)
def test_out_of_scope_competes_like_a_second_candidate(text: str, agency: str | None, confidence: float,
                                                       outside: list[str]) -> None:
    decision = route(text, load_table(OUTSIDE, source="outside.yaml"))
    assert (decision.agency, decision.out_of_scope) == (agency, outside)
    assert decision.confidence == pytest.approx(confidence, abs=1e-4)
    assert all(c["agency"] for c in decision.candidates)  # never offered as an agency to assign
    assert ("out_of_scope" in decision.to_dict()) == bool(outside)
    if outside:
        assert "not a city matter? " + ", ".join(outside) in decision.explain()


@pytest.fixture(scope="module")
def small() -> RoutingTable:
    return load_table(SMALL, source="small.yaml")


# (label, text, agency, confidence, matched, candidate scores)
SMALL_CASES = [
    ("phrase beats its words", "lampu jalan mati", "HUB", 0.75, ["lampu jalan"], {"HUB": 3.0}),
    ("phrase of the same agency consumes the word", "jalan rusak", "PU", 0.75, ["jalan rusak"], {"PU": 3.0}),
    ("distinct terms add up", "jalan rusak ada lubang", "PU", 0.8333, ["jalan rusak", "lubang"], {"PU": 5.0}),
    ("a repeated term counts once", "sampah sampah sampah", "DLH", 0.75, ["sampah"], {"DLH": 3.0}),
    ("lone weak word is below threshold", "bau", None, 0.5, ["bau"], {"DLH": 1.0}),
    ("tie goes to review", "sampah dan lampu jalan", None, 0.4286, ["lampu jalan"], {"HUB": 3.0, "DLH": 3.0}),
    ("margin too small: review", "sampah bau dekat parkir", None, 0.5714, ["sampah", "bau"], {"DLH": 4.0, "HUB": 2.0}),
    ("margin large enough", "sampah bau lampu", "DLH", 0.6667, ["sampah", "bau"], {"DLH": 4.0, "HUB": 1.0}),
    (
        "negative consumes its words and subtracts",
        "jalan jalan ke saluran lubang",
        "PU",
        0.6667,
        ["-jalan jalan", "saluran", "lubang"],
        {"PU": 2.0},
    ),
    ("place marker: match scores nothing", "sampah depan parkir", "DLH", 0.75, ["sampah"], {"DLH": 3.0}),
    ("nothing matched", "terima kasih", None, 0.0, [], {}),
    ("empty text", "", None, 0.0, [], {}),
]


@pytest.mark.parametrize(
    ("text", "agency", "confidence", "matched", "scores"), [c[1:] for c in SMALL_CASES], ids=[c[0] for c in SMALL_CASES]
)
def test_mechanics(
    small: RoutingTable, text: str, agency: str | None, confidence: float, matched: list[str], scores: dict
) -> None:
    decision = route(text, small)
    assert decision.agency == agency
    assert decision.confidence == pytest.approx(confidence, abs=1e-4)
    assert decision.matched == matched
    assert {c["agency"]: c["score"] for c in decision.candidates} == scores


def test_candidates_are_ranked_best_first(small: RoutingTable) -> None:
    decision = route("sampah bau lubang parkir", small)
    assert [c["agency"] for c in decision.candidates] == ["DLH", "PU", "HUB"]
    assert decision.candidates[0] == {"agency": "DLH", "score": 4.0, "matched": ["sampah", "bau"]}


def test_review_keeps_the_evidence(small: RoutingTable) -> None:
    decision = route("sampah dan lampu jalan", small)
    assert decision.agency is None
    assert decision.matched == decision.candidates[0]["matched"]


def test_to_dict_is_json(small: RoutingTable) -> None:
    decision = route("jalan rusak dekat sampah", small)
    payload = json.loads(json.dumps(decision.to_dict()))
    assert payload == {
        "agency": decision.agency,
        "confidence": decision.confidence,
        "matched": decision.matched,
        "candidates": decision.candidates,
    }
    assert set(payload) == {"agency", "confidence", "matched", "candidates"}


def test_decision_explains_itself(small: RoutingTable) -> None:
    assert route("jalan rusak", small).explain().startswith("PU (confidence 0.75)")
    assert route("halo", small).explain() == "review queue: no keyword matched"
    assert isinstance(route("halo", small), Decision)


def test_agencies_in_config_order_with_code_and_name(small: RoutingTable) -> None:
    assert [(a.code, a.name) for a in small.agencies] == [
        ("PU", "Public works"),
        ("HUB", "Transport"),
        ("DLH", "Environment"),
        ("MANUAL", "Assigned by hand only"),
    ]


def test_typo_correction_only_at_routing(small: RoutingTable) -> None:
    assert route("smpah", small).agency == "DLH"
    assert route("parkirr", small).agency == "HUB"
