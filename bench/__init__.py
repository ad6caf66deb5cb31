"""Benchmarks: each script prints a JSON summary; `make bench` runs the quick versions."""
