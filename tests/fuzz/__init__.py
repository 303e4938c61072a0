"""The adversarial suite (see tests/fuzz/_settings.py): typed error or valid answer, never a crash or hang."""
