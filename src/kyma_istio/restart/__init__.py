"""Sidecar restarts: which injected pods carry an outdated proxy, and what to do about each of them.

The pure half lives here: ``podview`` reduces a raw pod to the facts a decision needs, ``predicates``
say whether (and why) a pod's proxy is outdated, ``owners`` says which object has to act for a pod,
and ``plan`` folds pods into one de-duplicated, ordered plan of owner actions. Two thin shells do the
I/O through the ``k8s.seam.KubeApi`` protocol: ``gather`` reads pods and owners into a plan, ``execute``
stamps, evicts and waits wave by wave (``rollout`` says when a wave is healthy).
"""
