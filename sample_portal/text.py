"""Chinese text for the sample portal: clean paragraphs and the messy HTML a portal makes of them."""

from __future__ import annotations

import random
import re
from html import escape
from pathlib import Path

SUBJECTS = [
    "水稻",
    "玉米",
    "小麦",
    "油菜",
    "柑橘",
    "茶叶",
    "蔬菜",
    "生猪",
    "稻飞虱",
    "稻纵卷叶螟",
    "草地贪夜蛾",
    "赤霉病",
    "纹枯病",
    "稻瘟病",
    "蚜虫",
    "红火蚁",
    "农田",
    "早稻",
    "晚稻",
    "再生稻",
]
PLACES = [
    "南昌市",
    "九江市",
    "上饶市",
    "抚州市",
    "宜春市",
    "吉安市",
    "赣州市",
    "景德镇市",
    "萍乡市",
    "新余市",
    "鹰潭市",
    "鄱阳县",
    "余干县",
    "进贤县",
    "泰和县",
    "信丰县",
]
ACTIONS = [
    "加强监测预警",
    "做好统防统治",
    "落实防控措施",
    "开展技术指导",
    "组织应急防治",
    "强化田间调查",
    "及时发布预报",
    "抓好灾后恢复生产",
    "做好防汛抗旱准备",
    "推进绿色防控",
]
NOUNS = [
    "病虫害",
    "发生程度",
    "防治适期",
    "农业生产",
    "气象条件",
    "种植面积",
    "技术措施",
    "工作方案",
    "农技人员",
    "农户",
    "专业化服务组织",
    "防灾减灾",
    "灾情信息",
    "田间管理",
]
DEGREES = ["偏重发生", "中等发生", "偏轻发生", "局部大发生", "总体平稳"]
TITLE_FORMS = [
    "{place}{subject}{noun}情况通报",
    "关于{action}的通知",
    "{year}年第{n}期{subject}病虫情报",
    "{place}：{action}确保{subject}丰收",
    "全省{subject}{noun}预计{degree}",
    "{place}{action}工作简报（第{n}期）",
]
SOURCES = [
    "江西省农业农村厅",
    "省植保植检局",
    "省农业技术推广中心",
    "江西日报",
    "新华社",
    "省气象局",
]
AUTHORS = ["张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵磊", "黄敏"]

_CJK = re.compile(r"[\u4e00-\u9fff]")


def title(rng: random.Random, year: int) -> str:
    form = rng.choice(TITLE_FORMS)
    return form.format(
        place=rng.choice(PLACES), subject=rng.choice(SUBJECTS), noun=rng.choice(NOUNS),
        action=rng.choice(ACTIONS), degree=rng.choice(DEGREES), year=year, n=rng.randint(1, 30),
    )  # fmt: skip


def sentence(rng: random.Random) -> str:
    forms = [
        "据{place}植保站调查，{subject}{noun}{degree}。",
        "各地要{action}，切实减轻{subject}{noun}损失。",
        "近期{place}气温偏高，有利于{subject}发生，预计{degree}。",
        "{place}已组织农技人员{n}人次深入田间，{action}。",
        "全省{subject}种植面积约{n}万亩，{noun}总体可控。",
    ]
    return rng.choice(forms).format(
        place=rng.choice(PLACES), subject=rng.choice(SUBJECTS), noun=rng.choice(NOUNS),
        action=rng.choice(ACTIONS), degree=rng.choice(DEGREES), n=rng.randint(2, 900),
    )  # fmt: skip


def paragraphs(rng: random.Random, count: int) -> list[str]:
    return ["".join(sentence(rng) for _ in range(rng.randint(2, 5))) for _ in range(count)]


def messy(rng: random.Random, clean: str, wrap: bool = True) -> str:
    """HTML text whose normalised form is exactly ``clean``: blank runs, entities, wraps."""
    out = []
    for i, ch in enumerate(clean):
        if ch == " ":
            out.append(rng.choice(["&nbsp;&nbsp;", "\u3000", "&ensp;", " \u3000 ", "&nbsp;"]))
            continue
        out.append(escape(ch, quote=False))
        nxt = clean[i + 1] if i + 1 < len(clean) else ""
        if wrap and _CJK.match(ch) and _CJK.match(nxt) and rng.random() < 0.02:
            out.append("\n" + " " * rng.randint(0, 8))
    return "".join(out)


def messy_title(rng: random.Random, clean: str) -> str:
    """A title as the listing JSON gives it: ideographic padding, &nbsp;, a wrapped line."""
    raw = messy(rng, clean, wrap=False)
    style = rng.random()
    if style < 0.15:
        raw = "\u3000" + raw + "\u3000"
    elif style < 0.25 and len(clean) > 6 and _CJK.match(clean[3]) and _CJK.match(clean[4]):
        raw = messy(rng, clean[:4], wrap=False) + "\n      " + messy(rng, clean[4:], wrap=False)
    elif style < 0.3:
        raw = "&nbsp;" + raw + "&ensp;"
    return raw


def seed_article(reference: Path | None = None) -> tuple[str, list[str], list[str]]:
    """The Xinhua article the project started from: (title, body paragraphs, trailing matter)."""
    path = reference or Path(__file__).resolve().parent / "seed_article.txt"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    head = lines[0]
    body, trailer = [], []
    for line in lines[1:]:
        if line.startswith("原文链接") or trailer:
            trailer.append(line)
        else:
            body.append(line)
    return head, body, trailer
