"""The placement tree page and the graphical viewer, under /team/ beside the team pages."""

from django.urls import path

from . import views_viewer

urlpatterns = [
    path("placement/", views_viewer.placement_tree, name="placement_tree"),
    path("placement/<int:number>/", views_viewer.placement_tree, name="placement_tree_member"),
    path("viewer/", views_viewer.genealogy_viewer, name="genealogy_viewer"),
    path("viewer/search/", views_viewer.viewer_search, name="viewer_search"),
    path("viewer/<int:number>/children/", views_viewer.viewer_children, name="viewer_children"),
    path("viewer/<int:number>/card/", views_viewer.viewer_card, name="viewer_card"),
    path("viewer/<int:number>/path/", views_viewer.viewer_path, name="viewer_path"),
]
