import time

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.core.management.base import BaseCommand, CommandError

from genealogy.demo import STAFF_EMAIL


class Command(BaseCommand):
    help = "Print the current TOTP code of the demo staff login (demo companies only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", default=STAFF_EMAIL)

    def handle(self, *args, email: str, **options) -> None:
        authenticator = Authenticator.objects.filter(
            user__email=email, type=Authenticator.Type.TOTP
        ).first()
        if authenticator is None:
            raise CommandError(f"{email} has no authenticator app set up.")
        secret = decrypt(authenticator.data["secret"])
        self.stdout.write(format_hotp_value(hotp_value(secret, int(time.time()) // 30)))
