"""Fake hosting APIs, one module per provider, each answering its documented endpoints."""
