"""Runnable examples of using pixverse-audio (documented in docs/, exercised by the tests)."""
