"""Client PDF report: rendered from templates/report/ with the web's Jinja environment."""

from __future__ import annotations

from .render import PendingCommentsError, build_context, html_to_pdf, render_report_html, render_report_pdf
from .sandbox import ReportFontError, SandboxedFetcher, find_fonts

__all__ = ["build_context", "html_to_pdf", "render_report_html", "render_report_pdf",
           "PendingCommentsError", "ReportFontError", "SandboxedFetcher", "find_fonts"]
