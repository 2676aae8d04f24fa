"""Measure the at-risk model on presentations it never saw: OULAD 2014B, trained on 2013B and 2013J only.

Usage (from the project root, PostgreSQL and Redis running):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edupath_bench_risk REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/risk.py [--oulad PATH] [--skip-import]

Use a database of its own: the run migrates it, imports OULAD into it (`manage.py import_oulad PATH`, idempotent:
`--skip-import` reuses an earlier import), and replaces the OULAD organisation's model versions and predictions.

1. Train (`risk.training.train`) as of the first midnight after the last 2013 presentation ended. Every 2014B
   presentation is still running then, so only 2013B and 2013J have results to learn from. (The issue says "just
   before 2014B starts"; but a J presentation starts in October and runs into the next summer, so at that moment
   2013J had not ended and only 2013B could be learnt from. Features are always computed as of each sampled moment,
   so no 2014 data reaches a 2013 sample, and no 2014B result reaches the model.)
2. Score (`risk.scoring.score`, with alerts) the running courses as of weeks 0, 5, 10 and 20 of 2014B (which all
   start on 1 February 2014; 2013J is still running at weeks 0 to 20 and is scored too, as the nightly job would).
   Only the 2014B enrolments are measured, against their imported final results (at risk = fail or withdrawn), with
   students already withdrawn at that moment left out (they are not active, so not scored).
3. Beside it, on the same 2014B enrolments and moments: the rules (number of rules fired as the score) and a
   logistic regression on the same features, trained on the same samples and calibrated the same way.
4. Scale: features, probabilities and factors of all OULAD enrolments (about 21 000) at week 10 of their courses in
   one pass (`score_all_s`); peak resident memory of this process (training and scoring included).

The last line printed is:

    RESULT auc_w5=... auc_w10=... brier_w5=... rules_auc_w5=... logreg_auc_w5=... train_s=... score_s=...
           peak_rss_mb=... [and the other weeks' figures]   (one line)
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/edupath_bench_risk"
WEEKS = [0, 5, 10, 20]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--oulad", metavar="PATH", default="/work/shared/datasets/oulad", help="OULAD Parquet copy")
    parser.add_argument("--skip-import", action="store_true", help="reuse the OULAD data already in the database")
    arguments = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    from _support import migrate_and_import_oulad  # here: this process's peak memory is measured

    migrate_and_import_oulad(arguments.oulad, skip_import=arguments.skip_import)

    sys.path.insert(0, str(PROJECT_DIR))
    import django

    django.setup()
    run()


def run() -> None:
    import numpy as np
    from sklearn.metrics import brier_score_loss, roc_auc_score

    from analytics.importers.oulad import organization_for_oulad
    from classroom.models import Course, Enrollment
    from risk.explain import model_factors, perturbation_changes
    from risk.features import features_as_of, features_at
    from risk.models import ModelVersion, Prediction
    from risk.rules import rules_score
    from risk.scoring import score
    from risk.training import (
        AT_RISK,
        calibrated_model,
        candidates,
        course_end,
        course_moment,
        cross_validated,
        folds_of,
        model_load,
        train,
        training_samples,
    )

    organization = organization_for_oulad()
    courses = list(Course.objects.filter(organization=organization))
    earlier = [course for course in courses if course.code.endswith(("2013B", "2013J"))]
    tested = [course for course in courses if course.code.endswith("2014B")]
    if not earlier or not tested:
        raise SystemExit("The database holds no OULAD 2013 / 2014B presentations: run without --skip-import.")
    train_as_of = max(course_end(course) for course in earlier)
    if train_as_of >= min(course_end(course) for course in tested):
        raise SystemExit("A 2014B presentation ended before the last 2013 one: the split would leak.")

    # A clean slate for this organisation, so the version trained here is the active one.
    Prediction.objects.filter(course__organization=organization).delete()
    ModelVersion.objects.filter(organization=organization).delete()

    began = time.perf_counter()
    version = train(as_of=train_as_of, organization=organization)
    train_seconds = time.perf_counter() - began
    print(
        f"# trained as of {train_as_of:%Y-%m-%d %H:%M %Z}: {version.algorithm}, {version.training['samples']} samples "
        f"of {version.training['enrollments']} enrolments in {len(version.training['courses'])} courses, "
        f"cross-validated AUC {version.metrics['roc_auc']:.3f} (candidates: "
        + ", ".join(f"{name} {figures['roc_auc']:.3f}" for name, figures in version.metrics["candidates"].items())
        + f"), status {version.status}, {train_seconds:.0f} s",
        flush=True,
    )
    if version.status != ModelVersion.Status.ACTIVE:
        raise SystemExit(f"The trained version was not activated: {version.decision}")

    samples = training_samples(as_of=train_as_of, organization=organization)
    logistic_regression = candidates()["logistic_regression"]
    raw, _ = cross_validated(logistic_regression, samples, folds_of(samples))
    baseline = calibrated_model(logistic_regression, samples, raw)

    outcome = dict(
        Enrollment.objects.filter(course__in=tested, role=Enrollment.Role.STUDENT)
        .exclude(final_result="")
        .values_list("id", "final_result")
    )
    figures: dict[str, float] = {}
    score_seconds: dict[int, float] = {}
    start = course_moment(tested[0], 0)
    assert all(course_moment(course, 0) == start for course in tested), "2014B presentations start together"
    for week in WEEKS:
        as_of = course_moment(tested[0], week)
        began = time.perf_counter()
        predictions = score(as_of=as_of, organization=organization)
        score_seconds[week] = time.perf_counter() - began
        measured = [p for p in predictions if p.enrollment_id in outcome and p.probability is not None]
        labels = np.array([outcome[p.enrollment_id] in AT_RISK for p in measured], dtype=int)
        probabilities = np.array([p.probability for p in measured])
        table = features_as_of([p.enrollment_id for p in measured], as_of)
        rules = rules_score(table)
        logistic = baseline.predict_proba(table.values)[:, 1]
        figures[f"auc_w{week}"] = roc_auc_score(labels, probabilities)
        figures[f"brier_w{week}"] = brier_score_loss(labels, probabilities)
        figures[f"rules_auc_w{week}"] = roc_auc_score(labels, rules)
        figures[f"logreg_auc_w{week}"] = roc_auc_score(labels, logistic)
        figures[f"logreg_brier_w{week}"] = brier_score_loss(labels, logistic)
        levels = {level: sum(p.level == level for p in predictions) for level in Prediction.Level.values}
        print(
            f"# week {week:>2} ({as_of:%Y-%m-%d}): {len(predictions)} scored in {score_seconds[week]:.1f} s, "
            f"{len(measured)} of 2014B measured (at risk {labels.mean():.2f}); model AUC "
            f"{figures[f'auc_w{week}']:.3f} Brier {figures[f'brier_w{week}']:.3f}; rules AUC "
            f"{figures[f'rules_auc_w{week}']:.3f}; logistic regression AUC {figures[f'logreg_auc_w{week}']:.3f} "
            f"Brier {figures[f'logreg_brier_w{week}']:.3f}; levels {levels}",
            flush=True,
        )

    # Scale: every enrolment of the import at week 10 of its course, features + probabilities + factors.
    everyone = list(
        Enrollment.objects.filter(course__organization=organization, role=Enrollment.Role.STUDENT).values_list(
            "id", "course_id"
        )
    )
    by_id = {course.pk: course for course in courses}
    model = model_load(version)
    began = time.perf_counter()
    table = features_at([e for e, _ in everyone], [course_moment(by_id[c], 10) for _, c in everyone])
    rows = np.arange(len(table))
    _, changes = perturbation_changes(model, table, rows)
    model_factors(changes, table, rows)
    score_all_seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# all {len(everyone)} OULAD enrolments at week 10 of their course: {score_all_seconds:.1f} s", flush=True)

    headline = ("auc_w5", "auc_w10", "brier_w5", "rules_auc_w5", "logreg_auc_w5")
    others = " ".join(f"{name}={figures[name]:.3f}" for name in sorted(figures) if name not in headline)
    print(
        f"RESULT auc_w5={figures['auc_w5']:.3f} auc_w10={figures['auc_w10']:.3f} brier_w5={figures['brier_w5']:.3f} "
        f"rules_auc_w5={figures['rules_auc_w5']:.3f} logreg_auc_w5={figures['logreg_auc_w5']:.3f} "
        f"train_s={train_seconds:.1f} score_s={score_seconds[5]:.1f} peak_rss_mb={peak_mb:.0f} "
        f"score_all_s={score_all_seconds:.1f} enrolments_all={len(everyone)} {others}",
        flush=True,
    )


if __name__ == "__main__":
    main()
