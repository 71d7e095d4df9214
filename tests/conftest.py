import os

from hypothesis import settings

# CI runs at least 200 examples per property; locally the same unless overridden.
settings.register_profile("ci", max_examples=200, deadline=None)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
