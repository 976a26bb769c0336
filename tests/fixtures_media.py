"""Fixtures for media: real sample videos and synthetic clips."""
