"""Deep fusion methods. Every public module here (name not starting with '_') is imported,
and registers its methods, when the package is imported."""
import importlib
import pkgutil

for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")
