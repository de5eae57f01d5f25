"""Colour arithmetic (WCAG contrast, blending) and the cause colours' stylesheet (plain Python).

The cause colours are data (``causes.<id>.colour`` in the playbook). The web pages and the PDF
take them from one generated stylesheet (:func:`cause_stylesheet`), the charts from the playbook
directly, so a new cause gets its colour everywhere from the one line that names it.
"""

from __future__ import annotations

from collections.abc import Mapping

INK = "#1f2933"
AA = 4.5


def _rgb(colour: str) -> tuple[int, int, int]:
    h = colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def blend(colour: str, opacity: float, under: str = "#ffffff") -> str:
    """The colour seen when ``colour`` is painted at ``opacity`` over ``under``."""
    top, bottom = _rgb(colour), _rgb(under)
    return "#" + "".join(f"{round(t * opacity + b * (1 - opacity)):02x}" for t, b in zip(top, bottom, strict=True))


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2.1 contrast ratio of two opaque ``#rrggbb`` colours (1 to 21)."""
    def luminance(colour: str) -> float:
        lin = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4
               for c in _rgb(colour)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def readable_ink(background: str) -> str:
    """White, the ink colour or black: the first with AA contrast (4.5:1) on ``background``.

    Black or white always reaches 4.5:1, so a mid-tone cell never gets text that fails."""
    return next(ink for ink in ("#ffffff", INK, "#000000") if contrast_ratio(ink, background) >= AA)


def cause_stylesheet(colours: Mapping[str, str]) -> str:
    """CSS for every cause colour: the ``--<id>`` custom property, the dashboard's cause badge
    (``.cause-<id>``, white text) and the report's swatch and section rule (``.sw-<id>``,
    ``.ch-<id>``). ``colours`` maps cause id to ``#rrggbb``, in display order."""
    lines = [":root { " + " ".join(f"--{c}: {v};" for c, v in colours.items()) + " }"]
    for c in colours:
        lines.append(f".cause-{c} {{ background: var(--{c}); }}")
        lines.append(f".sw-{c} {{ background: var(--{c}); }}")
        lines.append(f".ch-{c} {{ border-left-color: var(--{c}); }}")
    return "\n".join(lines) + "\n"
