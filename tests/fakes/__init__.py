"""Test doubles that are real servers: Git smart HTTP and the five hosting APIs, on loopback."""
