"""Pools of Chinese names for the synthetic sample district (made-up; any likeness is chance)."""

from __future__ import annotations

import numpy as np

# The 街道 of 上城区 (names are real; where the generator puts them is not).
STREETS = (
    "湖滨", "清波", "小营", "望江", "南星", "紫阳", "凯旋",
    "采荷", "闸弄口", "四季青", "笕桥", "彭埠", "九堡", "丁兰",
)  # fmt: skip

ROAD_STEMS = (
    "望江", "清泰", "钱江", "凤起", "丁桥", "景芳", "紫阳", "新塘", "秋涛", "近江",
    "杭海", "备塘", "天城", "明月", "之江", "复兴", "江锦", "富春", "新业", "民心",
    "采荷", "九环", "笕丁", "华丰", "皋亭", "机场", "三新", "五堡", "六堡", "七堡",
    "映江", "观潮", "定安", "惠民", "吴山", "柳浪", "凤凰", "南山", "梅花碑", "清吟",
    "水澄", "永宁", "环丁", "大农港", "红普", "德胜", "弄口", "太平", "新风", "云峰",
    "钱潮", "兴隆", "同协", "杨公", "兴业", "晓鹰", "月雅", "石桥", "江晖", "临江",
)  # fmt: skip

COMMUNITY_STEMS = (
    "望江", "近江", "春江", "钱塘", "金隆", "复兴", "馆驿", "清泰", "始版桥", "紫花",
    "景芳", "采荷", "芙蓉", "双菱", "人民", "新塘", "常青", "三新", "明月", "杭氧",
    "兴隆", "丁兰", "皋城", "勤丰", "华丰", "笕桥", "弄口", "机场", "草庄", "红梅",
    "凤凰", "吴山", "清河", "劳动", "涌金", "南星", "海月", "江城", "水澄", "凯旋",
    "南肖埠", "景华", "景昙", "新业", "五福", "九堡", "格畈", "三堡", "御道", "胜利",
)  # fmt: skip

ESTATES = (
    "望江家园", "钱江花苑", "采荷新村", "景芳三区", "红梅小区", "丁桥郡", "近江公寓", "三新家园",
    "明月府", "江锦苑", "紫云庭", "映月湾", "春江花月", "云峰里", "凤凰山居", "观潮府",
    "新塘雅苑", "定安里", "金色蓝庭", "枫华府第", "华丰新苑", "笕桥花园", "兴隆小区", "芙蓉新村",
)  # fmt: skip

COMPANIES = (
    "钱江科技", "望江物流", "江城建设", "之江文旅", "清泰医药", "凯旋电子", "新业金融", "九堡制造",
    "明月传媒", "钱潮能源", "观潮设计", "富春软件", "丁兰食品", "采荷教育", "复兴物业", "天城商贸",
)  # fmt: skip

SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
    "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
    "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏",
    "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金",
)  # fmt: skip

GIVEN = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉力"
    "斌波宇浩凯鹏飞欣怡晨阳佳琪子涵雨轩梓萱思远嘉懿海燕春梅志刚晓东雪琳"
)

STREET_SUFFIX = ("路", "街")


def person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """n made-up Chinese person names (one- or two-character given names), vectorised."""
    sur = np.asarray(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    given = np.asarray(GIVEN)
    first = given[rng.integers(0, len(given), n)]
    second = given[rng.integers(0, len(given), n)]
    two = rng.random(n) < 0.7
    names = np.char.add(sur, first)
    return np.where(two, np.char.add(names, second), names)


def road_names(n: int, offset: int, suffix: str) -> list[str]:
    """n distinct road names from the stem pool, numbered once the pool runs out."""
    out = []
    for k in range(n):
        stem = ROAD_STEMS[(k + offset) % len(ROAD_STEMS)]
        rnd = (k + offset) // len(ROAD_STEMS)
        out.append(f"{stem}{'' if rnd == 0 else '二三四五六七八九'[min(rnd - 1, 7)]}{suffix}")
    return out
