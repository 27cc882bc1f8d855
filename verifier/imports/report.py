"""The report of an import: counts, and the rows it refused with line, column and rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The report keeps this many row problems; beyond it only the count grows (bounded memory).
MAX_REPORTED_PROBLEMS = 1000


@dataclass
class RowProblem:
    """One broken rule in one row."""

    line: int
    column: str
    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do), row by row."""

    filename: str
    dry_run: bool
    all_or_nothing: bool
    file_sha256: str = ""
    file_size: int = 0
    file_format: str = ""
    encoding: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    total_rows: int = 0
    valid: int = 0
    skipped: int = 0
    rejected_rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    problems_total: int = 0
    new_volunteers: int = 0
    written: bool = False
    batch_id: int | None = None
    # an all-or-nothing import written by a job stopped at this line, refused only then because
    # of a concurrent change (its rows were all checked first); the rows before it stay written
    stopped_at_line: int | None = None

    @property
    def imported(self) -> int:
        """Rows imported; for a dry run, the rows a real run would import."""
        if self.all_or_nothing and self.rejected_rows and self.stopped_at_line is None:
            return 0
        return self.valid

    @property
    def truncated(self) -> bool:
        return self.problems_total > len(self.problems)

    def reject(self, problem: RowProblem) -> None:
        self.problems_total += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(problem)

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "skipped": self.skipped,
            "rejected": [problem.as_dict() for problem in self.problems],
            "rejected_rows": self.rejected_rows,
            "rejected_total": self.problems_total,
            "rejected_truncated": self.truncated,
            "dry_run": self.dry_run,
            "all_or_nothing": self.all_or_nothing,
            "total_rows": self.total_rows,
            "valid": self.valid,
            "new_volunteers": self.new_volunteers,
            "written": self.written,
            "batch_id": self.batch_id,
            "file": {
                "name": self.filename,
                "sha256": self.file_sha256,
                "size": self.file_size,
                "format": self.file_format,
                "encoding": self.encoding,
            },
            "columns": self.columns,
        } | ({"stopped_at_line": self.stopped_at_line} if self.stopped_at_line else {})

    def restore(self, saved: dict[str, Any]) -> None:
        """Take back the counts and problems of `as_dict()` (an interrupted import resumes)."""
        self.columns = dict(saved.get("columns") or {})
        self.total_rows = int(saved["total_rows"])
        self.valid = int(saved["valid"])
        self.skipped = int(saved["skipped"])
        self.rejected_rows = int(saved["rejected_rows"])
        self.problems_total = int(saved["rejected_total"])
        self.new_volunteers = int(saved["new_volunteers"])
        self.problems = [RowProblem(**problem) for problem in saved["rejected"]]

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> ImportReport:
        """Rebuild a report from `as_dict()` (a job's result, shown on its page)."""
        file = saved.get("file") or {}
        report = cls(
            filename=file.get("name", ""),
            dry_run=bool(saved["dry_run"]),
            all_or_nothing=bool(saved["all_or_nothing"]),
            file_sha256=file.get("sha256", ""),
            file_size=int(file.get("size", 0)),
            file_format=file.get("format", ""),
            encoding=file.get("encoding", ""),
            written=bool(saved.get("written")),
            batch_id=saved.get("batch_id"),
            stopped_at_line=saved.get("stopped_at_line"),
        )
        report.restore(saved)
        return report
