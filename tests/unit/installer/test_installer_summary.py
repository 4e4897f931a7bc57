"""The status summary names what failed, from istioctl's own words."""

from __future__ import annotations

from pathlib import Path

import pytest

from kyma_istio.installer import summary

OUTPUTS = Path(__file__).parent / "outputs"


def output(name: str) -> list[str]:
    return (OUTPUTS / name).read_text(encoding="utf-8").splitlines()


def test_a_gateway_that_never_became_ready_is_named_with_its_reason() -> None:
    text = summary.describe_failure(output("install-gateway-not-ready.txt"))

    assert text is not None
    assert text.startswith(
        "Ingress gateways not ready after 2m30s: Deployment/istio-system/istio-ingressgateway"
    )
    assert "ImagePullBackOff" in text


def test_every_failed_component_is_named() -> None:
    text = summary.describe_failure(output("install-two-components-failed.txt"))

    assert text is not None
    assert "Istiod not ready after 2m30s: Deployment/istio-system/istiod (container failed to start" in text
    assert "CNI: failed to update resource" in text


def test_the_summary_is_capped_for_the_status_line() -> None:
    text = summary.describe_failure(output("install-two-components-failed.txt"))

    assert text is not None
    assert len(text) <= summary.MAX_SUMMARY_CHARS
    assert text.endswith("…")


def test_an_unreachable_api_server_is_reported_from_the_error_line() -> None:
    text = summary.summarize_exit(output("install-api-unreachable.txt"), command="install", exit_code=1)

    assert text.startswith("check minimum supported Kubernetes version: error getting Kubernetes version")
    assert text.endswith("dial tcp 127.0.0.1:1: connect: connection refused")


def test_a_bare_error_without_error_prefix_is_still_found() -> None:
    text = summary.summarize_exit(output("uninstall-api-unreachable.txt"), command="uninstall", exit_code=255)

    assert "connection refused" in text


def test_a_rejected_iop_names_the_field_without_a_dangling_colon() -> None:
    text = summary.describe_failure(output("render-unknown-field.txt"))

    assert text == (
        'error unmarshaling JSON: while decoding JSON: unknown field "noSuchField" in '
        "istio.operator.v1alpha1.IstioOperatorSpec"
    )


def test_generic_wrappers_give_way_to_the_specific_cause() -> None:
    lines = ["Error: failed to install manifests: errors occurred during operation: namespaces is forbidden"]

    assert summary.describe_failure(lines) == "namespaces is forbidden"


def test_a_wrapper_only_error_is_used_when_nothing_better_exists() -> None:
    lines = ["Error: failed to install manifests: errors occurred during operation"]

    assert summary.describe_failure(lines) == "errors occurred during operation"


def test_an_error_level_log_line_is_used_without_error_or_cross_lines() -> None:
    lines = [
        "2024-10-25T10:00:00.000000Z\tinfo\tinstaller\tstarting",
        "2024-10-25T10:00:01.000000Z\terror\tinstaller\tcould not read the IstioOperator",
    ]

    assert summary.describe_failure(lines) == "could not read the IstioOperator"


def test_successful_output_describes_no_failure() -> None:
    assert summary.describe_failure(output("install-succeeded.txt")) is None


def test_an_exit_without_any_cause_names_the_exit_code() -> None:
    text = summary.summarize_exit(["some unrelated chatter"], command="install", exit_code=3)

    assert text == "istioctl install failed with exit code 3 without naming a cause"


def test_a_process_killed_by_a_signal_names_the_signal() -> None:
    assert (
        summary.summarize_exit([], command="install", exit_code=-9)
        == "istioctl install was killed by SIGKILL"
    )


def test_a_timeout_names_what_istioctl_was_waiting_for() -> None:
    text = summary.summarize_timeout(output("install-hung-on-istiod.txt"), command="install", timeout_s=360)

    assert text == "istioctl install timed out after 360s while waiting for Deployment/istio-system/istiod"


def test_a_timeout_without_a_waiting_resource_names_the_components() -> None:
    text = summary.summarize_timeout(["- Processing resources for Istiod."], command="install", timeout_s=1.5)

    assert text == "istioctl install timed out after 1.5s while waiting for resources of Istiod"


def test_a_timeout_while_pruning_says_so() -> None:
    lines = ["✔ Istiod installed 🧠", "- Pruning removed resources"]

    assert summary.describe_waiting(lines) == "pruning removed resources"


def test_a_silent_timeout_says_there_was_no_output() -> None:
    text = summary.summarize_timeout([], command="uninstall", timeout_s=360)

    assert text == "istioctl uninstall timed out after 360s without any output"


def test_a_timeout_without_progress_quotes_the_last_line() -> None:
    text = summary.summarize_timeout(["connecting", "still connecting"], command="install", timeout_s=5)

    assert text == "istioctl install timed out after 5s; last output: still connecting"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[32m✔\x1b[0m Istio core installed", ["✔ Istio core installed"]),
        ("   ", []),
        ("  indented detail  ", ["  indented detail"]),
    ],
)
def test_cleaning_drops_colours_and_blanks_but_keeps_indentation(raw: str, expected: list[str]) -> None:
    assert summary.clean_lines([raw]) == expected
