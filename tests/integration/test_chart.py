"""The Helm chart on the local control plane: `helm lint` and `helm template` are clean, the rendered
manifests create every object, and the operator's ServiceAccount, used through impersonation, can make
the requests of an install, restart and uninstall, and is refused what least privilege leaves out:
Secrets outside ``istio-system`` (but listing them, which istioctl's prune needs), Pods and Deployments
outside ``istio-system``, binding or escalating a ClusterRole that is not Istio's (docs/security.md).

Impersonation needs no token: the session's admin certificate is in ``system:masters``, which may act as
any user. For a ServiceAccount user name the API server adds the ServiceAccount groups itself.
"""

import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from istio_fixtures import remove_istio_system, wait_istio_system_settled
from lightkube import ApiError, Client, KubeConfig, codecs
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.authorization_v1 import ResourceAttributes, SelfSubjectAccessReviewSpec
from lightkube.models.core_v1 import Container, PodSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.operators import exists
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.authorization_v1 import SelfSubjectAccessReview
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import Event, Namespace, Node, PersistentVolumeClaim, Pod, Secret
from lightkube.resources.rbac_authorization_v1 import ClusterRole, ClusterRoleBinding
from lightkube.resources.scheduling_v1 import PriorityClass
from lightkube.types import PatchType

from kyma_istio.api import names
from kyma_istio.devenv import tools
from kyma_istio.operator import rbac

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "chart"
KUBE_VERSION = "1.34.2"
SERVICE_ACCOUNT = "istio-controller-manager"
FIELD_MANAGER = "kyma-istio-chart-test"

Istio = create_namespaced_resource("operator.kyma-project.io", "v1alpha2", "Istio", "istios")


