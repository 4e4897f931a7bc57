"""What a stand-in for istiod's sidecar injector answers: pure functions from AdmissionReview to response.

It injects only what the operator looks at: an ``istio-proxy`` container with the proxy image Istio would
choose (the ``sidecar.istio.io/proxyImage`` annotation, else hub/image:tag from the injector's values), the
proxy resources of the injector's values (``global.proxy.resources``, which the restarter compares) and
the ``sidecar.istio.io/status`` annotation. Whether a pod is to be injected at all is left to the webhook
configuration's selectors, exactly as with the real istiod.
"""

import base64
import json
from typing import Any

PROXY_CONTAINER = "istio-proxy"
STATUS_ANNOTATION = "sidecar.istio.io/status"
PROXY_IMAGE_ANNOTATION = "sidecar.istio.io/proxyImage"


def proxy_image(values: dict[str, Any]) -> str:
    """The default proxy image from the injector ConfigMap's ``values`` (Istio's own rule)."""
    global_values = values.get("global", {})
    image = str(global_values.get("proxy", {}).get("image", "proxyv2"))
    if "/" in image:
        return image
    tag = str(global_values.get("tag", ""))
    variant = global_values.get("variant")
    suffix = f"-{variant}" if variant and not tag.endswith(f"-{variant}") else ""
    return f"{global_values.get('hub', '')}/{image}:{tag}{suffix}"


def proxy_resources(values: dict[str, Any]) -> dict[str, Any]:
    """The proxy's requests and limits from the injector ConfigMap's ``values``; empty when unset."""
    resources = values.get("global", {}).get("proxy", {}).get("resources") or {}
    return {bound: dict(resources[bound]) for bound in ("requests", "limits") if resources.get(bound)}


def _escape(key: str) -> str:
    # JSON Pointer escaping (RFC 6901): "~" first, then "/".
    return key.replace("~", "~0").replace("/", "~1")


def injection_patch(
    pod: dict[str, Any], default_image: str, resources: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """JSON Patch operations that add the sidecar to ``pod``; none when it already has one."""
    containers = pod.get("spec", {}).get("containers", [])
    if any(c.get("name") == PROXY_CONTAINER for c in containers):
        return []
    annotations = pod.get("metadata", {}).get("annotations") or {}
    image = annotations.get(PROXY_IMAGE_ANNOTATION, default_image)
    status = {"containers": [PROXY_CONTAINER], "initContainers": [], "volumes": [], "revision": "default"}
    operations: list[dict[str, Any]] = []
    if not pod.get("metadata", {}).get("annotations"):
        operations.append({"op": "add", "path": "/metadata/annotations", "value": {}})
    operations += [
        {
            "op": "add",
            "path": f"/metadata/annotations/{_escape(STATUS_ANNOTATION)}",
            "value": json.dumps(status, sort_keys=True),
        },
        {
            "op": "add",
            "path": "/spec/containers/-",
            "value": {
                "name": PROXY_CONTAINER,
                "image": image,
                "args": ["proxy", "sidecar"],
                **({"resources": resources} if resources else {}),
            },
        },
    ]
    return operations


def review_response(
    review: dict[str, Any], default_image: str, resources: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The AdmissionReview answer: allowed, with the injection patch for Pods."""
    request = review.get("request", {})
    response: dict[str, Any] = {"uid": request.get("uid", ""), "allowed": True}
    if request.get("kind", {}).get("kind") == "Pod" and request.get("operation") == "CREATE":
        patch = injection_patch(request.get("object") or {}, default_image, resources)
        if patch:
            response["patchType"] = "JSONPatch"
            response["patch"] = base64.b64encode(json.dumps(patch).encode()).decode()
    return {
        "apiVersion": review.get("apiVersion", "admission.k8s.io/v1"),
        "kind": "AdmissionReview",
        "response": response,
    }
