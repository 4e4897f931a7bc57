"""Settings for every test session."""

from hypothesis import settings

# No per-example deadline: a timing limit is a timed assertion, and it fails on a loaded 2-core runner
# (seen on the unprivileged unit run of `make test`), not on a wrong result.
settings.register_profile("kyma-istio", deadline=None)
settings.load_profile("kyma-istio")
