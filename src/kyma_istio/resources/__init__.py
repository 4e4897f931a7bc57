"""The Istio objects the operator owns or inspects, as pure decisions over plain dicts.

``desired`` builds the objects the operator keeps in the cluster (spec section 7) and decides what to
apply or prune; ``dangling`` decides which user objects block uninstall (section 8); ``labelling`` and
``webhooks`` decide the post-install touch-ups of Istio's own objects (5.9, 5.7). The cluster shell
lists, applies and deletes; nothing here does I/O beyond reading the packaged templates.
"""
