"""Feature boundaries: imports follow the feature order, no two features import each other, no
module is imported by name outside the wiring, and no import error is caught (docs/architecture.md,
"Feature order")."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
PACKAGE = REPOSITORY / "verifier"
# Modules that put the app together and so may import every feature (the top layer).
WIRING = (
    "verifier.cli",
    "verifier.datakey",
    "verifier.demo",
    "verifier.models",
    "verifier.api.routes",
    "verifier.web.views",
    "verifier.web.dashboard",
    "verifier.web.formatting",
)
LINT = "import sys; from importlinter.cli import lint_imports as l; sys.exit(l(no_cache=True))"


def lint_imports(directory: Path, python_path: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the configuration (.importlinter) found in a directory."""
    return subprocess.run(  # noqa: S603 (our own interpreter and a fixed program)
        [sys.executable, "-c", LINT],
        cwd=directory,
        env={"PYTHONPATH": str(python_path), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_imports_follow_the_feature_order() -> None:
    result = lint_imports(REPOSITORY, REPOSITORY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def _package(root: Path, files: dict[str, str]) -> None:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))


LAYERED = """\
    [importlinter]
    root_package = layered

    [importlinter:contract:layers]
    name = layers
    type = layers
    containers =
        layered
    layers =
        high
        low
"""


def test_the_check_fails_on_an_import_against_the_order_even_inside_a_function(
    tmp_path: Path,
) -> None:
    _package(
        tmp_path,
        {
            ".importlinter": LAYERED,
            "layered/__init__.py": "",
            "layered/high/__init__.py": "",
            "layered/high/services.py": "from layered.low import services\n",
            "layered/low/__init__.py": "",
            "layered/low/services.py": "def helper():\n    return 1\n",
        },
    )
    assert lint_imports(tmp_path, tmp_path).returncode == 0  # downwards only: kept
    (tmp_path / "layered/low/services.py").write_text(
        "def helper():\n    from layered.high import services\n\n    return services\n"
    )
    result = lint_imports(tmp_path, tmp_path)
    assert result.returncode == 1
    assert "layered.low is not allowed to import layered.high" in result.stdout


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in (
        "TYPE_CHECKING",
        "typing.TYPE_CHECKING",
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, inside functions too; not those for annotations only."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.stmt) and _is_type_checking(node):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _unit(module: str, wiring: tuple[str, ...]) -> str | None:
    """The package (or top-level module) a module belongs to; None for the wiring."""
    if any(module == top or module.startswith(top + ".") for top in wiring):
        return None
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else None


def mutual_pairs(root: Path, wiring: tuple[str, ...] = WIRING) -> list[tuple[str, str]]:
    """Pairs of packages (or top-level modules) under root that import each other."""
    paths = {_module_name(root, path): path for path in root.rglob("*.py")}
    edges = set()
    for module, path in paths.items():
        package = path.name == "__init__.py"
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: from the module's package upwards
                    here = module.split(".") if package else module.split(".")[:-1]
                    here = here[: len(here) - node.level + 1]
                    base = ".".join([*here, *([node.module] if node.module else [])])
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base
                    for alias in node.names
                ]
            for target in targets:
                source, imported = _unit(module, wiring), _unit(target, wiring)
                if source and imported and source != imported:
                    edges.add((source, imported))
    return sorted({(a, b) for a, b in edges if a < b and (b, a) in edges})


def test_no_two_features_import_each_other() -> None:
    assert mutual_pairs(PACKAGE) == []


def test_a_pair_that_imports_each_other_is_found(tmp_path: Path) -> None:
    _package(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/cli.py": "from app.one import services\n",
            "app/one/services.py": "from app.two import models\n",
            "app/two/models.py": "def f():\n    from ..one import services\n",
            "app/two/typed.py": "if TYPE_CHECKING:\n    from app.three import x\n",
            "app/three/x.py": "from app.two import models\n",
        },
    )
    assert mutual_pairs(tmp_path / "app", wiring=("app.cli",)) == [("app.one", "app.two")]


DYNAMIC_IMPORTS = {"import_module", "__import__"}


def dynamic_imports(root: Path, wiring: tuple[str, ...] = WIRING) -> list[str]:
    """Calls that import a module by name (`importlib.import_module(...)`, `__import__(...)`)
    outside the wiring: the import-linter cannot see them, so they could go against the order."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if _unit(_module_name(root, path), wiring) is None:
            continue
        calls = [
            n
            for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.Call)
        ]
        for node in sorted(calls, key=lambda call: call.lineno):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in DYNAMIC_IMPORTS:
                found.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    return found


def test_no_module_is_imported_by_name_outside_the_wiring() -> None:
    assert dynamic_imports(PACKAGE) == []


def test_an_import_by_name_is_found(tmp_path: Path) -> None:
    _package(
        tmp_path,
        {
            "app/__init__.py": "import importlib\n\nimportlib.import_module('app.two')\n",
            "app/cli.py": "from importlib import import_module\n\nimport_module('app.two')\n",
            "app/one/services.py": """\
                import importlib
                from importlib import import_module


                def load(name):
                    if name == "a":
                        return importlib.import_module(name)
                    if name == "b":
                        return import_module(name)
                    return __import__(name)
            """,
            "app/two/fine.py": "import importlib.util\n\nimportlib.util.find_spec('x')\n",
        },
    )
    found = dynamic_imports(tmp_path / "app", wiring=("app.cli",))
    assert found == ["app/one/services.py:7", "app/one/services.py:9", "app/one/services.py:10"]


def import_error_handlers(root: Path) -> list[str]:
    """Handlers of ImportError (or ModuleNotFoundError): every feature is always installed, and
    such a fallback would turn a real import error into an empty page or a 404."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ExceptHandler) or node.type is None:
                continue
            caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            names = {ast.unparse(name).rsplit(".", 1)[-1] for name in caught}
            if names & {"ImportError", "ModuleNotFoundError"}:
                found.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    return found


def test_no_import_error_is_caught() -> None:
    assert import_error_handlers(PACKAGE) == []


def test_a_caught_import_error_is_found(tmp_path: Path) -> None:
    _package(
        tmp_path,
        {
            "app/fallback.py": """\
                try:
                    from app import optional
                except (ValueError, ImportError):
                    optional = None
            """,
            "app/not_found.py": """\
                try:
                    import other_feature
                except ModuleNotFoundError:
                    raise LookupError("not available") from None
            """,
            "app/fine.py": """\
                try:
                    value = int("x")
                except ValueError:
                    value = 0
            """,
        },
    )
    found = import_error_handlers(tmp_path / "app")
    assert found == ["app/fallback.py:3", "app/not_found.py:3"]
