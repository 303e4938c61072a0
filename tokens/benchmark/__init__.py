"""tokensim's benchmark suite (``tokensim bench``, ``make bench``).

``bench.measure`` holds the measurements, ``bench.runner`` runs them side by side and derives the
in-run ratios, ``bench.plot`` draws throughput against batch size and threads.  Other parts of
tokensim contribute ``bench/<name>_bench.py`` modules (``SUITE_NAME``, ``measure(quick)``), which
the runner discovers and runs each in its own process.
"""
