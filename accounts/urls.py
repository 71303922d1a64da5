from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/confirm-email/<str:key>/",
        views.SignInOnConfirmEmailView.as_view(),
        name="account_confirm_email",
    ),
    path("policies/", views.policies, name="policies"),
]
