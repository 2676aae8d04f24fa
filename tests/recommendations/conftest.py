from tests.recommendations.rec_fixtures import history

__all__ = ["history"]
