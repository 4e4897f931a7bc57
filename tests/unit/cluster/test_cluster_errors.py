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
