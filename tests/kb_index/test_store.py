"""FAQ entries: button titles in the user's language."""
from bot.core import i18n
from kb_index.store import FaqEntry


def test_a_title_is_the_first_phrasing_in_the_users_language_and_follows_edits():
    e = FaqEntry("fees", ["what are the fees", "交易手续费是多少", "fees please"], {"en": "0.1%"})
    assert e.title_for("zh") == "交易手续费是多少" and e.title_for("en") == "what are the fees"
    e.questions[1] = "怎么收费"                        # edited in place: the memo must not answer
    assert e.title_for("zh") == "怎么收费"
    e.questions = ["fees please", "费用"]
    assert e.title_for("en") == "fees please" and e.title_for("zh") == "费用"


def test_phrasing_languages_are_detected_again_under_other_languages():
    e = FaqEntry("fees", ["what are the fees"], {"en": "0.1%"})
    first = e.question_langs()
    assert first == ["en"] and e.question_langs() is first          # remembered
    before = i18n.registry()
    try:
        i18n.use(i18n.load_registry())                               # the languages were reloaded
        assert e.question_langs() is not first and e.question_langs() == ["en"]
    finally:
        i18n.use(before)
