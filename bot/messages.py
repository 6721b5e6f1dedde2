"""What the bot says, per language. Add a language by adding its strings here."""
from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "solved?": "Did this solve it?",
        "yes": "Yes",
        "no": "No",
        "did_you_mean": "Did you mean one of these?",
        "none": "None of these",
        "human": "Talk to a person",
        "glad": "Great, glad I could help! Write again any time.",
        "next_try": "Sorry about that. Maybe this helps:",
        "rephrase": "Sorry, I didn't get that. Could you say it in other words?",
        "handoff": "I've passed your conversation to our support team ({priority}).",
        "eta_minutes": "A person will reply within about {minutes} minutes.",
        "eta_at": "A person will reply by {when} ({tz}).",
        "queued": "You're in the queue; a person will reply here.",
        "back_to_bot": "You're back with the assistant. How can I help?",
        "agent_joined": "{agent} from support has joined the conversation.",
        "resolved_by_agent": "Support marked this conversation as resolved. Write again any time.",
        "about": "About",
        "incident": "We know about a problem with “{topic}” that is affecting several customers, and our team "
                    "is working on it as top priority. Status: {status}",
    },
    "zh": {
        "solved?": "问题解决了吗？",
        "yes": "解决了",
        "no": "没有",
        "did_you_mean": "您是想问以下哪一个？",
        "none": "都不是",
        "human": "转人工",
        "glad": "太好了，很高兴能帮到您！有问题随时留言。",
        "next_try": "抱歉。也许这个能帮到您：",
        "rephrase": "抱歉，我没有理解。能换个说法吗？",
        "handoff": "已将您的对话转给客服团队（{priority}）。",
        "eta_minutes": "客服将在约{minutes}分钟内回复。",
        "eta_at": "客服将在{when}（{tz}）前回复。",
        "queued": "您已在排队中，客服会在这里回复您。",
        "back_to_bot": "已转回智能助手。请问还有什么可以帮您？",
        "agent_joined": "客服{agent}已加入对话。",
        "resolved_by_agent": "客服已将此对话标记为已解决。有问题随时留言。",
        "about": "关于",
        "incident": "我们已知“{topic}”相关问题正在影响多位用户，团队正在以最高优先级处理。最新状态：{status}",
    },
}


def t(lang: str, key: str, **kw) -> str:
    table = STRINGS.get(lang) or STRINGS["en"]
    return table.get(key, STRINGS["en"][key]).format(**kw)
