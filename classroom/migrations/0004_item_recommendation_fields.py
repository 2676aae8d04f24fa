import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("classroom", "0003_enrollment_final_result"),
    ]

    operations = [
        migrations.AddField(
            model_name="learningitem",
            name="activity_type",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        migrations.AddField(
            model_name="learningitem",
            name="difficulty",
            field=models.CharField(
                blank=True,
                choices=[("beginner", "Beginner"), ("intermediate", "Intermediate"), ("advanced", "Advanced")],
                default="",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="learningitem",
            name="difficulty_source",
            field=models.CharField(
                blank=True,
                choices=[("set", "Set by a person"), ("derived", "Derived from data")],
                default="",
                editable=False,
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="learningitem",
            name="expected_outcomes",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(max_length=300),
                blank=True,
                default=list,
                help_text="What a learner can do afterwards.",
                size=None,
            ),
        ),
        migrations.AddField(
            model_name="learningitem",
            name="prerequisite_skills",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(max_length=64),
                blank=True,
                default=list,
                help_text="Skills a learner should have first.",
                size=None,
            ),
        ),
        migrations.AddField(
            model_name="learningitem",
            name="prerequisites",
            field=models.ManyToManyField(
                blank=True,
                help_text="Items of the same organisation that should come first.",
                related_name="unlocks",
                to="classroom.learningitem",
            ),
        ),
        migrations.AddField(
            model_name="learningitem",
            name="tags",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(max_length=64),
                blank=True,
                default=list,
                help_text="Skills and topics it covers.",
                size=None,
            ),
        ),
        migrations.AddField(
            model_name="learningitem",
            name="week_from",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="learningitem",
            name="week_to",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="learningitem",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("week_from__isnull", True),
                    ("week_to__isnull", True),
                    ("week_to__gte", models.F("week_from")),
                    _connector="OR",
                ),
                name="classroom_item_weeks_in_order",
                violation_error_message="The last planned week (week to) must not be before the first (week from).",
            ),
        ),
        migrations.AddConstraint(
            model_name="learningitem",
            constraint=models.CheckConstraint(
                condition=models.Q(("difficulty__in", ["", "beginner", "intermediate", "advanced"])),
                name="classroom_item_difficulty_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="learningitem",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("difficulty", ""), ("difficulty_source", "")),
                    models.Q(
                        models.Q(("difficulty", ""), _negated=True), ("difficulty_source__in", ["set", "derived"])
                    ),
                    _connector="OR",
                ),
                name="classroom_item_difficulty_sourced",
            ),
        ),
    ]
