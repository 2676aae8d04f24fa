"""Fake schools shaped exactly like Google Classroom v1 REST answers, for tests and the benchmark.

Everything here is plain Python (no Django): `FakeSchool` holds the JSON dicts the Classroom API would return
(field names from the bundled discovery document, timestamps as RFC 3339 'Z' strings with milliseconds, zero-valued
fields omitted as Google's proto3 JSON does), and `school_generate` builds one deterministically from a seed.
"""

import base64
import gc
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

JSON = dict[str, Any]

TERM_DAYS = 120
_DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

GIVEN_NAMES = [
    "Ada",
    "Alan",
    "Amara",
    "Ana",
    "Ben",
    "Carla",
    "Chen",
    "Dara",
    "Eli",
    "Emma",
    "Farah",
    "Finn",
    "Grace",
    "Hana",
    "Ivan",
    "Jon",
    "Kai",
    "Lena",
    "Liam",
    "Maya",
    "Mia",
    "Noah",
    "Nora",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sam",
    "Sara",
    "Tariq",
    "Uma",
    "Vera",
    "Wen",
    "Yara",
    "Zoe",
]
FAMILY_NAMES = [
    "Adams",
    "Baker",
    "Chowdhury",
    "Costa",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Khan",
    "Kowalski",
    "Lee",
    "Martin",
    "Moreau",
    "Nakamura",
    "Novak",
    "Okafor",
    "Patel",
    "Quispe",
    "Rossi",
    "Silva",
    "Smith",
    "Tanaka",
    "Umar",
    "Varga",
    "Weber",
    "Xu",
    "Young",
    "Zhang",
]
SUBJECTS = [
    "Algebra",
    "Biology",
    "Chemistry",
    "Drama",
    "English",
    "Geography",
    "History",
    "Music",
    "Physics",
    "Spanish",
    "Statistics",
]
TOPIC_NAMES = ["Unit 1", "Unit 2", "Unit 3", "Unit 4", "Unit 5", "Revision", "Projects", "Homework", "Labs", "Reading"]

# How a generated submission's state is drawn (cumulative): most work is turned in or already returned.
_STATE_WEIGHTS = (
    ("NEW", 0.06),
    ("CREATED", 0.16),
    ("TURNED_IN", 0.46),
    ("RETURNED", 0.96),
    ("RECLAIMED_BY_STUDENT", 1.0),
)


def _draw_state(draw: float) -> str:
    for name, bound in _STATE_WEIGHTS:
        if draw < bound:
            return name
    return "RECLAIMED_BY_STUDENT"


# -- timestamps ---------------------------------------------------------------------------------------------------
# Formatting 400 000 timestamps through datetime.strftime takes seconds; the part up to the hour is cached.
_hour_prefix_cache: dict[int, str] = {}


