"""``python -m benchmarks.perf NAME [--quick]``: see :mod:`benchmarks.perf.run`."""
import sys

from benchmarks.perf.run import main

if __name__ == "__main__":
    sys.exit(main())
