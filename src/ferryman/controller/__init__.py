"""The controller: informers and a work queue feed a reconciler (observe, decide, write, act)."""