def rfc3339(milliseconds: int) -> str:
    """Epoch milliseconds → '2026-09-01T08:30:00.123Z' (Google's format)."""
    hour, rest = divmod(milliseconds, 3_600_000)
    prefix = _hour_prefix_cache.get(hour)
    if prefix is None:
        prefix = (_EPOCH + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:")
        _hour_prefix_cache[hour] = prefix
    minute, rest = divmod(rest, 60_000)
    second, millis = divmod(rest, 1000)
    return f"{prefix}{minute:02d}:{second:02d}.{millis:03d}Z"


def to_milliseconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return int((moment - _EPOCH) / timedelta(milliseconds=1))


def parse_rfc3339(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def due_milliseconds(course_work: JSON) -> int | None:
    """The due moment of a courseWork (dueDate + dueTime, UTC), or None when it has no due date."""
    due_date = course_work.get("dueDate")
    if not due_date:
        return None
    due_time = course_work.get("dueTime", {})
    moment = datetime(
        due_date["year"],
        due_date["month"],
        due_date["day"],
        due_time.get("hours", 0),
        due_time.get("minutes", 0),
        tzinfo=UTC,
    )
    return to_milliseconds(moment)


# -- the school ---------------------------------------------------------------------------------------------------
@dataclass
class FakeSchool:
    domain: str = "school.example"
    start: datetime = datetime(2026, 9, 1, tzinfo=UTC)
    courses: dict[str, JSON] = field(default_factory=dict)
    teachers: dict[str, list[JSON]] = field(default_factory=dict)
    students: dict[str, list[JSON]] = field(default_factory=dict)
    topics: dict[str, list[JSON]] = field(default_factory=dict)
    course_work: dict[str, list[JSON]] = field(default_factory=dict)
    materials: dict[str, list[JSON]] = field(default_factory=dict)
    submissions: dict[tuple[str, str], list[JSON]] = field(default_factory=dict)
    announcements: dict[str, list[JSON]] = field(default_factory=dict)
    # userId → userProfile (id, name, emailAddress, verifiedTeacher for teachers): every person in the school.
    users: dict[str, JSON] = field(default_factory=dict)
    # The fake server reads while a test mutates: both hold this lock.
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False, compare=False)
    _next_number: int = field(default=0, repr=False, compare=False)

    # -- look-ups ---------------------------------------------------------------------------------------------
    def user_by_email(self, email: str) -> JSON | None:
        email = email.lower()
        for profile in self.users.values():
            if profile["emailAddress"].lower() == email:
                return profile
        return None

    def teacher_course_ids(self, user_id: str) -> list[str]:
        return [
            course_id
            for course_id, teachers in self.teachers.items()
            if any(teacher["userId"] == user_id for teacher in teachers)
        ]

    def student_course_ids(self, user_id: str) -> list[str]:
        return [
            course_id
            for course_id, students in self.students.items()
            if any(student["userId"] == user_id for student in students)
        ]

    def all_submissions(self) -> list[JSON]:
        return [submission for submissions in self.submissions.values() for submission in submissions]

    def course_work_by_id(self, course_id: str, course_work_id: str) -> JSON | None:
        for item in self.course_work.get(course_id, []):
            if item["id"] == course_work_id:
                return item
        return None

    # -- ids --------------------------------------------------------------------------------------------------
    def new_numeric_id(self, digits: int = 12) -> str:
        return str(self._rng.randrange(10 ** (digits - 1), 10**digits))

    def new_submission_id(self) -> str:
        # Google's submission ids are base64 protobuf keys starting "Cg4I"/"Cg0I"; the rest only has to be unique.
        raw = self._rng.getrandbits(96).to_bytes(12, "big")
        return "Cg4I" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _new_user_number(self) -> int:
        self._next_number += 1
        return self._next_number

    # -- mutators tests need ----------------------------------------------------------------------------------
    def add_student(
        self,
        course_id: str,
        *,
        given_name: str = "New",
        family_name: str = "Student",
        email: str | None = None,
        at: datetime | None = None,
    ) -> JSON:
        """Enrol a new student (with a CREATED submission for every courseWork of the course); returns them."""
        with self.lock:
            number = self._new_user_number()
            user_id = self.new_numeric_id(21)
            email = email or f"{given_name.lower()}.{family_name.lower()}{number}@{self.domain}"
            profile = _profile(user_id, given_name, family_name, email, teacher=False)
            self.users[user_id] = profile
            student = {"courseId": course_id, "userId": user_id, "profile": profile}
            self.students.setdefault(course_id, []).append(student)
            moment = to_milliseconds(at) if at else to_milliseconds(self.start)
            for item in self.course_work.get(course_id, []):
                self.submissions.setdefault((course_id, item["id"]), []).append(
                    _submission(
                        self.new_submission_id(),
                        item,
                        user_id,
                        "CREATED",
                        created=moment,
                        turned_in=None,
                        graded=None,
                        grade=None,
                        draft_only=False,
                        teacher_id=item["creatorUserId"],
                        due=None,
                    )
                )
            return student

    def remove_student(self, course_id: str, user_id: str) -> None:
        """Unenrol a student; like Google, their submissions disappear from the course's lists."""
        with self.lock:
            self.students[course_id] = [s for s in self.students.get(course_id, []) if s["userId"] != user_id]
            for item in self.course_work.get(course_id, []):
                key = (course_id, item["id"])
                self.submissions[key] = [s for s in self.submissions.get(key, []) if s["userId"] != user_id]

    def touch_course_work(
        self, course_id: str, course_work_id: str, *, at: datetime, title: str | None = None, **changes: Any
    ) -> JSON:
        """Edit a courseWork (title or any other field) and bump its updateTime to `at`."""
        with self.lock:
            item = self.course_work_by_id(course_id, course_work_id)
            if item is None:
                raise KeyError(course_work_id)
            if title is not None:
                item["title"] = title
            item.update(changes)
            item["updateTime"] = rfc3339(to_milliseconds(at))
            return item

    def change_submissions(self, *, fraction: float, at: datetime, seed: int = 2) -> int:
        """Move `fraction` of all submissions one step along (turn in, grade and return, reclaim, open) at `at`."""
        rng = random.Random(seed)
        moment = to_milliseconds(at)
        stamp = rfc3339(moment)
        changed = 0
        with self.lock:
            for (course_id, course_work_id), submissions in self.submissions.items():
                item = self.course_work_by_id(course_id, course_work_id)
                if item is None:
                    continue
                teacher_id = item["creatorUserId"]
                due = due_milliseconds(item)
                max_points = item.get("maxPoints")
                for submission in submissions:
                    if rng.random() >= fraction:
                        continue
                    _advance(submission, rng, moment, stamp, due, max_points, teacher_id)
                    changed += 1
        return changed


def _advance(
    submission: JSON,
    rng: random.Random,
    moment: int,
    stamp: str,
    due: int | None,
    max_points: float | None,
    teacher_id: str,
) -> None:
    history = submission.setdefault("submissionHistory", [])
    student_id = submission["userId"]
    state = submission["state"]
    if state in ("NEW", "CREATED", "RECLAIMED_BY_STUDENT"):
        submission["state"] = "TURNED_IN"
        history.append(_state_entry("TURNED_IN", stamp, student_id))
        if due is not None and moment > due:
            submission["late"] = True
        else:
            submission.pop("late", None)
    else:
        # TURNED_IN gets graded and returned; RETURNED gets regraded (a teacher correcting a mark).
        if max_points is not None:
            grade = float(rng.randint(int(max_points * 0.4), int(max_points)))
            submission["draftGrade"] = grade
            submission["assignedGrade"] = grade
            history.append(_grade_entry(grade, max_points, stamp, teacher_id, "DRAFT_GRADE_POINTS_EARNED_CHANGE"))
            history.append(_grade_entry(grade, max_points, stamp, teacher_id, "ASSIGNED_GRADE_POINTS_EARNED_CHANGE"))
        submission["state"] = "RETURNED"
        history.append(_state_entry("RETURNED", stamp, teacher_id))
    submission["updateTime"] = stamp


# -- JSON builders ------------------------------------------------------------------------------------------------
def _profile(user_id: str, given: str, family: str, email: str, *, teacher: bool) -> JSON:
    profile: JSON = {
        "id": user_id,
        "name": {"givenName": given, "familyName": family, "fullName": f"{given} {family}"},
        "emailAddress": email,
    }
    if teacher:
        profile["verifiedTeacher"] = True
    return profile


def _state_entry(state: str, stamp: str, actor: str) -> JSON:
    return {"stateHistory": {"state": state, "stateTimestamp": stamp, "actorUserId": actor}}


def _grade_entry(points: float, max_points: float, stamp: str, actor: str, change: str) -> JSON:
    return {
        "gradeHistory": {
            "pointsEarned": points,
            "maxPoints": max_points,
            "gradeTimestamp": stamp,
            "actorUserId": actor,
            "gradeChangeType": change,
        }
    }


def _submission(
    submission_id: str,
    item: JSON,
    user_id: str,
    state: str,
    *,
    created: int,
    turned_in: int | None,
    graded: int | None,
    grade: float | None,
    draft_only: bool,
    teacher_id: str,
    due: int | None,
) -> JSON:
    created_stamp = rfc3339(created)
    history = [_state_entry("CREATED", created_stamp, user_id)]
    submission: JSON = {
        "courseId": item["courseId"],
        "courseWorkId": item["id"],
        "id": submission_id,
        "userId": user_id,
        "creationTime": created_stamp,
        "updateTime": created_stamp,
        "state": state,
        "alternateLink": f"{item['alternateLink']}/submissions/by-status/and-sort-last-name/student/{user_id}",
        "courseWorkType": item["workType"],
        "submissionHistory": history,
    }
    work_type = item["workType"]
    if work_type == "ASSIGNMENT":
        submission["assignmentSubmission"] = {}
    last_stamp = created_stamp
    if turned_in is not None:
        stamp = rfc3339(turned_in)
        history.append(_state_entry("TURNED_IN", stamp, user_id))
        if work_type == "SHORT_ANSWER_QUESTION":
            submission["shortAnswerSubmission"] = {"answer": "My answer"}
        elif work_type == "MULTIPLE_CHOICE_QUESTION":
            submission["multipleChoiceSubmission"] = {"answer": item["multipleChoiceQuestion"]["choices"][0]}
        if due is not None and turned_in > due:
            submission["late"] = True
        last_stamp = stamp
    if graded is not None:
        stamp = rfc3339(graded)
        max_points = item.get("maxPoints")
        if grade is not None and max_points is not None:
            submission["draftGrade"] = grade
            history.append(_grade_entry(grade, max_points, stamp, teacher_id, "DRAFT_GRADE_POINTS_EARNED_CHANGE"))
            if not draft_only:
                submission["assignedGrade"] = grade
                history.append(
                    _grade_entry(grade, max_points, stamp, teacher_id, "ASSIGNED_GRADE_POINTS_EARNED_CHANGE")
                )
        if state == "RETURNED":
            history.append(_state_entry("RETURNED", stamp, teacher_id))
        elif state == "RECLAIMED_BY_STUDENT":
            history.append(_state_entry("RECLAIMED_BY_STUDENT", stamp, user_id))
        last_stamp = stamp
    submission["updateTime"] = last_stamp
    return submission


# -- the generator ------------------------------------------------------------------------------------------------
def school_generate(
    *,
    courses: int,
    students_per_course: int,
    course_work_per_course: int,
    materials_per_course: int = 2,
    topics_per_course: int = 3,
    teachers: int | None = None,
    domain: str = "school.example",
    archived: int = 0,
    seed: int = 1,
    start: datetime = datetime(2026, 9, 1, tzinfo=UTC),
) -> FakeSchool:
    """A deterministic school: every student in one course, one submission per (courseWork, student).

    Teachers default to one per three courses; course i is owned by teacher i mod teachers and, when there is more
    than one teacher, co-taught by the next one. The last `archived` courses are ARCHIVED. Everything happens
    within TERM_DAYS days from `start`, in order (creation ≤ turn-in ≤ grading ≤ term end).
    """
    # The generator allocates ~1M small dicts; the cyclic GC rescanning them all repeatedly doubles the run time,
    # and nothing built here forms a cycle worth collecting.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _school_generate(
            courses=courses,
            students_per_course=students_per_course,
            course_work_per_course=course_work_per_course,
            materials_per_course=materials_per_course,
            topics_per_course=topics_per_course,
            teachers=teachers,
            domain=domain,
            archived=archived,
            seed=seed,
            start=start,
        )
    finally:
        if gc_was_enabled:
            gc.enable()


