from bot.core.vocabulary import Priority
from escalation.urgency import Context, UrgencyThresholds, prioritise

TH = UrgencyThresholds(p0=0.6, p1=0.5)


def test_default_stands_without_signals():
    call = prioritise(Priority.P2, {"P0": 0.1, "P1": 0.2, "P2": 0.7}, TH, Context())
    assert call.priority is Priority.P2 and call.reasons == []


def test_urgent_message_raises_and_explains():
    call = prioritise(Priority.P1, {"P0": 0.8, "P1": 0.1, "P2": 0.1}, TH, Context(), evidence="my money is gone")
    assert call.priority is Priority.P0
    assert call.reasons == ["P1 → P0: urgent message, P0 probability 0.80 (like “my money is gone”)"]


def test_important_message_raises_to_p1():
    call = prioritise(Priority.P2, {"P0": 0.3, "P1": 0.55, "P2": 0.15}, TH, Context())
    assert call.priority is Priority.P1 and call.reasons[0].startswith("P2 → P1: important problem")


def test_below_threshold_or_not_most_likely_does_not_raise():
    assert prioritise(Priority.P2, {"P0": 0.55, "P1": 0.4, "P2": 0.05}, TH, Context()).priority is Priority.P2
    assert prioritise(Priority.P2, {"P0": 0.45, "P1": 0.1, "P2": 0.45}, UrgencyThresholds(), Context()
                      ).priority is Priority.P0


def test_never_lowers():
    assert prioritise(Priority.P0, {"P2": 1.0}, TH, Context()).priority is Priority.P0


def test_context_raises_routine_requests():
    assert prioritise(Priority.P2, None, TH, Context(tier="vip")).reasons == ["P2 → P1: vip customer"]
    assert prioritise(Priority.P2, None, TH, Context(returns_24h=3)).priority is Priority.P1
    assert prioritise(Priority.P2, None, TH, Context(returns_24h=2)).priority is Priority.P2
    assert prioritise(Priority.P2, None, TH, Context(failed_attempts=2)).reasons == ["P2 → P1: 2 failed bot attempts"]
    assert prioritise(Priority.P1, None, TH, Context(tier="vip")).priority is Priority.P1  # context alone: max P1


def test_context_from_json():
    c = Context.from_json({"tier": "VIP", "returns_24h": "4"})
    assert c == Context(tier="vip", returns_24h=4, failed_attempts=0)
    assert Context.from_json(None) == Context()


def test_a_p0_threshold_raises_below_the_most_likely_class():
    from escalation.urgency import Context, UrgencyThresholds, prioritise

    probs = {"P0": 0.35, "P1": 0.05, "P2": 0.60}
    assert prioritise(Priority.P2, probs, UrgencyThresholds(), Context()).priority is Priority.P2
    call = prioritise(Priority.P2, probs, UrgencyThresholds(p0_any=0.3), Context())
    assert call.priority is Priority.P0 and "P0 probability 0.35" in call.reasons[0]
    assert UrgencyThresholds.from_json({"p0": 0, "p1": 0}).p0_any > 1  # models saved before: off
