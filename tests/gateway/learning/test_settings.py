"""``router.learning`` and ``aliases:`` in config.yaml: read by the settings, bad values named by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import ConfigError, load_settings
from tests.conftest import ROOT

SHIPPED = (ROOT / "config.yaml").read_text(encoding="utf-8")
BLOCK = """  learning:
    enabled: true          # false: the keywords decide alone, as before
    min_examples: 100      # with fewer examples the keywords decide alone
    target_precision: 0.92 # the model's threshold is chosen by cross-validation to reach this precision
    retrain_every: 50      # the scheduler retrains after this many new examples
    bounce_similarity: 0.8 # a near-identical complaint an agency sent back ("bukan wewenang") stops the model
                           # routing this one there: it waits for review
"""


def settings_with(tmp_path: Path, block: str, aliases: str = "[DPUPR, Dinas PU, Dinas Pekerjaan Umum]"):  # noqa: ANN201
    assert BLOCK in SHIPPED
    text = SHIPPED.replace(BLOCK, block).replace("aliases: [DPUPR, Dinas PU, Dinas Pekerjaan Umum]",
                                                 f"aliases: {aliases}")
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    return load_settings(environ={}, config_path=str(tmp_path / "config.yaml"))


def test_the_shipped_defaults(tmp_path: Path) -> None:
    learning = settings_with(tmp_path, BLOCK).learning
    assert (learning.enabled, learning.min_examples, learning.target_precision, learning.retrain_every) == \
        (True, 100, 0.92, 50)


@pytest.mark.parametrize(("block", "aliases", "message"), [
    ("  learning: {min_exmples: 3}\n", "[DPUPR]", "router.learning.min_exmples: unknown setting"),
    ("  learning: {retrain_every: 0}\n", "[DPUPR]", "router.learning.retrain_every must be an integer >= 1"),
    ("  learning: {target_precision: 2}\n", "[DPUPR]", "router.learning.target_precision must be a number"),
    ("  learning: [1]\n", "[DPUPR]", "router.learning must be a mapping"),
    (BLOCK, "[DPUPR, 3]", "aliases: must be a list of non-empty names"),
])
def test_bad_values_are_named(tmp_path: Path, block: str, aliases: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        settings_with(tmp_path, block, aliases)
    assert message in str(error.value)
