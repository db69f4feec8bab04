"""Zhejiang geography for fleet mode: the eleven cities, the eight major river systems, lakes and
reservoirs, places for section and air-station names. Coordinates are approximate city centres (WGS84)."""

from __future__ import annotations

from types import MappingProxyType

#: city -> (short id, latitude, longitude, air-station place names)
CITIES: MappingProxyType[str, tuple[str, float, float, tuple[str, ...]]] = MappingProxyType(
    {
        "杭州": ("hz", 30.274, 120.155, ("西溪", "朝晖", "卧龙桥", "和睦小学", "下沙", "云栖", "临平镇")),
        "宁波": ("nb", 29.868, 121.544, ("市环境监测中心", "三江中学", "太古小学", "龙赛医院", "钱湖")),
        "温州": ("wz", 27.994, 120.699, ("市站", "南浦", "瓯海", "龙湾")),
        "嘉兴": ("jx", 30.746, 120.755, ("嘉兴学院", "监测站", "清河小学")),
        "湖州": ("huz", 30.894, 120.087, ("城西", "仁皇山", "吴兴")),
        "绍兴": ("sx", 30.030, 120.580, ("市监测站", "城东", "袍江")),
        "金华": ("jh", 29.079, 119.647, ("市监测站", "区站", "四中")),
        "衢州": ("qz", 28.970, 118.859, ("市监测站", "衢州学院", "衢江")),
        "舟山": ("zs", 29.985, 122.207, ("临城新区", "定海檀枫")),
        "台州": ("tz", 28.656, 121.421, ("市监测站", "路桥", "黄岩")),
        "丽水": ("ls", 28.468, 119.923, ("市监测站", "莲都")),
    }
)

#: river system -> places along it (city, place), used to name sections
RIVERS: MappingProxyType[str, tuple[tuple[str, str], ...]] = MappingProxyType(
    {
        "钱塘江": (
            ("杭州", "闸口"),
            ("杭州", "七堡"),
            ("杭州", "富春江大坝"),
            ("杭州", "桐庐"),
            ("金华", "兰江"),
            ("金华", "婺江"),
            ("衢州", "衢江"),
            ("衢州", "常山港"),
            ("绍兴", "浦阳江"),
            ("绍兴", "曹娥江"),
        ),
        "瓯江": (("丽水", "大港头"), ("丽水", "开潭"), ("温州", "温溪"), ("温州", "梅岙")),
        "椒江": (("台州", "永宁江"), ("台州", "三江口"), ("台州", "临海"), ("台州", "西门")),
        "甬江": (("宁波", "三江口"), ("宁波", "姚江大闸"), ("宁波", "奉化江"), ("宁波", "镇海")),
        "苕溪": (("湖州", "新塘"), ("湖州", "杭长桥"), ("湖州", "菁山"), ("杭州", "瓶窑")),
        "运河": (("杭州", "塘栖"), ("嘉兴", "王江泾"), ("嘉兴", "乌镇"), ("湖州", "新市")),
        "飞云江": (("温州", "瑞安"), ("温州", "赵山渡"), ("温州", "马屿")),
        "鳌江": (("温州", "平阳"), ("温州", "水头"), ("温州", "萧江")),
    }
)

#: lakes and reservoirs: name -> (city, river system, latitude, longitude); TP takes the lake column
LAKES: MappingProxyType[str, tuple[str, str, float, float]] = MappingProxyType(
    {
        "千岛湖": ("杭州", "钱塘江", 29.605, 118.985),
        "东钱湖": ("宁波", "甬江", 29.768, 121.648),
        "南湖": ("嘉兴", "运河", 30.753, 120.763),
        "太湖": ("湖州", "苕溪", 31.010, 120.150),
        "珊溪水库": ("温州", "飞云江", 27.700, 120.030),
        "长潭水库": ("台州", "椒江", 28.590, 121.150),
        "紧水滩水库": ("丽水", "瓯江", 28.200, 119.400),
    }
)

#: A generous box around the province: every generated coordinate lies inside it.
BOUNDS = ((27.0, 31.2), (118.0, 123.0))
