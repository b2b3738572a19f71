"""House style of report figures: sizes, fonts, and one stable look per method.

Conventions
- Width: one paper column is 3.5 in; a figure that needs more (many metrics) grows to at most
  a two-column 7.16 in. Heights grow with the number of methods so labels never overlap.
- Fonts: DejaVu Sans (matplotlib's bundled default, nothing downloaded), 7 pt minimum.
- Colours: Okabe & Ito's colour-blind-safe palette (8 colours). Methods beyond 8 reuse the
  colours with another marker and line style, so up to 32 methods stay distinct.
- Order: methods are ordered once (given order, else case-insensitive name order) and every
  figure uses that order and the same colour/marker/line style per method.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Callable, Iterable

COLUMN_IN = 3.5
DOUBLE_COLUMN_IN = 7.16
MIN_FONT_PT = 7.0

# Okabe, M. & Ito, K. (2008) "Color Universal Design"; black moved last so that two-method
# figures get two chromatic colours.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442",
             "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", ":", "-.")
INSET_COLOURS = ("#E41A1C", "#0072B2")  # first inset red (as papers do), second blue

RC = {
    "font.family": "DejaVu Sans",
    "font.size": 7.0,
    "axes.titlesize": 8.0,
    "axes.labelsize": 7.0,
    "xtick.labelsize": 7.0,
    "ytick.labelsize": 7.0,
    "legend.fontsize": 7.0,
    "legend.title_fontsize": 7.0,
    "figure.titlesize": 8.0,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.0,
    "lines.markersize": 3.0,
    "xtick.major.width": 0.5,
    "ytick.major.width": 0.5,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "grid.linewidth": 0.4,
    "grid.alpha": 0.5,
    "legend.frameon": False,
    "pdf.fonttype": 42,  # TrueType in PDFs: text stays text (editable, searchable)
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02,
}


@dataclass(frozen=True)
class MethodStyle:
    colour: str
    marker: str
    linestyle: str


def natural_key(name: str) -> tuple:
    """'m2' before 'm10': digit runs compare as numbers, the rest case-insensitively."""
    parts = re.split(r"(\d+)", name)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in parts) + (name,)


def method_order(methods: Iterable[str], preferred: Iterable[str] | None = None) -> list[str]:
    """Stable order: methods named in `preferred` first (in that order), the rest in natural
    name order."""
    present = list(dict.fromkeys(methods))
    first = [m for m in (preferred or []) if m in present]
    rest = sorted((m for m in present if m not in first), key=natural_key)
    return first + rest


def method_styles(order: list[str]) -> dict[str, MethodStyle]:
    """Method -> (colour, marker, line style); the i-th method of `order` always gets the same."""
    out = {}
    n = len(OKABE_ITO)
    for i, name in enumerate(order):
        cycle = i // n
        out[name] = MethodStyle(OKABE_ITO[i % n], MARKERS[cycle % len(MARKERS)],
                                LINESTYLES[cycle % len(LINESTYLES)])
    return out


def styled(fn: Callable) -> Callable:
    """Build the figure under the house rcParams (no global state is changed)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import matplotlib
        with matplotlib.rc_context(RC):
            return fn(*args, **kwargs)
    return wrapper


def new_figure(width: float, height: float):
    """A Figure on the Agg canvas, not registered with pyplot (nothing to close, no GUI)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def text_width_pt(text: str, size: float = MIN_FONT_PT) -> float:
    """Width of one line of DejaVu Sans text in points (measured from the glyph outlines)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath
    if not text:
        return 0.0
    return float(TextPath((0, 0), text, size=size,
                          prop=FontProperties(family="DejaVu Sans")).get_extents().width)


def legend_columns(labels: list[str], width_in: float, handle_em: float = 2.2) -> int:
    """How many legend columns of 7 pt entries fit in `width_in` (handle, gap and column
    spacing included)."""
    if not labels:
        return 1
    per_column = max(text_width_pt(s) for s in labels) + (handle_em + 0.8 + 1.0) * MIN_FONT_PT
    return max(1, min(len(labels), int((width_in * 72.0 - 6.0) // per_column)))


def wrap_title(text: str, width_in: float, size: float = 8.0) -> str:
    """Wrap each line of a title so that it fits `width_in` at `size` pt."""
    import textwrap
    out = []
    for line in text.split("\n"):
        chars = len(line)
        while chars > 8 and text_width_pt(line[:chars], size) > width_in * 72.0:
            chars -= 2
        out.extend(textwrap.wrap(line, max(8, chars)) or [""])
    return "\n".join(out)


def direction_label(metric: str, direction: str | None) -> str:
    if direction == "higher":
        return f"{metric} ↑"
    if direction == "lower":
        return f"{metric} ↓"
    return metric


def format_value(v: float) -> str:
    """Compact number for legends and annotations (4 significant digits)."""
    if v != v:  # NaN
        return "–"
    a = abs(v)
    if a != 0 and (a < 1e-3 or a >= 1e5):
        return f"{v:.2e}"
    return f"{v:.4g}"
