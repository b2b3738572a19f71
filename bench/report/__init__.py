"""Reports built from records. This first version writes one Markdown table per dataset
(mean, std and n per method and metric) and lists every failure with its reason."""
from .markdown import run_summary_markdown, write_run_report  # noqa: F401
