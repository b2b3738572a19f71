"""`bench list`: what is registered, what each entry needs, and what cannot run yet."""
from __future__ import annotations

import pandas as pd

from .registry import METHODS, METRICS, TASKS


def _table(rows: list[dict]) -> str:
    return pd.DataFrame(rows).to_markdown(index=False) if rows else "(none)"


def _method_status(entry) -> str:
    """'ok', 'NOT AVAILABLE: why', or what a registered class says of itself (`status()`,
    e.g. for which tasks trained weights exist)."""
    if not entry.available:
        return f"NOT AVAILABLE: {entry.reason}"
    status = getattr(entry.obj, "status", None)
    return status() if callable(status) else "ok"


def methods_table() -> str:
    import methods  # noqa: F401
    rows = [{"method": e.name, "tasks": ",".join(sorted(e.meta["tasks"])), "kind": e.meta["kind"],
             "baseline": "yes" if e.meta.get("baseline") else "",
             "needs": ",".join(e.meta.get("needs", ())) or "-",
             "status": _method_status(e),
             "description": e.meta["description"]} for e in METHODS]
    groups = [f"- `{g.name}`: {g.description}" + (f" ({g.note})" if g.note else "")
              for g in METHODS.groups()]
    return (_table(rows) + "\n\nGroups:\n" + "\n".join(groups) +
            "\n- `folder:NAME=DIR`: precomputed fused images read by file stem" +
            _shared_precomputed())


def _shared_precomputed() -> str:
    """The distributed outputs found in the shared data (what `precomputed` runs there)."""
    from methods.precomputed import shared_precomputed
    found = shared_precomputed()
    if not found:
        return ""
    lines = [f"- `{spec}` ({name}, {len(methods)}): {', '.join(methods)}"
             for spec, name, methods in found]
    return ("\n\nPrecomputed outputs in the shared data (`--methods precomputed --datasets "
            "SPEC`):\n" + "\n".join(lines))


def datasets_table() -> str:
    from .datasets import registry
    reg = registry()
    rows = [{"dataset": e.name, "task": e.meta["task"],
             "needs": e.meta.get("needs_text") or
             ("a folder" if e.meta.get("needs_root", True) else "nothing (embedded)"),
             "layout": e.meta.get("layout", ""), "description": e.meta["description"]}
            for e in reg]
    groups = [f"- `{g.name}`: {g.description}" for g in reg.groups()]
    return _table(rows) + ("\n\nGroups:\n" + "\n".join(groups) if groups else "") + \
        "\n\nSpec: NAME[:ROOT][?key=value&...]; `python -m bench datasets fetch-info NAME` " \
        "says where each comes from."


def metrics_table() -> str:
    from . import metrics
    rows = [{"metric": e.name, "direction": "↑ higher" if e.meta["direction"] == "higher" else "↓ lower",
             "family": e.meta["family"], "needs": ",".join(e.meta["needs"]),
             "profiles": ",".join(e.meta["profiles"]), "description": e.meta["description"]}
            for e in METRICS]
    profiles = [f"- `{p.name}`: {p.description}" for p in metrics.PROFILES.values()]
    return _table(rows) + "\n\nProfiles:\n" + "\n".join(profiles)


def tasks_table() -> str:
    import tasks  # noqa: F401
    rows = [{"task": e.name, "needs": ",".join(e.meta.get("needs", ())),
             "status": "ok" if e.available else f"NOT AVAILABLE: {e.reason}",
             "description": e.meta["description"]} for e in TASKS]
    return _table(rows)


def format_listing(what: str = "all") -> str:
    parts = {"methods": methods_table, "datasets": datasets_table, "metrics": metrics_table,
             "tasks": tasks_table}
    chosen = parts if what == "all" else {what: parts[what]}
    return "\n\n".join(f"## {name}\n\n{fn()}" for name, fn in chosen.items())
