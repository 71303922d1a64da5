from django.contrib.auth.middleware import get_user
from django.utils.functional import SimpleLazyObject

from .access import mark_session_mfa, refuse_staff_without_mfa


class SessionMFAMiddleware:
    """Marks ``request.user`` with whether its session passed two-factor authentication
    (``accounts.access``), still lazily: a page that never looks at the user reads nothing.
    Goes right after Django's ``AuthenticationMiddleware``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.user = SimpleLazyObject(lambda: mark_session_mfa(request, get_user(request)))
        return self.get_response(request)


class StaffRequireMFAMiddleware:
    """Staff reach the admin only with staff powers: a session that passed MFA. Without MFA
    they are sent to set it up; with MFA but a session that did not pass it, to type a code."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            request.path.startswith("/admin/")
            and user is not None
            and user.is_authenticated
            and user.is_staff
        ):
            refusal = refuse_staff_without_mfa(request, "the admin")
            if refusal is not None:
                return refusal
        return self.get_response(request)
