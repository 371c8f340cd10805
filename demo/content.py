"""Invented articles for the demo site: a deterministic generator of plausible news, plus special cases.

Nothing here comes from the real corpus. :func:`synthetic_articles` assembles Chinese financial
news from word lists (any size, for benchmarks); :func:`special_articles` adds the handful of
posts that exercise what trips crawlers of the real site: bodies kramdown rewrites, GB18030 share
pages labelled ``gb2312`` with characters outside GB2312, share pages that are gone, an emnews
post and a media post of the same article, and a share link on the older share host.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from demo.model import EMNEWS_MEDIA, EMNEWS_SLUG, OLD_SHARE_HOST, Article

# (media name, category slug): the slug is the per-character pinyin, so 行 -> xing, digits stay.
MEDIA: tuple[tuple[str, str], ...] = (
    ("柳州晚报", "liuzhouwanbao"),
    ("中国银行", "zhongguoyinxing"),
    ("21世纪经济报道", "21shijijingjibaodao"),
    ("上海证券报", "shanghaizhengquanbao"),
    ("证券时报", "zhengquanshibao"),
    ("每日经济新闻", "meirijingjixinwen"),
)
MEDIA_WEIGHTS = (4, 2, 2, 2, 1, 1)
LOCAL_PAPERS = {"柳州晚报": "柳州"}
# Original sources named by emnews posts (东财滚动新闻 republishes other media).
EMNEWS_SOURCES = ("财联社", "新华社", "证券日报", "中国证券报", "央视新闻客户端")
EMNEWS_COLUMNS = (1350, 1351, 1354)
SYNTHETIC_START = datetime(2023, 3, 1, 7, 30, 0)

PLACES = ("柳州", "南宁", "上海", "深圳", "杭州", "成都", "武汉", "广州", "苏州", "重庆", "天津", "青岛")
ACTIONS = ("出台", "发布", "推进", "启动", "加快落实", "部署", "完善", "优化")
TOPICS = (
    "新能源汽车产业扶持措施",
    "中小微企业纾困政策",
    "绿色金融改革试点方案",
    "数字人民币应用场景",
    "普惠金融服务方案",
    "跨境贸易便利化举措",
    "制造业高质量发展规划",
    "养老金融产品创新计划",
    "科技企业融资支持计划",
    "消费券发放细则",
)
AGENCIES = ("央行", "银保监会", "证监会", "国家统计局", "财政部", "商务部", "外汇局")
STATEMENTS = (
    "保持流动性合理充裕",
    "加大对实体经济的信贷支持",
    "稳步推进注册制改革",
    "推动保险资金支持科技创新",
    "一季度外贸进出口保持增长",
    "继续实施稳健的货币政策",
    "进一步降低企业融资成本",
)
INDICATORS = ("社会消费品零售总额", "规模以上工业增加值", "固定资产投资", "进出口总额", "人民币贷款余额")
# (agency, indicator it publishes), for "国家统计局：前两月固定资产投资同比增长5.1%".
PUBLISHED_INDICATORS = (
    ("国家统计局", "社会消费品零售总额"),
    ("国家统计局", "规模以上工业增加值"),
    ("国家统计局", "固定资产投资"),
    ("海关总署", "进出口总额"),
    ("央行", "人民币贷款余额"),
    ("央行", "社会融资规模存量"),
)
REPORT_PERIODS = ("今年以来", "前两月", "一季度", "上半年", "前三季度")
PERIODS = ("今年以来", "近日", "上半年", "一季度", "截至目前", "去年全年", "本月初")
SUBJECTS = ("金融机构", "相关部门", "辖内银行", "重点企业", "地方政府", "市场主体")
VERBS = ("持续加大", "积极推进", "稳步扩大", "不断优化", "加快落实")
OBJECTS = ("信贷投放力度", "减税降费政策", "绿色信贷规模", "普惠金融覆盖面", "产业链供应链支持", "营商环境建设")
PROJECTS = ("重大产业", "城市更新", "新型基础设施", "水利", "保障性住房", "新能源")
TITLE_DRAWS = 20
PEOPLE = ("业内人士", "分析人士", "有关负责人", "专家")
QUOTES = (
    "下一步将继续加强政策协同",
    "市场信心正在逐步恢复",
    "预计全年经济运行保持平稳",
    "要把握好政策出台的时机和力度",
)


def _result(rng: random.Random) -> str:
    templates = (
        "累计发放贷款{n}亿元",
        "惠及市场主体{n}万户",
        "同比增长{p}%",
        "带动就业{n}万人",
        "完成年度目标的{p}%",
    )
    return rng.choice(templates).format(n=rng.randint(3, 980), p=round(rng.uniform(1.5, 38.0), 1))


def _sentence(rng: random.Random, place: str) -> str:
    if rng.random() < 0.25:
        return f"{rng.choice(PEOPLE)}表示，“{rng.choice(QUOTES)}。”"
    return (
        f"{rng.choice(PERIODS)}，{place}{rng.choice(SUBJECTS)}{rng.choice(VERBS)}"
        f"{rng.choice(OBJECTS)}，{_result(rng)}。"
    )


def _paragraphs(rng: random.Random, place: str) -> list[str]:
    return ["".join(_sentence(rng, place) for _ in range(rng.randint(2, 3))) for _ in range(rng.randint(2, 4))]


def _title(rng: random.Random, place: str) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return f"{place}{rng.choice(ACTIONS)}{rng.choice(TOPICS)}"
    if kind == 1:
        return f"{rng.choice(AGENCIES)}：{rng.choice(STATEMENTS)}"
    if kind == 2:
        return f"{place}{rng.choice(REPORT_PERIODS)}{rng.choice(INDICATORS)}同比增长{_percent(rng)}%"
    if kind == 3:
        return f"{place}{rng.randint(3, 60)}个{rng.choice(PROJECTS)}项目集中开工"
    publisher, indicator = rng.choice(PUBLISHED_INDICATORS)
    return f"{publisher}：{rng.choice(REPORT_PERIODS)}{indicator}同比增长{_percent(rng)}%"


def _percent(rng: random.Random) -> float:
    return round(rng.uniform(1.0, 12.0), 1)


def _unique_title(rng: random.Random, place: str, taken: set[str]) -> str:
    """A title not in ``taken``; after a few draws, number it, so large sets never loop for long."""
    for _ in range(TITLE_DRAWS):
        title = _title(rng, place)
        if title not in taken:
            return title
    number = 2
    while f"{title}（{number}）" in taken:
        number += 1
    return f"{title}（{number}）"


def html_body(paragraphs: list[str], source: str) -> str:
    """A kramdown-stable body: one ``<p>`` per line, then the source line the site appends."""
    return "\n".join(f"<p>{p}</p>" for p in paragraphs) + f'\n<p class="em_media">（文章来源：{source}）</p>'


def synthetic_articles(n: int, seed: int = 0, *, start: datetime = SYNTHETIC_START) -> list[Article]:
    """``n`` plausible articles, deterministic for a seed; every fourth one is an emnews post.

    Times grow by one to eight hours from ``start``, so a few dozen articles span several days.
    Titles are unique. Bodies are kramdown-stable, so :func:`demo.generate.build_site` renders
    them exactly as Jekyll would without running it.
    """
    rng = random.Random(seed)
    articles: list[Article] = []
    titles: set[str] = set()
    time = start
    for i in range(n):
        time += timedelta(minutes=rng.randint(60, 480), seconds=rng.randint(0, 59))
        emnews = i % 4 == 3
        media, slug = (EMNEWS_MEDIA, EMNEWS_SLUG) if emnews else rng.choices(MEDIA, weights=MEDIA_WEIGHTS)[0]
        # A city paper reports on its city; other media on any city.
        place = LOCAL_PAPERS.get(media) or rng.choice(PLACES)
        title = _unique_title(rng, place, titles)
        titles.add(title)
        digits = f"{time:%Y%m%d}{2300000000 + i * 9973 + rng.randrange(9973):010d}"
        paragraphs = _paragraphs(rng, place)
        if emnews:
            source = rng.choice(EMNEWS_SOURCES)
            column = rng.choice(EMNEWS_COLUMNS)
            articles.append(
                Article(
                    code=digits,
                    title=title,
                    time=time,
                    media=media,
                    slug=slug,
                    body=html_body(paragraphs, source),
                    digest=f"{paragraphs[0]}（{source}）",
                    source_url=f"http://finance.eastmoney.com/news/{column},{digits}.html",
                )
            )
            continue
        articles.append(
            Article(
                code="NW" + digits,
                title=title,
                time=time,
                media=media,
                slug=slug,
                body=html_body(paragraphs, media),
            )
        )
    return articles


def special_articles() -> list[Article]:
    """The demo's hand-written posts, each exercising one thing crawlers of the site get wrong."""
    return [
        # A share link on the older share host.
        Article(
            code="NW202303010612000101",
            title="新能源汽车下乡活动在柳州启动",
            time=datetime(2023, 3, 1, 6, 12, 5),
            media="每日经济新闻",
            slug="meirijingjixinwen",
            body=html_body(
                [
                    "新能源汽车下乡活动近日在柳州启动，首批参与活动的车型共有二十余款。",
                    "活动期间，多家银行推出专项汽车消费贷款，部分产品首付比例下调至15%。",
                ],
                "每日经济新闻",
            ),
            share_host=OLD_SHARE_HOST,
        ),
        # Kramdown rewrites: space-indented paragraphs and a glued source paragraph, the shape of
        # most real posts.
        Article(
            code="NW202303011015000202",
            title="柳州螺蛳粉产业园新增三条智能生产线",
            time=datetime(2023, 3, 1, 10, 15, 42),
            media="柳州晚报",
            slug="liuzhouwanbao",
            body=(
                "<p>记者日前从柳州市螺蛳粉产业园获悉，园区新增的三条智能生产线已全部投产，日产能提升约三成。</p>\n"
                " <p>园区负责人介绍，新生产线采用自动封装和在线检测设备，单条线用工减少一半。</p>\n"
                " <p>今年以来，园区企业累计获得银行授信12.6亿元，带动周边基地扩种竹笋、豆角等原料作物。</p>"
                '<p class="em_media">（文章来源：柳州晚报）</p>'
            ),
        ),
        # Kramdown rewrites <br> and <br/> as <br />.
        Article(
            code="NW202303011408000303",
            title="中国银行推出小微企业线上续贷服务",
            time=datetime(2023, 3, 1, 14, 8, 19),
            media="中国银行",
            slug="zhongguoyinxing",
            body=(
                "<p>中国银行近日推出小微企业线上续贷服务，符合条件的企业可在手机银行一键申请。</p>\n"
                "<p>办理渠道：手机银行<br>企业网银<br/>全国营业网点</p>\n"
                '<p class="em_media">（文章来源：中国银行）</p>'
            ),
        ),
        # Kramdown writes "&" in an attribute as "&amp;".
        Article(
            code="NW202303020931000404",
            title="公募基金一季度规模突破27万亿元",
            time=datetime(2023, 3, 2, 9, 31, 7),
            media="21世纪经济报道",
            slug="21shijijingjibaodao",
            body=(
                "<p>多家基金公司发布的季度报告显示，公募基金总规模突破27万亿元，债券基金规模增长明显。</p>\n"
                '<p>详细数据见<a href="http://data.example.com/fund/report?quarter=2023Q1&type=bond">'
                "基金季报数据</a>。</p>\n"
                '<p class="em_media">（文章来源：21世纪经济报道）</p>'
            ),
        ),
        # A plain Markdown paragraph: kramdown makes its "straight quotes" typographic.
        Article(
            code="NW202303021645000505",
            title="多家券商上调全年经济增长预期",
            time=datetime(2023, 3, 2, 16, 45, 33),
            media="上海证券报",
            slug="shanghaizhengquanbao",
            body=(
                "<p>多家券商近日发布宏观研究报告，上调全年经济增长预期。</p>\n\n"
                '分析人士认为，"稳增长"仍是全年政策的主线，消费和基建投资有望继续发力。\n\n'
                '<p class="em_media">（文章来源：上海证券报）</p>'
            ),
        ),
        # GB18030 share pages labelled gb2312, with 镕 (GBK, not GB2312) and 𠮷 (four bytes).
        Article(
            code="NW202303030820000606",
            title="镕丰科技获中国银行5亿元综合授信",
            time=datetime(2023, 3, 3, 8, 20, 11),
            media="中国银行",
            slug="zhongguoyinxing",
            body=html_body(
                [
                    "中国银行某分行近日与镕丰科技签署合作协议，向其提供5亿元综合授信，支持企业扩大新材料产能。",
                    "镕丰科技主要从事高性能合金材料研发，产品应用于新能源汽车和轨道交通领域。",
                ],
                "中国银行",
            ),
            share_charset="gb18030",
        ),
        Article(
            code="NW202303031150000707",
            title="𠮷祥物流完成新一轮融资",
            time=datetime(2023, 3, 3, 11, 50, 48),
            media="21世纪经济报道",
            slug="21shijijingjibaodao",
            body=html_body(
                [
                    "冷链物流企业𠮷祥物流近日宣布完成新一轮融资，资金将用于建设华东区域仓储网络。",
                    "业内人士表示，“冷链物流仍处在快速增长阶段，头部企业的规模优势将更加明显。”",
                ],
                "21世纪经济报道",
            ),
            share_charset="gb18030",
        ),
        # Share pages that are gone: the body must come from the post page.
        Article(
            code="NW202303031337000808",
            title="沪深两市成交额连续五日超万亿元",
            time=datetime(2023, 3, 3, 13, 37, 2),
            media="证券时报",
            slug="zhengquanshibao",
            body=html_body(
                [
                    "沪深两市成交额连续第五个交易日突破万亿元，北向资金全天净买入超50亿元。",
                    "分析人士表示，成交活跃度回升反映出市场风险偏好有所改善。",
                ],
                "证券时报",
            ),
            share_published=False,
        ),
        Article(
            code="NW202303031902000909",
            title="柳州今年计划新建改造城市道路40条",
            time=datetime(2023, 3, 3, 19, 2, 26),
            media="柳州晚报",
            slug="liuzhouwanbao",
            body=(
                "<p>记者从柳州市住建部门获悉，今年全市计划新建改造城市道路40条，总里程约65公里。</p>\n"
                " <p>其中，东环片区的8条道路将于年内建成通车，进一步完善城市路网结构。</p>"
                '<p class="em_media">（文章来源：柳州晚报）</p>'
            ),
            share_published=False,
        ),
        # The same article as an emnews post and as a media post: same digits, two posts.
        Article(
            code="202303040905001010",
            title="前两月全国新增减税降费超4000亿元",
            time=datetime(2023, 3, 4, 9, 5, 14),
            media=EMNEWS_MEDIA,
            slug=EMNEWS_SLUG,
            digest="财政部数据显示，前两月全国新增减税降费及退税缓费超4000亿元。（新华社）",
            body=html_body(
                [
                    "财政部数据显示，前两月全国新增减税降费及退税缓费超4000亿元。",
                    "其中，制造业及与之相关的批发零售业新增减税降费及退税缓费占比超过四成。",
                ],
                "新华社",
            ),
            source_url="http://finance.eastmoney.com/news/1350,202303040905001010.html",
        ),
        Article(
            code="NW202303040905001010",
            title="前两月全国新增减税降费超4000亿元",
            time=datetime(2023, 3, 4, 9, 7, 51),
            media="每日经济新闻",
            slug="meirijingjixinwen",
            body=html_body(
                [
                    "财政部数据显示，前两月全国新增减税降费及退税缓费超4000亿元。",
                    "其中，制造业及与之相关的批发零售业新增减税降费及退税缓费占比超过四成。",
                ],
                "每日经济新闻",
            ),
        ),
        # An emnews post glued the way the site's generator glued them: kramdown splits the lines.
        Article(
            code="202303041410001111",
            title="多地出台措施支持首套住房消费",
            time=datetime(2023, 3, 4, 14, 10, 37),
            media=EMNEWS_MEDIA,
            slug=EMNEWS_SLUG,
            digest="多地近日出台措施，通过发放购房补贴、调整公积金政策等方式支持首套住房消费。（财联社）",
            body=(
                "<p>多地近日出台措施，通过发放购房补贴、调整公积金政策等方式支持首套住房消费。</p>"
                "<p>业内人士认为，相关政策有助于稳定市场预期。</p>"
                '<p class="em_media">（文章来源：财联社）</p>'
            ),
            source_url="http://finance.eastmoney.com/news/1354,202303041410001111.html",
        ),
    ]
