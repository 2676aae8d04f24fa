from django.urls import path

from dashboards import views

urlpatterns = [
    path("progress/", views.my_progress, name="my-progress"),
    path("students/<int:pk>/progress/", views.student_progress, name="student-progress"),
    path("classes/<int:pk>/dashboard/", views.class_dashboard, name="class-dashboard"),
    path("classes/<int:pk>/messages/", views.class_message, name="class-messages"),
    path("institution/", views.institution, name="institution-dashboard"),
]
