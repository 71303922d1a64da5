"""Authentication backends that read the person's distributor (and sponsor) with the user.

Nearly every page a distributor opens needs their ``Distributor``: reading it in the same
query as the session's user saves a query on each of them. ``distributor_for_user`` uses the
cached one when it is there.
"""

from __future__ import annotations

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

WITH_THE_USER = ("distributor__sponsor__user",)


class _DistributorWithUser:
    def get_user(self, user_id):
        model = get_user_model()
        try:
            user = model._default_manager.select_related(*WITH_THE_USER).get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


class ModelBackend(_DistributorWithUser, DjangoModelBackend):
    pass


class AuthenticationBackend(_DistributorWithUser, AllauthBackend):
    pass
