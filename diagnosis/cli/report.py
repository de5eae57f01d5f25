"""``teichaku report CAMPAIGN -o FILE.pdf``: the client PDF report."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from ..messages import translate
from .common import parse_date


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
    @click.option("--allow-pending", is_flag=True,
                  help="Render even while comments wait for the classifier; the report says how many.")
    def report_cmd(campaign: str, output: Path, lang: str, report_date: str | None,
                   consultant: str | None, as_html: bool, allow_pending: bool) -> None:
        """Render the client report of CAMPAIGN (slug) as an A4 PDF.

        Refused while comments of the campaign are not classified yet, unless --allow-pending.
        """
        from ..progress import stages
        from ..recommend.loader import CampaignNotFound
        from ..recommend.sanity import join_sentences, pending_warning
        from ..reports import PendingCommentsError, ReportFontError, render_report_html, render_report_pdf
        from ..reports.render import REPORT_STEPS

        date = parse_date(report_date)
        try:
            if as_html:
                output.write_text(render_report_html(campaign, lang, date, consultant,
                                                     allow_pending=allow_pending), encoding="utf-8")
            else:
                with stages(REPORT_STEPS, "rendering report") as done:
                    output.write_bytes(render_report_pdf(campaign, lang, date, consultant,
                                                         allow_pending=allow_pending, on_step=done))
        except CampaignNotFound:
            raise click.ClickException(f"no campaign {campaign!r}") from None
        except PendingCommentsError as exc:
            # One line, in the report's language: what is missing, what to run, how to go on anyway.
            warning = pending_warning(exc.count, lang)
            detail = warning.line() if warning else str(exc)
            message = join_sentences(translate("No report written.", lang), detail, translate(
                "Pass --allow-pending to render it now; the report then states how many comments were left out.",
                lang))
            raise click.ClickException(message) from None
        except ReportFontError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"wrote {output}")
