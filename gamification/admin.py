from django.contrib import admin

from core.admin import CappedCountPaginator, ReadOnlyAdmin
from gamification.models import Achievement, ScoreBonus, StudentAchievement, XpAward, XpRule, XpTotal


class ScoreBonusInline(admin.TabularInline):
    model = ScoreBonus
    extra = 0


@admin.register(XpRule)
class XpRuleAdmin(admin.ModelAdmin):
    list_display = ["action", "item_kind", "points", "daily_item_cap", "organization", "is_active"]
    list_filter = ["is_active", "action", "item_kind", "organization"]
    search_fields = ["action", "organization__name"]
    inlines = [ScoreBonusInline]


@admin.register(ScoreBonus)
class ScoreBonusAdmin(admin.ModelAdmin):
    list_display = ["rule", "min_percent", "points"]
    search_fields = ["rule__action"]


@admin.register(Achievement)
class AchievementAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "threshold", "organization", "is_active"]
    list_filter = ["is_active", "kind", "organization"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}


@admin.register(StudentAchievement)
class StudentAchievementAdmin(ReadOnlyAdmin):
    list_display = ["earned_at", "student", "achievement"]
    list_filter = ["achievement"]
    search_fields = ["student__username", "achievement__code"]
    date_hierarchy = "earned_at"


@admin.register(XpAward)
class XpAwardAdmin(ReadOnlyAdmin):
    """The ledger: append-only, written by gamification.services.xp_award."""

    list_display = ["occurred_at", "student", "amount", "rule", "course", "item", "event_id"]
    list_filter = ["rule__action", "organization", "day"]
    search_fields = ["=event_id", "student__username"]
    list_select_related = ["student", "rule", "course", "item"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    paginator = CappedCountPaginator  # a ledger of one row per rewarded event: never counted in full


@admin.register(XpTotal)
class XpTotalAdmin(ReadOnlyAdmin):
    list_display = ["student", "organization", "course", "period", "period_start", "xp"]
    list_filter = ["period", "organization"]
    search_fields = ["student__username"]
    list_select_related = ["student", "organization", "course"]
