import os

# Before torch loads: PyTorch's CPU allocator then asks for transparent huge pages for large
# tensors (madvise), which cuts the page-fault time of SMC-Mamba's full-resolution feature maps
# (480x640 inference 20.9 -> 19.2 s on a 2-core AMD EPYC); the user's own setting wins.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

from bench.cli import main  # noqa: E402

raise SystemExit(main())
