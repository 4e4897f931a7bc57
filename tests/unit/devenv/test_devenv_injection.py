"""The stand-in injector's answers: Istio's proxy-image rule, the patch it applies, the review shape."""

import base64
import json
from typing import Any

from kyma_istio.devenv import injection

VALUES = {"global": {"hub": "docker.io/istio", "tag": "1.23.2-distroless", "proxy": {"image": "proxyv2"}}}


def _pod(annotations: dict[str, str] | None = None, containers: list[str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "p"}
    if annotations is not None:
        metadata["annotations"] = annotations
    return {"metadata": metadata, "spec": {"containers": [{"name": c} for c in containers or ["app"]]}}


def _apply(pod: dict[str, Any], patch: list[dict[str, Any]]) -> dict[str, Any]:
    # Enough of RFC 6902 "add" for these paths.
    result = json.loads(json.dumps(pod))
    for operation in patch:
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in operation["path"].split("/")[1:]]
        target = result
        for key in parents:
            target = target[key]
        if last == "-":
            target.append(operation["value"])
        else:
            target[last] = operation["value"]
    return result


def test_the_proxy_image_is_hub_image_and_tag() -> None:
    assert injection.proxy_image(VALUES) == "docker.io/istio/proxyv2:1.23.2-distroless"


def test_a_full_image_reference_is_taken_as_it_is() -> None:
    values = {"global": {"hub": "h", "tag": "t", "proxy": {"image": "registry.example/proxy:9"}}}

    assert injection.proxy_image(values) == "registry.example/proxy:9"


def test_a_pod_gets_the_sidecar_and_the_status_annotation() -> None:
    injected = _apply(_pod(), injection.injection_patch(_pod(), "img:1"))

    assert injected["spec"]["containers"][-1]["name"] == "istio-proxy"
    assert injected["spec"]["containers"][-1]["image"] == "img:1"
    status = json.loads(injected["metadata"]["annotations"]["sidecar.istio.io/status"])
    assert status["containers"] == ["istio-proxy"]


def test_the_proxy_image_annotation_overrides_the_default() -> None:
    pod = _pod({"sidecar.istio.io/proxyImage": "old:0"})

    injected = _apply(pod, injection.injection_patch(pod, "img:1"))

    assert injected["spec"]["containers"][-1]["image"] == "old:0"
    assert injected["metadata"]["annotations"]["sidecar.istio.io/proxyImage"] == "old:0"


def test_a_pod_that_has_a_sidecar_is_left_alone() -> None:
    assert injection.injection_patch(_pod(containers=["app", "istio-proxy"]), "img:1") == []


def test_the_review_answer_allows_and_carries_the_patch_for_pod_creation() -> None:
    review = {
        "apiVersion": "admission.k8s.io/v1",
        "request": {"uid": "u-1", "kind": {"kind": "Pod"}, "operation": "CREATE", "object": _pod()},
    }

    answer = injection.review_response(review, "img:1")

    assert answer["response"]["uid"] == "u-1"
    assert answer["response"]["allowed"] is True
    assert answer["response"]["patchType"] == "JSONPatch"
    assert json.loads(base64.b64decode(answer["response"]["patch"])) == injection.injection_patch(
        _pod(), "img:1"
    )


def test_anything_but_pod_creation_is_allowed_unchanged() -> None:
    review = {"request": {"uid": "u-2", "kind": {"kind": "Pod"}, "operation": "UPDATE", "object": _pod()}}

    assert injection.review_response(review, "img:1")["response"] == {"uid": "u-2", "allowed": True}


def test_the_proxy_gets_the_resources_of_the_injector_values() -> None:
    limits = {"cpu": "1000m", "memory": "1024Mi"}
    values = {"global": {"proxy": {"resources": {"requests": {"cpu": "10m"}, "limits": limits}}}}
    resources = injection.proxy_resources(values)

    pod = _apply(_pod(), injection.injection_patch(_pod(), "img", resources))

    assert pod["spec"]["containers"][-1]["resources"] == {"requests": {"cpu": "10m"}, "limits": limits}
    assert injection.proxy_resources(VALUES) == {}
    bare = _apply(_pod(), injection.injection_patch(_pod(), "img"))
    assert "resources" not in bare["spec"]["containers"][-1]
