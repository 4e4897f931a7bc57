"""Unit-test settings shared by every module.

Hypothesis's default 200 ms per-example deadline is a timing assertion: on a loaded 2-core CI machine it
fails correct code (seen in ``test_mesh_merge_properties``). Speed is measured by benchmarks, so the
property tests run without a deadline (a failure prints its reproduction blob).
"""

from hypothesis import settings

settings.register_profile("unit", deadline=None, print_blob=True)
settings.load_profile("unit")
