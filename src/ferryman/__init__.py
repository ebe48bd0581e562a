"""Ferryman: GitOps promotion pipelines whose whole state lives in the Pipeline's ``.status``."""

__version__ = "0.1.0"
