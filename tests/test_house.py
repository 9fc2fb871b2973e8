"""The house: the import graph of daemon/ and web/ has no cycle, and its dependencies point down.

The graph is read from the source with `ast`, so an import inside a function
counts as much as one at the top of a module.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Top to bottom. A module may import its own package, or a package in a lower layer;
# packages of one layer know nothing of each other.
LAYERS = (
    ("daemon.__main__",),                         # front doors
    ("daemon.cli",),
    ("daemon.service",),
    ("web",),
    ("daemon.ingest",),                           # domain
    ("daemon.patrol",),
    ("daemon.knowledge",),
    ("daemon.outbound", "daemon.people"),
    ("daemon.tickets",),
    ("daemon.store", "daemon.mail"),              # store and mail
    ("daemon.config", "daemon.logs", "daemon.timefmt", "daemon.wakeable"),
    ("daemon.errors", "daemon.languages"),
    ("daemon",),                                  # the package itself: a docstring and a version
)
DOMAIN = ("daemon.tickets", "daemon.outbound", "daemon.people", "daemon.knowledge", "daemon.patrol",
          "daemon.ingest")
MAX_TOP_MODULES = 10


@dataclass(frozen=True)
class Import:
    source: str   # the importing module
    target: str   # the module it loads
    names: tuple  # what it takes from target ("from target import names"), or attributes read off it
    line: int


def modules() -> dict[str, Path]:
    found = {}
    for top in ("daemon", "web"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = modules()


def package_of(module: str) -> str:
    """The package (as LAYERS names it) that a module belongs to."""
    best = ""
    for layer in LAYERS:
        for package in layer:
            if (module == package or module.startswith(package + ".")) and len(package) > len(best):
                best = package
    assert best, f"{module} belongs to no layer of the house: add it to LAYERS"
    return best


def layer_of(package: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if package in layer)


def _resolved(name: str) -> str | None:
    """The module of ours that `name` loads (the closest enclosing one), or None for other code."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    found, bound = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolved(alias.name)
                if target:
                    found.append(Import(module, target, (), node.lineno))
                    if alias.asname:
                        bound[alias.asname] = target
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                here = here[:len(here) - (node.level - 1)]
                base = ".".join(here + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in MODULES:   # from package import module: the package's __init__ runs first
                    found.append(Import(module, submodule, (), node.lineno))
                    found.append(Import(module, base, (), node.lineno))
                    bound[alias.asname or alias.name] = submodule
                elif _resolved(base):
                    found.append(Import(module, _resolved(base), (alias.name,), node.lineno))
    # What a module reads off a module it bound to a name: `tickets.audit(...)`.
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            found.append(Import(module, bound[node.value.id], (node.attr,), node.lineno))
    return found


GRAPH = {module: imports_of(module, path) for module, path in MODULES.items()}


def edges() -> dict[str, set[str]]:
    return {module: {i.target for i in found if i.target != module} for module, found in GRAPH.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one module (Tarjan), as a path that closes."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(_closed_path(sorted(group), graph))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _closed_path(group: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One cycle through the group's first member, to name in the failure."""
    members, start = set(group), group[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        node = frontier.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                return paths[node] + [start]
            if nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                frontier.append(nxt)
    return group


def public_names(package: str) -> set[str]:
    """What a package's __init__ names in __all__: all that other domain packages may use of it."""
    tree = ast.parse(MODULES[package].read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


def test_the_cycle_finder_names_a_cycle_and_passes_a_tree():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_the_graph_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "lazy.py"
    source.write_text("def f():\n    from daemon.tickets import lifecycle\n    return lifecycle.audit\n")
    found = imports_of("daemon.ingest.lazy", source)
    assert {(i.target, i.names) for i in found} == {
        ("daemon.tickets", ()), ("daemon.tickets.lifecycle", ()), ("daemon.tickets.lifecycle", ("audit",))}


def test_there_is_no_import_cycle_in_daemon_or_web():
    found = cycles(edges())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


def test_dependencies_point_down_the_layers():
    wrong = []
    for module, found in GRAPH.items():
        home = package_of(module)
        for imp in found:
            there = package_of(imp.target)
            if there != home and layer_of(there) <= layer_of(home):
                wrong.append(f"{module}:{imp.line} imports {imp.target} ({there} is not below {home})")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_the_mail_package_touches_no_database():
    wrong = []
    for module, path in MODULES.items():
        if package_of(module) != "daemon.mail":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            wrong += [f"{module}: {name}" for name in names
                      if name.split(".")[0] in ("peewee", "playhouse", "psycopg2", "sqlite3")
                      or (name.startswith("daemon") and not name.startswith(("daemon.mail", "daemon.languages")))]
    assert not wrong, "\n".join(wrong)


def test_a_domain_package_uses_another_only_through_what_its_init_names():
    wrong = []
    for module, found in GRAPH.items():
        home = package_of(module)
        if home not in DOMAIN:
            continue
        for imp in found:
            there = package_of(imp.target)
            if there == home or there not in DOMAIN:
                continue
            if imp.target != there:
                wrong.append(f"{module}:{imp.line} reaches into {imp.target}; import from {there}")
            else:
                wrong += [f"{module}:{imp.line} uses {there}.{name}, which its __init__ does not name"
                          for name in imp.names if name not in public_names(there)]
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_no_package_uses_another_packages_private_names():
    wrong = []
    for module, found in GRAPH.items():
        for imp in found:
            if package_of(imp.target) == package_of(module):
                continue
            wrong += [f"{module}:{imp.line} uses {imp.target}.{name}" for name in imp.names
                      if name.startswith("_") and not name.startswith("__")]
    assert not wrong, "\n".join(sorted(set(wrong)))


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_says_what_it_is_for_in_a_short_docstring(module):
    docstring = ast.get_docstring(ast.parse(MODULES[module].read_text(encoding="utf-8")))
    assert docstring, f"{module} has no docstring"
    summary = docstring.split("\n\n")[0]
    assert len(summary.splitlines()) <= 2, f"{module}: the docstring's first paragraph is longer than two lines"


def test_the_daemon_folder_keeps_at_most_ten_modules_of_its_own():
    top = sorted(p.name for p in (ROOT / "daemon").glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top
