app_name = "coldchain"

urlpatterns = []
