"""The chaos harness (``make chaos``): real processes, a seeded stream of faults, checks from Git.

It lives under ``tests/`` rather than ``bench/`` because it is a verification tool, not a
measurement: it is built on the test rig (``tests.rig``: the processes, the Git server with its
fake GitHub, the checks) and its result is a pass or a fail, which a small seed turns into a test
of ``make test`` (``test_chaos.py``). ``bench/`` must not import test modules, and duplicating the
fakes there would mean two Git hosts to keep true. Run it with ``python -m tests.chaos``.
"""
