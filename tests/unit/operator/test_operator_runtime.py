"""The watch filter: which Istio CR events start a pass (spec 9, "Watch"), and how they reach the queue."""

import asyncio
import copy
from typing import Any, cast

import pytest

from kyma_istio.api.v1alpha2 import State
from kyma_istio.operator.metrics import Metrics
from kyma_istio.operator.runtime import Controller, fingerprint
from kyma_istio.reconcile import pipeline
from kyma_istio.reconcile.context import Deps

NOT_DUE_WAIT_S = 0.05


def istio_cr(**metadata: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": "default",
        "namespace": "kyma-system",
        "uid": "uid-1",
        "generation": 1,
        "resourceVersion": "100",
        "annotations": {"a": "1"},
    }
    meta.update(metadata)
    return {
        "apiVersion": "operator.kyma-project.io/v1alpha2",
        "kind": "Istio",
        "metadata": meta,
        "spec": {"config": {"numTrustedProxies": 1}},
        "status": {"state": "Processing"},
    }


def changed(body: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    result = copy.deepcopy(body)
    target = result
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value
    return result


# --- fingerprint ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("status", "state"), "Ready"),
        (("status", "conditions"), [{"type": "Ready", "status": "True"}]),
        (("metadata", "resourceVersion"), "101"),
        (("metadata", "finalizers"), ["istios.operator.kyma-project.io/istio-installation"]),
        (("metadata", "managedFields"), [{"manager": "kubectl"}]),
        (
            ("metadata", "annotations"),
            {"a": "1", "istio-operator.kyma-project.io/gateway-restarted-for": "2"},
        ),
        (
            ("metadata", "annotations"),
            {"a": "1", "istio-operator.kyma-project.io/egress-gateway-restarted-for": "2"},
        ),
    ],
)
def test_the_fingerprint_ignores_status_and_bookkeeping_changes(path: tuple[str, ...], value: Any) -> None:
    body = istio_cr()

    assert fingerprint(changed(body, path, value)) == fingerprint(body)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("metadata", "generation"), 2),
        (("metadata", "annotations"), {"a": "2"}),
        (("metadata", "annotations"), {"a": "1", "b": "1"}),
        (("metadata", "annotations"), {}),
        (("metadata", "deletionTimestamp"), "2024-01-01T00:00:00Z"),
        (("metadata", "uid"), "uid-2"),
    ],
)
def test_the_fingerprint_changes_with_generation_annotations_deletion_and_identity(
    path: tuple[str, ...], value: Any
) -> None:
    body = istio_cr()

    assert fingerprint(changed(body, path, value)) != fingerprint(body)


def test_the_fingerprint_does_not_depend_on_annotation_order() -> None:
    first = istio_cr(annotations={"a": "1", "b": "2"})
    second = istio_cr(annotations={"b": "2", "a": "1"})

    assert fingerprint(first) == fingerprint(second)


def test_missing_and_null_annotations_have_the_same_fingerprint() -> None:
    without = istio_cr()
    del without["metadata"]["annotations"]

    assert fingerprint(without) == fingerprint(istio_cr(annotations=None))


def test_a_body_without_metadata_has_a_fingerprint() -> None:
    assert fingerprint({}) == fingerprint({"metadata": {}})


# --- Controller._on_event -------------------------------------------------------------------------


@pytest.fixture
def controller() -> Controller:
    # Deps fields are only stored by the controller; no pass runs in these tests.
    return Controller.create(cast(Deps, object()), Metrics())


async def event(controller: Controller, type_: str, body: dict[str, Any]) -> None:
    await controller._on_event(event={"type": type_, "object": body}, body=body)


async def next_key(controller: Controller) -> tuple[str, bool]:
    return await asyncio.wait_for(controller.queue.get(), NOT_DUE_WAIT_S)


async def test_a_new_cr_is_queued_under_namespace_and_name(controller: Controller) -> None:
    await event(controller, "ADDED", istio_cr())

    assert await next_key(controller) == ("kyma-system/default", False)


async def test_a_repeated_event_with_the_same_fingerprint_is_not_queued_again(
    controller: Controller,
) -> None:
    await event(controller, "ADDED", istio_cr())
    await next_key(controller)

    await event(controller, "MODIFIED", istio_cr(resourceVersion="101"))

    assert len(controller.queue) == 0


async def test_a_status_write_does_not_queue_a_pass(controller: Controller) -> None:
    body = istio_cr()
    await event(controller, "ADDED", body)
    await next_key(controller)

    await event(controller, "MODIFIED", changed(body, ("status", "state"), "Ready"))

    assert len(controller.queue) == 0


async def test_a_spec_change_queues_a_pass(controller: Controller) -> None:
    await event(controller, "ADDED", istio_cr())
    await next_key(controller)

    await event(controller, "MODIFIED", istio_cr(generation=2))

    assert await next_key(controller) == ("kyma-system/default", False)


async def test_an_annotation_change_queues_a_pass(controller: Controller) -> None:
    await event(controller, "ADDED", istio_cr())
    await next_key(controller)

    await event(controller, "MODIFIED", istio_cr(annotations={"a": "2"}))

    assert len(controller.queue) == 1


