from rest_framework.routers import DefaultRouter

from scheduling.views import ScheduleViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("schedules", ScheduleViewSet, basename="schedule")

urlpatterns = router.urls
