"""Wire schema of ``pipelines.weave.works/v1alpha1`` Pipeline: models, conditions, CRD generation.

Everything Kubernetes stores is described here once; the CRD in ``config/crd/bases`` is generated
from these models (``ferryman crd``) and a test fails when the committed file is stale.
"""
