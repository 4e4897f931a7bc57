"""One reconcile pass of the Istio CR, in the order of the reference (spec section 9).

``pipeline.reconcile`` runs the pass and returns a ``PassResult``. The steps (``install``, ``restarters``
with ``sidecars``, ``uninstall``) return frozen values (``steps``) or a ``Problem``; only the pipeline
folds them into the status ``Draft`` (pure), written once per state change, so a pass with nothing to
do writes nothing. ARCHITECTURE.md at the repository root draws the flow.
"""
