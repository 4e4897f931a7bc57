"""Sidecar restarts: which injected pods carry an outdated proxy, and what to do about each of them.

The pure half lives here: ``podview`` reduces a raw pod to the facts a decision needs, ``predicates``
say whether (and why) a pod's proxy is outdated, ``owners`` says which object has to act for a pod,
and ``plan`` folds pods into one de-duplicated, ordered plan of owner actions. The executor that
patches and evicts is a thin shell over that plan.
"""
