from django.urls import path

from reports import views

urlpatterns = [
    path("reports/", views.report_list, name="reports-page"),
    path("reports/new", views.report_new, name="report-new"),
    path("reports/<int:pk>/", views.report_page, name="report-page"),
    path("reports/<int:pk>/edit", views.report_edit, name="report-edit"),
]
