"""`python -m benchmarks.throughput`: see `benchmarks/throughput/__init__.py` for the flags and what it measures."""

from .harness import main

if __name__ == "__main__":
    main()
