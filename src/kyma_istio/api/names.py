"""Names that users and other tools can observe: API group, finalizer, labels and annotations.

They are fixed by the Kyma Istio module (spec section 1); changing one breaks existing clusters.
"""

from typing import Final

GROUP: Final = "operator.kyma-project.io"
VERSION: Final = "v1alpha2"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "Istio"
LIST_KIND: Final = "IstioList"
PLURAL: Final = "istios"
SINGULAR: Final = "istio"
CRD_NAME: Final = f"{PLURAL}.{GROUP}"
CATEGORIES: Final = ("kyma-modules", "kyma-istio")

OPERATOR_NAMESPACE: Final = "kyma-system"
"""Only a CR in this namespace drives the module."""
ISTIO_NAMESPACE: Final = "istio-system"
"""Where Istio's control plane lives."""

FINALIZER: Final = "istios.operator.kyma-project.io/istio-installation"
LAST_APPLIED_ANNOTATION: Final = "operator.kyma-project.io/lastAppliedConfiguration"
IOP_HASH_ANNOTATION: Final = "istio-operator.kyma-project.io/istio-operator-hash"
"""Hash of the IstioOperator last installed successfully; ours, next to Kyma's last-applied annotation.
Written as soon as istioctl succeeded, so a pass that continues (restarts left, a warning) skips it."""
GATEWAY_RESTARTED_FOR_ANNOTATION: Final = "istio-operator.kyma-project.io/gateway-restarted-for"
"""The gateway settings (``numTrustedProxies``, ``unset`` when absent, then XFCC, trust domain and stats
matcher when set) the ingress gateway was last restarted for; written right after the restart, so
continuation passes do not restart it again (ours, beyond the reference)."""
EGRESS_GATEWAY_RESTARTED_FOR_ANNOTATION: Final = "istio-operator.kyma-project.io/egress-gateway-restarted-for"
"""The same record for the egress gateway, which Kyma never restarts."""
RESTARTED_AT_ANNOTATION: Final = "istio-operator.kyma-project.io/restartedAt"
RESTART_TARGET_ANNOTATION: Final = "istio-operator.kyma-project.io/restartTarget"
"""Hash of the proxy image and config an owner was last restarted for (ours, beyond the reference)."""
RESTART_OPT_OUT_ANNOTATION: Final = "istio-operator.kyma-project.io/restart"
"""Set to ``disabled`` on a workload or namespace to exempt it from automatic sidecar restarts."""
PENDING_RESTART_RULES_ANNOTATION: Final = "istio-operator.kyma-project.io/pending-restart-rules"
"""Restart rules that follow a spec change only (compatibility mode, DNS proxying, the stats matcher)
and that owners' maintenance windows or exclusions still hold back, comma-separated: once the pass
records the new spec the change no longer shows, so this record keeps the rules in force until every
owner they selected has restarted (ours, beyond the reference)."""
CLIMB_ANNOTATION: Final = "istio-operator.kyma-project.io/allow-climb"
"""``"true"`` or ``"false"`` on the Istio CR: whether an installation two or more minors below the
operator's line climbs to it one minor at a time (``mesh.climb``); wins over ``--allow-climb``."""
CLIMB_FROM_ANNOTATION: Final = "istio-operator.kyma-project.io/climb-from"
"""The release a climb in progress started from, written by the operator at its first hop and removed
when the climb reaches the target: status numbers the hops from it ("hop 2 of 5")."""
DISCLAIMER_ANNOTATION: Final = "istios.operator.kyma-project.io/managed-by-disclaimer"
DISCLAIMER: Final = (
    "DO NOT EDIT - This resource is managed by Kyma.\n"
    "Any modifications are discarded and the resource is reverted to the original state.\n"
)

MODULE_LABEL: Final = "kyma-project.io/module"
MODULE_LABEL_VALUE: Final = "istio"
WARDEN_LABEL: Final = "namespaces.warden.kyma-project.io/validate"
WARDEN_LABEL_VALUE: Final = "enabled"
MANAGED_BY_LABEL: Final = "operator.kyma-project.io/managed-by"
MANAGED_BY_LABEL_VALUE: Final = "kyma"
KEEP_ON_UNINSTALL_ANNOTATION: Final = "istio-operator.kyma-project.io/keep-on-uninstall"
"""Set to ``"true"`` by the chart on the ``istio-system`` it ships: that Namespace holds the operator's
Role for Istio's objects, so an uninstall empties it but does not delete it (ours, beyond the reference)."""

LEADER_ELECTION_ID: Final = "76223278.kyma-project.io"
PRIORITY_CLASS: Final = "istio-kyma-priority"
PRIORITY_CLASS_VALUE: Final = 2100000

FIELD_MANAGER: Final = "kyma-istio-operator"
"""Server-side apply field manager for everything the operator writes."""

SIDECAR_STATUS_ANNOTATION: Final = "sidecar.istio.io/status"
PROXY_IMAGE_ANNOTATION: Final = "sidecar.istio.io/proxyImage"
PROXY_CONTAINER: Final = "istio-proxy"
INGRESS_GATEWAY: Final = "istio-ingressgateway"
EGRESS_GATEWAY: Final = "istio-egressgateway"
ISTIO_COMPONENT_LABEL: Final = "operator.istio.io/component"
"""istioctl sets it on every object it installs: listing by its presence finds them all, and such an
object is never the operator's own to prune."""

OPERATOR_LABELS: Final = {
    MODULE_LABEL: MODULE_LABEL_VALUE,
    "app.kubernetes.io/name": "istio-operator",
    "app.kubernetes.io/instance": "istio-operator-default",
    "app.kubernetes.io/component": "operator",
    "app.kubernetes.io/part-of": "istio",
}
"""Labels of the module's own objects (spec section 1); ``app.kubernetes.io/version`` is added per release."""
