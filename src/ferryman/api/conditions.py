"""Condition types and reasons: the only place their spellings live.

``Ready`` is the summary (set in ``domain.summary`` alone), ``PromotionPending`` says which
gate holds which environment back, ``Stalled`` reports a spec the controller cannot act on until the
generation changes. The original controller's reasons are kept so dashboards keep working.
"""

from __future__ import annotations

from typing import Final

# Condition types.
READY: Final = "Ready"
PROMOTION_PENDING: Final = "PromotionPending"
STALLED: Final = "Stalled"

# Reasons the original pipeline-controller used (kept verbatim for compatibility).
TARGET_CLUSTER_NOT_FOUND: Final = "TargetClusterNotFound"
TARGET_CLUSTER_NOT_READY: Final = "TargetClusterNotReady"
RECONCILIATION_SUCCEEDED: Final = "ReconciliationSucceeded"
ENVIRONMENT_NOT_READY: Final = "EnvironmentNotReady"
TARGET_NOT_READABLE: Final = "TargetNotReadable"

# Reasons Ferryman adds.
INVALID_SPEC: Final = "InvalidSpec"
PROMOTION_FAILED: Final = "PromotionFailed"
WAITING_FOR_GATES: Final = "WaitingForGates"
WAITING_APPROVAL: Final = "WaitingApproval"
PROMOTING: Final = "Promoting"
SUSPENDED: Final = "Suspended"
HELD: Final = "Held"  # an operator holds the environment (or pinned it at a revision)
TARGET_SUSPENDED: Final = "TargetSuspended"
ALL_IN_SYNC: Final = "AllEnvironmentsInSync"
VERIFYING: Final = "Verifying"  # the source's checks of the candidate have not all passed yet
VERIFICATION_FAILED: Final = "VerificationFailed"  # a check of the candidate failed in the source
