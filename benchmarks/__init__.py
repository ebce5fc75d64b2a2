"""Benchmarks: figures, never pass/fail tests."""
