"""docs/security.md maps every threat to tests: each test it names exists, so the map stays true."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "security.md"
THREATS = (
    "Forged or altered certificates",
    "Stolen signing keys",
    "Insider edits and database writers",
    "Duplicate identities",
    "Races",
    "Steering a draw",
    "Enumeration",
    "Privacy leaks",
    "Resource exhaustion",
)


def named_tests(text: str) -> list[tuple[str, str]]:
    """Every `tests/file.py::name` and `::name` (the file named last before it) in the text."""
    found: list[tuple[str, str]] = []
    current = ""
    pattern = r"`(tests/[\w/]+\.py)?(?:::)?(test_\w+)?`|(tests/[\w/]+\.py)"
    for match in re.finditer(pattern, text):
        path = match.group(1) or match.group(3)
        if path:
            current = path
        if match.group(2):
            found.append((current, match.group(2)))
    return found


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }


def test_every_threat_of_the_model_has_its_section():
    text = DOC.read_text(encoding="utf-8")
    for threat in THREATS:
        assert re.search(rf"^## \d+\. {re.escape(threat)}", text, re.M), threat


def test_every_test_the_document_names_exists():
    text = DOC.read_text(encoding="utf-8")
    references = named_tests(text)
    assert len(references) > 150, "the document names tests as `tests/file.py::test`"
    missing = []
    for path, name in references:
        file = ROOT / path
        if not file.is_file() or name not in defined_tests(file):
            missing.append(f"{path}::{name}")
    assert not missing, "docs/security.md names tests that do not exist:\n" + "\n".join(missing)
