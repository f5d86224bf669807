"""Sambat's keyword router: informal Indonesian complaint text in, agency decision with evidence out.

Pure Python over text and config (no Flask, no database)::

    from router import load_table, route
    table = load_table(open("config.yaml").read(), source="config.yaml")
    decision = route("jln rsk parah dpn rmh", table)
    decision.agency, decision.confidence, decision.matched, decision.candidates
"""

from router.config import RouterConfigError, load_table
from router.decision import Candidate, Decision
from router.table import Agency, RoutingTable, route

__all__ = ["Agency", "Candidate", "Decision", "RouterConfigError", "RoutingTable", "load_table", "route"]
