from django.urls import path

from accounts.views import coming_soon

urlpatterns = [
    path("", coming_soon, {"section": "Team"}, name="team_home"),
]
