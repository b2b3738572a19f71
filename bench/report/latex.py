"""LaTeX rendering of report tables: a standalone document with booktabs rules.

Compiles with pdflatex and the packages booktabs, caption, geometry and graphicx (all in TeX Live's
latex-base/latex-recommended). Tables are not floats (\\captionof), so failure lists stay under
their table. Text is escaped (\\ & % $ # _ { } ~ ^) and reduced to ASCII (known symbols mapped to
LaTeX, others transliterated or replaced by '?'), so any method, sample or reason compiles.
Best is \\textbf, second best \\underline; arrows are $\\uparrow$/$\\downarrow$.
"""
from __future__ import annotations

import unicodedata

from .tables import Failure, Report, Table, cell_text

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
            "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
            "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
            "|": r"\textbar{}"}
_SYMBOLS = {"\u00b1": r"$\pm$", "\u2020": r"$^\dagger$", "\u2191": r"$\uparrow$",
            "\u2193": r"$\downarrow$", "\u2192": r"$\rightarrow$", "\u00d7": r"$\times$",
            "\u2013": "--", "\u2014": "---", "\u00b7": r"$\cdot$", "\u2264": r"$\leq$",
            "\u2265": r"$\geq$", "\u00b5": r"$\mu$"}
ARROWS = {"higher": r"$\uparrow$", "lower": r"$\downarrow$"}

PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[T1]{fontenc}
\usepackage[landscape,margin=1.5cm]{geometry}
\usepackage{booktabs}
\usepackage{caption}
\usepackage{graphicx}
\begin{document}
"""


def escape(text: str) -> str:
    """Plain text -> LaTeX source that prints it (ASCII only)."""
    out = []
    for ch in str(text):
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ch in _SYMBOLS:
            out.append(_SYMBOLS[ch])
        elif ord(ch) < 128:
            out.append(ch if ch.isprintable() else " ")
        else:
            ascii_form = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(escape(ascii_form) if ascii_form else "?")
    return "".join(out)


def inline(text: str) -> str:
    """Escape text, setting `backticked` parts in \\texttt."""
    parts = str(text).split("`")
    return "".join(rf"\texttt{{{escape(p)}}}" if i % 2 else escape(p) for i, p in enumerate(parts))


def _cell(table: Table, row, column) -> str:
    cell = row.cells[column.key]
    text = cell_text(cell, column, table.show_std)
    if not text:
        return "--"
    if text == "failed":
        return r"\textit{failed}"
    body = escape(text)
    if cell.mark == "best":
        body = rf"\textbf{{{body}}}"
    elif cell.mark == "second":
        body = rf"\underline{{{body}}}"
    if cell.failed:
        body += r"$^\dagger$"
    return body


def table_latex(table: Table) -> str:
    ncols = 1 + len(table.columns) + 1 + len(table.extra_columns)
    spec = "l" + "r" * (len(table.columns) + 1) + "l" * len(table.extra_columns)
    head = ["Method"] + [escape(c.label) + ARROWS.get(c.direction or "", "")
                         for c in table.columns] + ["$n$"] + [escape(e)
                                                              for e in table.extra_columns]
    lines = [r"\begin{center}", r"\small",
             rf"\captionof{{table}}{{{inline(table.caption)}}}"]
    wide = len(table.columns) > 9 or table.show_std and len(table.columns) > 5
    lines.append(r"\resizebox{\linewidth}{!}{%" if wide else "{%")
    lines += [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", " & ".join(head) + r" \\",
              r"\midrule"]
    group = None
    for i, r in enumerate(table.rows):
        if table.grouped and r.group != group:
            if i:
                lines.append(r"\midrule")
            label = escape(r.group.capitalize())
            lines.append(rf"\multicolumn{{{ncols}}}{{l}}{{\textit{{{label}}}}} \\")
            group = r.group
        cells = [escape(r.label)] + [_cell(table, r, c) for c in table.columns]
        cells += [escape(r.n_text)] + [escape(r.extra.get(e, "")) for e in table.extra_columns]
        lines.append(" & ".join(cells) + r" \\")
    if not table.rows:
        lines.append(rf"\multicolumn{{{ncols}}}{{l}}{{no methods}} \\")
    lines += [r"\bottomrule", r"\end{tabular}}", r"\end{center}", ""]
    lines += [r"\noindent{\footnotesize " + inline(n) + r"}\par" for n in table.notes]
    lines += failures_latex(table.failures)
    return "\n".join(lines)


def failures_latex(failures: list[Failure], title: str = "Failures") -> list[str]:
    if not failures:
        return []
    total = sum(len(f.samples) for f in failures)
    lines = [r"\medskip\noindent\textbf{" + escape(f"{title} ({total}):") + "}",
             r"\begin{itemize}\footnotesize"]
    for f in failures:
        lines.append(rf"\item \texttt{{{escape(f.method)}}}, {escape(f.metric)}, "
                     f"{len(f.samples)} sample(s) ({escape(', '.join(f.samples))}): "
                     f"{escape(f.reason)}")
    lines.append(r"\end{itemize}")
    return lines


def report_latex(report: Report) -> str:
    """The whole report as a standalone .tex document."""
    body = [PREAMBLE, rf"\section*{{{inline(report.title)}}}"]
    body += [inline(h) + r"\par" for h in report.header if h.strip()]
    for t in report.tables:
        body += [rf"\subsection*{{{inline(t.title)}}}", table_latex(t), r"\bigskip"]
    if report.other_failures:
        body += failures_latex(report.other_failures, "Other failures")
    body.append(r"\end{document}")
    return "\n".join(body) + "\n"
