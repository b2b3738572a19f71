"""fusebench: one benchmark suite for general image fusion."""
__version__ = "0.1.0"
