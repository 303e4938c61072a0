"""Settings of the adversarial suite: every parser and protocol entry point under bounded hypothesis runs.

Each test asserts "a typed error or a valid answer — never an uncaught exception, never a hang".
`make test` runs the bounded profile; `make fuzz` sets TOKENSIM_FUZZ=1 for a long run before a
release (TOKENSIM_FUZZ_EXAMPLES, default 20000, sets the examples per test).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]

settings.register_profile("fuzz-bounded", max_examples=200, deadline=None, suppress_health_check=_SUPPRESS)
settings.register_profile("fuzz-long", max_examples=int(os.environ.get("TOKENSIM_FUZZ_EXAMPLES", "20000")),
                          deadline=None, suppress_health_check=_SUPPRESS)

#: the settings every fuzz test uses: ``@FUZZ`` above ``@given``
FUZZ = settings.get_profile("fuzz-long" if os.environ.get("TOKENSIM_FUZZ") else "fuzz-bounded")
