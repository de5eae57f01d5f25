"""What the PDF renderer may read: its own static files, the Japanese font files and data: URLs.

WeasyPrint's default fetcher follows any URL in the HTML, so ``<img src="file:///etc/passwd">`` or
``<link rel="attachment">`` would embed local files and ``http://127.0.0.1`` would be requested.
The report never needs either; everything outside the allowed directories is refused.
"""

from __future__ import annotations

import logging
import mimetypes
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
FONT_FAMILY = "BIZ UDPGothic"
FONT_FILES = {"regular": "BIZUDPGothic-Regular.ttf", "bold": "BIZUDPGothic-Bold.ttf"}
FONT_SEARCH_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"),
                    Path.home() / ".local/share/fonts")
INSTALL_HINT = ("install the Debian package fonts-morisawa-bizud-gothic "
                "(`make system-deps` or `bash diagnosis/setup/system-deps.sh`)")


class ReportFontError(RuntimeError):
    """The Japanese font the report needs is not installed."""


class RefusedURL(ValueError):
    """The report renderer refused to fetch a URL."""


@dataclass(frozen=True)
class ReportFonts:
    """Paths of the regular and bold font files of the report."""

    regular: Path
    bold: Path

    @property
    def directories(self) -> tuple[Path, ...]:
        """Directories the fetcher may read fonts from."""
        return tuple(sorted({self.regular.parent, self.bold.parent}))

    def css(self) -> str:
        """@font-face rules pointing at the installed files (paths are ours, not user input)."""
        rules = []
        for weight, path in (("400", self.regular), ("700", self.bold)):
            rules.append(f'@font-face {{ font-family: "{FONT_FAMILY}"; font-weight: {weight}; '
                         f'font-style: normal; src: url("{path.as_uri()}"); }}')
        return "\n".join(rules)


def _fc_list() -> dict[str, Path]:
    """Font files of the family as fontconfig knows them, by file name."""
    exe = shutil.which("fc-list")
    if not exe:
        return {}
    try:
        out = subprocess.run([exe, f":family={FONT_FAMILY}", "file"], capture_output=True,  # noqa: S603
                             text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    files = {}
    for line in out.splitlines():
        path = Path(line.strip().rstrip(":"))
        if path.name:
            files[path.name] = path
    return files


@lru_cache(maxsize=1)
def find_fonts() -> ReportFonts:
    """Locate BIZ UDPGothic Regular and Bold at run time; a clear error when they are missing."""
    known = _fc_list()
    found: dict[str, Path] = {}
    for role, name in FONT_FILES.items():
        path = known.get(name)
        if path is None:
            for base in FONT_SEARCH_DIRS:
                if base.is_dir():
                    path = next(iter(sorted(base.rglob(name))), None)
                    if path:
                        break
        if path is None or not path.is_file():
            raise ReportFontError(f"Japanese font {FONT_FAMILY} ({name}) not found: {INSTALL_HINT}")
        found[role] = path.resolve()
    return ReportFonts(found["regular"], found["bold"])


class SandboxedFetcher(URLFetcher):
    """A WeasyPrint fetcher that serves data: URLs and files under a few directories, nothing else."""

    def __init__(self, roots: tuple[Path, ...] | list[Path]) -> None:
        super().__init__(timeout=1, allowed_protocols=("data", "file"), allow_redirects=False)
        self.roots = tuple(Path(r).resolve() for r in roots)
        self.refused: list[str] = []
        self.served: list[str] = []

    def _refuse(self, url: str, why: str) -> RefusedURL:
        self.refused.append(url)
        log.warning("report renderer refused %s (%s)", url[:200], why)
        return RefusedURL(f"refused by the report sandbox ({why}): {url[:200]}")

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        """Serve data: URLs and allowed local files; refuse everything else."""
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            self.served.append("data:")
            return super().fetch(url, headers)
        if scheme != "file":
            raise self._refuse(url, f"scheme {scheme or '(none)'} not allowed")
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise self._refuse(url, "remote file host")
        try:
            path = Path(unquote(parts.path)).resolve(strict=True)
        except (OSError, RuntimeError):
            raise self._refuse(url, "no such file") from None
        if not path.is_file() or not any(path.is_relative_to(root) for root in self.roots):
            raise self._refuse(url, "outside the report's own directories")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.served.append(str(path))
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})


def report_fetcher(fonts: ReportFonts) -> SandboxedFetcher:
    """The fetcher of one report: the package's static folder and the font directories."""
    return SandboxedFetcher((STATIC_DIR, *fonts.directories))
