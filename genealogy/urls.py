from django.urls import path

from . import views
from .placement import views as placement_views

urlpatterns = [
    path("", views.team_tree, name="team_home"),
    path("tree/<int:number>/children/", views.tree_children, name="team_tree_children"),
    path("list/", views.team_list, name="team_list"),
    path("list.csv", views.team_list_csv, name="team_list_csv"),
    path("stats/", views.team_stats_page, name="team_stats"),
    path("upline/", views.upline, name="team_upline"),
    path("member/<int:number>/", views.member_detail, name="team_member"),
    path("member/<int:number>/upline/", views.member_upline, name="team_member_upline"),
    path("placement/tank/", placement_views.tank, name="placement_tank"),
    path("placement/tank/rule/", placement_views.sponsor_rule, name="placement_sponsor_rule"),
    path("placement/tank/<int:number>/", placement_views.place, name="placement_place"),
]
