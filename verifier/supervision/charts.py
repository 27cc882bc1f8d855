"""Small SVG charts drawn on the server: no JavaScript, readable without styles, with titles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from verifier.supervision.models import FindingResult

COLOURS: dict[str, str] = {
    FindingResult.CONFIRMED: "#2e7d32",
    FindingResult.DISCREPANCY: "#c62828",
    FindingResult.UNVERIFIABLE: "#9e9e9e",
}
BAR_COLOUR = "#c62828"
TRACK_COLOUR = "#eeeeee"
TEXT_COLOUR = "#333333"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # 0..1
    note: str  # what the bar's end says, e.g. "3 / 10"


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    )
    # every text that goes into the markup above was passed through html.escape
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704


def rate_bars(bars: Sequence[Bar], title: str, *, width: int = 640) -> Markup:
    """Horizontal bars of shares (0..1), one per row, with the label left and the note right."""
    row, label_w, note_w = 26, 220, 80
    track = width - label_w - note_w - 10
    height = max(len(bars), 1) * row + 10
    body = []
    for i, bar in enumerate(bars):
        y = 5 + i * row
        share = min(max(bar.value, 0.0), 1.0)
        label = bar.label if len(bar.label) <= 18 else bar.label[:17] + "…"
        body.append(
            f"<g><title>{escape(bar.label)}: {escape(bar.note)}</title>"
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" font-size="13" '
            f'fill="{TEXT_COLOUR}">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{track}" height="16" fill="{TRACK_COLOUR}"/>'
            f'<rect x="{label_w}" y="{y + 4}" width="{round(track * share, 1)}" height="16" '
            f'fill="{BAR_COLOUR}"/>'
            f'<text x="{label_w + track + 8}" y="{y + 17}" font-size="13" '
            f'fill="{TEXT_COLOUR}">{escape(bar.note)}</text></g>'
        )
    return _svg(width, height, title, body)


def stacked_columns(
    columns: Sequence[tuple[str, dict[str, int]]],
    series: Sequence[str],
    series_labels: dict[str, str],
    title: str,
    *,
    width: int = 640,
    height: int = 240,
) -> Markup:
    """Columns per period (e.g. month), each stacked by series, with a legend underneath."""
    left, bottom, top, legend = 36, 30, 10, 24
    plot_h = height - bottom - top - legend
    plot_w = width - left - 10
    peak = max((sum(values.get(s, 0) for s in series) for _k, values in columns), default=0)
    peak = max(peak, 1)
    step = plot_w / max(len(columns), 1)
    col_w = max(step * 0.6, 2)
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        f'stroke="{TEXT_COLOUR}" stroke-width="1"/>',
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" font-size="11" '
        f'fill="{TEXT_COLOUR}">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11" '
        f'fill="{TEXT_COLOUR}">0</text>',
    ]
    for i, (key, values) in enumerate(columns):
        x = left + i * step + (step - col_w) / 2
        y: float = top + plot_h
        parts = ", ".join(f"{series_labels.get(s, s)} {values.get(s, 0)}" for s in series)
        body.append(f"<g><title>{escape(key)}: {escape(parts)}</title>")
        for name in series:
            n = values.get(name, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{col_w:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS.get(name, BAR_COLOUR)}"/>'
            )
        body.append(
            f'<text x="{x + col_w / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
            f'font-size="10" fill="{TEXT_COLOUR}">{escape(key[2:])}</text></g>'
        )
    x = left
    for name in series:
        body.append(
            f'<rect x="{x}" y="{height - 14}" width="10" height="10" '
            f'fill="{COLOURS.get(name, BAR_COLOUR)}"/>'
            f'<text x="{x + 14}" y="{height - 5}" font-size="11" fill="{TEXT_COLOUR}">'
            f"{escape(series_labels.get(name, name))}</text>"
        )
        x += 24 + 12 * len(series_labels.get(name, name))
    return _svg(width, height, title, body)
