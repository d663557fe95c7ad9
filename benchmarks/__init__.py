"""Benchmarks: `make bench` (python -m benchmarks). Numbers, not pass/fail: see the README's Performance section."""
