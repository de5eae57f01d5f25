"""A campaign worth a report: labelled comments, segments, an earlier wave and a consultant note."""

from __future__ import annotations

import datetime as dt
import http.server
import itertools
import threading

import pytest
from flask import current_app

from diagnosis.extensions import db
from diagnosis.store.responses import add_response
from diagnosis.workspace import create_campaign, create_organisation, create_user, questionnaire

REPORT_DATE = dt.date(2026, 11, 1)
_n = itertools.count(1)

COMMENTS = {
    "purpose": "何に使えばよいのか分からず、自分の業務に合う使い方が見つからない。",
    "leadership": "部長が使っていないので、使っても評価されるのか分からない。",
    "support": "研修が一回きりで、プロンプトの書き方が分からないまま放置されている。",
    "other": "機密情報を入力してよいのか不安で、結局使わなくなった。",
}
LEVELS = {"purpose": 3, "leadership": 3, "support": 2}
# What each person ticks in the reason checklist (questionnaire version 2 only).
TICKS = {"purpose": ["no_use_case"], "leadership": ["boss_not_using"],
         "support": ["dont_know_how", "no_training"], "other": ["security_worry"]}


@pytest.fixture
def local_server():
    """A tiny HTTP server on 127.0.0.1 that records every request it receives."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def _answers(levels: dict[str, int], usage: str, **segments: str) -> dict:
    items = {"purpose": [("pu_useful", False), ("pu_usecase", False), ("pu_goal", False), ("pu_nofit", True)],
             "leadership": [("le_exec", False), ("le_manager", False), ("le_policy", False), ("le_fringe", True)],
             "support": [("su_skill", False), ("su_training", False), ("su_ask", False), ("su_hard", True)]}
    out: dict = {"usage": usage}
    for cause, its in items.items():
        for item_id, reverse in its:
            lvl = levels[cause]
            out[item_id] = str(6 - lvl if reverse else lvl)
    out.update(segments)
    return out


def fill(campaign, q, n_per_cause: dict[str, int], levels: dict[str, int], extra: str | None = None) -> None:
    """Add labelled responses: n per cause in departments sales/manufacturing, plus one tiny group."""
    usages = itertools.cycle(["never", "tried_once", "monthly", "weekly", "daily", "tried_once"])
    depts = itertools.cycle(["sales", "manufacturing"])
    for cause, n in n_per_cause.items():
        for i in range(n):
            a = _answers(levels, next(usages), department=next(depts), role="staff")
            a["reasons"] = f"{COMMENTS[cause]}（{i}）"
            if q.reason_item is not None:
                a["reason_choices"] = TICKS[cause]
            r = add_response(campaign, q, a, lang="ja", source="import")
            for c in r.comments:
                c.label, c.confidence = cause, 0.9
    # Two people in a department of their own: that department must be suppressed.
    for _ in range(2):
        add_response(campaign, q, _answers(levels, "monthly", department="it", role="staff"),
                     lang="ja", source="import")
    if extra:
        a = _answers(levels, "monthly", department="sales", role="staff")
        a["reasons"] = extra
        r = add_response(campaign, q, a, lang="ja", source="import")
        for c in r.comments:
            c.label, c.confidence = "support", 1.0


def build(app, *, note: str | None = None, extra_comment: str | None = None, earlier: bool = True,
          size: int = 1) -> dict:
    """An organisation with an optional earlier wave and a later wave to report on."""
    with app.app_context():
        k = next(_n)
        org = create_organisation(f"株式会社レポート{k}", 200, dt.date(2026, 6, 1), f"Report Corp {k}")
        q = questionnaire("ai-adoption")
        if earlier:  # the first wave ran on version 1, before the reason checklist
            first = create_campaign(org, f"wave1-{k}", "第1回 定着度調査", opens_on=dt.date(2026, 7, 1),
                                    questionnaire_version=1)
            q1 = current_app.extensions["questionnaires"].versions[("ai-adoption", 1)]
            fill(first, q1, {"purpose": 6, "leadership": 6, "support": 12, "other": 3},
                 {"purpose": 3, "leadership": 3, "support": 1})
        camp = create_campaign(org, f"wave2-{k}", "第2回 定着度調査", opens_on=dt.date(2026, 10, 1))
        fill(camp, q, {c: n * size for c, n in {"purpose": 8, "leadership": 6, "support": 14, "other": 4}.items()},
             LEVELS, extra_comment)
        camp.consultant_note = note
        create_user(f"kato{k}@example.com", "加藤 コンサルタント", "consultant", "correct-horse-battery", [org])
        db.session.commit()
        return {"slug": camp.slug, "org": org.name, "name": camp.name}
