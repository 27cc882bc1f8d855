"""Build step of the wheel (everything else is declared in pyproject.toml).

A checkout keeps templates/, static/ and migrations/ at its top level; the wheel carries them
inside the `verifier` package, where verifier.config.resource_path() finds them, and carries
the translation catalogues compiled (.po to .mo), so an installed service needs no `make`.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA_DIRECTORIES = ("templates", "static", "migrations")
NOT_SHIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


def compile_catalogues(translations: Path) -> None:
    """Write messages.mo beside each messages.po (as `make translations` does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_file in sorted(translations.glob("*/LC_MESSAGES/*.po")):
        with po_file.open("rb") as fh:
            catalog = read_po(fh, locale=po_file.parent.parent.name)
        with po_file.with_suffix(".mo").open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=True)


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout itself
            return
        package = Path(self.build_lib) / "verifier"
        for name in DATA_DIRECTORIES:
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, package / name, ignore=NOT_SHIPPED, dirs_exist_ok=True)
        compile_catalogues(package / "translations")


setup(cmdclass={"build_py": BuildWithData})
