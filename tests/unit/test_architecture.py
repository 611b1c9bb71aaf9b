"""Architecture rules from DESIGN.md ("Layout"), checked over the source with the stdlib `ast`.

Dependency direction: `api/`, `workers/`, the CLI -> `pipeline/` -> `ocr/`, `storage/`, `search/`.
Every import is counted wherever it appears in a module (inside functions, `try`, and
`if TYPE_CHECKING:` too), since a lazy import is still a design dependency. Each rule is one test
that lists every offender; `test_checker_*` feed the same functions synthetic source so that a
rule can be seen to fail.
"""

from __future__ import annotations

import ast
import fnmatch
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# --- the rules' constants (allow-lists and limits) ----------------------------------------------

# The product: the code that is scanned for imports and cycles.
PRODUCT_PACKAGES = ("pipeline", "ocr", "storage", "search", "workers", "api")
# Also parsed, but only so that `from samples import generate` resolves to a module; never scanned.
TARGET_ONLY_PACKAGES = ("samples", "bench", "tests")

# Rule 1: the bottom layer. Each may import only itself (and third-party code).
LOWER_PACKAGES = ("ocr", "storage", "search")
ABOVE_LOWER_PACKAGES = ("pipeline", "workers", "api", "samples", "tests", "bench")

# Rule 2: the CLI is an entry point living inside `pipeline/`; the rest of `pipeline/` is not.
CLI_PACKAGE = "pipeline.cli"
PIPELINE_FORBIDDEN = ("api", "workers")

# Rule 3: the other two entry points.
API_FORBIDDEN = (CLI_PACKAGE, "workers")
WORKERS_FORBIDDEN = ("api", CLI_PACKAGE)

# Rule 4: product code never imports these. One exception, at an entry point: `sohoa train`
# (pipeline/cli/documents.py) hands the sample generator to pipeline.train as its source of
# generated training text (pipeline.train.TextSource); nothing below the CLI imports samples.
NON_PRODUCT_PACKAGES = ("samples", "tests", "bench")
NON_PRODUCT_ALLOWED = {("pipeline.cli.documents", "samples.generate")}

# Rule 6: sizes. Exemptions are fnmatch patterns over the posix path from the repository root.
SIZE_CHECKED_PACKAGES = (*PRODUCT_PACKAGES, "samples")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 100
MODULE_LENGTH_EXEMPT = ("samples/generate.py", "storage/migrations/**")
FUNCTION_LENGTH_EXEMPT = ("storage/migrations/**",)  # applied migrations are not rewritten


# --- the checker ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. "pipeline.cli" (a package is named by its __init__.py)
    path: str  # posix path from the repository root, e.g. "pipeline/cli.py"
    tree: ast.Module
    lines: int

    @property
    def is_package(self) -> bool:
        return self.path.endswith("/__init__.py")


@dataclass(frozen=True)
class Import:
    importer: Module
    line: int
    target: str  # resolved dotted name: a module when one exists, else what was written
    statement: str  # one imported name, e.g. "from pipeline import review"

    def __str__(self) -> str:
        return f"{self.importer.path}:{self.line}  {self.statement}  (-> {self.target})"


def module_name(path: str) -> str:
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


Modules = dict[str, Module]  # keyed by path: `x.py` and a package `x/` may coexist mid-refactor


def parse_modules(sources: dict[str, str]) -> Modules:
    """{posix path: source} -> {posix path: Module}. Raises SyntaxError on bad source."""
    modules = {}
    for path, source in sources.items():
        tree = ast.parse(source, filename=path)
        modules[path] = Module(module_name(path), path, tree, len(source.splitlines()))
    return modules


def _names(modules: Modules) -> set[str]:
    return {m.name for m in modules.values()}


def read_sources(root: Path, packages: tuple[str, ...]) -> dict[str, str]:
    sources = {}
    for package in packages:
        for file in sorted((root / package).rglob("*.py")):
            sources[file.relative_to(root).as_posix()] = file.read_text(encoding="utf-8")
    return sources


