"""Kubernetes adapters over lightkube's async client: the only code that speaks to API servers."""
