from django.urls import path

from . import views

# A pay week is ``week-`` and its first day (``week-2026-03-09``), never confused with a month
# (``2026-03``); its patterns come first, as the month's ``<str:period>`` would also take it.
urlpatterns = [
    path("", views.earnings_home, name="earnings_home"),
    path("week-<str:week>/", views.statement_page, name="earnings_week"),
    path("week-<str:week>/statement.csv", views.statement_csv, name="earnings_week_csv"),
    path("week-<str:week>/lines/<int:line_id>/", views.line_detail, name="earnings_week_line"),
    path("<str:period>/", views.statement_page, name="earnings_statement"),
    path("<str:period>/statement.csv", views.statement_csv, name="earnings_statement_csv"),
    path("<str:period>/lines/<int:line_id>/", views.line_detail, name="earnings_line"),
]
