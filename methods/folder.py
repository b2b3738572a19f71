"""Precomputed fused images: `folder:NAME=DIR[?pattern=...]`.

The folder holds one fused image per sample, matched by file stem. By default a sample matches
the first of: its id, the last part of its id ('MRI_CT/01' -> '01'), its first source's stem.
`pattern` names files some other way, with `{id}` and `{stem}` placeholders, e.g.
`folder:IFCNN=Results/IV?pattern=IFCNN-MAX-IV-{id}`.
The images are final outputs (colour as stored); the harness does not apply the colour rule to
them, and reports a missing or mis-sized file as a failure of that sample.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.imageio import is_image_name
from bench.registry import RegistryError

from .base import ALL_TASKS, ResolvedMethod


class FolderMissing(FileNotFoundError):
    pass


@dataclass
class FolderIndex:
    root: Path
    pattern: str | None = None
    by_stem: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for p in sorted(self.root.iterdir()):
            if p.is_file() and is_image_name(p):
                self.by_stem.setdefault(p.stem, p)
                self.by_stem.setdefault(p.stem.lower(), p)

    def candidates(self, sample) -> list[str]:
        stem = Path(sample.sources[0]).stem
        if self.pattern:
            return [self.pattern.format(id=sample.id, stem=stem)]
        return list(dict.fromkeys([sample.id, sample.id.split("/")[-1], stem]))

    def lookup(self, sample) -> Path:
        keys = self.candidates(sample)
        for k in keys:
            if k in self.by_stem:
                return self.by_stem[k]
            if k.lower() in self.by_stem:
                return self.by_stem[k.lower()]
        raise FolderMissing(f"no fused image for sample {sample.id!r} in {self.root} "
                            f"(looked for stem {' or '.join(map(repr, keys))} with an image "
                            "extension); add the file or use ?pattern=... to name files")


class FolderMethod:
    """Reads precomputed outputs; `fused_path(sample)` is all the harness calls."""

    version = "1"

    def __init__(self, root: Path, pattern: str | None = None):
        self.index = FolderIndex(root, pattern)

    def fused_path(self, sample) -> Path:
        return self.index.lookup(sample)

    @staticmethod
    def from_spec(spec: str) -> ResolvedMethod:
        body = spec.split(":", 1)[1]
        name, eq, rest = body.partition("=")
        if not eq or not name.strip() or not rest.strip():
            raise RegistryError(f"bad folder method {spec!r}: write folder:NAME=DIR")
        directory, _, query = rest.partition("?")
        pattern = None
        if query:
            from urllib.parse import parse_qsl
            opts = dict(parse_qsl(query))
            pattern = opts.pop("pattern", None)
            if opts:
                raise RegistryError(f"folder method {name}: unknown option(s) {', '.join(opts)}; "
                                    "accepted: pattern")
        root = Path(directory).expanduser()
        if not root.is_dir():
            raise RegistryError(f"folder method {name}: {root} is not a folder of fused images")
        impl = FolderMethod(root, pattern)
        return ResolvedMethod(name=name.strip(), spec=spec, impl=impl, entry=None,
                              params={"dir": str(root.resolve()), "pattern": pattern},
                              precomputed=True)

