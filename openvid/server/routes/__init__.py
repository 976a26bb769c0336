"""The REST API, one module per area; each exposes `router` (mounted under /api/v1)."""
