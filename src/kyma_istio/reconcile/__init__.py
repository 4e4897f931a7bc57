"""One reconcile pass of the Istio CR, in the order of the reference (spec section 9).

``pipeline.reconcile`` runs the pass and returns a ``PassResult``; the status is accumulated in a
``Draft`` (pure) and written once per state change, so a pass with nothing to do writes nothing.
"""
