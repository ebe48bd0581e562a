"""Ports: ``typing.Protocol``s for everything outside the process, one module per outside system.

Services (controller, server) depend on these, never on adapters; ``bootstrap`` wires adapters in.
Each Protocol's docstrings state pre- and post-conditions; ``tests/fakes`` holds a per-instance
in-memory fake of each.
"""
