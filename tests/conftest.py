"""Shared fixtures live in plugin modules, one per concern, so each stays small."""

pytest_plugins = ["fixtures_media", "fixtures_models"]