def _school_generate(
    *,
    courses: int,
    students_per_course: int,
    course_work_per_course: int,
    materials_per_course: int,
    topics_per_course: int,
    teachers: int | None,
    domain: str,
    archived: int,
    seed: int,
    start: datetime,
) -> FakeSchool:
    rng = random.Random(seed)
    school = FakeSchool(domain=domain, start=start, _rng=rng)
    teacher_count = teachers if teachers is not None else max(1, (courses + 2) // 3)
    term_start = to_milliseconds(start)
    term_end = term_start + TERM_DAYS * _DAY_MS
    ids: set[str] = set()

    def unique_id(digits: int) -> str:
        while True:
            candidate = str(rng.randrange(10 ** (digits - 1), 10**digits))
            if candidate not in ids:
                ids.add(candidate)
                return candidate

    def person(teacher: bool) -> JSON:
        number = school._new_user_number()
        given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
        if teacher and number == 1:
            email = f"teacher0@{domain}"
        else:
            email = f"{given.lower()}.{family.lower()}{number}@{domain}"
        profile = _profile(unique_id(21), given, family, email, teacher=teacher)
        school.users[profile["id"]] = profile
        return profile

    teacher_profiles = [person(teacher=True) for _ in range(teacher_count)]

    for course_index in range(courses):
        course_id = unique_id(12)
        owner = teacher_profiles[course_index % teacher_count]
        course_teachers = [owner]
        if teacher_count > 1:
            course_teachers.append(teacher_profiles[(course_index + 1) % teacher_count])
        created = term_start - rng.randint(3, 20) * _DAY_MS + rng.randint(0, _DAY_MS - 1)
        link = f"https://classroom.google.com/c/{base64.urlsafe_b64encode(course_id.encode()).decode().rstrip('=')}"
        subject = SUBJECTS[course_index % len(SUBJECTS)]
        state = "ARCHIVED" if course_index >= courses - archived else "ACTIVE"
        school.courses[course_id] = {
            "id": course_id,
            "name": f"{subject} {course_index // len(SUBJECTS) + 1}",
            "section": f"Group {chr(ord('A') + course_index % 6)}",
            "descriptionHeading": f"{subject} — autumn term",
            "room": f"R{100 + course_index}",
            "ownerId": owner["id"],
            "creationTime": rfc3339(created),
            "updateTime": rfc3339(created + rng.randint(0, 3 * _DAY_MS)),
            "courseState": state,
            "alternateLink": link,
            "teacherGroupEmail": f"{subject.lower()}_teachers_{course_id}@{domain}",
            "courseGroupEmail": f"{subject.lower()}_{course_id}@{domain}",
            "guardiansEnabled": False,
            "calendarId": f"classroom{course_id}@group.calendar.google.com",
        }
        school.teachers[course_id] = [
            {"courseId": course_id, "userId": teacher["id"], "profile": teacher} for teacher in course_teachers
        ]
        student_profiles = [person(teacher=False) for _ in range(students_per_course)]
        school.students[course_id] = [
            {"courseId": course_id, "userId": student["id"], "profile": student} for student in student_profiles
        ]
        school.topics[course_id] = [
            {
                "courseId": course_id,
                "topicId": unique_id(12),
                "name": TOPIC_NAMES[index % len(TOPIC_NAMES)],
                "updateTime": rfc3339(term_start + index * _DAY_MS + rng.randint(0, _DAY_MS - 1)),
            }
            for index in range(topics_per_course)
        ]
        topic_ids = [topic["topicId"] for topic in school.topics[course_id]]

        school.materials[course_id] = []
        for index in range(materials_per_course):
            material_id = unique_id(12)
            posted = term_start + rng.randint(0, TERM_DAYS - 10) * _DAY_MS + rng.randint(0, _DAY_MS - 1)
            material: JSON = {
                "courseId": course_id,
                "id": material_id,
                "title": f"Reading {index + 1}",
                "state": "PUBLISHED",
                "alternateLink": f"{link}/m/{material_id}/details",
                "creationTime": rfc3339(posted),
                "updateTime": rfc3339(posted + rng.randint(0, 2 * _DAY_MS)),
                "assigneeMode": "ALL_STUDENTS",
                "creatorUserId": owner["id"],
            }
            if topic_ids:
                material["topicId"] = topic_ids[index % len(topic_ids)]
            school.materials[course_id].append(material)

        school.course_work[course_id] = []
        school.announcements[course_id] = []
        # Coursework is spread evenly over the term (leaving room for the last due date and grading).
        spacing = (TERM_DAYS - 21) * _DAY_MS // max(1, course_work_per_course)
        for index in range(course_work_per_course):
            work_id = unique_id(12)
            posted = term_start + index * spacing + rng.randint(0, _DAY_MS - 1)
            work_type = rng.choices(
                ("ASSIGNMENT", "SHORT_ANSWER_QUESTION", "MULTIPLE_CHOICE_QUESTION"), weights=(8, 1, 1)
            )[0]
            item: JSON = {
                "courseId": course_id,
                "id": work_id,
                "title": f"{subject} task {index + 1}",
                "description": f"Complete task {index + 1}.",
                "state": "PUBLISHED",
                "alternateLink": f"{link}/a/{work_id}/details",
                "creationTime": rfc3339(posted),
                "updateTime": rfc3339(posted + rng.randint(0, 6 * 3_600_000)),
                "workType": work_type,
                "submissionModificationMode": "MODIFIABLE_UNTIL_TURNED_IN",
                "assigneeMode": "ALL_STUDENTS",
                "creatorUserId": owner["id"],
            }
            if work_type == "MULTIPLE_CHOICE_QUESTION":
                item["multipleChoiceQuestion"] = {"choices": ["Yes", "No", "Maybe"]}
            if rng.random() < 0.85:
                item["maxPoints"] = float(rng.choice((10, 20, 50, 100)))
            if topic_ids and rng.random() < 0.8:
                item["topicId"] = topic_ids[index % len(topic_ids)]
            due: int | None = None
            if rng.random() < 0.85:
                due_day = datetime.fromtimestamp(posted // 1000, UTC).date() + timedelta(days=rng.randint(3, 10))
                # Google omits zero fields: a due time on the hour comes back as {"hours": h} without minutes.
                hours, minutes = rng.choice(((23, 59), (22, 0), (15, 30), (7, 0)))
                item["dueDate"] = {"year": due_day.year, "month": due_day.month, "day": due_day.day}
                item["dueTime"] = {"hours": hours, "minutes": minutes} if minutes else {"hours": hours}
                due = due_milliseconds(item)
            school.course_work[course_id].append(item)
            _generate_submissions(school, rng, item, student_profiles, posted, due, term_end, owner["id"])
    return school


def _generate_submissions(
    school: FakeSchool,
    rng: random.Random,
    item: JSON,
    student_profiles: list[JSON],
    posted: int,
    due: int | None,
    term_end: int,
    teacher_id: str,
) -> None:
    max_points = item.get("maxPoints")
    # Without a due date students still hand in within about a week.
    deadline = due if due is not None else posted + 7 * _DAY_MS
    random_value = rng.random
    submissions = []
    for student in student_profiles:
        draw = random_value()
        state = _draw_state(draw)
        turned_in = graded = None
        grade = None
        draft_only = False
        if state in ("TURNED_IN", "RETURNED", "RECLAIMED_BY_STUDENT"):
            # About one in seven hands in after the deadline (late).
            if random_value() < 0.15:
                turned_in = deadline + 60_000 + int(random_value() * 3 * _DAY_MS)
            else:
                turned_in = posted + int((deadline - posted) * random_value() * 0.98)
        if state == "RETURNED" or state == "RECLAIMED_BY_STUDENT":
            assert turned_in is not None
            graded = min(turned_in + 3_600_000 + int(random_value() * 6 * _DAY_MS), term_end)
        if state == "TURNED_IN" and max_points is not None and random_value() < 0.3:
            # A turned-in piece the teacher has started marking: a draft grade, not yet returned.
            assert turned_in is not None
            graded = min(turned_in + 3_600_000 + int(random_value() * 2 * _DAY_MS), term_end)
            draft_only = True
        if graded is not None and max_points is not None and state != "RECLAIMED_BY_STUDENT":
            grade = float(int(max_points * (0.3 + 0.7 * random_value()) + 0.5))
        submissions.append(
            _submission(
                school.new_submission_id(),
                item,
                student["id"],
                state,
                created=posted + int(random_value() * 60_000),
                turned_in=turned_in,
                graded=graded,
                grade=grade,
                draft_only=draft_only,
                teacher_id=teacher_id,
                due=due,
            )
        )
    school.submissions[(item["courseId"], item["id"])] = submissions
