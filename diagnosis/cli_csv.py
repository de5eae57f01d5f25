"""CLI commands for the CSV template and the all-or-nothing CSV import of responses."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app

from .models import Campaign
from .questionnaire import Questionnaire, questionnaire_for


def _campaign_and_questionnaire(slug: str) -> tuple[Campaign, Questionnaire]:
    from .workspace import find_campaign

    campaign = find_campaign(slug)
    if campaign is None:
        raise click.ClickException(f"no campaign {slug!r}")
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
        from .csv_io import template_csv

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
    def import_responses_cmd(campaign: str, file: Path, dry_run: bool):
        """Import responses to CAMPAIGN (slug) from a CSV file; any error imports nothing."""
        from .classification import schedule_classification
        from .csv_io import CSVImportError, import_csv

        c, q = _campaign_and_questionnaire(campaign)
        try:
            result = import_csv(c, q, file.read_bytes(), dry_run=dry_run)
        except CSVImportError as exc:
            n = len(exc.errors)
            click.echo(f"{file}: {n} error{'s' if n != 1 else ''}; nothing was imported",
                       err=True)
            click.echo(str(exc), err=True)
            raise click.exceptions.Exit(1) from None
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
        schedule_classification(result.response_ids)
        click.echo(f"imported {result.imported} responses")
