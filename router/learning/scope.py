"""The out-of-scope terms of a routing table (``router.out_of_scope``) as the learned router weighs them.

Apart from the features (``router.learning.features``) because ``decide`` needs them with no model as well: the
keyword router alone then imports neither numpy nor scipy.
"""

from __future__ import annotations

from router.decision import Decision
from router.table import OUT_OF_SCOPE, RoutingTable


def out_of_scope_weights(table: RoutingTable) -> dict[str, float]:
    """Return out-of-scope term label -> weight of a routing table (``router.out_of_scope``)."""
    return {term.label: term.weight for terms in table.keys.values() for term in terms if term.agency == OUT_OF_SCOPE}


def out_of_scope_weight(decision: Decision, oos_weights: dict[str, float]) -> float:
    """Return the summed weight of the out-of-scope terms that matched in ``decision``."""
    return sum(oos_weights.get(label, 1.0) for label in decision.out_of_scope)
