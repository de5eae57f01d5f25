"""Report benchmark: the client PDF of a 2,000-response campaign against a minimal one-page PDF.

    .venv/bin/python bench/bench_report.py [--responses 2000] [--repeat 3]

Builds the campaign in a temporary SQLite database (labelled comments, four segment fields, an
earlier wave so the comparison section is rendered too), then times in one process: the full
report (diagnosis + HTML + WeasyPrint, tagged PDF as served), the same report untagged, and a
minimal one-page PDF rendered with the same fonts, stylesheet and sandboxed fetcher. Prints the
median wall and CPU time of each and the ratios (CPU time moves less on a shared machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

COMMENTS = {
    "purpose": [
        "何に使えばいいのか分からない。",
        "自分の業務に合う使い方が見つからない。",
        "I don't know what to use it for in my job.",
    ],
    "leadership": ["上司が使っていないので使いにくい。", "会社としての方針が見えない。", "Managers never mention it."],
    "support": [
        "プロンプトの書き方が分からない。",
        "研修が一回だけで、聞ける人もいない。",
        "Tried it once and the answers were poor.",
    ],
    "other": ["機密情報を入れてよいのか不安。", "ライセンスが部署に割り当てられていない。", "It works well for me."],
}
SEGMENTS = ("department", "role", "age_band", "tenure")
ITEMS = [
    "pu_useful",
    "pu_usecase",
    "pu_goal",
    "pu_nofit",
    "le_exec",
    "le_manager",
    "le_policy",
    "le_fringe",
    "su_skill",
    "su_training",
    "su_ask",
    "su_hard",
]
USAGE = ["never", "tried_once", "monthly", "weekly", "daily"]
MINIMAL = (
    '<html lang="ja"><body><h1>最小のPDF</h1><p>1ページだけの文書です。A minimal one-page document.</p></body></html>'
)


def fill(campaign, q, n: int, rng: random.Random) -> None:
    """n responses with Likert answers, segments and one labelled comment in most of them."""
    from diagnosis.store.responses import add_response

    valid = {f: [o.code for o in q.item(f).options] for f in SEGMENTS}
    for _ in range(n):
        a = {"usage": rng.choice(USAGE)}
        a.update({i: str(rng.randint(1, 5)) for i in ITEMS})
        for f, codes in valid.items():
            a[f] = rng.choice(codes)
        label = rng.choice(list(COMMENTS)) if rng.random() < 0.8 else None
        if label:
            a["reasons"] = rng.choice(COMMENTS[label])
        r = add_response(campaign, q, a, lang="ja", source="import")
        for c in r.comments:
            c.label, c.confidence = label, round(rng.uniform(0.5, 1.0), 2)


def main() -> None:
    """Build the campaign, time both renders, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--responses", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from flask_migrate import upgrade

    from diagnosis import create_app
    from diagnosis.extensions import db
    from diagnosis.reports import find_fonts, html_to_pdf, render_report_html, render_report_pdf
    from diagnosis.workspace import create_campaign, create_organisation, create_user, questionnaire

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench-secret-key-0123456789",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
                "CLASSIFY_ON_SUBMIT": "off",
            }
        )
        with app.app_context():
            upgrade()
            rng = random.Random(2026)
            org = create_organisation("株式会社ベンチマーク", 2600, dt.date(2026, 5, 1), "Bench Corp")
            q = questionnaire("ai-adoption")
            t = time.perf_counter()
            first = create_campaign(org, "bench-1", "第1回", opens_on=dt.date(2026, 6, 1))
            fill(first, q, args.responses // 2, rng)
            camp = create_campaign(org, "bench-2", "第2回", opens_on=dt.date(2026, 10, 1))
            fill(camp, q, args.responses, rng)
            camp.consultant_note = "ベンチマーク用の所見。"
            create_user("bench@example.com", "ベンチ 太郎", "consultant", "correct-horse-battery", [org])
            db.session.commit()
            print(
                f"built {args.responses} + {args.responses // 2} (earlier wave) responses "
                f"in {time.perf_counter() - t:.1f} s"
            )
            fonts = find_fonts()
            html_to_pdf(MINIMAL, fonts)  # warm-up: font loading, CSS parsing
            render_report_pdf("bench-2", "ja")
            runs = {
                "full": lambda: render_report_pdf("bench-2", "ja"),
                "untagged": lambda: html_to_pdf(render_report_html("bench-2", "ja"), fonts, tagged=False),
                "minimal": lambda: html_to_pdf(MINIMAL, fonts),
            }
            wall: dict[str, list[float]] = {k: [] for k in runs}
            cpu: dict[str, list[float]] = {k: [] for k in runs}
            size = {}
            for _ in range(args.repeat):
                for name, run in runs.items():  # interleaved, so a busy moment hits all three
                    t, c = time.perf_counter(), time.process_time()
                    size[name] = len(run())
                    wall[name].append(time.perf_counter() - t)
                    cpu[name].append(time.process_time() - c)
            db.session.remove()
            db.engine.dispose()
    w = {k: statistics.median(v) for k, v in wall.items()}
    c = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"medians over {args.repeat} runs        wall      cpu")
    print(f"full report, tagged ({size['full'] / 1024:.0f} KiB)   {w['full']:6.2f} s {c['full']:6.2f} s")
    print(f"full report, untagged ({size['untagged'] / 1024:.0f} KiB) {w['untagged']:6.2f} s {c['untagged']:6.2f} s")
    print(f"minimal one-page PDF          {w['minimal']:6.2f} s {c['minimal']:6.2f} s")
    print(f"ratio full / minimal: {w['full'] / w['minimal']:.1f}x wall, {c['full'] / c['minimal']:.1f}x cpu; "
          f"tagging costs {w['full'] - w['untagged']:+.2f} s wall, {c['full'] - c['untagged']:+.2f} s cpu")


if __name__ == "__main__":
    main()
