from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("join/<str:code>/", views.EnrollmentSignupView.as_view(), name="join"),
    path("accounts/signup/", views.EnrollmentSignupView.as_view(), name="account_signup"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("profile/", views.profile, name="profile"),
    path("policies/", views.policies, name="policies"),
    path("income-disclosure/", views.income_disclosure, name="income_disclosure"),
]
