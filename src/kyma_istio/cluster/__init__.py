"""The only package that talks to the API server (through lightkube's AsyncClient).

``kube.Kube`` implements the ``k8s.seam.KubeApi`` protocol on plain ``dict`` objects as the API server
returns them, so the decision modules never see a client type; ``kinds.resource`` resolves a
``k8s.kinds.Kind`` to lightkube's class, and ``errors.translate`` types API errors by what should
happen next (``k8s.errors``).
"""
