"""Default XP rules and achievements for every organisation (organisation empty). Staff change them in admin; an
organisation's own rule for an action and kind takes precedence over these."""

from django.db import migrations

RULES = [
    # action, item kind, points, daily cap per item, score bands (min percent, bonus)
    ("material_view", "", 2, 2, []),
    ("lesson_complete", "", 20, 20, []),
    ("material_complete", "", 10, 10, []),
    ("video_complete", "", 10, 10, []),
    ("quiz_submit", "", 10, 30, [(80, 5), (100, 10)]),
    ("assignment_submit", "", 25, 25, [(80, 10), (100, 20)]),
    ("module_complete", "", 50, None, []),
    ("course_complete", "", 200, None, []),
]
ACHIEVEMENTS = [
    # code, name, kind, threshold, description
    ("first-completion", "First steps", "first_completion", None, "Complete your first item."),
    ("perfect-quiz", "Perfect score", "perfect_quiz", None, "Score 100 % on a quiz."),
    ("module-complete", "Module master", "module_complete", None, "Complete every item of a module."),
    ("streak-3", "On a roll", "streak_days", 3, "Be active three days in a row."),
    ("streak-7", "Week streak", "streak_days", 7, "Be active seven days in a row."),
    ("streak-30", "Habit formed", "streak_days", 30, "Be active thirty days in a row."),
    ("level-5", "Level 5", "level_reached", 5, "Reach level 5."),
    ("level-10", "Level 10", "level_reached", 10, "Reach level 10."),
    ("xp-1000", "1 000 XP", "xp_total", 1000, "Earn 1 000 XP."),
]


def create(apps, schema_editor):
    XpRule = apps.get_model("gamification", "XpRule")
    ScoreBonus = apps.get_model("gamification", "ScoreBonus")
    Achievement = apps.get_model("gamification", "Achievement")
    for action, kind, points, cap, bands in RULES:
        rule, _ = XpRule.objects.get_or_create(
            organization=None, action=action, item_kind=kind, defaults={"points": points, "daily_item_cap": cap}
        )
        for min_percent, bonus in bands:
            ScoreBonus.objects.get_or_create(rule=rule, min_percent=min_percent, defaults={"points": bonus})
    for code, name, kind, threshold, description in ACHIEVEMENTS:
        Achievement.objects.get_or_create(
            organization=None,
            code=code,
            defaults={"name": name, "kind": kind, "threshold": threshold, "description": description},
        )


class Migration(migrations.Migration):
    dependencies = [("gamification", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
