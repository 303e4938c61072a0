"""Adapters to the rest of tokensim and to relying parties: the tokensim ``Device`` (device), the
browser role (platform) and the JSON file store (store)."""
