"""CLI commands for the CSV template and the all-or-nothing import of responses (CSV or .xlsx)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app

from ..questionnaire import Questionnaire, questionnaire_for
from ..store.models import Campaign
from .common import campaign_or_fail


def _campaign_and_questionnaire(slug: str) -> tuple[Campaign, Questionnaire]:
    campaign = campaign_or_fail(slug)
    q = questionnaire_for(current_app.extensions["questionnaires"], campaign)
    if q is None:
        raise click.ClickException(f"campaign {slug!r} uses unknown questionnaire "
                                   f"{campaign.questionnaire_id!r}")
    return campaign, q


def init_app(app: Flask) -> None:
    """Register ``csv-template`` and ``import-responses``."""

    @app.cli.command("csv-template")
    @click.argument("campaign")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                  help="File to write (default: standard output).")
    @click.option("--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True,
                  help="Language of the example row.")
    @click.option("--with-example", is_flag=True, help="Add one example row.")
    def csv_template_cmd(campaign: str, output: Path | None, lang: str, with_example: bool):
        """Write an empty CSV for CAMPAIGN (slug): one column per item id, UTF-8 with BOM."""
        from ..store.csv_io import template_csv

        _, q = _campaign_and_questionnaire(campaign)
        # The BOM makes Excel read the file as UTF-8 instead of the system code page.
        data = template_csv(q, lang=lang, with_example=with_example).encode("utf-8-sig")
        if output is None:
            click.echo(data, nl=False)  # bytes go to the binary stdout unchanged
        else:
            output.write_bytes(data)
            click.echo(f"wrote {output}", err=True)

    @app.cli.command("import-responses")
    @click.argument("campaign")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Check the file and import nothing.")
    @click.option("--no-classify", is_flag=True,
                  help="Leave the comments pending for the worker (teichaku worker) instead of classifying now.")
    def import_responses_cmd(campaign: str, file: Path, dry_run: bool, no_classify: bool):
        """Import responses to CAMPAIGN (slug) from a CSV file (UTF-8, Shift_JIS or UTF-16, comma
        or tab) or an Excel workbook (.xlsx, e.g. a Microsoft Forms export); any error imports
        nothing.

        The imported comments are classified before the command ends (with a progress bar on a
        terminal), so `teichaku diagnose` reads them straight away.
        """
        from ..classification import classify_pending, pending_count
        from ..progress import progress
        from ..store.csv_io import CSVImportError, import_csv

        c, q = _campaign_and_questionnaire(campaign)
        try:
            result = import_csv(c, q, file.read_bytes(), filename=file.name, dry_run=dry_run)
        except CSVImportError as exc:
            if exc.format is not None:
                click.echo(f"{file}: read as {exc.format.describe()}", err=True)
            n = len(exc.errors)
            click.echo(f"{file}: {n} error{'s' if n != 1 else ''}; nothing was imported",
                       err=True)
            click.echo(str(exc), err=True)
            raise click.exceptions.Exit(1) from None
        if result.format is not None:
            click.echo(f"read as {result.format.describe()}")
        if result.ignored_columns:
            personal = set(result.personal_columns)
            click.echo("ignored columns: " + ", ".join(
                f"{name} (personal data, not stored)" if name in personal else name
                for name in result.ignored_columns))
        if result.skipped_blank_rows:
            click.echo(f"skipped {result.skipped_blank_rows} blank row(s)")
        if dry_run:
            click.echo(f"dry run: {result.imported} responses would be imported")
            return
        click.echo(f"imported {result.imported} responses")
        if no_classify:
            n = pending_count(result.response_ids)
            click.echo(f"{n} comment(s) left for the worker (teichaku worker) or teichaku classify-pending")
            return
        try:
            with progress(pending_count(result.response_ids), "classifying", "comment") as bar:
                n = classify_pending(response_ids=result.response_ids, on_progress=bar.update)
        except (OSError, ValueError, RuntimeError) as exc:
            # The responses are stored; only the labels are missing, and nothing is lost.
            raise click.ClickException(
                f"the responses are stored but their comments could not be classified ({exc}); "
                "they stay pending: run teichaku classify-pending once the model works") from None
        click.echo(f"classified {n} comment(s)")
