"""Reports built from records: tables shaped like the SMC-Mamba paper's (fusion, downstream,
efficiency) in Markdown, LaTeX and tidy CSV, and comparison with the paper's numbers.

- tables: records -> Table objects (means, std, n, best/second marks, failures);
- markdown, latex: rendering; compare: ours beside results/paper/smc_mamba_aaai2026.csv;
- figures (written separately): `write_figures(records, out_dir, ...)`.
"""
from .markdown import run_summary_markdown, write_run_report  # noqa: F401
