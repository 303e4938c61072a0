"""HTTP verification service: the verifier behind a JSON API on starlette + uvicorn.

``tokens.service.app.create_app(store_url, api_key=...)`` builds the ASGI app;
``tokens.service.server`` runs it (one or several processes); ``tokens.service.pgcluster`` starts a
throw-away PostgreSQL cluster for tests and benchmarks.  Heavy imports stay in the submodules.
"""

from __future__ import annotations