def load_repository(root: Path = ROOT) -> tuple[Modules, list[str]]:
    """Every parseable module of the product and target-only packages, and the parse errors
    (the checkout is edited concurrently; one broken file should not hide the other rules)."""
    modules, errors = {}, []
    for path, source in read_sources(root, PRODUCT_PACKAGES + TARGET_ONLY_PACKAGES).items():
        try:
            modules.update(parse_modules({path: source}))
        except SyntaxError as e:
            errors.append(f"{path}:{e.lineno}  {e.msg}")
    return modules, errors


def in_package(name: str, packages: str | tuple[str, ...]) -> bool:
    """Whether dotted `name` is one of `packages` or inside one."""
    if isinstance(packages, str):
        packages = (packages,)
    return any(name == p or name.startswith(p + ".") for p in packages)


def _relative_base(module: Module, level: int) -> str | None:
    parts = module.name.split(".")
    if not module.is_package:
        parts = parts[:-1]  # the package the module is in
    if level - 1 > len(parts) - 1:
        return None  # beyond the top-level package
    return ".".join(parts[: len(parts) - (level - 1)])


def imports_of(module: Module, known: set[str]) -> list[Import]:
    """Every import anywhere in `module`, one per imported name, with relative imports resolved
    and `from pkg import name` read as an import of `pkg.name` when that module is known."""
    found = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(module, node.lineno, alias.name, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _relative_base(module, node.level)
                if base is None:
                    continue
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            written = "." * node.level + (node.module or "")
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                target = submodule if submodule in known else source
                found.append(Import(module, node.lineno, target,
                                    f"from {written} import {alias.name}"))
    return sorted(found, key=lambda i: (i.importer.path, i.line, i.statement))


def _scanned(modules: Modules, packages: tuple[str, ...]) -> list[Module]:
    return sorted((m for m in modules.values() if in_package(m.name, packages)),
                  key=lambda m: m.path)


def forbidden_imports(modules: Modules, importers: str | tuple[str, ...],
                      forbidden: str | tuple[str, ...],
                      except_importers: tuple[str, ...] = ()) -> list[Import]:
    """Imports by modules in `importers` (but not in `except_importers`) of anything in
    `forbidden`."""
    importers = (importers,) if isinstance(importers, str) else importers
    return [imp
            for module in _scanned(modules, importers)
            if not in_package(module.name, except_importers)
            for imp in imports_of(module, _names(modules))
            if in_package(imp.target, forbidden)]


def lower_layer_violations(modules: Modules) -> list[Import]:
    """Rule 1: ocr/, storage/, search/ import each other or anything above them."""
    found = []
    for package in LOWER_PACKAGES:
        others = tuple(p for p in LOWER_PACKAGES if p != package)
        found += forbidden_imports(modules, package, others + ABOVE_LOWER_PACKAGES)
    return found


def pipeline_violations(modules: Modules) -> list[Import]:
    """Rule 2: pipeline/ outside its CLI package imports api/ or workers/."""
    return forbidden_imports(modules, "pipeline", PIPELINE_FORBIDDEN,
                             except_importers=(CLI_PACKAGE,))


def entry_point_violations(modules: Modules) -> list[Import]:
    """Rule 3: api/ imports the CLI or workers/; workers/ imports api/ or the CLI."""
    return (forbidden_imports(modules, "api", API_FORBIDDEN)
            + forbidden_imports(modules, "workers", WORKERS_FORBIDDEN))


def non_product_violations(modules: Modules) -> list[Import]:
    """Rule 4: product code imports samples/, tests/ or bench/ (but NON_PRODUCT_ALLOWED)."""
    return [i for i in forbidden_imports(modules, PRODUCT_PACKAGES, NON_PRODUCT_PACKAGES)
            if (i.importer.name, i.target) not in NON_PRODUCT_ALLOWED]


def _owning_module(target: str, names: set[str]) -> str | None:
    """The most specific module in `names` that dotted `target` is, or is inside."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in names:
            return candidate
    return None


def strongly_connected_components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def _shortest_cycle(start: str, graph: dict[str, set[str]], members: set[str]) -> list[str]:
    """A shortest path start -> ... -> start inside one component (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return [start]


@dataclass(frozen=True)
class Cycle:
    modules: list[str]  # the strongly connected component, sorted
    example: list[str]  # one concrete cycle through its first module
    imports: list[Import]  # every import between two of its modules

    def __str__(self) -> str:
        lines = [f"cycle among {len(self.modules)} modules: {', '.join(self.modules)}",
                 f"    e.g. {' -> '.join(self.example)}"]
        lines += [f"    {imp}" for imp in self.imports]
        return "\n".join(lines)


def import_cycles(modules: Modules,
                  packages: tuple[str, ...] = PRODUCT_PACKAGES) -> list[Cycle]:
    """Rule 5: cycles in the module-level import graph of the product (Tarjan's SCC)."""
    product = _scanned(modules, packages)
    names = {m.name for m in product}
    known = _names(modules)
    graph: dict[str, set[str]] = {name: set() for name in names}
    edges: dict[tuple[str, str], list[Import]] = {}
    for module in product:
        name = module.name
        for imp in imports_of(module, known):
            target = _owning_module(imp.target, names)
            if target is None or target == name:
                continue
            graph[name].add(target)
            edges.setdefault((name, target), []).append(imp)
    cycles = []
    for component in strongly_connected_components(graph):
        if len(component) < 2:
            continue
        members = set(component)
        imports = [imp for (a, b), imps in sorted(edges.items())
                   if a in members and b in members for imp in imps]
        cycles.append(Cycle(component, _shortest_cycle(component[0], graph, members), imports))
    return sorted(cycles, key=lambda c: c.modules)


def _exempt(path: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


def size_violations(modules: Modules,
                    packages: tuple[str, ...] = SIZE_CHECKED_PACKAGES) -> list[str]:
    """Rule 6: modules over MAX_MODULE_LINES, functions/methods over MAX_FUNCTION_LINES."""
    found = []
    for module in _scanned(modules, packages):
        if module.lines > MAX_MODULE_LINES and not _exempt(module.path, MODULE_LENGTH_EXEMPT):
            found.append(f"{module.path}:1  module is {module.lines} lines "
                         f"(limit {MAX_MODULE_LINES})")
        if _exempt(module.path, FUNCTION_LENGTH_EXEMPT):
            continue
        functions = [n for n in ast.walk(module.tree)
                     if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        for node in sorted(functions, key=lambda n: n.lineno):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{module.path}:{node.lineno}  function {node.name}() is "
                             f"{length} lines (limit {MAX_FUNCTION_LINES})")
    return found


def report(title: str, offenders: list) -> str:
    return f"{title} — {len(offenders)} offender(s):\n" + "\n".join(f"  {o}" for o in offenders)


# --- the rules over the repository -----------------------------------------------------------------

MODULES, PARSE_ERRORS = load_repository()


def name_clashes(modules: Modules) -> list[str]:
    """A module `x.py` next to a folder `x/` holding modules: only one of them can be imported."""
    paths = sorted(modules)
    return [f"{path}:1  clashes with the package folder {path[:-3]}/"
            for path in paths
            if not path.endswith("/__init__.py")
            and any(other.startswith(path[:-3] + "/") for other in paths)]


def test_product_code_parses_and_module_names_are_unique():
    problems = PARSE_ERRORS + name_clashes(MODULES)
    assert not problems, report(
        "Modules that do not parse (skipped by the other rules) or clash with a package", problems)


def test_the_scan_finds_the_product():
    for package in PRODUCT_PACKAGES:
        assert f"{package}/__init__.py" in MODULES, f"{package}/__init__.py not found under {ROOT}"


def test_rule1_ocr_storage_search_import_nothing_above_or_beside():
    offenders = lower_layer_violations(MODULES)
    assert not offenders, report(
        "Rule 1: ocr/, storage/ and search/ must not import each other, pipeline/, workers/, "
        "api/, samples/, tests/ or bench/", offenders)


def test_rule2_pipeline_outside_the_cli_imports_neither_api_nor_workers():
    offenders = pipeline_violations(MODULES)
    assert not offenders, report(
        f"Rule 2: pipeline/ (outside the CLI, {CLI_PACKAGE}) must not import api/ or workers/",
        offenders)


def test_rule3_api_and_workers_do_not_import_the_cli_or_each_other():
    offenders = entry_point_violations(MODULES)
    assert not offenders, report(
        f"Rule 3: api/ must not import {CLI_PACKAGE} or workers/; workers/ must not import api/ "
        f"or {CLI_PACKAGE}", offenders)


def test_rule4_product_code_imports_no_samples_tests_or_bench():
    offenders = non_product_violations(MODULES)
    assert not offenders, report(
        f"Rule 4: product code ({', '.join(PRODUCT_PACKAGES)}) must not import samples/, tests/ "
        "or bench/", offenders)


def test_rule5_no_import_cycles_between_product_modules():
    cycles = import_cycles(MODULES)
    assert not cycles, report(
        "Rule 5: import cycles between product modules (imports anywhere in a module count)",
        cycles)


def test_rule6_modules_and_functions_are_short():
    offenders = size_violations(MODULES)
    assert not offenders, report(
        f"Rule 6: modules over {MAX_MODULE_LINES} lines (except {', '.join(MODULE_LENGTH_EXEMPT)})"
        f" or functions over {MAX_FUNCTION_LINES} lines (except "
        f"{', '.join(FUNCTION_LENGTH_EXEMPT)})", offenders)


# --- the checker over synthetic source: each rule can fail ---------------------------------------

def _fake(sources: dict[str, str]) -> Modules:
    packages = {path.split("/")[0] for path in sources}
    inits = {f"{p}/__init__.py": "" for p in packages}
    return parse_modules({**inits, **sources})


def _targets(imports: list[Import]) -> list[tuple[str, str]]:
    return [(imp.importer.path, imp.target) for imp in imports]


def test_checker_rule1_reports_lower_layers_importing_up_or_across():
    modules = _fake({
        "ocr/x.py": "import pipeline.y\n",
        "pipeline/y.py": "",
        "storage/a.py": "def f():\n    from search import folding\n",
        "search/folding.py": "from search.index import X\nfrom ocr import x\n",
        "search/index.py": "import numpy\nfrom . import folding\n",
    })
    assert _targets(lower_layer_violations(modules)) == [
        ("ocr/x.py", "pipeline.y"), ("storage/a.py", "search.folding"),
        ("search/folding.py", "ocr.x")]
    assert "ocr/x.py:1  import pipeline.y" in report("", lower_layer_violations(modules))


def test_checker_rule2_allows_only_the_cli_to_import_api_and_workers():
    modules = _fake({
        "pipeline/flow.py": "from workers.tasks import run\n",
        "pipeline/cli/__init__.py": "from api.app import make_app\nimport workers.run\n",
        "pipeline/cli/serve.py": "from .. import flow\nimport api.app\n",
        "api/app.py": "", "workers/tasks.py": "", "workers/run.py": "",
    })
    assert _targets(pipeline_violations(modules)) == [("pipeline/flow.py", "workers.tasks")]


def test_checker_rule3_reports_entry_points_importing_the_cli_or_each_other():
    modules = _fake({
        "api/app.py": "from pipeline import cli\nfrom pipeline import flow\n",
        "api/routes.py": "def f():\n    import workers.tasks\n",
        "workers/tasks.py": "from pipeline.cli import main\nfrom pipeline.flow import admit\n",
        "workers/run.py": "from api import app\n",
        "pipeline/cli.py": "", "pipeline/flow.py": "",
    })
    assert _targets(entry_point_violations(modules)) == [
        ("api/app.py", "pipeline.cli"), ("api/routes.py", "workers.tasks"),
        ("workers/run.py", "api.app"), ("workers/tasks.py", "pipeline.cli")]


def test_checker_rule4_reports_product_importing_samples_tests_or_bench():
    modules = _fake({
        "pipeline/demo.py": "from samples import generate\nimport testsuite\n",
        "api/app.py": "if True:\n    import tests.services\n",
        "samples/generate.py": "import pipeline.demo\n",  # not scanned: samples is not product
    })
    assert _targets(non_product_violations(modules)) == [
        ("api/app.py", "tests.services"), ("pipeline/demo.py", "samples.generate")]


def test_checker_rule5_reports_each_cycle_with_its_imports():
    modules = _fake({
        "pipeline/indexing.py": "from pipeline import review\n",
        "pipeline/review.py": "def f():\n    from .indexing import reindex\n",
        "pipeline/a.py": "import pipeline.b\n",
        "pipeline/b.py": "from pipeline.c import x\n",
        "pipeline/c.py": "from typing import TYPE_CHECKING\n"
                         "if TYPE_CHECKING:\n    from pipeline import a\n",
        "pipeline/d.py": "import pipeline.a\nfrom pipeline import d\n",  # into a cycle; self
        "ocr/x.py": "import samples.y\n",
        "samples/y.py": "import ocr.x\n",  # not product: no cycle
    })
    cycles = import_cycles(modules)
    assert [c.modules for c in cycles] == [
        ["pipeline.a", "pipeline.b", "pipeline.c"], ["pipeline.indexing", "pipeline.review"]]
    assert cycles[0].example == ["pipeline.a", "pipeline.b", "pipeline.c", "pipeline.a"]
    assert [str(i) for i in cycles[1].imports] == [
        "pipeline/indexing.py:1  from pipeline import review  (-> pipeline.review)",
        "pipeline/review.py:2  from .indexing import reindex  (-> pipeline.indexing)"]


def test_checker_rule5_tarjan_finds_separate_and_nested_components():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}, "f": {"f", "a"}}
    components = sorted(c for c in strongly_connected_components(graph) if len(c) > 1)
    assert components == [["a", "b", "c"], ["d", "e"]]


def test_checker_rule6_reports_long_modules_and_functions():
    def function(name: str, lines: int, indent: str = "") -> str:
        return f"{indent}def {name}():\n" + f"{indent}    x = 1\n" * (lines - 1)

    modules = _fake({
        "pipeline/long.py": "x = 1\n" * 401,
        "pipeline/ok.py": "x = 1\n" * 400,
        "pipeline/funcs.py": function("long", 101) + function("ok", 100)
                             + "class C:\n" + function("method", 102, "    "),
        "samples/generate.py": "x = 1\n" * 1000,
        "storage/migrations/versions/0001_initial.py": "x = 1\n" * 500 + function("upgrade", 150),
        "bench/big.py": "x = 1\n" * 500,  # not size-checked
    })
    assert size_violations(modules) == [
        "pipeline/funcs.py:1  function long() is 101 lines (limit 100)",
        "pipeline/funcs.py:203  function method() is 102 lines (limit 100)",
        "pipeline/long.py:1  module is 401 lines (limit 400)"]


def test_checker_reports_nothing_for_a_clean_layout():
    modules = _fake({
        "ocr/engine.py": "import numpy\nfrom ocr import hocr\n", "ocr/hocr.py": "",
        "storage/catalogue.py": "from storage.errors import E\n", "storage/errors.py": "",
        "search/index.py": "from .folding import fold\n", "search/folding.py": "",
        "pipeline/flow.py": "from ocr.engine import Engine\nimport storage.catalogue\n",
        "pipeline/cli/__init__.py": "import api.app\nimport workers.app\nfrom pipeline import flow\n",
        "api/app.py": "from pipeline.flow import admit\n",
        "workers/app.py": "from pipeline import flow\n",
    })
    assert lower_layer_violations(modules) == []
    assert pipeline_violations(modules) == []
    assert entry_point_violations(modules) == []
    assert non_product_violations(modules) == []
    assert import_cycles(modules) == []
    assert size_violations(modules) == []


def test_checker_reports_a_module_next_to_a_package_of_the_same_name():
    modules = _fake({"pipeline/cli.py": "", "pipeline/cli/ingest.py": "", "pipeline/flow.py": ""})
    assert name_clashes(modules) == ["pipeline/cli.py:1  clashes with the package folder pipeline/cli/"]
