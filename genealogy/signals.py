"""Enrollment: the distributor is created once the sign-up address is verified."""

from allauth.account.signals import email_confirmed
from django.dispatch import receiver

from .members import complete_enrollment


@receiver(email_confirmed)
def create_distributor_on_verification(sender, request, email_address, **kwargs) -> None:
    complete_enrollment(user=email_address.user)
