"""Count import cycles and imports that run up the layers, for the closing notes of structural work.

    .venv/bin/python scripts/import_report.py [--verbose]

Reads the project's own imports with grimp (installed with import-linter), every import counted, those
inside functions too. A cycle is a strongly connected group of two or more modules. An upward import is
one from a lower layer into a higher one, in the order of docs/architecture.md:

    gateway.cli, gateway.web > gateway.jobs > gateway.complaints > gateway.runtime, gateway.settings
    > channels > models, router

plus the two package rules that hold whatever the layout: ``channels`` never imports ``gateway``, and
``router`` imports nothing else of the project.
"""

from __future__ import annotations

import argparse
import sys

import grimp

PACKAGES = ("gateway", "channels", "router", "models")
# Highest first; a module's layer is the first prefix it falls under (modules in none are not ranked).
LAYERS = (
    ("gateway.cli", "gateway.web", "gateway.app", "gateway.wsgi"),
    ("gateway.jobs",),
    ("gateway.complaints",),
    ("gateway.runtime", "gateway.settings"),
    ("channels",),
    ("models", "router"),
)


def layer_of(module: str) -> int | None:
    """The index of the module's layer in LAYERS (0 is the top), or None when it is in none."""
    for rank, prefixes in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return rank
    return None


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return sorted(found, key=len, reverse=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list every module of each cycle and every import")
    args = parser.parse_args(argv)
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    edges = {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    groups = cycles(edges)
    pairs = sorted((a, b) for a, targets in edges.items() for b in targets)
    channels_up = [(a, b) for a, b in pairs if a.startswith("channels") and b.startswith("gateway")]
    router_out = [(a, b) for a, b in pairs if a.startswith("router") and not b.startswith("router")]
    upward = [(a, b) for a, b in pairs
              if layer_of(a) is not None and layer_of(b) is not None and layer_of(b) < layer_of(a)]
    print(f"modules: {len(edges)}")
    print(f"import cycles: {len(groups)} (sizes {', '.join(str(len(g)) for g in groups) or '-'})")
    for group in groups:
        print(f"  {len(group)}: {', '.join(group) if args.verbose else group[0] + ' ...'}")
    print(f"channels -> gateway imports: {len(channels_up)}")
    print(f"router -> rest of the project imports: {len(router_out)}")
    print(f"upward imports between layers: {len(upward)}")
    if args.verbose:
        for a, b in sorted(set(channels_up + router_out + upward)):
            print(f"  {a} -> {b}")
    return 1 if groups or channels_up or router_out or upward else 0


if __name__ == "__main__":
    sys.exit(main())
