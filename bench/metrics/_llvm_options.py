"""LLVM tuning for the compiled metric kernels (private).

LLVM's loop vectorizer gives up on a loop whose runtime alias checks outnumber
`-vectorize-memory-check-threshold` (128 by default) and leaves it scalar. numba passes each
array row as a separate pointer that may alias any other, so a kernel loop that reads a few
rows and writes many (the FMI window statistics write ~70 rows per pass) exceeds that count and
would have to be split into one loop per output row. Raising the threshold lets such a loop run
as SIMD code; the checks are still made (once per loop entry), so results are unchanged.

The option is process-wide for LLVM: it also applies to numba functions of other packages
compiled later in the same process (they can only gain vectorised loops, with the same
results). It is set once per process, before our kernels compile.
"""
from __future__ import annotations

_THRESHOLD = 4096
_done = False


def raise_vectorizer_check_limit() -> None:
    """Set LLVM's `-vectorize-memory-check-threshold` (once per process)."""
    global _done
    if _done:
        return
    import llvmlite.binding as llvm
    llvm.set_option("fusebench", f"-vectorize-memory-check-threshold={_THRESHOLD}")
    _done = True
