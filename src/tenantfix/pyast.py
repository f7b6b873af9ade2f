"""``ast.parse`` shared by the stages that read the same source text in one run.

Building the AST of a megabyte settings module takes seconds; the settings resolver and the
rewrite of that module (see :mod:`tenantfix.rewrite`) read the same text, so the tree is kept
for the last two sources parsed. Nobody mutates these trees.
"""

from __future__ import annotations

import ast
from functools import lru_cache


@lru_cache(maxsize=2)
def parse_source(source: str | bytes) -> ast.Module:
    """``ast.parse(source)``; raises SyntaxError/ValueError as it does (never cached)."""
    return ast.parse(source)
