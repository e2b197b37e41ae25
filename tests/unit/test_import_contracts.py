"""The import contracts in pyproject.toml (lab: cli -> ... -> model; dnsnode: cli -> net -> xfr ->
serving -> ops; dnsnode never imports lab), and no cycle between any two modules of either
package, function-local imports included (issue 10: lab had a four-module cycle)."""

from __future__ import annotations

import itertools
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]


def find_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """One shortest cycle per strongly connected group of modules (Tarjan), as [a, b, ..., a]."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(root: str) -> None:
        # iterative: a deep import chain must not hit the recursion limit
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, imported = work[-1]
            for other in imported:
                if other not in index:
                    index[other] = low[other] = len(index)
                    stack.append(other)
                    on_stack.add(other)
                    work.append((other, iter(sorted(graph.find_modules_directly_imported_by(other)))))
                    break
                if other in on_stack:
                    low[module] = min(low[module], index[other])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[module])
                if low[module] == index[module]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == module:
                            break
                    if len(group) > 1 or graph.direct_import_exists(importer=module, imported=module):
                        groups.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    cycles = []
    for group in groups:
        start = group[0]
        nexts = sorted(m for m in graph.find_modules_directly_imported_by(start) if m in group)
        back = [graph.find_shortest_chain(importer=n, imported=start) or (n,) for n in nexts]
        cycles.append([start, *min(back, key=len)])
    return cycles


def describe(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    """Each import of the cycle with its line, so the report says where to cut it."""
    lines = [" -> ".join(cycle)]
    for importer, imported in itertools.pairwise(cycle):
        for detail in graph.get_import_details(importer=importer, imported=imported):
            lines.append(f"  {importer}:{detail['line_number']}: {detail['line_contents']}")
    return "\n".join(lines)


@pytest.mark.parametrize("package", ["dnsnode", "lab"])
def test_no_import_cycle_between_modules(package: str) -> None:
    graph = grimp.build_graph(package, cache_dir=None)
    cycles = find_cycles(graph)
    assert not cycles, f"import cycles in {package} (break each at one of these lines):\n" + "\n".join(
        describe(graph, c) for c in cycles
    )


def test_the_cycle_finder_reports_a_cycle_through_a_function_local_import() -> None:
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b", line_number=3, line_contents="from pkg import b")
    graph.add_import(importer="pkg.b", imported="pkg.c", line_number=4, line_contents="from pkg import c")
    local = "    from pkg import a"  # inside a function
    graph.add_import(importer="pkg.c", imported="pkg.a", line_number=40, line_contents=local)
    graph.add_import(importer="pkg.d", imported="pkg.a", line_number=1, line_contents="import pkg.a")
    (cycle,) = find_cycles(graph)
    assert cycle == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]
    assert "pkg.c:40:     from pkg import a" in describe(graph, cycle)


def _contract_ids() -> tuple[str, ...]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return tuple(c["id"] for c in config["tool"]["importlinter"]["contracts"])


def test_import_contracts_are_kept() -> None:
    ids = _contract_ids()
    assert {"dnsnode-layers", "lab-layers", "lab-dnsnode"} <= set(ids)
    # a process of its own: lint-imports reconfigures logging (dictConfig disables every
    # existing logger, dnsnode.xfr's included), which would silence later tests' caplog
    script = (
        "import sys; from importlinter.cli import lint_imports; "
        f"sys.exit(lint_imports(config_filename={str(ROOT / 'pyproject.toml')!r}, "
        f"limit_to_contracts={ids!r}, no_cache=True, no_logo=True))"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
