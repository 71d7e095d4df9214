import os

from hypothesis import settings

# CI runs at least 200 examples per property, derandomized so that a submission's result does not depend on
# the draw (explore with HYPOTHESIS_PROFILE=dev, which draws afresh each run).
settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
