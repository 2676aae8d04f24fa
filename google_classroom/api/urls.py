from google_classroom.api import views

urlpatterns = [*views.urlpatterns]
