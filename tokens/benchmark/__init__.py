"""The measurements behind ``tokensim bench`` (``make bench``), shipped with the library.

``measure`` holds the measurements, ``runner`` runs them side by side and derives the in-run
ratios, ``plot`` draws throughput against batch size and threads, ``report`` writes
docs/BENCHMARKS.md.  Contributed suites are ``bench/<name>_bench.py`` files of a source checkout
(``SUITE_NAME``, ``measure(quick)``), which the runner discovers and runs each in its own process;
an installed tokensim runs the core measurements only.
"""
