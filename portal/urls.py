from django.urls import include, path

from . import disclosure_views, staff, views

urlpatterns = [
    path("join/<str:code>/", views.EnrollmentSignupView.as_view(), name="join"),
    path("accounts/signup/", views.EnrollmentSignupView.as_view(), name="account_signup"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/charts/", views.dashboard_charts, name="dashboard_charts"),
    path("dashboard/lists/", views.dashboard_lists, name="dashboard_lists"),
    path("staff/", staff.staff_overview, name="staff_overview"),
    path("staff/runs/<int:run_id>/progress/", staff.run_progress, name="staff_run_progress"),
    path("profile/", views.profile, name="profile"),
    path("income-disclosure/", disclosure_views.income_disclosure, name="income_disclosure"),
    path("team/", include("portal.viewer_urls")),
]
