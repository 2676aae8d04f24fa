"""Training the next-step ranker of a school: what, among the features of recommendations.engine, tells which unopened
items a student opens in the following week.

Samples: every class of the organisation with views before `until`, seen at each week from its third (cut-offs
`c`), as long as the week after `c` also lies before `until` (features from views before `c`, labels from views in
`[c, c + 7)`: no look-ahead past `until`). Rows: each student who opened something new that week x each item they
had not opened; all positives and SAMPLE_NEGATIVES negatives per positive, each student weighted equally (1 / their
positives: the offline measure averages per student, and the least active open few items). A gradient-boosted model
(HistGradientBoostingClassifier) is fitted and stored with skops (only TRUSTED_TYPES load; nothing executes).
The offline benchmark (bench/recommendations.py) measures it against popularity on classes it did not learn from.
"""

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import sklearn
import skops
import skops.io
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from classroom.models import Course, Enrollment
from recommendations import engine
from recommendations.models import RankerVersion
from recommendations.selectors import course_items, course_views

SAMPLE_NEGATIVES = 8
FIRST_CUT_WEEK = 2
MAX_WEEKS = 40
MIN_POSITIVES = 200
PARAMETERS = {"max_iter": 200, "learning_rate": 0.1, "max_leaf_nodes": 31, "random_state": 0}
TRUSTED_TYPES = [
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.int64",
    "numpy.random.mtrand.RandomState",
    "numpy.random._mt19937.MT19937",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
]


def labels_at(views: engine.CourseViews, cut: int, opened: engine.BoolArray) -> engine.BoolArray:
    """Items each student opened in [cut, cut + 7) and had not opened before `cut`."""
    window = (views.days >= cut) & (views.days < cut + engine.WINDOW)
    later = np.zeros(views.shape, bool)
    later[views.student_index[window], views.item_index[window]] = True
    result: engine.BoolArray = later & ~opened
    return result


def class_students(course: Course) -> list[int]:
    """Every student ever enrolled in the class (training and the benchmark look back at whole classes)."""
    return list(Enrollment.objects.filter(course=course, role="student").values_list("user_id", flat=True))


Part = tuple[np.ndarray, np.ndarray, np.ndarray]


def _samples(views: engine.CourseViews, cut: int) -> Part | None:
    """The rows of one class at one cut-off (negatives drawn with a seed of the class and the day: the same rows
    whenever they are drawn)."""
    ctx = engine.context_at(views, cut)
    targets = labels_at(views, cut, ctx.opened)
    per_student = targets.sum(1)
    if not per_student.any():
        return None
    scored = engine.score_context(ctx)
    keep = ~ctx.opened & (per_student > 0)[:, None]
    features = scored.features[keep]
    outcome = targets[keep]
    weight = np.broadcast_to((1.0 / np.maximum(per_student, 1))[:, None], views.shape)[keep]
    positives = np.flatnonzero(outcome)
    negatives = np.flatnonzero(~outcome)
    rng = np.random.default_rng([views.course_id, cut])
    negatives = rng.choice(negatives, min(len(negatives), len(positives) * SAMPLE_NEGATIVES), replace=False)
    chosen = np.concatenate([positives, negatives])
    return features[chosen], outcome[chosen], weight[chosen]


@dataclass
class TrainingCache:
    """Views per class and rows per (class, cut-off), kept between trainings of one process (the benchmark retrains
    as its cut-offs move, as the weekly job does). Rows of a cut-off depend only on views before cut-off + 7 days,
    so a class's views may be loaded whole: what a training uses is still bounded by its `until`."""

    views: dict[int, engine.CourseViews] = field(default_factory=dict)
    parts: dict[tuple[int, int], Part | None] = field(default_factory=dict)


def training_parts(
    *, organization_id: int, until: datetime, cache: TrainingCache | None = None
) -> tuple[list[Part], list[str]]:
    """Every (class, cut-off) whose following week ends before `until`: their rows, and the classes' codes."""
    until_day = until.date()
    parts: list[Part] = []
    codes: list[str] = []
    courses = Course.objects.filter(
        organization_id=organization_id,
        start_date__isnull=False,
        start_date__lt=until_day - timedelta(days=7 * FIRST_CUT_WEEK + engine.WINDOW),
    )
    for course in courses.order_by("start_date", "id"):
        if cache is not None and course.pk in cache.views:
            views = cache.views[course.pk]
        else:
            items = course_items(course.pk)
            load_until = date.max if cache is not None else until_day
            views = course_views(course=course, student_ids=class_students(course), items=items, until=load_until)
            if cache is not None:
                cache.views[course.pk] = views
        if not len(views.days):
            continue
        start = course.start_date.toordinal()  # type: ignore[union-attr]
        last = until_day.toordinal() - engine.WINDOW  # the label week must end before `until`
        if course.end_date:
            last = min(last, course.end_date.toordinal())
        used = False
        for week in range(FIRST_CUT_WEEK, MAX_WEEKS + 1):
            cut = start + 7 * week
            if cut > last:
                break
            key = (course.pk, cut)
            if cache is not None and key in cache.parts:
                part = cache.parts[key]
            else:
                with threadpool_limits(limits=1):
                    part = _samples(views, cut)
                if cache is not None:
                    cache.parts[key] = part
            if part is not None:
                parts.append(part)
                used = True
        if used:
            codes.append(course.code)
    return parts, codes


def ranker_train(
    *, organization_id: int, until: datetime, now: datetime, cache: TrainingCache | None = None
) -> RankerVersion | None:
    """Fit and store a ranker on the organisation's views before `until`; None when there is too little to learn."""
    started = time.perf_counter()
    parts, codes = training_parts(organization_id=organization_id, until=until, cache=cache)
    if not parts:
        return None
    features = np.concatenate([part[0] for part in parts])
    outcome = np.concatenate([part[1] for part in parts])
    weight = np.concatenate([part[2] for part in parts])
    if int(outcome.sum()) < MIN_POSITIVES:
        return None
    model = HistGradientBoostingClassifier(**PARAMETERS)
    model.fit(features, outcome, sample_weight=weight)
    return RankerVersion.objects.create(
        organization_id=organization_id,
        created_at=now,
        trained_until=until,
        courses=codes,
        samples=len(outcome),
        positives=int(outcome.sum()),
        features=list(engine.FEATURES),
        parameters=PARAMETERS,
        library_versions={"scikit-learn": sklearn.__version__, "numpy": np.__version__, "skops": skops.__version__},
        seconds=round(time.perf_counter() - started, 2),
        artifact=skops.io.dumps(model),
    )


def latest_version(organization_id: int, *, before: datetime | None = None) -> RankerVersion | None:
    versions = RankerVersion.objects.filter(organization_id=organization_id, features=list(engine.FEATURES))
    if before is not None:
        versions = versions.filter(trained_until__lte=before)
    return versions.order_by("-created_at", "-id").first()


@lru_cache(maxsize=8)
def _loaded(version_id: int, artifact: bytes) -> Any:
    return skops.io.loads(artifact, trusted=TRUSTED_TYPES)


def ranker_scores(version: RankerVersion | None, scored: engine.Scored) -> engine.FloatArray:
    """Probabilities from the version's model; the heuristic blend when there is none."""
    if version is None:
        return engine.heuristic_scores(scored)
    model = _loaded(version.pk, bytes(version.artifact))
    flat = scored.features.reshape(-1, scored.features.shape[-1])
    with threadpool_limits(limits=1):
        probability = model.predict_proba(flat)[:, 1]
    return probability.reshape(scored.features.shape[:2]).astype(np.float32)


def cut_of(day: date) -> int:
    return day.toordinal()
