"""API errors are typed by what the caller should do next, whatever shape the reply has."""

import httpx2
import pytest

from kyma_istio.cluster import errors


def _status_error(code: int, body: str = "404 page not found") -> httpx2.HTTPStatusError:
    request = httpx2.Request("GET", "https://127.0.0.1:6443/apis/example.com/v1/things")
    response = httpx2.Response(code, text=body, request=request)
    return httpx2.HTTPStatusError("failed", request=request, response=response)


@pytest.mark.parametrize(
    ("code", "kind"),
    [(404, errors.NotFound), (409, errors.Conflict), (403, errors.Forbidden), (503, errors.Transient)],
)
def test_a_reply_that_is_not_a_status_object_is_typed_by_its_code(code: int, kind: type) -> None:
    translated = errors.translate(_status_error(code), "list things")

    assert type(translated) is kind
    assert translated.args[0].startswith(f"list things: HTTP {code}")


def test_a_connection_failure_is_transient() -> None:
    translated = errors.translate(ConnectionRefusedError("refused"), "get node")

    assert isinstance(translated, errors.Transient)


def _api_error(code: int, body: dict[str, object], headers: dict[str, str] | None = None) -> Exception:
    from lightkube import ApiError

    request = httpx2.Request("POST", "https://127.0.0.1:6443/api/v1/namespaces/app/pods/a/eviction")
    response = httpx2.Response(code, json=body, request=request, headers=headers)
    return ApiError(request=request, response=response)


def test_a_429_carries_the_servers_retry_after() -> None:
    body = {"kind": "Status", "code": 429, "message": "too many requests"}

    translated = errors.translate(_api_error(429, body, {"Retry-After": "3"}), "get node")

    assert isinstance(translated, errors.Transient)
    assert translated.retry_after_s == 3


def test_a_status_retry_after_is_used_without_the_header() -> None:
    body = {"kind": "Status", "code": 503, "message": "busy", "details": {"retryAfterSeconds": 2}}

    translated = errors.translate(_api_error(503, body), "get node")

    assert isinstance(translated, errors.Transient)
    assert translated.retry_after_s == 2


def test_an_eviction_a_disruption_budget_refuses_is_not_transient_and_names_the_budget() -> None:
    body = {
        "kind": "Status",
        "code": 429,
        "message": "Cannot evict pod as it would violate the pod's disruption budget.",
        "details": {
            "causes": [
                {"reason": "DisruptionBudget", "message": "The disruption budget shop needs 1 healthy pods"}
            ]
        },
    }

    translated = errors.translate(_api_error(429, body), "evict Pod app/a")

    assert type(translated) is errors.DisruptionRefused
    assert "The disruption budget shop needs 1 healthy pods" in str(translated)
