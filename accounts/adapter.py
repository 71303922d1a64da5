from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        user.email = user.email.lower()
        user.name = form.cleaned_data.get("name", "")
        if commit:
            user.save()
        return user

    def get_login_redirect_url(self, request) -> str:
        if request.user.is_staff and not hasattr(request.user, "distributor"):
            return "/admin/"
        return super().get_login_redirect_url(request)

    def send_mail(self, template_prefix, email, context) -> None:
        context.setdefault("company_name", settings.LADDER_COMPANY_NAME)
        super().send_mail(template_prefix, email, context)
