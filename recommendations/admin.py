"""Recommendations for platform operators (docs/decisions/0003): what was suggested and what became of it, goals and
path progress (derived, read-only), trained rankers, and the one thing operators set here — each school's use of
Gemini (on/off, model, daily budget, prompt logging) — with the record of every call."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from recommendations.models import (
    AICall,
    AssistantSettings,
    Goal,
    GoalMilestone,
    PathProgress,
    RankerVersion,
    Recommendation,
    RecommendationFeedback,
)


class FeedbackInline(admin.StackedInline):
    model = RecommendationFeedback
    can_delete = False
    extra = 0
    readonly_fields = ["rating", "helpful", "verdict", "comments", "created_at", "updated_at"]
    exclude = ["student"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Recommendation)
class RecommendationAdmin(ReadOnlyAdmin):
    list_display = ["student", "title", "category", "relevance_score", "status", "strategy", "created_at"]
    list_filter = ["status", "category", "strategy", "organization"]
    search_fields = ["student__username", "title"]
    list_select_related = ["student"]
    date_hierarchy = "created_at"
    raw_id_fields = ["student", "course", "item", "module"]
    inlines = [FeedbackInline]


@admin.register(RecommendationFeedback)
class RecommendationFeedbackAdmin(ReadOnlyAdmin):
    list_display = ["recommendation", "student", "rating", "helpful", "verdict", "updated_at"]
    list_filter = ["verdict", "rating"]
    raw_id_fields = ["recommendation", "student"]


class MilestoneInline(admin.TabularInline):
    model = GoalMilestone
    extra = 0
    can_delete = False
    readonly_fields = ["period", "threshold", "reached_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Goal)
class GoalAdmin(ReadOnlyAdmin):
    list_display = ["student", "kind", "target", "due_date", "status", "progress", "created_at"]
    list_filter = ["kind", "status", "organization"]
    search_fields = ["student__username"]
    list_select_related = ["student"]
    raw_id_fields = ["student", "path", "course"]
    inlines = [MilestoneInline]


@admin.register(PathProgress)
class PathProgressAdmin(ReadOnlyAdmin):
    list_display = ["student", "path", "progress", "steps_completed", "steps_total", "last_accessed", "completed_at"]
    search_fields = ["student__username", "path__title"]
    list_select_related = ["student", "path"]
    raw_id_fields = ["student", "path", "current_step"]


@admin.register(RankerVersion)
class RankerVersionAdmin(ReadOnlyAdmin):
    """Made by training (`recommendations.tasks.train_ranker_all`, weekly); measured by bench/recommendations.py."""

    list_display = ["id", "organization", "trained_until", "samples", "positives", "seconds", "created_at"]
    list_filter = ["organization"]
    exclude = ["artifact"]  # the fitted model: bytes, not for reading here


@admin.register(AssistantSettings)
class AssistantSettingsAdmin(admin.ModelAdmin):
    """Gemini is off unless turned on here for the school and GEMINI_API_KEY is set (docs/decisions/0014)."""

    list_display = ["organization", "enabled", "model", "daily_call_budget", "log_prompts", "updated_at"]
    list_filter = ["enabled"]


@admin.register(AICall)
class AICallAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organization", "purpose", "model", "outcome", "latency_ms", "input_tokens"]
    list_filter = ["outcome", "purpose", "organization"]
    date_hierarchy = "created_at"
    raw_id_fields = ["subject"]
