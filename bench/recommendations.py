"""Measure the next-step engine offline on OULAD, against popularity and random, and time recommending for everyone.

Usage (from the project root, PostgreSQL and Redis running):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edupath_bench REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/recommendations.py [--oulad PATH] [--presentation 2014B] [--skip-import]

Use a database of its own: the run migrates it, imports OULAD (`manage.py import_oulad PATH`, idempotent;
`--skip-import` reuses an earlier import) and replaces the OULAD organisation's rankers and recommendations.

1. At each cut-off week 2, 4, ..., 20 of the presentation, train the OULAD school's ranker (recommendations.ranker)
   as the weekly job would have: on every view before the cut-off, each class's label weeks ending before it (for
   2014B at week 2: all of 2013B and 2013J's first 19 weeks; later, 2013J's later weeks and 2014B's own first weeks
   join). Nothing at or after the cut-off is used.
2. For each class of the presentation at that cut-off: every student who opens an item in the following 7 days
   that they had not opened before (the targets) gets 10 items from each strategy, using only views before the
   cut-off and never an item they had opened: the engine (the trained ranker over
   recommendations.engine's features), popularity (the items opened by the most classmates in the previous 7 days)
   and random. Figures: recall@10 (targets among the 10, over min(10, targets)), NDCG@10, hit-rate@10, item coverage
   (share of the presentation's items ever recommended), overall and for the quarter of students with the least
   activity so far (fewest item-days viewed before the cut-off, per class and cut-off).
3. Recommend for every student of the import (`recommendations.services.refresh_course`, which writes the rows the
   API and pages serve) as of week 10 of each class, all 15 classes: `recommend_s`.

The last line printed is:

    RESULT recall10=... pop_recall10=... ratio=... low_ratio=... ndcg10=... pop_ndcg10=... coverage=...
           recommend_s=... [more]   (one line)
"""

import argparse
import os
import sys
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from _support import migrate_and_import_oulad

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/edupath_bench"
K = 10
CUT_WEEKS = range(2, 21, 2)
RECOMMEND_WEEK = 10


