"""A rule's automatic fix as its documentation states it: ``safe``, ``unsafe`` or ``none``.

Used by ``tenantfix rules``/``explain`` and SARIF's rule metadata, so they agree (TF011 has no
fix, although its check keeps the default ``safety``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from tenantfix.checks import Check

FixKind = Literal["safe", "unsafe", "none"]

# ``Fix (safe): ...``, ``Fix: none ...`` and ``Fix safety: no automatic fix ...`` (TF011)
_FIX_LABEL = re.compile(
    r"^Fix(?:\s+safety)?\s*(?:\((?P<label>[^)]*)\))?\s*:\s*(?P<rest>.*)",
    re.IGNORECASE | re.DOTALL,
)


def documented_fix(chk: Check) -> FixKind:
    """Whether the rule has an automatic fix, read from its docstring's ``Fix (...)`` paragraph.

    Check modules document ``Fix (safe): ...``, ``Fix (unsafe): ...`` or ``Fix: none ...``;
    without such a paragraph the check's declared ``safety`` is taken.
    """
    for paragraph in chk.doc.split("\n\n"):
        match = _FIX_LABEL.match(paragraph.strip())
        if match is None:
            continue
        label = (match.group("label") or "").lower()
        rest = match.group("rest").strip().lower()
        if "unsafe" in label:
            return "unsafe"
        if "safe" in label:
            return "safe"
        if "none" in label or rest.startswith(("none", "no ")):
            return "none"
    return chk.safety
