from django.urls import path

from amiportal.premises import views

app_name = "premises"

urlpatterns = [
    path("operator/grid/", views.operator_grid_view, name="operator_grid"),
    path("operator/grid/import/", views.operator_grid_import_view, name="operator_grid_import"),
    path("operator/grid/premises/<id:premise_id>/", views.operator_grid_premise_view, name="operator_grid_premise"),
]