def _helm(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        helm = tools.find_tool("helm")
    except tools.MissingToolError as error:
        pytest.fail(str(error), pytrace=False)
    return subprocess.run([str(helm), *args], capture_output=True, text=True, timeout=120, check=False)


class _StrictLoader(yaml.SafeLoader):
    """Refuses a mapping with a key twice, which a plain load would silently resolve to the last value."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        duplicates = sorted({str(key) for key in keys if keys.count(key) > 1})
        if duplicates:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate keys {duplicates}", node.start_mark
            )
        return super().construct_mapping(node, deep=deep)


def _template(namespace: str, *values: str) -> list[dict[str, Any]]:
    args = ["template", "istio-operator", str(CHART), "-n", namespace, "--kube-version", KUBE_VERSION]
    result = _helm(*args, "--include-crds", *(f"--set={v}" for v in values))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return [doc for doc in yaml.load_all(result.stdout, Loader=_StrictLoader) if doc]


def _by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    matches = [obj for obj in objects if obj["kind"] == kind]
    assert len(matches) == 1, f"expected one {kind}, got {len(matches)}"
    return matches[0]


@pytest.fixture(scope="module")
def release_namespace(client: Client) -> Iterator[str]:
    """A namespace of this module's own, standing in for kyma-system as the release namespace."""
    name = f"chart-{secrets.token_hex(3)}"
    client.create(Namespace(metadata=ObjectMeta(name=name, labels={"kyma-istio.test/integration": "true"})))
    yield name
    client.delete(Namespace, name)


@pytest.fixture(scope="module")
def rendered(release_namespace: str) -> list[dict[str, Any]]:
    return _template(release_namespace)


@pytest.fixture(scope="module")
def applied(client: Client, rendered: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """The rendered chart, applied with server-side apply; cluster-wide RBAC and the chart's istio-system
    (with the Role in it) removed afterwards, so later modules find the cluster as before."""
    wait_istio_system_settled(client)
    for doc in rendered:
        client.apply(codecs.from_dict(doc), field_manager=FIELD_MANAGER, force=True)
    yield rendered
    for kind in (ClusterRoleBinding, ClusterRole):
        client.delete(
            kind, "istio-manager-rolebinding" if kind is ClusterRoleBinding else "istio-manager-role"
        )
    remove_istio_system(client)


def _impersonating(kubeconfig: Path, user: str) -> Client:
    config = KubeConfig.from_file(kubeconfig)
    impersonated = Client(config=config, field_manager=FIELD_MANAGER, trust_env=False)
    # lightkube has no impersonation option; its HTTP client takes the header for every request.
    impersonated._client._client.headers["Impersonate-User"] = user
    return impersonated


@pytest.fixture(scope="module")
def operator_client(kubeconfig: Path, applied: list[dict[str, Any]], release_namespace: str) -> Client:
    """A client that acts as the operator's ServiceAccount."""
    return _impersonating(kubeconfig, f"system:serviceaccount:{release_namespace}:{SERVICE_ACCOUNT}")


def _forbidden(call: Callable[[], object]) -> bool:
    try:
        call()
    except ApiError as error:
        return error.status.code == 403
    return False


# --- lint and template ---------------------------------------------------------------------------------


def test_helm_lint_finds_nothing_to_warn_about() -> None:
    result = _helm("lint", str(CHART), "--strict", "--kube-version", KUBE_VERSION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout
    assert "[ERROR]" not in result.stdout


def test_the_chart_renders_every_object_the_spec_ships(rendered: list[dict[str, Any]]) -> None:
    kinds = sorted(doc["kind"] for doc in rendered)
    assert kinds == [
        "ClusterRole",
        "ClusterRoleBinding",
        *["ConfigMap"] * 9,  # the dashboard views (test_chart_dashboard.py)
        "CustomResourceDefinition",
        "Deployment",
        "Namespace",
        "PriorityClass",
        "Role",
        "Role",
        "RoleBinding",
        "RoleBinding",
        "Service",
        "ServiceAccount",
    ]
    roles = {
        (doc["metadata"]["namespace"], doc["metadata"]["name"]) for doc in rendered if doc["kind"] == "Role"
    }
    assert (names.ISTIO_NAMESPACE, "istio-manager-role") in roles


def test_the_istio_system_namespace_ships_with_kymas_labels_and_is_kept_on_uninstall(
    rendered: list[dict[str, Any]],
) -> None:
    namespace = _by_kind(rendered, "Namespace")
    meta = namespace["metadata"]
    assert meta["name"] == names.ISTIO_NAMESPACE
    assert meta["labels"][names.MANAGED_BY_LABEL] == names.MANAGED_BY_LABEL_VALUE
    assert meta["labels"][names.WARDEN_LABEL] == names.WARDEN_LABEL_VALUE
    assert meta["annotations"] == {names.KEEP_ON_UNINSTALL_ANNOTATION: "true"}


def test_the_istio_system_namespace_is_left_out_when_disabled(release_namespace: str) -> None:
    objects = _template(release_namespace, "istioNamespace.create=false")
    assert [doc for doc in objects if doc["kind"] == "Namespace"] == []
    assert len([doc for doc in objects if doc["kind"] == "Role"]) == 2


def test_the_hub_is_passed_only_when_set_so_a_takeover_keeps_the_running_one(
    rendered: list[dict[str, Any]], release_namespace: str
) -> None:
    def args(objects: list[dict[str, Any]]) -> list[str]:
        return list(_by_kind(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"])

    assert not [arg for arg in args(rendered) if arg.startswith("--hub")]
    mirrored = _template(release_namespace, "operator.hub=mirror.example/istio")
    assert "--hub=mirror.example/istio" in args(mirrored)


def test_the_rendered_cluster_role_has_no_wildcard_and_no_unbounded_escalation(
    rendered: list[dict[str, Any]],
) -> None:
    (cluster_role,) = [doc for doc in rendered if doc["kind"] == "ClusterRole"]
    for rule in cluster_role["rules"]:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], rule
        if {"escalate", "bind"} & set(rule["verbs"]):
            assert set(rule["resourceNames"]) <= set(rbac.ISTIO_CLUSTER_ROLES), rule
    assert cluster_role["rules"] == rbac.cluster_rules()


def test_the_optional_service_monitor_and_default_cr_render_when_enabled(release_namespace: str) -> None:
    objects = _template(release_namespace, "metrics.serviceMonitor.enabled=true", "defaultCR.enabled=true")
    monitor = _by_kind(objects, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "http-metrics"
    cr = _by_kind(objects, "Istio")
    assert (cr["metadata"]["name"], cr["metadata"]["namespace"], cr["spec"]) == ("default", "kyma-system", {})


def test_operator_objects_carry_the_specs_labels(rendered: list[dict[str, Any]]) -> None:
    for doc in rendered:
        if doc["kind"] == "CustomResourceDefinition":
            continue
        labels = doc["metadata"]["labels"]
        assert labels["kyma-project.io/module"] == "istio", doc["kind"]
        assert labels["app.kubernetes.io/name"] == "istio-operator", doc["kind"]
        assert labels["app.kubernetes.io/component"] == "operator", doc["kind"]
        assert labels["app.kubernetes.io/part-of"] == "istio", doc["kind"]
        assert labels["app.kubernetes.io/version"], doc["kind"]
        assert labels["app.kubernetes.io/instance"], doc["kind"]


def test_the_deployment_runs_one_hardened_replica_as_the_spec_describes(
    rendered: list[dict[str, Any]],
) -> None:
    deployment = _by_kind(rendered, "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert (spec["replicas"], spec["strategy"]["type"]) == (1, "Recreate")
    assert spec["template"]["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"
    assert pod["priorityClassName"] == "istio-kyma-priority"
    assert pod["terminationGracePeriodSeconds"] == 10
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    assert container["resources"] == {
        "requests": {"cpu": "10m", "memory": "64Mi"},
        "limits": {"cpu": "1000m", "memory": "512Mi"},
    }
    assert container["livenessProbe"] == {
        "httpGet": {"path": "/healthz", "port": 8081},
        "initialDelaySeconds": 15,
        "periodSeconds": 20,
    }
    assert container["readinessProbe"] == {
        "httpGet": {"path": "/readyz", "port": 8081},
        "initialDelaySeconds": 5,
        "periodSeconds": 10,
    }
    args = container["args"]
    assert "--leader-elect" in args
    assert "--metrics-bind-address=:8080" in args
    assert "--health-probe-bind-address=:8081" in args


def test_the_metrics_service_and_priority_class_match_the_spec(rendered: list[dict[str, Any]]) -> None:
    service = _by_kind(rendered, "Service")
    assert service["metadata"]["name"] == "istio-operator-metrics"
    assert service["spec"]["ports"] == [
        {"name": "http-metrics", "port": 8080, "targetPort": "http-metrics", "protocol": "TCP"}
    ]
    deployment = _by_kind(rendered, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    priority = _by_kind(rendered, "PriorityClass")
    assert (priority["metadata"]["name"], priority["value"], priority["globalDefault"]) == (
        "istio-kyma-priority",
        2100000,
        False,
    )


# --- the rendered manifests on the control plane ---------------------------------------------------------


def test_applying_the_rendered_chart_creates_every_object(
    client: Client, applied: list[dict[str, Any]]
) -> None:
    for doc in applied:
        resource = type(codecs.from_dict(doc))
        meta = doc["metadata"]
        live = client.get(resource, meta["name"], namespace=meta.get("namespace"))
        assert live.metadata is not None
        assert live.metadata.name == meta["name"]


def test_the_operator_pod_is_created_with_the_kyma_priority(
    client: Client, applied: list[dict[str, Any]], release_namespace: str, wait_for: Callable[..., Any]
) -> None:
    def pod() -> Pod | None:
        pods = list(
            client.list(Pod, namespace=release_namespace, labels={"control-plane": "controller-manager"})
        )
        return pods[0] if pods else None

    created = wait_for("the operator's pod", pod)
    assert created.spec is not None
    assert created.spec.priority == 2100000
    assert created.spec.serviceAccountName == SERVICE_ACCOUNT


# --- what the ServiceAccount may do ----------------------------------------------------------------------


def test_the_service_account_reads_and_patches_istio_crs_and_their_status(
    client: Client, operator_client: Client, release_namespace: str
) -> None:
    client.create(
        Istio.from_dict({"metadata": {"name": "probe", "namespace": release_namespace}, "spec": {}})
    )
    assert [cr.metadata.name for cr in operator_client.list(Istio, namespace="*")] != []
    patched = operator_client.patch(
        Istio,
        "probe",
        {"metadata": {"finalizers": ["istios.operator.kyma-project.io/istio-installation"]}},
        namespace=release_namespace,
        patch_type=PatchType.MERGE,
    )
    assert patched.metadata.finalizers == ["istios.operator.kyma-project.io/istio-installation"]
    status = operator_client.patch(
        Istio.Status,
        "probe",
        {"status": {"state": "Processing"}},
        namespace=release_namespace,
        patch_type=PatchType.MERGE,
    )
    assert status.status["state"] == "Processing"
    operator_client.patch(
        Istio,
        "probe",
        {"metadata": {"finalizers": None}},
        namespace=release_namespace,
        patch_type=PatchType.MERGE,
    )
    client.delete(Istio, "probe", namespace=release_namespace)


def test_the_service_account_lists_nodes_and_pods_cluster_wide(operator_client: Client) -> None:
    assert len(list(operator_client.list(Node))) > 0
    list(operator_client.list(Pod, namespace="*"))


def test_the_service_account_holds_its_lease_and_posts_events_in_its_namespace(
    operator_client: Client, release_namespace: str
) -> None:
    lease = operator_client.create(
        Lease.from_dict(
            {
                "metadata": {"name": "76223278.kyma-project.io", "namespace": release_namespace},
                "spec": {"holderIdentity": "probe", "leaseDurationSeconds": 15},
            }
        )
    )
    assert lease.spec is not None
    renewed = operator_client.patch(
        Lease, lease.metadata.name, {"spec": {"holderIdentity": "probe-2"}}, namespace=release_namespace
    )
    assert renewed.spec.holderIdentity == "probe-2"
    event = operator_client.create(
        Event.from_dict(
            {
                "metadata": {"generateName": "probe.", "namespace": release_namespace},
                "involvedObject": {"kind": "Istio", "name": "probe", "namespace": release_namespace},
                "reason": "Probe",
                "message": "chart test",
                "type": "Normal",
            }
        )
    )
    assert event.metadata.name


def test_the_service_account_restarts_a_deployment_and_evicts_a_pod(
    client: Client, operator_client: Client, release_namespace: str
) -> None:
    operator_client.patch(
        Deployment,
        SERVICE_ACCOUNT,
        {
            "spec": {
                "template": {"metadata": {"annotations": {"istio-operator.kyma-project.io/restartedAt": "x"}}}
            }
        },
        namespace=release_namespace,
        patch_type=PatchType.STRATEGIC,
    )
    bare = Pod(
        metadata=ObjectMeta(name="evict-me", namespace=release_namespace),
        spec=PodSpec(containers=[Container(name="app", image="registry.k8s.io/pause:3.10")]),
    )
    client.create(bare)
    eviction = Pod.Eviction(metadata=ObjectMeta(name="evict-me", namespace=release_namespace))
    operator_client.create(eviction, name="evict-me", namespace=release_namespace)


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> ClusterRole:
    return ClusterRole.from_dict({"metadata": {"name": name}, "rules": rules})


INGRESS_STATUS = [{"apiGroups": ["networking.k8s.io"], "resources": ["ingresses/status"], "verbs": ["*"]}]
"""A right of istiod's ClusterRole that the operator does not hold itself."""


def test_the_service_account_writes_istios_cluster_role_with_rights_it_lacks_by_name(
    client: Client, operator_client: Client
) -> None:
    name = rbac.ISTIO_CLUSTER_ROLES[0]
    existed = any(role.metadata.name == name for role in client.list(ClusterRole))
    applied = operator_client.apply(
        _cluster_role(name, INGRESS_STATUS), field_manager=FIELD_MANAGER, force=True
    )
    assert applied.rules is not None
    if not existed:
        operator_client.delete(ClusterRole, name)


def test_the_service_account_labels_istio_system_as_the_install_does(operator_client: Client) -> None:
    labelled = operator_client.patch(
        Namespace,
        names.ISTIO_NAMESPACE,
        {"metadata": {"labels": {names.WARDEN_LABEL: names.WARDEN_LABEL_VALUE}}},
        patch_type=PatchType.MERGE,
    )
    assert labelled.metadata is not None
    assert labelled.metadata.labels[names.WARDEN_LABEL] == names.WARDEN_LABEL_VALUE


def test_the_service_account_is_denied_what_its_role_does_not_grant(
    client: Client, operator_client: Client, release_namespace: str
) -> None:
    node = next(iter(client.list(Node)))
    assert node.metadata is not None
    assert _forbidden(lambda: operator_client.delete(Node, node.metadata.name))
    assert _forbidden(lambda: list(operator_client.list(PersistentVolumeClaim, namespace="*")))
    assert _forbidden(lambda: operator_client.delete(PriorityClass, "istio-kyma-priority"))
    assert _forbidden(lambda: list(operator_client.list(Lease, namespace="kube-system")))
    assert _forbidden(lambda: operator_client.delete(Namespace, release_namespace))


def test_the_service_account_may_only_list_a_secret_outside_istio_system(
    client: Client, operator_client: Client, release_namespace: str
) -> None:
    """istioctl's prune (1.24 and later fail on a refused listing) lists Secrets in every namespace by label;
    nothing else on a Secret outside ``istio-system`` is granted (docs/security.md)."""
    probe = Secret(metadata=ObjectMeta(name="probe", namespace=release_namespace), stringData={"k": "v"})
    client.create(probe)
    assert _forbidden(lambda: operator_client.get(Secret, "probe", namespace=release_namespace))
    assert _forbidden(
        lambda: operator_client.patch(Secret, "probe", {"data": None}, namespace=release_namespace)
    )
    assert _forbidden(lambda: operator_client.delete(Secret, "probe", namespace=release_namespace))
    other = Secret(metadata=ObjectMeta(name="probe-2", namespace=release_namespace), stringData={"k": "v"})
    assert _forbidden(lambda: operator_client.create(other))
    selector = {"operator.istio.io/component": exists()}
    list(operator_client.list(Secret, namespace="*", labels=selector))
    list(operator_client.list(Secret, namespace=names.ISTIO_NAMESPACE))


def test_the_service_account_may_not_create_a_pod_or_deployment_outside_istio_system(
    operator_client: Client, release_namespace: str
) -> None:
    spec = PodSpec(containers=[Container(name="app", image="registry.k8s.io/pause:3.10")])
    pod = Pod(metadata=ObjectMeta(name="probe", namespace=release_namespace), spec=spec)
    assert _forbidden(lambda: operator_client.create(pod))
    deployment = Deployment.from_dict(
        {
            "metadata": {"name": "probe", "namespace": release_namespace},
            "spec": {
                "selector": {"matchLabels": {"app": "probe"}},
                "template": {"metadata": {"labels": {"app": "probe"}}, "spec": spec.to_dict()},
            },
        }
    )
    assert _forbidden(lambda: operator_client.create(deployment))
    assert _forbidden(lambda: operator_client.apply(deployment, field_manager=FIELD_MANAGER))


def _may(client: Client, namespace: str, verb: str, resource: str, subresource: str = "") -> bool:
    """The API server's answer to "may I?" for the client's user (a SelfSubjectAccessReview)."""
    attributes = ResourceAttributes(
        namespace=namespace, verb=verb, resource=resource, subresource=subresource
    )
    review = client.create(
        SelfSubjectAccessReview(spec=SelfSubjectAccessReviewSpec(resourceAttributes=attributes))
    )
    assert review.status is not None
    return bool(review.status.allowed)


def test_the_service_account_may_port_forward_only_in_istio_system(
    operator_client: Client, release_namespace: str
) -> None:
    assert _may(operator_client, names.ISTIO_NAMESPACE, "create", "pods", "portforward")
    assert not _may(operator_client, release_namespace, "create", "pods", "portforward")
    assert not _may(operator_client, release_namespace, "create", "pods", "exec")


def test_the_service_account_may_not_bind_cluster_admin(operator_client: Client) -> None:
    name = f"probe-{secrets.token_hex(3)}"
    binding = ClusterRoleBinding.from_dict(
        {
            "metadata": {"name": name},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": "default"}],
        }
    )
    assert _forbidden(lambda: operator_client.create(binding))
    assert _forbidden(lambda: operator_client.apply(binding, field_manager=FIELD_MANAGER))


def test_the_service_account_may_not_escalate_a_cluster_role_that_is_not_istios(
    client: Client, operator_client: Client
) -> None:
    name = f"probe-{secrets.token_hex(3)}"
    assert _forbidden(lambda: operator_client.create(_cluster_role(name, INGRESS_STATUS)))
    client.create(_cluster_role(name, []))
    try:
        assert _forbidden(
            lambda: operator_client.patch(
                ClusterRole, name, {"rules": INGRESS_STATUS}, patch_type=PatchType.MERGE
            )
        )
        assert _forbidden(lambda: operator_client.delete(ClusterRole, name))
    finally:
        client.delete(ClusterRole, name)


def test_the_service_account_may_not_delete_a_crd_that_is_not_istios(
    client: Client, operator_client: Client
) -> None:
    group = f"probe{secrets.token_hex(3)}.kyma-istio.test"
    client.create(
        CustomResourceDefinition.from_dict(
            {
                "metadata": {"name": f"widgets.{group}"},
                "spec": {
                    "group": group,
                    "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                    "versions": [
                        {
                            "name": "v1",
                            "served": True,
                            "storage": True,
                            "schema": {"openAPIV3Schema": {"type": "object"}},
                        }
                    ],
                },
            }
        )
    )
    try:
        assert _forbidden(lambda: operator_client.delete(CustomResourceDefinition, f"widgets.{group}"))
    finally:
        client.delete(CustomResourceDefinition, f"widgets.{group}")


# --- istioctl as the ServiceAccount ------------------------------------------------------------------------


def _istioctl(*args: str, kubeconfig: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "KUBECONFIG": str(kubeconfig), "HOME": str(kubeconfig.parent)}
    command = [str(tools.find_tool("istioctl")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=400, check=False)


@pytest.fixture
def operator_kubeconfig(
    kubeconfig: Path, applied: list[dict[str, Any]], release_namespace: str, tmp_path: Path
) -> Path:
    """The admin kubeconfig, told to act as the operator's ServiceAccount (client-go's ``as``)."""
    config = yaml.safe_load(kubeconfig.read_text())
    for user in config["users"]:
        user["user"]["as"] = f"system:serviceaccount:{release_namespace}:{SERVICE_ACCOUNT}"
    path = tmp_path / "operator.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize("profile", ["production", "evaluation"])
def test_istioctl_installs_and_purges_the_modules_istio_as_the_service_account(
    operator_kubeconfig: Path, kubeconfig: Path, tmp_path: Path, profile: str, client: Client
) -> None:
    # A previous purge deletes Istio's CRDs; the API server removes them once its cleanup finalizer has
    # run, which takes a while on a loaded machine. An install racing a terminating CRD fails with
    # "failed to verify CRD creation" (seen in make test).
    _wait_crds_settled(client, "destinationrules.networking.istio.io", "virtualservices.networking.istio.io")
    rendered = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "kyma-istio"),
            "render",
            "-f",
            str(ROOT / "deploy/samples/istio-default.yaml"),
            "--profile",
            profile,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    operator = tmp_path / "iop.yaml"
    operator.write_text(rendered.stdout)
    try:
        installed = _istioctl(
            "install",
            "-y",
            "-f",
            str(operator),
            "--readiness-timeout",
            "180s",
            kubeconfig=operator_kubeconfig,
        )
        assert installed.returncode == 0, installed.stdout + installed.stderr
        assert "forbidden" not in installed.stdout + installed.stderr
    finally:
        purged = _istioctl("uninstall", "-y", "--purge", kubeconfig=operator_kubeconfig)
        if purged.returncode != 0:
            _istioctl("uninstall", "-y", "--purge", kubeconfig=kubeconfig)
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert "forbidden" not in purged.stdout + purged.stderr


def _wait_crds_settled(client: Client, *crd_names: str, timeout_s: float = 120.0) -> None:
    """Wait until none of these CRDs is terminating (gone, or present and not being deleted)."""
    deadline = time.monotonic() + timeout_s
    for name in crd_names:
        while True:
            try:
                crd = client.get(CustomResourceDefinition, name)
            except ApiError as err:
                if err.status.code == 404:
                    break
                raise
            if crd.metadata is None or crd.metadata.deletionTimestamp is None:
                break
            assert time.monotonic() < deadline, f"CRD {name} still terminating"
            time.sleep(0.5)
