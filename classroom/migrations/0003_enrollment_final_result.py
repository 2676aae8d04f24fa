from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("classroom", "0002_item_external_id_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="enrollment",
            name="final_result",
            field=models.CharField(
                blank=True,
                choices=[
                    ("pass", "Pass"),
                    ("distinction", "Distinction"),
                    ("fail", "Fail"),
                    ("withdrawn", "Withdrawn"),
                ],
                default="",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="enrollment",
            name="result_at",
            field=models.DateTimeField(blank=True, help_text="When the result was reached.", null=True),
        ),
        migrations.AddConstraint(
            model_name="enrollment",
            constraint=models.CheckConstraint(
                condition=models.Q(("final_result", ""), ("result_at__isnull", False), _connector="OR"),
                name="classroom_enrollment_result_dated",
                violation_error_message="A final result needs the date it was reached (result at).",
            ),
        ),
    ]
