"""The generic deep merge every merge step and the evaluation overlay are built from."""

from typing import Any

from kyma_istio.mesh.merge.deep import append_at, deep_merge, nested, patch_at


def test_mappings_merge_recursively_and_the_overlay_wins() -> None:
    base = {"a": {"x": 1, "y": 2}, "b": 1}

    assert deep_merge(base, {"a": {"y": 3, "z": 4}}) == {"a": {"x": 1, "y": 3, "z": 4}, "b": 1}


def test_none_in_the_overlay_removes_the_key() -> None:
    assert deep_merge({"a": {"x": 1, "y": 2}}, {"a": {"x": None}, "missing": None}) == {"a": {"y": 2}}


def test_plain_lists_are_replaced_not_concatenated() -> None:
    assert deep_merge({"a": [1, 2, 3]}, {"a": [4]}) == {"a": [4]}


def test_lists_of_named_items_merge_by_name_and_append_new_names() -> None:
    base = {"items": [{"name": "a", "v": 1, "w": 1}, {"name": "b", "v": 1}]}
    overlay = {"items": [{"name": "b", "v": 2}, {"name": "c", "v": 3}]}

    assert deep_merge(base, overlay) == {
        "items": [{"name": "a", "v": 1, "w": 1}, {"name": "b", "v": 2}, {"name": "c", "v": 3}]
    }


def test_a_named_list_over_an_unnamed_one_replaces_it() -> None:
    assert deep_merge({"a": [1]}, {"a": [{"name": "x"}]}) == {"a": [{"name": "x"}]}


def test_a_mapping_over_a_scalar_replaces_it() -> None:
    assert deep_merge({"a": 1}, {"a": {"b": 2}}) == {"a": {"b": 2}}


def test_neither_input_is_modified_and_the_result_shares_nothing_with_them() -> None:
    base: dict[str, Any] = {"a": {"x": [1]}, "items": [{"name": "n", "v": {"k": 1}}]}
    overlay: dict[str, Any] = {"a": {"y": [2]}, "items": [{"name": "n", "w": 1}], "new": {"z": [3]}}
    base_before, overlay_before = repr(base), repr(overlay)

    result = deep_merge(base, overlay)
    result["a"]["x"].append(9)
    result["a"]["y"].append(9)
    result["items"][0]["v"]["k"] = 9
    result["new"]["z"].append(9)

    assert (repr(base), repr(overlay)) == (base_before, overlay_before)


def test_nested_reads_a_path_and_tolerates_missing_steps() -> None:
    document = {"a": {"b": {"c": 1}}, "s": "text"}

    assert nested(document, "a", "b", "c") == 1
    assert nested(document, "a", "x", "c") is None
    assert nested(document, "s", "x") is None


def test_patch_at_builds_the_nested_mapping_for_a_path() -> None:
    assert patch_at("a", "b", value=1) == {"a": {"b": 1}}


def test_append_at_appends_even_items_whose_names_already_exist() -> None:
    base = {"spec": {"env": [{"name": "A", "value": "1"}]}}

    result = append_at(base, ("spec", "env"), [{"name": "A", "value": "2"}])

    assert result == {"spec": {"env": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]}}
    assert base == {"spec": {"env": [{"name": "A", "value": "1"}]}}


def test_append_at_creates_the_list_and_its_parents_when_missing() -> None:
    assert append_at({}, ("a", "b"), [1]) == {"a": {"b": [1]}}
