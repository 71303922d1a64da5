from django.urls import path

from . import views

urlpatterns = [
    path("", views.team_tree, name="team_home"),
    path("tree/<int:number>/children/", views.tree_children, name="team_tree_children"),
    path("list/", views.team_list, name="team_list"),
    path("list.csv", views.team_list_csv, name="team_list_csv"),
    path("stats/", views.team_stats_page, name="team_stats"),
    path("upline/", views.upline, name="team_upline"),
    path("member/<int:number>/", views.member_detail, name="team_member"),
    path("member/<int:number>/upline/", views.member_upline, name="team_member_upline"),
]
