"""Read the ``router:`` and ``agencies:`` sections of config.yaml into a compiled routing table.

The whole file is composed with PyYAML to keep each node's line, so every refusal names the file, the
line and the key: ``config.yaml line 212: agencies[3].keywords 'jalan': weight must be a number > 0``.
Other top-level sections and unknown per-agency keys (deadlines, contacts...) are ignored.

Schema::

    router:
      threshold: 0.5          # least confidence routed without review, 0..1
      smoothing: 1.0          # pseudo-score in the confidence denominator, > 0
      fuzzy_min_length: 5     # shortest unknown word corrected as a typo (0 turns correction off)
      place_markers: [depan]  # a match right after one of these names a place and scores nothing
      out_of_scope:           # evidence that no city agency handles it (PLN, police ...): term: weight
        pln: 3                # it competes with the best agency like a second candidate; if it leads, review
      learning: {}            # the learned model's settings (router.learning.LearningSettings), not read here
    agencies:
      - code: DPUPRPKP        # ^[A-Z][A-Z0-9-]{1,31}$, unique
        name: Dinas Pekerjaan Umum ...
        aliases: [DPU, Dinas PU]  # other names in an archive (old names of merged agencies); optional
        keywords:             # keyword or phrase: weight > 0 (optional)
          jalan berlubang: 3
        negative:             # keyword: weight subtracted from this agency; consumes its words (optional)
          jalan jalan: 2
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from router.lexicon import default_lexicon
from router.normalize import Normalizer
from router.table import OUT_OF_SCOPE, Agency, RoutingTable, Term

# libyaml's safe loader where PyYAML was built with it (the pure-Python one took 0.3 s of the 700-line config.yaml,
# libyaml 0.04 s); the settings read the same file with it (gateway.settings.sources).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9-]{1,31}$")
ROUTER_DEFAULTS: dict[str, Any] = {
    "threshold": 0.5, "smoothing": 1.0, "fuzzy_min_length": 5, "place_markers": [], "out_of_scope": {}, "learning": {},
}


class RouterConfigError(ValueError):
    """A refused router or agencies section; ``str()`` names the file and line."""


class _Reader:
    """Walks composed YAML nodes, turning problems into ``RouterConfigError`` with a line."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._constructor = yaml.SafeLoader("")

    def fail(self, node: yaml.Node | None, message: str) -> RouterConfigError:
        line = node.start_mark.line + 1 if node is not None else 1
        return RouterConfigError(f"{self.source} line {line}: {message}")

    def value(self, node: yaml.Node) -> Any:
        return self._constructor.construct_object(node, deep=True)

    def mapping(self, node: yaml.Node, where: str) -> list[tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{where} must be a mapping")
        seen: set[str] = set()
        for key_node, _ in node.value:
            key = str(self.value(key_node))
            if key in seen:
                raise self.fail(key_node, f"{where} '{key}': given more than once")
            seen.add(key)
        return node.value

    def number(self, node: yaml.Node, where: str, low: float, high: float = math.inf, *, open_low: bool) -> float:
        number = self.value(node)
        ok = isinstance(number, int | float) and not isinstance(number, bool) and math.isfinite(number)
        ok = ok and (number > low if open_low else number >= low) and number <= high
        if not ok:
            bound = f"> {low:g}" if open_low else f">= {low:g}"
            bound += f" and <= {high:g}" if math.isfinite(high) else ""
            raise self.fail(node, f"{where} must be a number {bound}")
        return float(number)


def load_table(yaml_text: str, source: str = "config.yaml") -> RoutingTable:
    """Parse config.yaml text and compile its router and agencies sections.

    Args:
        yaml_text: the whole config.yaml text.
        source: the file name used in error messages.

    Returns:
        A compiled ``RoutingTable`` (``table.agencies`` lists the agencies in config order).

    Raises:
        RouterConfigError: the YAML is malformed or the sections are invalid; the message names
            ``source`` and the line.
    """
    reader = _Reader(source)
    try:
        root = yaml.compose(yaml_text, Loader=SAFE_LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise RouterConfigError(f"{source} line {line}: invalid YAML: {error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise RouterConfigError(f"{source} line 1: invalid YAML: {error}") from None
    if not isinstance(root, yaml.MappingNode):
        raise reader.fail(root, "the file must be a mapping of sections")
    sections = {str(reader.value(k)): v for k, v in root.value}
    settings = _read_router(reader, sections.get("router"))
    if "agencies" not in sections:
        raise reader.fail(root, "agencies: section missing")
    agencies = _read_agencies(reader, sections["agencies"])
    normalizer = Normalizer(default_lexicon(), fuzzy_min_length=int(settings["fuzzy_min_length"]) or 10**6)
    keys = _compile_keys(reader, agencies, normalizer, settings["out_of_scope"], settings.get("out_of_scope_node"))
    return RoutingTable(
        agencies=[agency for agency, _ in agencies],
        threshold=settings["threshold"],
        smoothing=settings["smoothing"],
        normalizer=normalizer,
        keys=keys,
        place_markers=frozenset(settings["place_markers"]),
    )


def _read_router(reader: _Reader, node: yaml.Node | None) -> dict[str, Any]:
    """Read ``router:`` (every key optional, unknown keys refused)."""
    settings = dict(ROUTER_DEFAULTS)
    if node is None or (isinstance(node, yaml.ScalarNode) and reader.value(node) is None):
        return settings
    for key_node, value_node in reader.mapping(node, "router"):
        key = str(reader.value(key_node))
        if key == "threshold":
            settings[key] = reader.number(value_node, "router.threshold", 0, 1, open_low=False)
        elif key == "smoothing":
            settings[key] = reader.number(value_node, "router.smoothing", 0, open_low=True)
        elif key == "fuzzy_min_length":
            value = reader.value(value_node)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0 or 0 < value < 3:
                raise reader.fail(value_node, "router.fuzzy_min_length must be 0 (off) or an integer >= 3")
            settings[key] = value
        elif key == "place_markers":
            markers = reader.value(value_node)
            if not isinstance(markers, list) or not all(isinstance(m, str) for m in markers):
                raise reader.fail(value_node, "router.place_markers must be a list of words")
            normalized = [Normalizer(default_lexicon()).tokens(marker) for marker in markers]
            for marker, tokens in zip(markers, normalized, strict=True):
                if len(tokens) != 1:
                    raise reader.fail(value_node, f"router.place_markers {marker!r}: must be one word")
            settings[key] = [tokens[0] for tokens in normalized]
        elif key == "learning":  # read by router.learning.LearningSettings.from_mapping, not by the table
            if not isinstance(reader.value(value_node), dict | None):
                raise reader.fail(value_node, "router.learning must be a mapping")
        elif key == "out_of_scope":
            settings[key] = _read_terms(reader, value_node, "router.out_of_scope")
            settings["out_of_scope_node"] = value_node
        else:
            raise reader.fail(key_node, f"router.{key}: unknown setting (known: {', '.join(ROUTER_DEFAULTS)})")
    return settings


def _read_agencies(reader: _Reader, node: yaml.Node) -> list[tuple[Agency, dict[str, yaml.Node]]]:
    """Read ``agencies:``; return each agency with the nodes of its fields (for later line numbers)."""
    if not isinstance(node, yaml.SequenceNode):
        raise reader.fail(node, "agencies must be a list")
    agencies: list[tuple[Agency, dict[str, yaml.Node]]] = []
    codes: dict[str, int] = {}
    for index, entry in enumerate(node.value):
        where = f"agencies[{index}]"
        fields = {str(reader.value(k)): v for k, v in reader.mapping(entry, where)}
        code = reader.value(fields["code"]) if "code" in fields else None
        if not isinstance(code, str) or not CODE_PATTERN.match(code):
            raise reader.fail(fields.get("code", entry), f"{where}.code {code!r}: must match {CODE_PATTERN.pattern}")
        if code in codes:
            raise reader.fail(fields["code"], f"{where}.code '{code}': duplicate of the agency on line {codes[code]}")
        codes[code] = entry.start_mark.line + 1
        name = reader.value(fields["name"]) if "name" in fields else None
        if not isinstance(name, str) or not name.strip():
            raise reader.fail(fields.get("name", entry), f"{where}.name: must be a non-empty string")
        terms = {kind: _read_terms(reader, fields.get(kind), f"{where}.{kind}") for kind in ("keywords", "negative")}
        if "aliases" in fields:  # other names of the agency (old names of merged agencies): read by the archive import
            aliases = reader.value(fields["aliases"])
            aliases = [aliases] if isinstance(aliases, str) else aliases
            if aliases is not None and not (isinstance(aliases, list)
                                            and all(isinstance(a, str) and a.strip() for a in aliases)):
                raise reader.fail(fields["aliases"], f"{where}.aliases: must be a list of non-empty names")
        agency = Agency(code, name.strip(), terms["keywords"], terms["negative"], entry.start_mark.line + 1)
        agencies.append((agency, fields))
    return agencies


def _read_terms(reader: _Reader, node: yaml.Node | None, where: str) -> dict[str, float]:
    """Read a ``term: weight`` mapping (absent or empty means no terms)."""
    if node is None or (isinstance(node, yaml.ScalarNode) and reader.value(node) is None):
        return {}
    terms: dict[str, float] = {}
    for key_node, value_node in reader.mapping(node, where):
        term = str(reader.value(key_node)).strip() if reader.value(key_node) is not None else ""
        if not term:
            raise reader.fail(key_node, f"{where}: empty keyword")
        terms[term] = reader.number(value_node, f"{where} '{term}': weight", 0, open_low=True)
    return terms


def _compile_keys(
    reader: _Reader,
    agencies: list[tuple[Agency, dict[str, yaml.Node]]],
    normalizer: Normalizer,
    out_of_scope: dict[str, float],
    out_of_scope_node: yaml.Node | None,
) -> dict[str, list[Term]]:
    """Normalise every term, refuse empty or duplicate ones, and set the typo vocabulary."""
    keys: dict[str, list[Term]] = {}
    vocabulary: set[str] = set()
    groups = [(index, f"agencies[{index}].{kind}", terms, fields.get(kind), kind == "negative")
              for index, (agency, fields) in enumerate(agencies)
              for kind, terms in (("keywords", agency.keywords), ("negative", agency.negative))]
    groups.append((OUT_OF_SCOPE, "router.out_of_scope", out_of_scope, out_of_scope_node, False))
    for index, where_group, terms, node, negative in groups:
        line_of = {str(reader.value(k)).strip(): k for k, _ in node.value} if terms and node is not None else {}
        own: dict[str, str] = {}
        for term, weight in terms.items():
            where = f"{where_group} '{term}'"
            key = " ".join(normalizer.tokens(term))
            if not key:
                raise reader.fail(line_of.get(term), f"{where}: normalises to nothing (no letters or digits)")
            if key in own:
                raise reader.fail(line_of.get(term), f"{where}: same as '{own[key]}' after normalisation ({key})")
            own[key] = term
            keys.setdefault(key, []).append(Term(index, weight, term, negative))
            for word in re.findall(r"[a-z0-9]+", term.lower()):
                vocabulary.update(normalizer.surface(word))
    normalizer.set_vocabulary(vocabulary)
    return keys
