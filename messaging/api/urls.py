from django.urls import path

from messaging.api import views

urlpatterns = [
    path("courses/<int:course_pk>/messages", views.CourseMessageView.as_view(), name="course-messages"),
    path("notices", views.NoticeListView.as_view(), name="notices"),
]
