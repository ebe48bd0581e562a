"""Composition root: the only package that wires adapters into the controller and the server.

``process`` builds one controller process (``ferryman controller``); ``local`` builds the whole
system on one machine with the embedded stand-ins for a cluster and for Flux (``ferryman up``),
from the same pieces and with the same server limits.
"""
