from django.urls import path

from billing import api, views

app_name = "billing"

urlpatterns = [
    path("customer/premises/<id:premise_id>/usage/", views.dashboard_view, name="dashboard"),
    path("customer/premises/<id:premise_id>/usage/readings.csv", views.download_csv_view, name="download_csv"),
    path("customer/premises/<id:premise_id>/usage/greenbutton.xml", views.download_greenbutton_view, name="download_greenbutton"),
    path("customer/premises/<id:premise_id>/usage/intervals.json", views.interval_data_view, name="interval_data"),
    path("customer/premises/<id:premise_id>/bills/", views.bills_view, name="bills"),
    path("customer/premises/<id:premise_id>/bills/<day:first_day>/", views.bill_view, name="bill"),
    path("customer/premises/<id:premise_id>/bills/<day:first_day>/bill.csv", views.bill_csv_view, name="bill_csv"),
    path("operator/customers/<id:account_id>/premises/<id:premise_id>/usage/", views.operator_usage_view, name="operator_usage"),
    path("operator/critical-peak/", views.operator_critical_peak_view, name="operator_critical_peak"),
    path("operator/tariffs/", views.operator_tariffs_view, name="operator_tariffs"),
    path("operator/tariffs/new/", views.operator_tariff_new_view, name="operator_tariff_new"),
    path("operator/tariffs/<id:tariff_id>/", views.operator_tariff_view, name="operator_tariff"),
    path("operator/tariffs/<id:tariff_id>/versions/new/", views.operator_tariff_version_new_view, name="operator_tariff_version_new"),
    path("operator/tariffs/premises/<id:premise_id>/", views.operator_premise_tariff_view, name="operator_premise_tariff"),
    path(
        "operator/tariffs/premises/<id:premise_id>/assign/",
        views.operator_premise_tariff_assign_view,
        name="operator_premise_tariff_assign",
    ),
    path("operator/tariffs/premises/<id:premise_id>/bill-cycle/", views.operator_bill_cycle_set_view, name="operator_bill_cycle_set"),
    path("operator/meters/<id:meter_id>/unit/", views.operator_meter_unit_view, name="operator_meter_unit"),
    path("operator/meters/<id:meter_id>/unit/set/", views.operator_meter_unit_set_view, name="operator_meter_unit_set"),
    path("api/billing/ingest/", api.ReadingsIngestApi.as_view(), name="api_ingest"),
]
