"""One small registry class, with instances for methods, datasets, metrics and tasks.

An entry is a plain function or class registered by decorator, with metadata. Importing a plugin
module registers its entries; there is no other magic. Names are case-insensitive.

Groups are names that expand to lists of entry names. A group is either a fixed list or a
predicate over entries, evaluated when it is expanded (so `baselines` always means every
registered baseline that fits the dataset's task, including ones registered by plugins later).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator


class RegistryError(KeyError):
    """Unknown name, duplicate registration or bad metadata. The message says what is known."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


@dataclass
class Entry:
    """A registered object with its metadata.

    meta keys used across the suite: tasks (set of 'ivf'|'medical'|'mff'|'mef'), description,
    needs (tuple of strings: what the entry needs to run, e.g. 'weights', 'cuda', 'gt', 'labels'),
    direction ('higher'|'lower', metrics), family, available (bool), reason (why not available).
    """

    name: str
    obj: Any
    meta: dict = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return bool(self.meta.get("available", True))

    @property
    def reason(self) -> str:
        return str(self.meta.get("reason", ""))

    def __getitem__(self, key: str) -> Any:
        return self.meta[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.meta.get(key, default)


@dataclass
class Group:
    name: str
    description: str
    members: Callable[["Registry", dict], list[str]]
    note: str = ""  # printed whenever the group is expanded (e.g. what is not available yet)


class Registry:
    """Named entries of one kind ('method', 'dataset', 'metric', 'task')."""

    def __init__(self, kind: str, required_meta: tuple[str, ...] = ()):
        self.kind = kind
        self.required_meta = required_meta
        self._entries: dict[str, Entry] = {}
        self._groups: dict[str, Group] = {}
        self._aliases: dict[str, str] = {}

    # -- registration -------------------------------------------------------------------------
    def register(self, name: str, *, aliases: tuple[str, ...] = (), replace: bool = False,
                 **meta: Any) -> Callable[[Any], Any]:
        """Decorator: `@REG.register("name", tasks={"ivf"}, description="...")`."""

        def decorator(obj: Any) -> Any:
            self.add(name, obj, aliases=aliases, replace=replace, **meta)
            return obj

        return decorator

    def add(self, name: str, obj: Any, *, aliases: tuple[str, ...] = (), replace: bool = False,
            **meta: Any) -> Entry:
        key = name.lower()
        missing = [m for m in self.required_meta if m not in meta]
        if missing:
            raise RegistryError(f"{self.kind} '{name}' is missing metadata: {', '.join(missing)}")
        if not replace and (key in self._entries or key in self._aliases or key in self._groups):
            raise RegistryError(f"{self.kind} '{name}' is already registered")
        clashes = [a for a in aliases
                   if (a.lower() in self._entries and a.lower() != key)
                   or self._aliases.get(a.lower(), key) != key]
        if clashes and not replace:
            raise RegistryError(f"{self.kind} '{name}': alias(es) {', '.join(clashes)} already "
                                "name another entry")
        entry = Entry(name=name, obj=obj, meta=dict(meta))
        self._entries[key] = entry
        for alias in aliases:
            self._aliases[alias.lower()] = key
        return entry

    def add_group(self, name: str, members: Callable[["Registry", dict], list[str]] | list[str],
                  description: str, note: str = "") -> None:
        key = name.lower()
        if key in self._entries:
            raise RegistryError(f"{self.kind} group '{name}' clashes with an entry of that name")
        fn = members if callable(members) else (lambda reg, ctx, _m=list(members): list(_m))
        self._groups[key] = Group(name=name, description=description, members=fn, note=note)

    def set_group_note(self, name: str, note: str) -> None:
        self._groups[name.lower()].note = note

    # -- lookup -------------------------------------------------------------------------------
    def canonical(self, name: str) -> str:
        key = name.lower()
        return self._aliases.get(key, key)

    def __contains__(self, name: str) -> bool:
        return self.canonical(name) in self._entries

    def get(self, name: str) -> Entry:
        key = self.canonical(name)
        if key not in self._entries:
            known = ", ".join(sorted(e.name for e in self._entries.values()))
            groups = ", ".join(sorted(g.name for g in self._groups.values()))
            hint = f"; groups: {groups}" if groups else ""
            raise RegistryError(f"unknown {self.kind} '{name}'. Known: {known}{hint}. "
                                f"`python -m bench list {self.kind}s` shows them with their needs.")
        return self._entries[key]

    def is_group(self, name: str) -> bool:
        return name.lower() in self._groups

    def group(self, name: str) -> Group:
        return self._groups[name.lower()]

    def groups(self) -> list[Group]:
        return list(self._groups.values())

    def expand(self, names: list[str], context: dict | None = None) -> tuple[list[str], list[str]]:
        """Expand group names; returns (entry names in order without duplicates, notes to show)."""
        context = context or {}
        out: list[str] = []
        notes: list[str] = []
        for name in names:
            if self.is_group(name):
                group = self.group(name)
                members = group.members(self, context)
                if group.note:
                    notes.append(f"{group.name}: {group.note}")
                if not members:
                    notes.append(f"{group.name}: no registered {self.kind} fits "
                                 f"{_describe(context)}")
                out.extend(members)
            else:
                out.append(name)
        seen: set[str] = set()
        unique = []
        for n in out:
            if n.lower() not in seen:
                seen.add(n.lower())
                unique.append(n)
        return unique, notes

    def __iter__(self) -> Iterator[Entry]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name.lower()))

    def names(self) -> list[str]:
        return [e.name for e in self]

    def select(self, **conditions: Any) -> list[Entry]:
        """Entries whose metadata matches every condition (sets match by membership)."""
        result = []
        for entry in self:
            ok = True
            for key, want in conditions.items():
                have = entry.meta.get(key)
                if isinstance(have, (set, frozenset, tuple, list)):
                    ok = want in have
                else:
                    ok = have == want
                if not ok:
                    break
            if ok:
                result.append(entry)
        return result


def _describe(context: dict) -> str:
    if not context:
        return "this request"
    return ", ".join(f"{k}={v}" for k, v in context.items())


METHODS = Registry("method", required_meta=("tasks", "description"))
DATASETS = Registry("dataset", required_meta=("task", "description"))
METRICS = Registry("metric", required_meta=("direction", "description"))
TASKS = Registry("task", required_meta=("description",))
