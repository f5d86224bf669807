"""Fixtures for the router tests: the shipped config.yaml compiled once, and a small config builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from router import RoutingTable, load_table

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def shipped_table() -> RoutingTable:
    """The routing table from the repository's config.yaml."""
    return load_table((ROOT / "config.yaml").read_text(encoding="utf-8"), source="config.yaml")
