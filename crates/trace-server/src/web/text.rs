//! The console's words in Simplified Chinese and English, by key; and the page language
//! (a `lang` cookie set by the switch, else the browser's Accept-Language).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Lang, Self::Rejection> {
        if let Some(lang) = super::session::cookie(&parts.headers, "lang").and_then(Lang::from_code) {
            return Ok(lang);
        }
        let accept = parts
            .headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        Ok(if accept.trim_start().starts_with("zh") {
            Lang::Zh
        } else {
            Lang::En
        })
    }
}

/// The word for `key` in `lang`; an unknown key is shown as itself (a test checks none is).
pub fn t(lang: Lang, key: &str) -> &'static str {
    let (zh, en) = match key {
        "title" => ("流调与场所管理台", "Tracing and venue console"),
        "sign-in" => ("登录", "Sign in"),
        "sign-out" => ("退出登录", "Sign out"),
        "token" => ("令牌", "Token"),
        "token-help" => (
            "流调员或场所管理员的令牌（由 trace-server tracer add / operator add 发放）",
            "A tracer's or venue operator's token (from trace-server tracer add / operator add)",
        ),
        "bad-token" => (
            "令牌无效、已吊销或已过期。",
            "The token is unknown, revoked or expired.",
        ),
        "signed-in-as" => ("当前用户", "Signed in as"),
        "tracer" => ("流调员", "tracer"),
        "operator" => ("场所管理员", "venue operator"),
        "contacts" => ("密接查询", "Contacts"),
        "hotspots" => ("热点场所", "Hotspots"),
        "peaks" => ("高峰时段", "Peaks"),
        "kiosks" => ("终端状态", "Kiosks"),
        "audit" => ("查询审计", "Audit"),
        "venue" => ("场所", "Venue"),
        "day" => ("日期", "Day"),
        "from" => ("起", "From"),
        "to" => ("止", "To"),
        "show" => ("查询", "Show"),
        "subject" => ("对象编号", "Subject id"),
        "case" => ("案件", "Case"),
        "case-needed" => (
            "每次流调查询都记录在一个已立案的案件下。请选择或新建案件。",
            "Every tracing query is recorded under an open case. Choose one or open a new one.",
        ),
        "open-case" => ("新建案件", "Open a case"),
        "reason" => ("依据（检测报告或指令编号）", "Reason (lab report or order number)"),
        "days" => ("有效天数", "Days open"),
        "use-case" => ("使用此案件", "Use this case"),
        "case-visits" => ("病例到访记录", "The case's visits"),
        "entered" => ("进入", "In"),
        "left" => ("离开", "Out"),
        "inferred" => ("推定", "inferred"),
        "overlap" => ("重叠（分钟）", "Overlap (minutes)"),
        "first-overlap" => ("首次重叠", "First overlap"),
        "venues" => ("场所", "Venues"),
        "download-csv" => ("下载 CSV", "Download CSV"),
        "no-rows" => ("没有记录。", "Nothing found."),
        "visits" => ("到访", "Visits"),
        "unique" => ("人数", "People"),
        "hour" => ("时段", "Hour"),
        "entries" => ("入场", "Entries"),
        "exits" => ("离场", "Exits"),
        "hourly" => ("每小时入场与离场", "Entries and exits per hour"),
        "inside" => ("场内人数", "Inside now"),
        "capacity" => ("容量", "Capacity"),
        "gates" => ("各入口", "Gates"),
        "gate" => ("入口", "Gate"),
        "kiosk" => ("终端", "Kiosk"),
        "conflicts" => (
            "冲突：同一人在两个入口入场",
            "Conflicts: one person admitted at two gates",
        ),
        "passages" => ("当日通行记录", "The day's passages"),
        "time" => ("时间", "Time"),
        "direction" => ("方向", "Direction"),
        "verdict" => ("结果", "Verdict"),
        "last-seen" => ("最近联系", "Last seen"),
        "last-received" => ("最近收到记录", "Last passage received"),
        "skew" => ("时钟偏差（秒）", "Clock skew (s)"),
        "version" => ("版本", "Version"),
        "backlog" => ("待同步", "Backlog"),
        "missing" => ("丢失记录", "Missing passages"),
        "revoked" => ("已吊销", "revoked"),
        "who" => ("查询人", "Who"),
        "query" => ("查询", "Query"),
        "params" => ("参数", "Parameters"),
        "forbidden" => ("无权访问此页面。", "You may not open this page."),
        "not-found" => ("没有这个页面。", "No such page."),
        "error" => ("出错了", "Something went wrong"),
        "language" => ("English", "中文"),
        "first-rows" => ("仅显示前", "Showing the first"),
        "csv-has-all" => ("CSV 含全部记录", "the CSV has them all"),
        _ => return "?",
    };
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_word_used_by_the_pages_exists_in_both_languages() {
        let sources = [
            include_str!("layout.rs"),
            include_str!("session.rs"),
            include_str!("tracer.rs"),
            include_str!("operator.rs"),
        ];
        for src in sources {
            for (i, _) in src.match_indices("t(lang, \"") {
                let key: String = src[i + 9..].chars().take_while(|c| *c != '"').collect();
                for lang in [super::Lang::Zh, super::Lang::En] {
                    assert_ne!(super::t(lang, &key), "?", "no word for {key:?}");
                }
            }
        }
    }
}
