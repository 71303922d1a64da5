from django.urls import path

from . import views

urlpatterns = [
    path("", views.library, name="training_library"),
    path("<int:pk>/", views.item_detail, name="training_item"),
    path("<int:pk>/document/", views.item_document, name="training_document"),
    path("<int:pk>/done/", views.item_complete, name="training_complete"),
    path("shared/", views.share_recorded, name="training_shared"),
    path("team/", views.team, name="training_team"),
    path("team/<int:number>/", views.team_member, name="training_team_member"),
    path("career/", views.career, name="training_career"),
]
