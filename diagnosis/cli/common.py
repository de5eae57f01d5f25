"""What several commands share: dates, and the campaign or organisation a command names."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click


def parse_date(value: str | None) -> dt.date | None:
    """A YYYY-MM-DD option (None when not given); a bad one is a usage error naming it."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not a date (YYYY-MM-DD): {value}") from None


def campaign_or_fail(slug: str) -> Any:
    """The campaign with this slug, or a one-line error."""
    from ..workspace import find_campaign

    campaign = find_campaign(slug)
    if campaign is None:
        raise click.ClickException(f"no campaign {slug!r}")
    return campaign


def organisation_or_fail(ref: str) -> Any:
    """The organisation with this id or exact name, or a one-line error."""
    from ..workspace import find_organisation

    org = find_organisation(ref)
    if org is None:
        raise click.ClickException(f"no organisation {ref!r} (give its id or exact name)")
    return org
