"""``teichaku report CAMPAIGN -o FILE.pdf``: the client PDF report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import Flask


def init_app(app: Flask) -> None:
    """Register ``teichaku report``."""

    @app.cli.command("report")
    @click.argument("campaign")
    @click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="Where to write the PDF.")
    @click.option("--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True)
    @click.option("--date", "report_date", default=None, help="Report date (YYYY-MM-DD).")
    @click.option("--consultant", default=None, help="Consultant name on the cover (default: assigned consultants).")
    @click.option("--html", "as_html", is_flag=True, help="Write the HTML instead of the PDF.")
    def report_cmd(campaign: str, output: Path, lang: str, report_date: str | None,
                   consultant: str | None, as_html: bool) -> None:
        """Render the client report of CAMPAIGN (slug) as an A4 PDF."""
        from .recommend.loader import CampaignNotFound
        from .reports import ReportFontError, render_report_html, render_report_pdf

        date = None
        if report_date:
            try:
                date = dt.date.fromisoformat(report_date)
            except ValueError:
                raise click.BadParameter(f"not a date (YYYY-MM-DD): {report_date}") from None
        try:
            if as_html:
                output.write_text(render_report_html(campaign, lang, date, consultant), encoding="utf-8")
            else:
                output.write_bytes(render_report_pdf(campaign, lang, date, consultant))
        except CampaignNotFound:
            raise click.ClickException(f"no campaign {campaign!r}") from None
        except ReportFontError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"wrote {output}")
