"""Deterministic demo data for the store: `python -m actions.store seed`.

The data follows docs/shop-policies.md (优选生活 / Youxuan Life).  Every run with
the same code produces the same rows, so tests and docs can name orders, phones
and stock levels.  The showcase rows listed in ``SHOWCASE_ORDERS`` and in
docs/orders.md are fixed by hand; the rest comes from a seeded ``random.Random``.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, List, Optional, Sequence, Tuple

from actions.store.sql import (
    ChannelIdentityRow,
    CouponRow,
    CustomerRow,
    LocationRow,
    OrderLineRow,
    OrderRow,
    ProductAliasRow,
    ProductRow,
    SkuRow,
    SqlStore,
    StatusEventRow,
    StockLevelRow,
)

SEED = 20261122
CHINA = timezone(timedelta(hours=8))
#: The day the demo data was "taken": the newest orders are from the day before.
DATA_DAY = date(2026, 11, 22)

# ---------------------------------------------------------------------------
# Locations (docs/shop-policies.md §2 and §3)
# ---------------------------------------------------------------------------
LOCATIONS: Tuple[Tuple[str, str, str, str, str, str, str, str], ...] = (
    (
        "SH01",
        "store",
        "shanghai",
        "上海静安店",
        "Shanghai Jing'an",
        "上海市静安区南京西路1788号 1–2层",
        "1788 West Nanjing Road, Jing'an, Shanghai, 1F–2F",
        "10:00–22:00",
    ),
    (
        "SH02",
        "store",
        "shanghai",
        "上海徐汇店",
        "Shanghai Xuhui",
        "上海市徐汇区漕溪北路399号 1层",
        "399 North Caoxi Road, Xuhui, Shanghai, 1F",
        "10:00–22:00",
    ),
    (
        "BJ01",
        "store",
        "beijing",
        "北京朝阳店",
        "Beijing Chaoyang",
        "北京市朝阳区建国路96号 1–2层",
        "96 Jianguo Road, Chaoyang, Beijing, 1F–2F",
        "10:00–22:00",
    ),
    (
        "BJ02",
        "store",
        "beijing",
        "北京海淀店",
        "Beijing Haidian",
        "北京市海淀区中关村大街28号 1层",
        "28 Zhongguancun Street, Haidian, Beijing, 1F",
        "10:00–21:30",
    ),
    (
        "SZ01",
        "store",
        "shenzhen",
        "深圳南山店",
        "Shenzhen Nanshan",
        "深圳市南山区深南大道9668号 1层",
        "9668 Shennan Avenue, Nanshan, Shenzhen, 1F",
        "10:00–22:00",
    ),
    (
        "SZ02",
        "store",
        "shenzhen",
        "深圳福田店",
        "Shenzhen Futian",
        "深圳市福田区福华三路168号 2层",
        "168 Fuhua 3rd Road, Futian, Shenzhen, 2F",
        "10:00–22:00",
    ),
    (
        "WHSH",
        "warehouse",
        "shanghai",
        "上海嘉定仓",
        "Shanghai (Jiading) warehouse",
        "上海市嘉定区（不对外开放）",
        "Jiading, Shanghai (not open to the public)",
        "",
    ),
    (
        "WHGZ",
        "warehouse",
        "guangzhou",
        "广州白云仓",
        "Guangzhou (Baiyun) warehouse",
        "广州市白云区（不对外开放）",
        "Baiyun, Guangzhou (not open to the public)",
        "",
    ),
)
STORE_IDS = tuple(loc[0] for loc in LOCATIONS if loc[1] == "store")
WAREHOUSE_IDS = tuple(loc[0] for loc in LOCATIONS if loc[1] == "warehouse")

# ---------------------------------------------------------------------------
# Catalogue: 37 products, 150 SKUs
# ---------------------------------------------------------------------------
COLORS: Dict[str, Tuple[str, str]] = {
    "BK": ("黑色", "black"),
    "WH": ("白色", "white"),
    "BL": ("蓝色", "blue"),
    "PK": ("粉色", "pink"),
    "GY": ("灰色", "grey"),
    "GN": ("绿色", "green"),
    "RD": ("红色", "red"),
    "BG": ("米色", "beige"),
    "SV": ("银色", "silver"),
    "CL": ("透明", "clear"),
}


@dataclass(frozen=True)
class ProductSpec:
    id: str
    name_zh: str
    name_en: str
    category: str
    brand: str
    aliases: Tuple[str, ...]
    colors: Tuple[str, ...]
    capacities: Tuple[str, ...] = ("",)
    sizes: Tuple[str, ...] = ("",)
    price: int = 0  # yuan
    price_step: int = 0  # added per capacity/size step


YX = "优选生活"
PRODUCTS: Tuple[ProductSpec, ...] = (
    # electronics
    ProductSpec(
        "P001",
        "优选Pro降噪耳机",
        "Youxuan Pro ANC Earbuds",
        "electronics",
        YX,
        ("降噪耳机", "蓝牙耳机", "无线耳机", "Pro耳机", "earbuds", "anc earphones", "wireless earphones"),
        ("BK", "WH", "BL"),
        price=499,
    ),
    ProductSpec(
        "P002",
        "优选Air头戴式耳机",
        "Youxuan Air Over-Ear Headphones",
        "electronics",
        YX,
        ("头戴耳机", "头戴式耳机", "耳罩耳机", "headphones", "over ear headphones"),
        ("BK", "SV", "BG"),
        price=699,
    ),
    ProductSpec(
        "P003",
        "快充充电宝",
        "Fast-Charge Power Bank",
        "electronics",
        YX,
        ("充电宝", "移动电源", "行动电源", "尿宝", "power bank", "portable charger", "powerbank"),
        ("BK", "WH"),
        capacities=("10000mAh", "20000mAh"),
        price=129,
        price_step=50,
    ),
    ProductSpec(
        "P004",
        "65W氮化镓充电器",
        "65W GaN Charger",
        "electronics",
        YX,
        ("充电器", "充电头", "快充头", "氮化镓", "charger", "gan charger", "wall charger"),
        ("WH", "BK"),
        price=149,
    ),
    ProductSpec(
        "P005",
        "优选Watch S智能手表",
        "Youxuan Watch S Smartwatch",
        "electronics",
        YX,
        ("智能手表", "手表", "运动手表", "watch s", "smartwatch", "smart watch"),
        ("BK", "SV", "PK"),
        sizes=("41mm", "45mm"),
        price=899,
        price_step=100,
    ),
    ProductSpec(
        "P006",
        "便携蓝牙音箱",
        "Portable Bluetooth Speaker",
        "electronics",
        YX,
        ("蓝牙音箱", "音箱", "音响", "小音箱", "speaker", "bluetooth speaker"),
        ("BK", "BL", "RD"),
        price=259,
    ),
    ProductSpec(
        "P007",
        "磁吸无线充电板",
        "Magnetic Wireless Charging Pad",
        "electronics",
        YX,
        ("无线充", "无线充电器", "磁吸充电", "wireless charger", "charging pad"),
        ("WH",),
        price=129,
    ),
    ProductSpec(
        "P008",
        "USB-C快充数据线",
        "USB-C Fast-Charge Cable",
        "electronics",
        YX,
        ("数据线", "充电线", "type-c线", "usb c cable", "charging cable", "cable"),
        ("WH",),
        sizes=("1m", "2m"),
        price=39,
        price_step=10,
    ),
    ProductSpec(
        "P009",
        "车载快充充电器",
        "Fast Car Charger",
        "electronics",
        YX,
        ("车充", "车载充电器", "点烟器充电", "car charger"),
        ("BK",),
        price=79,
    ),
    # cups and bottles
    ProductSpec(
        "P010",
        "不锈钢保温杯",
        "Stainless Steel Vacuum Bottle",
        "cups_bottles",
        YX,
        ("保温杯", "保温瓶", "保温水杯", "焖烧杯", "thermos", "vacuum flask", "insulated bottle", "vacuum bottle"),
        ("WH", "BK", "BL", "PK"),
        capacities=("350ml", "500ml", "750ml"),
        price=99,
        price_step=20,
    ),
    ProductSpec(
        "P011",
        "陶瓷马克杯",
        "Ceramic Mug",
        "cups_bottles",
        YX,
        ("马克杯", "陶瓷杯", "咖啡杯", "mug", "coffee mug"),
        ("WH", "GY", "GN"),
        capacities=("350ml",),
        price=49,
    ),
    ProductSpec(
        "P012",
        "随行咖啡杯",
        "Travel Coffee Tumbler",
        "cups_bottles",
        YX,
        ("随行杯", "咖啡随行杯", "tumbler", "travel mug"),
        ("BK", "WH", "BG"),
        capacities=("400ml",),
        price=89,
    ),
    ProductSpec(
        "P013",
        "儿童吸管杯",
        "Kids Straw Cup",
        "cups_bottles",
        YX,
        ("吸管杯", "儿童水杯", "宝宝水杯", "kids cup", "straw cup"),
        ("BL", "PK"),
        capacities=("400ml",),
        price=69,
    ),
    ProductSpec(
        "P014",
        "Tritan运动水壶",
        "Tritan Sports Bottle",
        "cups_bottles",
        YX,
        ("运动水壶", "水壶", "塑料水杯", "大水杯", "sports bottle", "water bottle"),
        ("BL", "GY"),
        capacities=("600ml", "1L"),
        price=59,
        price_step=20,
    ),
    ProductSpec(
        "P015",
        "耐热玻璃水杯",
        "Heat-Resistant Glass Cup",
        "cups_bottles",
        YX,
        ("玻璃杯", "玻璃水杯", "glass cup", "glass"),
        ("CL",),
        capacities=("300ml",),
        price=39,
    ),
    # small appliances
    ProductSpec(
        "P020",
        "智能电热水壶",
        "Smart Electric Kettle",
        "small_appliances",
        YX,
        ("电热水壶", "烧水壶", "热水壶", "电水壶", "kettle", "electric kettle"),
        ("WH", "BK"),
        capacities=("1.5L", "1.7L"),
        price=199,
        price_step=30,
    ),
    ProductSpec(
        "P021",
        "无油空气炸锅",
        "Oil-Free Air Fryer",
        "small_appliances",
        YX,
        ("空气炸锅", "炸锅", "空气锅", "air fryer", "airfryer"),
        ("WH", "BK"),
        capacities=("4L", "5.5L"),
        price=399,
        price_step=100,
    ),
    ProductSpec(
        "P022",
        "负离子吹风机",
        "Ionic Hair Dryer",
        "small_appliances",
        YX,
        ("吹风机", "电吹风", "风筒", "hair dryer", "hairdryer", "blow dryer"),
        ("WH", "PK", "GY"),
        price=299,
    ),
    ProductSpec(
        "P023",
        "声波电动牙刷",
        "Sonic Electric Toothbrush",
        "small_appliances",
        YX,
        ("电动牙刷", "牙刷", "electric toothbrush", "toothbrush"),
        ("WH", "BK", "PK"),
        price=199,
    ),
    ProductSpec(
        "P024",
        "电动牙刷替换刷头（4支装）",
        "Toothbrush Replacement Heads (4-pack)",
        "small_appliances",
        YX,
        ("刷头", "替换刷头", "牙刷头", "brush heads", "replacement heads"),
        ("WH",),
        price=59,
    ),
    ProductSpec(
        "P025",
        "迷你破壁料理机",
        "Mini Blender",
        "small_appliances",
        YX,
        ("料理机", "破壁机", "榨汁机", "搅拌机", "blender", "juicer"),
        ("WH", "GN"),
        capacities=("600ml",),
        price=259,
    ),
    ProductSpec(
        "P026",
        "手持挂烫机",
        "Handheld Garment Steamer",
        "small_appliances",
        YX,
        ("挂烫机", "熨斗", "蒸汽熨斗", "garment steamer", "steamer"),
        ("WH",),
        price=169,
    ),
    ProductSpec(
        "P027",
        "静音加湿器",
        "Quiet Humidifier",
        "small_appliances",
        YX,
        ("加湿器", "humidifier"),
        ("WH",),
        capacities=("4L",),
        price=219,
    ),
    # home goods
    ProductSpec(
        "P030",
        "全棉四件套",
        "Cotton Bedding Set (4 pcs)",
        "home",
        YX,
        ("四件套", "床上四件套", "床单被套", "被套", "bedding set", "bed sheets", "duvet cover set"),
        ("WH", "GY", "BL"),
        sizes=("1.5m", "1.8m"),
        price=399,
        price_step=60,
    ),
    ProductSpec(
        "P031",
        "记忆棉枕头",
        "Memory Foam Pillow",
        "home",
        YX,
        ("枕头", "记忆枕", "memory pillow", "pillow"),
        ("WH",),
        price=159,
    ),
    ProductSpec(
        "P032",
        "可折叠收纳箱",
        "Foldable Storage Box",
        "home",
        YX,
        ("收纳箱", "整理箱", "储物箱", "storage box", "storage bin"),
        ("GY", "BG"),
        capacities=("30L", "55L"),
        price=59,
        price_step=30,
    ),
    ProductSpec(
        "P033",
        "不粘炒锅",
        "Non-Stick Wok",
        "home",
        YX,
        ("炒锅", "不粘锅", "锅", "wok", "frying pan", "non stick pan"),
        ("BK",),
        sizes=("30cm", "32cm"),
        price=229,
        price_step=30,
    ),
    ProductSpec(
        "P034",
        "不锈钢刀具套装",
        "Stainless Steel Knife Set",
        "home",
        YX,
        ("刀具", "菜刀", "刀具套装", "knife set", "knives"),
        ("SV",),
        price=299,
    ),
    ProductSpec(
        "P035",
        "密封保鲜盒（3件套）",
        "Airtight Food Containers (set of 3)",
        "home",
        YX,
        ("保鲜盒", "饭盒", "密封盒", "food containers", "lunch box"),
        ("CL",),
        price=69,
    ),
    ProductSpec(
        "P036",
        "抽屉收纳盒",
        "Drawer Organizer",
        "home",
        YX,
        ("抽屉收纳", "收纳盒", "drawer organizer", "organizer"),
        ("WH", "GY"),
        price=39,
    ),
    # clothing basics
    ProductSpec(
        "P040",
        "纯棉圆领T恤",
        "Cotton Crew-Neck T-Shirt",
        "clothing",
        YX,
        ("T恤", "t恤", "短袖", "圆领T", "白T", "tee", "t-shirt", "tshirt"),
        ("WH", "BK", "GY", "BL"),
        sizes=("S", "M", "L", "XL"),
        price=79,
    ),
    ProductSpec(
        "P041",
        "莫代尔家居服套装",
        "Modal Loungewear Set",
        "clothing",
        YX,
        ("家居服", "睡衣", "睡衣套装", "loungewear", "pajamas", "pyjamas"),
        ("GY", "PK", "BL"),
        sizes=("S", "M", "L", "XL"),
        price=199,
    ),
    ProductSpec(
        "P042",
        "精梳棉袜子（5双装）",
        "Combed Cotton Socks (5 pairs)",
        "clothing",
        YX,
        ("袜子", "棉袜", "socks"),
        ("WH", "BK", "GY"),
        sizes=("M", "L"),
        price=49,
    ),
    ProductSpec(
        "P043",
        "男士平角内裤（3条装）",
        "Men's Boxer Briefs (3-pack)",
        "clothing",
        YX,
        ("内裤", "男士内裤", "平角裤", "boxers", "boxer briefs", "underwear"),
        ("BK", "GY"),
        sizes=("M", "L", "XL"),
        price=99,
    ),
    ProductSpec(
        "P044",
        "女士无痕内裤（3条装）",
        "Women's Seamless Briefs (3-pack)",
        "clothing",
        YX,
        ("女士内裤", "无痕内裤", "seamless briefs", "women's underwear"),
        ("BG", "BK"),
        sizes=("S", "M", "L"),
        price=89,
    ),
    ProductSpec(
        "P045",
        "连帽卫衣",
        "Hooded Sweatshirt",
        "clothing",
        YX,
        ("卫衣", "连帽衫", "帽衫", "hoodie", "sweatshirt"),
        ("BK", "GY", "BG"),
        sizes=("S", "M", "L", "XL"),
        price=229,
    ),
    ProductSpec(
        "P046",
        "速干运动T恤",
        "Quick-Dry Sports Tee",
        "clothing",
        YX,
        ("运动T恤", "速干衣", "速干T恤", "sports tee", "dry fit shirt"),
        ("BK", "BL"),
        sizes=("M", "L", "XL"),
        price=129,
    ),
)

#: (sku code, reason) for rows whose stock is fixed by hand; see docs/orders.md.
OUT_EVERYWHERE = ("P010-PK-750ML", "P005-PK-45MM", "P021-BK-5P5L", "P041-PK-XL", "P045-BG-S", "P002-BG")
ONLINE_ONLY = ("P001-BL", "P020-BK-1P7L", "P040-BL-XL", "P012-BG-400ML")  # warehouses only, no store
STORE_ONLY = ("P006-RD", "P042-GY-L")  # a few left in stores, none online


def _code_part(value: str) -> str:
    return value.upper().replace(".", "P").replace(" ", "")


def sku_code(product_id: str, color: str, capacity: str, size: str) -> str:
    parts = [product_id, color] + [_code_part(v) for v in (capacity, size) if v]
    return "-".join(parts)


def build_skus() -> List[Tuple[ProductSpec, str, str, str, str, int]]:
    """(product, code, color key, capacity, size, price in yuan) for every SKU, in a fixed order."""
    out = []
    for spec in PRODUCTS:
        for ci, cap in enumerate(spec.capacities):
            for si, size in enumerate(spec.sizes):
                for color in spec.colors:
                    price = spec.price + spec.price_step * (ci + si)
                    out.append((spec, sku_code(spec.id, color, cap, size), color, cap, size, price))
    return out


# ---------------------------------------------------------------------------
# Customers
# ---------------------------------------------------------------------------
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "晓东",
    "雨欣",
    "子涵",
    "浩然",
    "思远",
    "嘉怡",
    "梓萱",
    "一鸣",
)
TIERS = ("regular", "regular", "regular", "silver", "silver", "gold", "platinum")
CUSTOMER_COUNT = 60

#: Customers the docs name: (id, name, phone, tier, WeChat openid or None).
SHOWCASE_CUSTOMERS = (
    ("C0001", "王芳", "13812345678", "gold", "oKefuDemoOpenid0000000000001"),
    ("C0002", "李明", "13900001234", "regular", None),
    ("C0003", "陈静", "13711112468", "silver", "oKefuDemoOpenid0000000000003"),
    ("C0004", "Emily Zhang", "18688889012", "platinum", None),
    ("C0005", "黄嘉怡", "15011113579", "regular", None),
)

ADDRESSES = (
    ("上海市", "浦东新区", "张杨路{n}号{b}号楼{r}室"),
    ("上海市", "闵行区", "七莘路{n}弄{b}号{r}室"),
    ("北京市", "朝阳区", "望京西路{n}号院{b}号楼{r}"),
    ("北京市", "海淀区", "学院路{n}号{b}单元{r}"),
    ("广东省深圳市", "南山区", "科苑路{n}号{b}栋{r}"),
    ("广东省广州市", "天河区", "天河北路{n}号{b}座{r}"),
    ("浙江省杭州市", "西湖区", "文三路{n}号{b}幢{r}室"),
    ("江苏省南京市", "鼓楼区", "中山北路{n}号{b}栋{r}"),
    ("四川省成都市", "武侯区", "科华北路{n}号{b}栋{r}"),
    ("湖北省武汉市", "洪山区", "珞喻路{n}号{b}栋{r}"),
    ("香港特别行政区", "九龙城区", "太子道西{n}号{b}楼{r}室"),
    ("台湾省台北市", "大安区", "忠孝东路{n}号{b}楼"),
)


def openid_for(customer_id: str) -> str:
    digest = hashlib.sha1(f"kefu-demo-{customer_id}".encode()).hexdigest()
    return f"oKefu{digest[:23]}"


# ---------------------------------------------------------------------------
# Orders
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderPlan:
    day: date
    minute: int  # minutes after local midnight
    status: str
    channel: str
    customer_id: str
    skus: Tuple[str, ...] = ()  # fixed lines for showcase orders
    carrier: Optional[str] = None


#: Orders named in docs/orders.md. They are the first order of their (local) day, so their number ends in 001.
SHOWCASE_ORDERS: Tuple[OrderPlan, ...] = (
    OrderPlan(
        date(2026, 11, 20), 7 * 60 + 12, "shipped", "online", "C0001", ("P001-BK", "P010-WH-500ML"), "SF Express"
    ),
    OrderPlan(
        date(2026, 11, 18), 7 * 60 + 40, "delivered", "wechat_mini_program", "C0002", ("P040-WH-M", "P042-WH-M"), "ZTO"
    ),
    OrderPlan(date(2026, 11, 21), 7 * 60 + 5, "pending_payment", "online", "C0003", ("P021-WH-4L",)),
    OrderPlan(date(2026, 11, 15), 7 * 60 + 30, "refund_in_progress", "online", "C0001", ("P022-PK",), "SF Express"),
    OrderPlan(date(2026, 11, 19), 7 * 60 + 50, "paid", "wechat_mini_program", "C0004", ("P005-BK-41MM", "P004-WH")),
    OrderPlan(date(2026, 11, 10), 7 * 60 + 15, "cancelled", "online", "C0005", ("P030-GY-1P8M",)),
    OrderPlan(date(2026, 11, 16), 7 * 60 + 20, "delivered", "store", "C0003", ("P023-WH", "P024-WH")),
)

STATUS_QUOTA = {  # the 293 generated orders on top of the 7 showcase ones
    "delivered": 145,
    "shipped": 45,
    "paid": 28,
    "pending_payment": 20,
    "refund_in_progress": 28,
    "cancelled": 27,
}
CHANNEL_WEIGHTS = (("online", 5), ("wechat_mini_program", 3), ("store", 2))
FIRST_DAY = date(2026, 8, 25)


def _days_for(status: str, rng: random.Random) -> date:
    last = DATA_DAY - timedelta(days=1)
    span = {"shipped": 4, "paid": 1, "pending_payment": 2}.get(status)
    if span is not None:
        return last - timedelta(days=rng.randint(0, span - 1))
    if status == "delivered":
        return FIRST_DAY + timedelta(days=rng.randint(0, (last - FIRST_DAY).days - 4))
    return FIRST_DAY + timedelta(days=rng.randint(0, (last - FIRST_DAY).days - 1))


def _carrier(skus: Sequence[Tuple[ProductSpec, str, str, str, str, int]], total_yuan: int) -> str:
    categories = {s[0].category for s in skus}
    if categories & {"electronics", "small_appliances"} or total_yuan >= 299:
        return "SF Express"
    if any(s[0].id in ("P030", "P032") for s in skus):
        return "JD Logistics"
    return "ZTO"


def _tracking(carrier: str, rng: random.Random) -> str:
    if carrier == "SF Express":
        return "SF" + "".join(str(rng.randint(0, 9)) for _ in range(13))
    if carrier == "JD Logistics":
        return "JDVA" + "".join(str(rng.randint(0, 9)) for _ in range(11))
    return "78" + "".join(str(rng.randint(0, 9)) for _ in range(12))


def _local(day: date, minute: int) -> datetime:
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=CHINA).astimezone(timezone.utc)


def _warehouse_label(address: str) -> Tuple[str, str]:
    south = any(p in address for p in ("广东", "香港", "台湾", "四川", "湖北"))
    return ("广州白云仓", "Guangzhou warehouse") if south else ("上海嘉定仓", "Shanghai warehouse")


def _events(
    plan: OrderPlan,
    created: datetime,
    carrier: Optional[str],
    address: str,
    store: Optional[LocationRow],
    rng: random.Random,
) -> Tuple[List[Tuple[str, datetime, str, str]], Optional[date]]:
    """The status timeline of one order and its expected delivery date."""
    events = [("pending_payment", created, "订单已提交，等待付款", "Order placed, awaiting payment")]
    expected: Optional[date] = None
    if plan.channel == "store":
        assert store is not None
        paid = created + timedelta(minutes=2)
        events.append(("paid", paid, f"已在{store.name_zh}付款", f"Paid at {store.name_en}"))
        events.append(("delivered", paid + timedelta(minutes=1), "门店当场提货", "Collected in store"))
        if plan.status == "refund_in_progress":
            at = paid + timedelta(days=rng.randint(1, 5), hours=3)
            events.append(
                (
                    "refund_in_progress",
                    at,
                    f"已在{store.name_zh}办理退货，退款处理中",
                    f"Returned at {store.name_en}; refund in progress",
                )
            )
        return events, None
    if plan.status == "pending_payment":
        return events, None
    if plan.status == "cancelled" and rng.random() < 0.5:
        events.append(
            (
                "cancelled",
                created + timedelta(minutes=30),
                "超时未付款，订单已自动取消",
                "Not paid within 30 minutes; cancelled automatically",
            )
        )
        return events, None
    paid = created + timedelta(minutes=rng.randint(1, 25))
    events.append(("paid", paid, "付款成功", "Payment received"))
    if plan.status == "paid":
        return events, None
    if plan.status == "cancelled":
        at = paid + timedelta(hours=rng.randint(1, 5))
        events.append(
            ("cancelled", at, "顾客在发货前取消，款项已原路退回", "Cancelled by the customer before dispatch; refunded")
        )
        return events, None
    wh_zh, wh_en = _warehouse_label(address)
    local_paid = paid.astimezone(CHINA)
    ship_day = local_paid.date() if local_paid.hour < 16 else local_paid.date() + timedelta(days=1)
    shipped = _local(ship_day, 18 * 60 + rng.randint(0, 90))
    carrier_zh = {"SF Express": "顺丰速运", "JD Logistics": "京东物流", "ZTO": "中通快递"}.get(carrier or "", carrier)
    events.append(
        (
            "shipped",
            shipped,
            f"已从{wh_zh}发出，{carrier_zh}揽收",
            f"Dispatched from the {wh_en}, picked up by {carrier}",
        )
    )
    near = any(p in address for p in ("上海", "浙江", "江苏", "广东"))
    far = any(p in address for p in ("香港", "台湾"))
    expected = ship_day + timedelta(days=1 if near else (4 if far else 3))
    if plan.status == "shipped":
        return events, expected
    delivered = _local(expected, 10 * 60 + rng.randint(0, 480))
    events.append(("delivered", delivered, "已签收", "Delivered and signed for"))
    if plan.status == "refund_in_progress":
        at = delivered + timedelta(days=rng.randint(1, 6), hours=2)
        events.append(("refund_in_progress", at, "退货已寄回，退款处理中", "Return received; refund in progress"))
    return events, expected


def seed(store: SqlStore, force: bool = False) -> Dict[str, int]:
    """Create the schema and fill it with the demo data. Returns row counts.

    Refuses to touch a database that already holds orders unless ``force``
    (then every table is dropped and recreated).
    """
    if store.has_data():
        if not force:
            raise RuntimeError("the store database already has data; use --force to replace it")
        store.drop_schema()
    store.create_schema()
    rng = random.Random(SEED)
    counts: Dict[str, int] = {}
    skus = build_skus()
    sku_by_code = {s[1]: s for s in skus}
    assert len(skus) == 150, len(skus)

    with store.session() as s:
        locations = {}
        for loc in LOCATIONS:
            row = LocationRow(
                id=loc[0],
                kind=loc[1],
                city=loc[2],
                name_zh=loc[3],
                name_en=loc[4],
                address_zh=loc[5],
                address_en=loc[6],
                hours=loc[7],
            )
            locations[loc[0]] = row
            s.add(row)
        for spec in PRODUCTS:
            s.add(
                ProductRow(
                    id=spec.id, name_zh=spec.name_zh, name_en=spec.name_en, category=spec.category, brand=spec.brand
                )
            )
        s.flush()
        for spec in PRODUCTS:
            for alias in spec.aliases:
                s.add(ProductAliasRow(product_id=spec.id, alias=alias))
        for spec, code, color, cap, size, price in skus:
            zh, en = COLORS[color]
            s.add(
                SkuRow(
                    code=code,
                    product_id=spec.id,
                    price_cents=price * 100,
                    color_zh=zh,
                    color_en=en,
                    size=size,
                    capacity=cap,
                )
            )
        s.flush()

        # stock: every SKU has a row at every location
        for _spec, code, *_ in skus:
            for loc_id in STORE_IDS + WAREHOUSE_IDS:
                is_wh = loc_id in WAREHOUSE_IDS
                if code in OUT_EVERYWHERE:
                    qty = 0
                elif code in ONLINE_ONLY:
                    qty = rng.randint(20, 80) if is_wh else 0
                elif code in STORE_ONLY:
                    qty = 0 if is_wh else (rng.randint(1, 3) if loc_id in ("SH01", "BJ02", "SZ01") else 0)
                elif is_wh:
                    qty = rng.choice((0, 15, 40, 60, 120, 200)) if rng.random() < 0.9 else 0
                else:
                    qty = 0 if rng.random() < 0.3 else rng.randint(1, 12)
                s.add(StockLevelRow(sku_code=code, location_id=loc_id, quantity=qty))
        # the showcase stock rows documented in docs/orders.md
        fixed = {
            ("P010-WH-500ML", "SH01"): 8,
            ("P010-WH-500ML", "SH02"): 0,
            ("P010-WH-500ML", "BJ01"): 3,
            ("P010-WH-500ML", "BJ02"): 0,
            ("P010-WH-500ML", "SZ01"): 5,
            ("P010-WH-500ML", "SZ02"): 2,
            ("P010-WH-500ML", "WHSH"): 120,
            ("P010-WH-500ML", "WHGZ"): 60,
            ("P001-BK", "SH01"): 4,
            ("P001-BK", "SH02"): 0,
            ("P001-BK", "BJ01"): 0,
            ("P001-BK", "BJ02"): 0,
            ("P001-BK", "SZ01"): 6,
            ("P001-BK", "SZ02"): 1,
            ("P001-BK", "WHSH"): 40,
            ("P001-BK", "WHGZ"): 0,
        }
        s.flush()
        for (code, loc_id), qty in fixed.items():
            row = s.get(StockLevelRow, (code, loc_id))
            assert row is not None
            row.quantity = qty

        # customers
        customers: List[CustomerRow] = []
        showcase = {c[0]: c for c in SHOWCASE_CUSTOMERS}
        used_phones = {c[2] for c in SHOWCASE_CUSTOMERS}
        for i in range(1, CUSTOMER_COUNT + 1):
            cid = f"C{i:04d}"
            openid: Optional[str]
            if cid in showcase:
                _, name, phone, tier, openid = showcase[cid]
            else:
                name = rng.choice(SURNAMES) + rng.choice(GIVEN)
                while True:
                    phone = rng.choice(("13", "15", "17", "18", "19")) + "".join(
                        str(rng.randint(0, 9)) for _ in range(9)
                    )
                    if phone not in used_phones:
                        used_phones.add(phone)
                        break
                tier = rng.choice(TIERS)
                openid = openid_for(cid) if i % 4 == 0 else None
            row = CustomerRow(id=cid, name=name, phone=phone, tier=tier)
            s.add(row)
            customers.append(row)
            if openid:
                s.add(ChannelIdentityRow(customer_id=cid, channel="wechat", external_id=openid))
            if i % 10 == 0:
                s.add(ChannelIdentityRow(customer_id=cid, channel="wecom", external_id=f"wm{cid.lower()}user"))
        s.flush()
        counts["customers"] = len(customers)
        addresses = {c.id: rng.choice(ADDRESSES) for c in customers}
        addresses["C0001"] = ADDRESSES[0]
        addresses["C0004"] = ADDRESSES[4]

        # orders
        plans: List[OrderPlan] = list(SHOWCASE_ORDERS)
        generated_ids = [c.id for c in customers]
        for status, n in STATUS_QUOTA.items():
            for _ in range(n):
                channel = rng.choices([c for c, _ in CHANNEL_WEIGHTS], [w for _, w in CHANNEL_WEIGHTS])[0]
                if channel == "store" and status not in ("delivered", "refund_in_progress"):
                    channel = "online"
                plans.append(
                    OrderPlan(
                        _days_for(status, rng),
                        rng.randint(8 * 60, 23 * 60 - 1),
                        status,
                        channel,
                        rng.choice(generated_ids),
                    )
                )
        plans.sort(key=lambda p: (p.day, p.minute, p.customer_id))
        seq_by_day: Dict[date, int] = {}
        status_count: Dict[str, int] = {}
        line_total = 0
        for plan in plans:
            seq = seq_by_day.get(plan.day, 0) + 1
            seq_by_day[plan.day] = seq
            order_id = f"KF{plan.day:%Y%m%d}{seq:03d}"
            cust = next(c for c in customers if c.id == plan.customer_id)
            created = _local(plan.day, plan.minute)
            codes = plan.skus or tuple(
                rng.sample([sk[1] for sk in skus if sk[1] not in OUT_EVERYWHERE], rng.choice((1, 1, 1, 2, 2, 3)))
            )
            lines = [(sku_by_code[c], 1 if plan.skus else rng.choice((1, 1, 1, 2))) for c in codes]
            subtotal = sum(sk[5] * q for sk, q in lines) * 100
            discount = 3000 if subtotal >= 19900 and rng.random() < 0.3 else 0
            paid_goods = subtotal - discount
            free = paid_goods >= 9900 or cust.tier in ("gold", "platinum") or plan.channel == "store"
            shipping = 0 if free else 800
            total = paid_goods + shipping
            store_row: Optional[LocationRow] = None
            if plan.channel == "store":
                store_row = locations[STORE_IDS[(int(cust.id[1:]) + seq) % len(STORE_IDS)]]
                address = store_row.address_zh
            else:
                prov, district, street = addresses[cust.id]
                address = (
                    prov
                    + district
                    + street.format(n=rng.randint(10, 999), b=rng.randint(1, 12), r=rng.randint(101, 2208))
                )
            ships = plan.channel != "store" and plan.status in ("shipped", "delivered", "refund_in_progress")
            carrier = (plan.carrier or _carrier([sk for sk, _ in lines], total // 100)) if ships else None
            events, expected = _events(plan, created, carrier, address, store_row, rng)
            refund = None
            if plan.status == "refund_in_progress":
                refund = lines[0][0][5] * lines[0][1] * 100 if len(lines) > 1 else paid_goods
            s.add(
                OrderRow(
                    order_id=order_id,
                    customer_id=cust.id,
                    status=plan.status,
                    channel=plan.channel,
                    created_at=created,
                    contact_name=cust.name,
                    contact_phone=cust.phone,
                    shipping_address=address,
                    subtotal_cents=subtotal,
                    shipping_fee_cents=shipping,
                    discount_cents=discount,
                    total_cents=total,
                    carrier=carrier,
                    tracking_number=_tracking(carrier, rng) if carrier else None,
                    expected_delivery=expected,
                    store_id=store_row.id if store_row else None,
                    payment_deadline=created + timedelta(minutes=30) if plan.status == "pending_payment" else None,
                    refund_cents=refund,
                )
            )
            s.flush()
            for n, (sk, q) in enumerate(lines, start=1):
                spec, code, color, cap, size, price = sk
                zh, en = COLORS[color]
                s.add(
                    OrderLineRow(
                        order_id=order_id,
                        line_no=n,
                        sku_code=code,
                        name_zh=spec.name_zh,
                        name_en=spec.name_en,
                        variant_zh=" ".join(v for v in (zh, cap, size) if v),
                        variant_en=" ".join(v for v in (en, cap, size) if v),
                        quantity=q,
                        unit_price_cents=price * 100,
                    )
                )
                line_total += 1
            for n, (status, at, zh_note, en_note) in enumerate(events, start=1):
                s.add(StatusEventRow(order_id=order_id, seq=n, status=status, at=at, note_zh=zh_note, note_en=en_note))
            status_count[plan.status] = status_count.get(plan.status, 0) + 1
        counts["orders"] = len(plans)
        counts["order_lines"] = line_total

        # coupons
        n_coupons = 0
        fixed_coupons = {
            "C0001": (
                (
                    "CP-C0001-ON30",
                    "满199减30（仅线上）",
                    "30 off 199 (online only)",
                    "online",
                    "amount_off",
                    3000,
                    19900,
                    date(2026, 11, 1),
                    date(2026, 12, 31),
                    None,
                ),
                (
                    "CP-C0001-ST20",
                    "满100减20（仅门店）",
                    "20 off 100 (stores only)",
                    "in_store",
                    "amount_off",
                    2000,
                    10000,
                    date(2026, 11, 1),
                    date(2026, 12, 31),
                    None,
                ),
                (
                    "CP-C0001-ALL90",
                    "全场9折券",
                    "10% off everything",
                    "both",
                    "percent_off",
                    10,
                    0,
                    date(2026, 11, 1),
                    date(2027, 1, 31),
                    None,
                ),
                (
                    "CP-C0001-OLD15",
                    "满99减15",
                    "15 off 99",
                    "both",
                    "amount_off",
                    1500,
                    9900,
                    date(2026, 9, 1),
                    date(2026, 10, 31),
                    None,
                ),
                (
                    "CP-C0001-USED50",
                    "金卡生日券50元",
                    "Gold birthday coupon 50 off",
                    "both",
                    "amount_off",
                    5000,
                    0,
                    date(2026, 10, 1),
                    date(2026, 10, 31),
                    datetime(2026, 10, 12, 6, 30, tzinfo=timezone.utc),
                ),
            ),
        }
        templates = (
            ("满199减30", "30 off 199", "amount_off", 3000, 19900),
            ("满99减10", "10 off 99", "amount_off", 1000, 9900),
            ("满299减50", "50 off 299", "amount_off", 5000, 29900),
            ("全场95折", "5% off everything", "percent_off", 5, 0),
            ("小家电9折", "10% off small appliances", "percent_off", 10, 10000),
        )
        scope_suffix = {
            "online": ("（仅线上）", " (online only)"),
            "in_store": ("（仅门店）", " (stores only)"),
            "both": ("", ""),
        }
        for cust in customers:
            rows = fixed_coupons.get(cust.id)
            if rows is None:
                rows = []
                for k in range(rng.choice((0, 1, 1, 2, 3))):
                    zh, en, kind, value, min_spend = rng.choice(templates)
                    scope = rng.choice(("online", "in_store", "both", "both"))
                    start = date(2026, rng.choice((9, 10, 11)), 1)
                    until = start + timedelta(days=rng.choice((30, 60, 90)))
                    used = datetime(2026, 11, 5, 4, 0, tzinfo=timezone.utc) if rng.random() < 0.15 else None
                    rows.append(
                        (
                            f"CP-{cust.id}-{k + 1:02d}",
                            zh + scope_suffix[scope][0],
                            en + scope_suffix[scope][1],
                            scope,
                            kind,
                            value,
                            min_spend,
                            start,
                            until,
                            used,
                        )
                    )
            for code, zh, en, scope, kind, value, min_spend, start, until, used in rows:
                s.add(
                    CouponRow(
                        code=code,
                        customer_id=cust.id,
                        title_zh=zh,
                        title_en=en,
                        scope=scope,
                        kind=kind,
                        value=value,
                        min_spend_cents=min_spend,
                        valid_from=start,
                        valid_until=until,
                        used_at=used,
                    )
                )
                n_coupons += 1
        counts["coupons"] = n_coupons
        counts["skus"] = len(skus)
        counts["products"] = len(PRODUCTS)
        counts["locations"] = len(LOCATIONS)
        s.commit()
    counts.update({f"status:{k}": v for k, v in sorted(status_count.items())})
    return counts
