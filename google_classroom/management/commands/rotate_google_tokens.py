from typing import Any

from django.core.management.base import BaseCommand

from google_classroom.services import tokens_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored Google token with the first key of GOOGLE_TOKEN_KEYS. Put the new key first, run "
        "this, then remove the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = tokens_rotate()
        self.stdout.write(f"Re-encrypted {rotated} token(s) with the newest key.")
