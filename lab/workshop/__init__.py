"""Workshop exercises (stub: filled in below)."""
