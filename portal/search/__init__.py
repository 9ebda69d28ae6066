"""Search: the header's box and ``GET /api/v1/search``."""
