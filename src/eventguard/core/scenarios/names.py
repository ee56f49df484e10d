"""Deterministic, plausible names for scenario data (chosen by the step's own generator)."""

import random

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文斌宇浩凯晨欣怡佳琪"
    "雪梅丹婷鹏辉志海波燕春林峰"
)
PINYIN = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun"]

SH_DISTRICTS = [
    "青浦区",
    "闵行区",
    "徐汇区",
    "长宁区",
    "浦东新区",
    "嘉定区",
    "松江区",
    "静安区",
    "普陀区",
    "宝山区",
]
SH_ROADS = [
    "崧泽大道",
    "盈港东路",
    "诸光路",
    "涞港路",
    "徐泾北路",
    "华徐公路",
    "蟠龙路",
    "龙联路",
    "明珠路",
    "沪青平公路",
]

FOOD_BRANDS = [
    "海派",
    "申味",
    "江南",
    "丝路",
    "环球",
    "金桥",
    "东方",
    "四季",
    "万家",
    "鲜享",
    "宴宾",
    "锦江",
    "百味",
    "麦香",
    "蓝湾",
]
FOOD_KINDS = [
    ("餐厅", "Restaurant"),
    ("咖啡", "Café"),
    ("简餐", "Quick Meals"),
    ("面点", "Noodle Bar"),
    ("茶饮", "Tea House"),
    ("烘焙", "Bakery"),
    ("快餐", "Fast Food"),
    ("餐车", "Food Truck"),
]
GROUP_MEAL = [
    "团膳餐饮管理有限公司",
    "集体用餐配送有限公司",
    "餐饮服务有限公司",
    "膳食管理有限公司",
]
SUPPLIER = [
    ("蔬菜", "Vegetables"),
    ("肉类", "Meat"),
    ("水产", "Seafood"),
    ("粮油", "Grain & Oil"),
    ("乳制品", "Dairy"),
    ("禽蛋", "Poultry & Eggs"),
    ("调味品", "Condiments"),
    ("水果", "Fruit"),
    ("饮用水", "Drinking Water"),
    ("冷冻食品", "Frozen Food"),
]
HOTELS = [
    ("国家会展中心洲际酒店", "InterContinental Shanghai NECC"),
    ("虹桥元一希尔顿酒店", "Hilton Shanghai Hongqiao"),
    ("虹桥雅高美爵酒店", "Grand Mercure Hongqiao"),
    ("虹桥新华联索菲特大酒店", "Sofitel Shanghai Hongqiao"),
    ("虹桥英迪格酒店", "Hotel Indigo Hongqiao"),
    ("青浦瑞仕酒店", "Swissotel Qingpu"),
    ("虹桥绿地铂瑞酒店", "Primus Hotel Hongqiao"),
]
KEY_UNIT_KINDS = [
    ("地铁站", "Metro Station"),
    ("交通枢纽", "Transport Hub"),
    ("商业广场", "Shopping Plaza"),
    ("酒店", "Hotel"),
    ("医院", "Hospital"),
    ("办公楼", "Office Tower"),
    ("会议中心", "Conference Centre"),
    ("停车库", "Car Park"),
]
COUNTRIES = [
    ("澳大利亚", "Australia"),
    ("新西兰", "New Zealand"),
    ("法国", "France"),
    ("意大利", "Italy"),
    ("西班牙", "Spain"),
    ("德国", "Germany"),
    ("荷兰", "Netherlands"),
    ("丹麦", "Denmark"),
    ("挪威", "Norway"),
    ("智利", "Chile"),
    ("阿根廷", "Argentina"),
    ("巴西", "Brazil"),
    ("美国", "United States"),
    ("加拿大", "Canada"),
    ("日本", "Japan"),
    ("韩国", "Korea"),
    ("泰国", "Thailand"),
    ("越南", "Vietnam"),
    ("俄罗斯", "Russia"),
    ("爱尔兰", "Ireland"),
    ("比利时", "Belgium"),
    ("葡萄牙", "Portugal"),
    ("厄瓜多尔", "Ecuador"),
    ("秘鲁", "Peru"),
]
EXPORT_GOODS = [
    ("牛肉", "Beef"),
    ("羊肉", "Lamb"),
    ("三文鱼", "Salmon"),
    ("乳品", "Dairy"),
    ("海产", "Seafood"),
    ("猪肉", "Pork"),
    ("冰淇淋", "Ice Cream"),
    ("虾类", "Prawns"),
    ("奶酪", "Cheese"),
    ("禽肉", "Poultry"),
]


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def phone(rng: random.Random) -> str:
    return "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))


def address(rng: random.Random) -> str:
    return f"上海市{rng.choice(SH_DISTRICTS)}{rng.choice(SH_ROADS)}{rng.randint(1, 2999)}号"
