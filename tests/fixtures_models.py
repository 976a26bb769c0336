"""Fixtures for encoders: tiny random-weight models (see scripts/make_tiny_models.py)."""
