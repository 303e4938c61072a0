"""Build the optional C hot loop; every other piece of metadata lives in pyproject.toml.

The extension is ``optional``: on a machine without a C compiler the install still succeeds and
``tokens.hotloop`` falls back to its pure-Python backend (``tokensim --version`` says which).
"""

from __future__ import annotations

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "tokens.hotloop._cloop",
            sources=["tokens/hotloop/_cloop.c"],
            depends=["tokens/hotloop/_sha.h", "tokens/hotloop/_hmac.h"],
            extra_compile_args=["-O3"] if __import__("sys").platform != "win32" else [],
            optional=True,
        )
    ],
)
