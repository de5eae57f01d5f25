"""Fixed wording of the client report: the ``report.*`` messages of the catalogs
(:mod:`diagnosis.messages`), asked for in the report's language."""

from __future__ import annotations

from ..messages import translate as _translate


def translate(key: str, lang: str, **values: object) -> str:
    """The report text ``report.<key>`` in ``lang``, formatted with ``values``."""
    return _translate(f"report.{key}", lang, **values)
