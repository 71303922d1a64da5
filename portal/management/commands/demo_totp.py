import time

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.core.management.base import BaseCommand, CommandError

from genealogy.demo import STAFF_LOGINS


class Command(BaseCommand):
    help = "Print the current TOTP codes of the demo staff logins (demo companies only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--email", action="append", help="Only this login (repeatable); default: both."
        )

    def handle(self, *args, email: list[str] | None, **options) -> None:
        emails = email or list(STAFF_LOGINS)
        authenticators = {
            a.user.email: a
            for a in Authenticator.objects.filter(
                user__email__in=emails, type=Authenticator.Type.TOTP
            ).select_related("user")
        }
        missing = [address for address in emails if address not in authenticators]
        if missing:
            raise CommandError(f"{', '.join(missing)}: no authenticator app set up.")
        step = int(time.time()) // 30
        width = max(len(address) for address in emails)
        for address in emails:
            secret = decrypt(authenticators[address].data["secret"])
            code = format_hotp_value(hotp_value(secret, step))
            self.stdout.write(f"{address:<{width}}  {code}" if len(emails) > 1 else code)
