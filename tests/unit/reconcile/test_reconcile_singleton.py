"""Which Istio CR drives the module (spec 9, step 5): the oldest, with a deterministic tie-break."""

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kyma_istio.reconcile.singleton import oldest


def cr(name: str, created: str, uid: str | None = None) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "kyma-system",
            "creationTimestamp": created,
            "uid": uid or f"uid-{name}",
        }
    }


def name_of(found: Any) -> str:
    assert found is not None
    return str(found["metadata"]["name"])


def test_no_crs_means_no_oldest() -> None:
    assert oldest([]) is None


def test_a_single_cr_is_the_oldest() -> None:
    only = cr("default", "2024-01-01T00:00:00Z")

    assert oldest([only]) is only


def test_the_earliest_creation_timestamp_wins() -> None:
    crs = [
        cr("b", "2024-03-01T00:00:00Z"),
        cr("a", "2024-02-01T00:00:00Z"),
        cr("c", "2024-01-01T00:00:00Z"),
    ]

    assert name_of(oldest(crs)) == "c"


def test_the_time_decides_before_the_name() -> None:
    crs = [cr("aaa", "2024-01-01T00:00:01Z"), cr("zzz", "2024-01-01T00:00:00Z")]

    assert name_of(oldest(crs)) == "zzz"


def test_a_tie_in_time_goes_to_the_smaller_name_whatever_the_list_order() -> None:
    first = cr("beta", "2024-01-01T00:00:00Z")
    second = cr("alpha", "2024-01-01T00:00:00Z")

    assert name_of(oldest([first, second])) == "alpha"
    assert name_of(oldest([second, first])) == "alpha"


def test_a_tie_in_time_and_name_goes_to_the_smaller_uid() -> None:
    first = cr("default", "2024-01-01T00:00:00Z", uid="uid-b")
    second = cr("default", "2024-01-01T00:00:00Z", uid="uid-a")

    assert oldest([first, second]) is second
    assert oldest([second, first]) is second


_TIMES = st.sampled_from(["2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", "2024-06-30T23:59:59Z"])
_NAMES = st.sampled_from(["default", "istio", "other"])
_UIDS = st.sampled_from(["uid-1", "uid-2", "uid-3"])


@st.composite
def cr_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    triples = draw(st.lists(st.tuples(_TIMES, _NAMES, _UIDS), min_size=1, max_size=8, unique=True))
    return [cr(name, created, uid) for created, name, uid in triples]


@given(data=st.data(), crs=cr_lists())
def test_the_oldest_does_not_depend_on_the_list_order(data: st.DataObject, crs: list[dict[str, Any]]) -> None:
    shuffled = data.draw(st.permutations(crs))

    assert oldest(shuffled) == oldest(crs)


@given(crs=cr_lists())
def test_no_cr_is_older_than_the_oldest(crs: list[dict[str, Any]]) -> None:
    found = oldest(crs)

    assert found is not None
    assert found in crs
    created = found["metadata"]["creationTimestamp"]
    assert all(x["metadata"]["creationTimestamp"] >= created for x in crs)
