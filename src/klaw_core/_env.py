"""Strict parsing of the boolean environment switches.

This module imports nothing so that ``setup.py`` can load it by path at build
time and reach exactly the same verdict as the import-time chooser: one parser,
one set of accepted spellings, no drift between build and run.
"""

import os

__all__ = ["env_flag"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def env_flag(name: str, environ: "dict[str, str] | None" = None) -> bool:
    """Return the value of the boolean switch ``name``.

    Accepts ``1/true/yes/on`` and ``0/false/no/off/''`` (any case, surrounding
    blanks ignored); an unset variable is false.

    Raises:
        ValueError: for any other spelling, naming the variable, so a typo such
            as ``KLAW_NO_EXTENSIONS=ture`` fails loudly instead of meaning "no".

    Example:
        >>> env_flag("KLAW_NO_EXTENSIONS", {"KLAW_NO_EXTENSIONS": "Yes"})
        True
        >>> env_flag("KLAW_NO_EXTENSIONS", {})
        False
    """
    env = os.environ if environ is None else environ
    raw = env.get(name)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(
        f"{name}={raw!r} is not a boolean: use one of 1/true/yes/on or 0/false/no/off/''"
    )
