"""Benchmarks of pixverse-audio: run ``python -m benchmarks [name ...] [--quick]``.

Each benchmark prints one JSON object per run to stdout and a short table to
stderr. None of them is a test and nothing here asserts a time.
"""
