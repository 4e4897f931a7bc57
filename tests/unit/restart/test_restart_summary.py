from kyma_istio.restart.execute import summary


def test_a_summary_names_the_first_owners_and_counts_the_rest() -> None:
    items = [f"Deployment ns/app-{i}" for i in range(13)]

    text = summary("13 owner(s) with outdated sidecars", items)

    assert text.startswith("13 owner(s) with outdated sidecars: Deployment ns/app-0; Deployment ns/app-1;")
    assert "app-9; and 3 more" in text
    assert "app-10" not in text


def test_a_short_list_is_given_whole() -> None:
    assert summary("2 owner(s) not restarted", ["a", "b"]) == "2 owner(s) not restarted: a; b"
