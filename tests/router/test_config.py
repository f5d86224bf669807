"""Config tables: what load_table accepts, and each refusal with the file and line it names."""

from __future__ import annotations

import pytest

from router import RouterConfigError, load_table

GOOD = """\
city: Kota Malang
templates: {id: {help: "x"}}
router:
  threshold: 0.5
agencies:
  - code: DPUPRPKP
    name: Pekerjaan Umum
    deadlines: {respond: 24h}
    contact: pu@example.org
    keywords:
      jalan rusak: 3
      drainase: 2.5
  - code: TUGUTIRTA
    name: Perumda Tugu Tirta
"""


def test_reads_only_router_and_agencies() -> None:
    table = load_table(GOOD)
    assert table.threshold == 0.5
    assert [(a.code, a.name) for a in table.agencies] == [
        ("DPUPRPKP", "Pekerjaan Umum"),
        ("TUGUTIRTA", "Perumda Tugu Tirta"),
    ]
    assert table.agencies[0].keywords == {"jalan rusak": 3.0, "drainase": 2.5}
    assert table.agencies[1].keywords == {}


def test_router_section_is_optional() -> None:
    table = load_table("agencies:\n  - {code: DLH, name: Lingkungan, keywords: {sampah: 3}}\n")
    assert (table.threshold, table.smoothing) == (0.5, 1.0)


AGENCY = "agencies:\n  - code: DLH\n    name: Lingkungan\n"

# (label, yaml text, expected message); the source name is "cfg.yaml".
BAD_CASES = [
    ("bad YAML", "router:\n  threshold: [0.5\nagencies: []\n", "cfg.yaml line 3: invalid YAML"),
    ("not a mapping", "- a\n- b\n", "cfg.yaml line 1: the file must be a mapping of sections"),
    ("agencies missing", "router: {threshold: 0.5}\n", "cfg.yaml line 1: agencies: section missing"),
    ("agencies not a list", "agencies: {DLH: x}\n", "cfg.yaml line 1: agencies must be a list"),
    (
        "threshold above 1",
        "router:\n  threshold: 1.5\n" + AGENCY,
        "cfg.yaml line 2: router.threshold must be a number >= 0 and <= 1",
    ),
    (
        "threshold not a number",
        "router:\n  threshold: high\n" + AGENCY,
        "cfg.yaml line 2: router.threshold must be a number",
    ),
    ("smoothing zero", "router:\n  smoothing: 0\n" + AGENCY, "cfg.yaml line 2: router.smoothing must be a number > 0"),
    ("unknown router key", "router:\n  treshold: 0.5\n" + AGENCY, "cfg.yaml line 2: router.treshold: unknown setting"),
    ("fuzzy length too small", "router:\n  fuzzy_min_length: 2\n" + AGENCY, "cfg.yaml line 2: router.fuzzy_min_length"),
    (
        "place markers not a list",
        "router:\n  place_markers: depan\n" + AGENCY,
        "cfg.yaml line 2: router.place_markers must",
    ),
    (
        "place marker of two words",
        "router:\n  place_markers: [depan, di depan]\n" + AGENCY,
        "cfg.yaml line 2: router.place_markers 'di depan': must be one word",
    ),
    (
        "out-of-scope term without weight",
        "router:\n  out_of_scope:\n    pln: 3\n    polisi: x\n" + AGENCY,
        "cfg.yaml line 4: router.out_of_scope 'polisi': weight must be a number > 0",
    ),
    (
        "out-of-scope terms alike after normalisation",
        "router:\n  out_of_scope:\n    penipuan: 3\n    ditipu: 3\n" + AGENCY,
        "cfg.yaml line 4: router.out_of_scope 'ditipu': same as 'penipuan' after normalisation",
    ),
    ("agency without code", "agencies:\n  - name: X\n", "cfg.yaml line 2: agencies[0].code None: must match"),
    ("bad code", "agencies:\n  - code: dlh\n    name: X\n", "cfg.yaml line 2: agencies[0].code 'dlh': must match"),
    (
        "duplicate code",
        AGENCY + "  - code: DLH\n    name: Again\n",
        "cfg.yaml line 4: agencies[1].code 'DLH': duplicate of the agency on line 2",
    ),
    ("name missing", "agencies:\n  - code: DLH\n", "cfg.yaml line 2: agencies[0].name: must be a non-empty string"),
    (
        "empty name",
        "agencies:\n  - code: DLH\n    name: ''\n",
        "cfg.yaml line 3: agencies[0].name: must be a non-empty string",
    ),
    (
        "bad weight",
        AGENCY + "    keywords:\n      sampah: 3\n      jalan: -1\n",
        "cfg.yaml line 6: agencies[0].keywords 'jalan': weight must be a number > 0",
    ),
    (
        "weight is text",
        AGENCY + "    keywords:\n      sampah: tinggi\n",
        "cfg.yaml line 5: agencies[0].keywords 'sampah': weight",
    ),
    (
        "weight is bool",
        AGENCY + "    keywords:\n      sampah: true\n",
        "cfg.yaml line 5: agencies[0].keywords 'sampah': weight",
    ),
    ("empty keyword", AGENCY + "    keywords:\n      '': 2\n", "cfg.yaml line 5: agencies[0].keywords: empty keyword"),
    ("null keyword", AGENCY + "    keywords:\n      ~: 2\n", "cfg.yaml line 5: agencies[0].keywords: empty keyword"),
    (
        "keyword without letters",
        AGENCY + "    keywords:\n      '!!!': 2\n",
        "cfg.yaml line 5: agencies[0].keywords '!!!': normalises to nothing",
    ),
    (
        "keywords that normalise alike",
        AGENCY + "    keywords:\n      jalan berlubang: 3\n      jln lobang: 2\n",
        "cfg.yaml line 6: agencies[0].keywords 'jln lobang': same as 'jalan berlubang' after normalisation",
    ),
    (
        "keyword given twice",
        AGENCY + "    keywords:\n      sampah: 3\n      sampah: 2\n",
        "cfg.yaml line 6: agencies[0].keywords 'sampah': given more than once",
    ),
    (
        "keywords not a mapping",
        AGENCY + "    keywords: [sampah]\n",
        "cfg.yaml line 4: agencies[0].keywords must be a mapping",
    ),
    (
        "bad negative weight",
        AGENCY + "    negative:\n      bank sampah: 0\n",
        "cfg.yaml line 5: agencies[0].negative 'bank sampah'",
    ),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_refused_with_file_and_line(text: str, message: str) -> None:
    with pytest.raises(RouterConfigError) as refused:
        load_table(text, source="cfg.yaml")
    assert str(refused.value).startswith(message)


def test_default_source_name() -> None:
    with pytest.raises(RouterConfigError, match=r"^config\.yaml line 1: "):
        load_table("agencies: 3\n")


def test_shipped_config_covers_malang(shipped_table) -> None:
    codes = [a.code for a in shipped_table.agencies]
    for code in ("DPUPRPKP", "DLH", "DISHUB", "DISPENDUKCAPIL", "SATPOLPP", "TUGUTIRTA", "DISDIKBUD", "DINKES", "BPBD"):
        assert code in codes
    assert len(codes) == len(set(codes)) == 28
    busy = ["DPUPRPKP", "DLH", "DISHUB", "DISPENDUKCAPIL", "DISDIKBUD", "DINKES", "SATPOLPP", "DINSOS-P3AP2KB", "BPBD"]
    for agency in shipped_table.agencies:
        if agency.code in busy + ["TUGUTIRTA"]:
            assert len(agency.keywords) >= 30, agency.code
