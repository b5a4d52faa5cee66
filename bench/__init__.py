"""Benchmarks: each bench_*.py module has a main() that measures aipipe against a baseline measured in the
same process and run, and prints ratios, rows/s and peak memory. Times on shared machines are noisy; ratios
are what to read."""
