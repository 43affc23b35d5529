from django.urls import path

from billing.advice import views

app_name = "advice"

urlpatterns = [
    path("customer/premises/<id:premise_id>/home/", views.home_view, name="home"),
]
