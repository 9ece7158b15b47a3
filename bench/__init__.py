"""Load benchmarks for scimd: ``python -m bench.run`` (see bench/run.py)."""