def _metrics(recommended: list[int], targets: set[int]) -> tuple[float, float, float]:
    import math

    hits = [1.0 if item in targets else 0.0 for item in recommended[:K]]
    wanted = min(K, len(targets))
    dcg = sum(hit / math.log2(rank + 2) for rank, hit in enumerate(hits))
    ideal = sum(1 / math.log2(rank + 2) for rank in range(wanted))
    return sum(hits) / wanted, dcg / ideal, 1.0 if any(hits) else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--oulad", metavar="PATH", default="/work/shared/datasets/oulad", help="OULAD Parquet copy")
    parser.add_argument("--presentation", default="2014B", help="the presentation measured (default 2014B)")
    parser.add_argument("--skip-import", action="store_true", help="reuse the OULAD data already in the database")
    parser.add_argument("--skip-recommend", action="store_true", help="skip step 3 (recommending for everyone)")
    arguments = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    migrate_and_import_oulad(arguments.oulad, skip_import=arguments.skip_import)

    sys.path.insert(0, str(PROJECT_DIR))
    import django

    django.setup()
    import numpy as np

    from accounts.models import Organization
    from classroom.models import Course
    from recommendations import engine, ranker
    from recommendations.models import RankerVersion, Recommendation
    from recommendations.selectors import course_items, course_views

    organization = Organization.objects.get(slug="oulad")
    presentation = arguments.presentation
    courses = list(Course.objects.filter(organization=organization, code__endswith=f"-{presentation}").order_by("code"))
    if not courses:
        sys.exit(f"no OULAD class of presentation {presentation}: import it first")
    start = min(course.start_date for course in courses if course.start_date)

    RankerVersion.objects.filter(organization=organization).delete()
    strategies = ("engine", "popularity", "random")
    figures: dict[str, dict[str, list[tuple[float, float, float]]]] = {
        name: {"all": [], "low": []} for name in strategies
    }
    per_week: dict[str, dict[int, list[float]]] = {name: defaultdict(list) for name in strategies}
    per_week_low: dict[str, dict[int, list[float]]] = {name: defaultdict(list) for name in strategies}
    covered: dict[str, set[int]] = {name: set() for name in strategies}
    rng = np.random.default_rng(0)
    cache = ranker.TrainingCache()
    measured_views = {
        course.pk: course_views(
            course=course, student_ids=ranker.class_students(course), items=course_items(course.pk), until=date.max
        )
        for course in courses
    }
    item_total = sum(len(views.item_ids) for views in measured_views.values())
    train_s: list[float] = []
    began = time.perf_counter()
    for week in CUT_WEEKS:
        # the ranker as the weekly job would have left it: trained on every view before this cut-off
        until = datetime.combine(start + timedelta(weeks=week), datetime.min.time(), UTC)
        trained = time.perf_counter()
        version = ranker.ranker_train(organization_id=organization.pk, until=until, now=datetime.now(UTC), cache=cache)
        train_s.append(time.perf_counter() - trained)
        if version is None:
            sys.exit(f"the ranker found nothing to learn from before {until:%Y-%m-%d}")
        print(
            f"# week {week}: ranker trained on views before {until:%Y-%m-%d} in {train_s[-1]:.0f} s: "
            f"{version.samples} rows ({version.positives} positive) from {len(version.courses)} classes",
            flush=True,
        )
        for course in courses:
            views = measured_views[course.pk]
            assert course.start_date is not None
            cut = course.start_date.toordinal() + 7 * week
            ctx = engine.context_at(views, cut)
            targets = ranker.labels_at(views, cut, ctx.opened)
            measured = np.flatnonzero(targets.any(1))
            if not len(measured):
                continue
            threshold = np.quantile(ctx.activity[measured], 0.25)
            low = set(measured[ctx.activity[measured] <= threshold].tolist())
            scored = engine.score_context(ctx)
            scores = {
                "engine": ranker.ranker_scores(version, scored),
                "popularity": engine.popularity_scores(ctx),
                "random": rng.random(views.shape).astype(np.float32),
            }
            for name, score in scores.items():
                chosen = engine.top_items(score, ctx.opened, K)
                for student in measured:
                    recommended = [int(i) for i in chosen[student] if i >= 0]
                    covered[name].update(int(views.item_ids[i]) for i in recommended)
                    result = _metrics(recommended, set(np.flatnonzero(targets[student]).tolist()))
                    figures[name]["all"].append(result)
                    per_week[name][week].append(result[0])
                    if student in low:
                        figures[name]["low"].append(result)
                        per_week_low[name][week].append(result[0])
        print(f"# week {week}: measured ({time.perf_counter() - began:.0f} s so far)", flush=True)

    summary: dict[str, dict[str, float]] = {}
    for name in strategies:
        overall = np.mean(figures[name]["all"], axis=0)
        low_part = np.mean(figures[name]["low"], axis=0)
        summary[name] = {
            "recall": float(overall[0]),
            "ndcg": float(overall[1]),
            "hit": float(overall[2]),
            "low_recall": float(low_part[0]),
            "low_ndcg": float(low_part[1]),
            "coverage": len(covered[name]) / max(item_total, 1),
        }
        print(
            f"{name:<11} recall@10 {overall[0]:.4f}  NDCG@10 {overall[1]:.4f}  hit@10 {overall[2]:.4f}  "
            f"coverage {summary[name]['coverage']:.3f} | least active quarter: recall@10 {low_part[0]:.4f} "
            f"NDCG@10 {low_part[1]:.4f}  (students x cut-offs: {len(figures[name]['all'])}, "
            f"{len(figures[name]['low'])} in the quarter)"
        )
    print("recall@10 per cut-off week (engine / popularity / random; least active quarter engine / popularity):")
    for week in CUT_WEEKS:
        print(
            f"  week {week:>2}: {np.mean(per_week['engine'][week]):.3f} / {np.mean(per_week['popularity'][week]):.3f}"
            f" / {np.mean(per_week['random'][week]):.3f};  low {np.mean(per_week_low['engine'][week]):.3f} / "
            f"{np.mean(per_week_low['popularity'][week]):.3f}"
        )

    recommend_s = float("nan")
    students_done = 0
    if not arguments.skip_recommend:
        from recommendations.services import refresh_course

        Recommendation.objects.filter(organization=organization).delete()
        everyone = list(Course.objects.filter(organization=organization).order_by("code"))
        began = time.perf_counter()
        for course in everyone:
            assert course.start_date is not None
            as_of = datetime.combine(course.start_date + timedelta(weeks=RECOMMEND_WEEK), datetime.min.time(), UTC)
            students_done += refresh_course(course=course, as_of=as_of, whole_class=True).students
        recommend_s = time.perf_counter() - began
        written = Recommendation.objects.filter(organization=organization).count()
        print(
            f"# recommended for {students_done} students of {len(everyone)} classes in {recommend_s:.1f} s "
            f"({written} recommendations written)"
        )

    engine_, popular = summary["engine"], summary["popularity"]
    print(
        "RESULT "
        f"recall10={engine_['recall']:.4f} pop_recall10={popular['recall']:.4f} "
        f"ratio={engine_['recall'] / popular['recall']:.3f} "
        f"low_ratio={engine_['low_recall'] / popular['low_recall']:.3f} "
        f"ndcg10={engine_['ndcg']:.4f} pop_ndcg10={popular['ndcg']:.4f} coverage={engine_['coverage']:.3f} "
        f"recommend_s={recommend_s:.1f} low_recall10={engine_['low_recall']:.4f} "
        f"pop_low_recall10={popular['low_recall']:.4f} hit10={engine_['hit']:.4f} pop_hit10={popular['hit']:.4f} "
        f"random_recall10={summary['random']['recall']:.4f} pop_coverage={popular['coverage']:.3f} "
        f"train_s={sum(train_s):.0f} students={students_done}"
    )


if __name__ == "__main__":
    main()
