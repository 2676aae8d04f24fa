from django.urls import path

from gamification.api import views

urlpatterns = [
    path("gamification/progress", views.ProgressView.as_view(), name="gamification-progress"),
    path("gamification/leaderboard", views.LeaderboardView.as_view(), name="gamification-leaderboard"),
    path("analytics/weekly-xp", views.WeeklyXpView.as_view(), name="analytics-weekly-xp"),
    path("analytics/student-progress", views.StudentProgressView.as_view(), name="analytics-student-progress"),
    path("analytics/subject-mastery", views.SubjectMasteryView.as_view(), name="analytics-subject-mastery"),
    path("analytics/learning/overview", views.LearningOverviewView.as_view(), name="analytics-learning-overview"),
]