async def test_events_for_two_crs_queue_two_keys(controller: Controller) -> None:
    await event(controller, "ADDED", istio_cr())
    await event(controller, "ADDED", istio_cr(name="other", uid="uid-2"))

    assert len(controller.queue) == 2
    assert set(controller.seen) == {"kyma-system/default", "kyma-system/other"}


async def test_a_deleted_cr_is_dropped_from_the_queue_and_forgotten(controller: Controller) -> None:
    body = istio_cr()
    await event(controller, "ADDED", body)
    controller.queue.failed("kyma-system/default")

    await event(controller, "DELETED", body)

    assert len(controller.queue) == 0
    assert controller.queue.failures("kyma-system/default") == 0
    assert "kyma-system/default" not in controller.seen


async def test_a_cr_recreated_with_the_same_fingerprint_after_deletion_is_queued(
    controller: Controller,
) -> None:
    body = istio_cr()
    await event(controller, "ADDED", body)
    await event(controller, "DELETED", body)

    await event(controller, "ADDED", body)

    assert await next_key(controller) == ("kyma-system/default", False)


async def test_deleting_a_cr_queues_the_others_in_its_namespace_at_once(controller: Controller) -> None:
    """The CR that waited behind an older one (OlderCRExists, never requeued) may drive the module now."""
    older = istio_cr(name="older", uid="uid-older")
    await event(controller, "ADDED", older)
    await event(controller, "ADDED", istio_cr(name="newer", uid="uid-newer"))
    await event(controller, "ADDED", istio_cr(name="elsewhere", namespace="default", uid="uid-x"))
    for _ in range(3):
        await next_key(controller)

    await event(controller, "DELETED", older)

    assert await next_key(controller) == ("kyma-system/newer", False)
    assert len(controller.queue) == 0


@pytest.mark.parametrize(
    "annotation",
    [
        "istio-operator.kyma-project.io/istio-operator-hash",
        "istio-operator.kyma-project.io/gateway-restarted-for",
    ],
)
def test_the_passs_own_records_of_work_done_do_not_change_the_fingerprint(annotation: str) -> None:
    body = istio_cr()

    assert fingerprint(
        changed(body, ("metadata", "annotations"), {"a": "1", annotation: "x"})
    ) == fingerprint(body)


@pytest.mark.parametrize(("state", "resync"), [(State.PROCESSING, False), (State.READY, True)])
async def test_only_the_pass_after_ready_is_requeued_as_a_resync(
    controller: Controller, monkeypatch: pytest.MonkeyPatch, state: State, resync: bool
) -> None:
    """A chunked restart's next pass continues work; were it a resync, it would re-run istioctl."""

    async def ended(namespace: str, name: str, deps: Deps, *, resync: bool) -> pipeline.PassResult:
        return pipeline.PassResult(state, 0.0)

    monkeypatch.setattr(pipeline, "reconcile", ended)

    await controller.run_pass("kyma-system/default", resync=False)

    assert await next_key(controller) == ("kyma-system/default", resync)


def test_kopf_never_owns_our_finalizer() -> None:
    """kopf strips "its" finalizer when no handler needs one; if that name were ours, every pass would
    lose the installation finalizer and a delete would skip the uninstall."""
    from kyma_istio.api import names
    from kyma_istio.operator.runtime import kopf_settings

    assert kopf_settings().persistence.finalizer != names.FINALIZER


# --- Controller._on_namespace ----------------------------------------------------------------------


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}}


async def on_namespace(controller: Controller, type_: str | None, body: dict[str, Any]) -> None:
    await controller._on_namespace(event={"type": type_, "object": body}, body=body)


async def test_a_namespace_that_gains_injection_queues_the_crs_of_the_module_namespace(
    controller: Controller,
) -> None:
    await event(controller, "ADDED", istio_cr())
    await next_key(controller)
    await on_namespace(controller, None, namespace("shop"))  # the first listing: no pass
    await on_namespace(controller, None, namespace("labelled", **{"istio-injection": "enabled"}))
    assert len(controller.queue) == 0

    await on_namespace(controller, "MODIFIED", namespace("shop", **{"istio-injection": "enabled"}))

    assert await next_key(controller) == ("kyma-system/default", False)


@pytest.mark.parametrize(
    "labels",
    [{"istio-injection": "disabled"}, {"team": "a"}, {"istio.io/rev": "canary"}],
)
async def test_other_label_changes_queue_nothing(controller: Controller, labels: dict[str, str]) -> None:
    await event(controller, "ADDED", istio_cr())
    await next_key(controller)
    await on_namespace(controller, None, namespace("shop"))

    await on_namespace(controller, "MODIFIED", namespace("shop", **labels))

    assert len(controller.queue) == 0


async def test_the_default_revision_label_turns_injection_on_too(controller: Controller) -> None:
    await event(controller, "ADDED", istio_cr())
    await next_key(controller)
    await on_namespace(controller, None, namespace("shop"))

    await on_namespace(controller, "MODIFIED", namespace("shop", **{"istio.io/rev": "default"}))

    assert await next_key(controller) == ("kyma-system/default", False)
