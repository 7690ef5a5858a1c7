use crate::model::{Direction, Measure, ValueKind};
use crate::number::{fold_width, parse_decimal};

/// Markers that mean "not applicable" when they are the whole cell.
const NOT_APPLICABLE: &[&str] = &["", "/", "\\", "／", "不适用", "无", "——", "—", "-", "--"];

/// Prefixes that set the direction of a target, longest first.
const DIRECTION_PREFIXES: &[(&str, Direction)] = &[
    ("不低于", Direction::AtLeast),
    ("不少于", Direction::AtLeast),
    ("不超过", Direction::AtMost),
    ("不高于", Direction::AtMost),
    ("不多于", Direction::AtMost),
    (">=", Direction::AtLeast),
    ("<=", Direction::AtMost),
    ("≥", Direction::AtLeast),
    ("≧", Direction::AtLeast),
    ("≤", Direction::AtMost),
    ("≦", Direction::AtMost),
    ("＞", Direction::MoreThan),
    (">", Direction::MoreThan),
    ("＜", Direction::LessThan),
    ("<", Direction::LessThan),
    ("＝", Direction::Equal),
    ("=", Direction::Equal),
    ("约", Direction::About),
];

/// Longest unknown unit read after a number.
const MAX_UNIT_CHARS: usize = 4;

/// Units that may be followed directly by prose, longest first where one is a prefix of another.
const KNOWN_UNITS: &[&str] = &[
    "亿千瓦时",
    "千瓦时",
    "平方米",
    "万人次",
    "人次",
    "家次",
    "批次",
    "场次",
    "个月",
    "万元",
    "亿元",
    "万吨",
    "公里",
    "小时",
    "分钟",
    "%",
    "家",
    "个",
    "项",
    "元",
    "次",
    "天",
    "日",
    "月",
    "周",
    "场",
    "册",
    "块",
    "篇",
    "户",
    "人",
    "件",
    "期",
    "批",
    "份",
    "所",
    "台",
    "套",
    "条",
    "座",
    "处",
    "轮",
    "部",
    "本",
    "张",
    "吨",
    "㎡",
    "分",
];

/// Suffixes after the unit that set the direction (`90%以上`).
const DIRECTION_SUFFIXES: &[(&str, Direction)] = &[
    ("以上", Direction::AtLeast),
    ("以内", Direction::AtMost),
    ("以下", Direction::AtMost),
];

/// Interprets a target or actual cell. The raw text is kept as written; what
/// cannot be read as a number or a deadline is qualitative.
pub fn parse_measure(raw: &str) -> Measure {
    let text: String = raw.chars().map(fold_width).collect();
    let text = text.trim();
    let mut m = Measure {
        raw: raw.trim().to_string(),
        ..Measure::default()
    };
    if NOT_APPLICABLE.contains(&text) {
        m.kind = ValueKind::NotApplicable;
        return m;
    }
    let (mut direction, rest) = DIRECTION_PREFIXES
        .iter()
        .find_map(|(p, d)| text.strip_prefix(p).map(|r| (*d, r.trim_start())))
        .unwrap_or((Direction::Unspecified, text));
    if let Some(date) = parse_deadline(rest) {
        m.kind = ValueKind::Deadline;
        m.deadline = date;
        m.direction = direction;
        return m;
    }
    let Some((value, after)) = leading_number(rest) else {
        m.kind = ValueKind::Qualitative;
        return m;
    };
    let unit: String = after
        .trim_start()
        .chars()
        .take_while(|c| {
            !c.is_whitespace() && !matches!(c, ',' | '，' | '、' | ';' | '；' | '。' | '(' | '（')
        })
        .collect();
    let unit = match DIRECTION_SUFFIXES
        .iter()
        .find_map(|(s, d)| unit.strip_suffix(s).map(|u| (*d, u)))
    {
        Some((d, u)) => {
            if direction == Direction::Unspecified {
                direction = d;
            }
            u.to_string()
        }
        None => unit,
    };
    // A known unit may run into prose (`33家企业被评为…`); an unknown one is short, or
    // the number is part of prose (`1月12日举办会议`). A year is a date, not a count.
    // 余 / 多 after a number mean "more than" (`30余篇`): not part of the unit.
    let rest_text = after.trim_start().trim_start_matches(['余', '多']);
    let unit = unit.trim_start_matches(['余', '多']).to_string();
    let unit = match KNOWN_UNITS.iter().find(|u| rest_text.starts_with(*u)) {
        _ if rest_text.starts_with('年')
            && value.fract().is_zero()
            && (1990..=2100).contains(&value.trunc().mantissa()) =>
        {
            m.kind = ValueKind::Qualitative;
            return m;
        }
        // `1月12日…` is a date in prose.
        Some(known) if rest_text[known.len()..].starts_with(|c: char| c.is_ascii_digit()) => {
            m.kind = ValueKind::Qualitative;
            return m;
        }
        Some(known) if unit.chars().count() > MAX_UNIT_CHARS => known.to_string(),
        _ if unit.chars().count() > MAX_UNIT_CHARS => {
            m.kind = ValueKind::Qualitative;
            return m;
        }
        _ => unit,
    };
    // A bare number keeps no direction: the rulebook says how it reads.
    m.kind = ValueKind::Quantity;
    m.direction = direction;
    m.value = Some(value);
    m.unit = unit;
    m
}

/// A number at the start of `s` and what follows it.
fn leading_number(s: &str) -> Option<(rust_decimal::Decimal, &str)> {
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == ','))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let number = s[..end].trim_end_matches([',', '.']);
    if number.is_empty() {
        return None;
    }
    let value = parse_decimal(number).ok()?;
    Some((value, &s[number.len()..]))
}

/// `2024年12月31日`, `2024年5月30日前`, `2024年12月前`, `2024年底前` → ISO date of
/// the last day the deadline allows.
fn parse_deadline(s: &str) -> Option<String> {
    let (year, rest) = s.split_once('年')?;
    let year: i32 = year.trim().parse().ok()?;
    if !(1990..=2100).contains(&year) {
        return None;
    }
    let rest = rest.trim();
    for whole_year in ["底", "末", "全年", "年底", "年末"] {
        if let Some(after) = rest.strip_prefix(whole_year) {
            return only_deadline_words(after).then(|| format!("{year:04}-12-31"));
        }
    }
    let (month, rest) = rest.split_once('月')?;
    let month: u32 = month.trim().parse().ok()?;
    if !(1..=12).contains(&month) {
        return None;
    }
    let day = match rest.split_once('日') {
        Some((d, after)) if only_deadline_words(after) => d.trim().parse::<u32>().ok()?,
        Some(_) => return None,
        None if only_deadline_words(rest.trim_start_matches(['底', '末'])) => {
            days_in_month(year, month)
        }
        None => return None,
    };
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

/// What may follow a date in a deadline cell: `前`, `止`, `以前`, `完成`…; not prose
/// (`2024年全年新增…企业116家` is a count, not a deadline).
fn only_deadline_words(after: &str) -> bool {
    let t = after.trim().trim_end_matches(['。', '.']);
    matches!(
        t,
        "" | "前" | "止" | "内" | "以前" | "之前" | "前完成" | "完成" | "底前" | "内完成"
    )
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn q(raw: &str) -> (ValueKind, Direction, Option<Decimal>, String) {
        let m = parse_measure(raw);
        (m.kind, m.direction, m.value, m.unit)
    }

    fn d(s: &str) -> Option<Decimal> {
        Some(Decimal::from_str(s).unwrap())
    }

    #[test]
    fn quantities_from_the_samples() {
        assert_eq!(
            q("≥4个"),
            (ValueKind::Quantity, Direction::AtLeast, d("4"), "个".into())
        );
        assert_eq!(
            q("≧90%"),
            (ValueKind::Quantity, Direction::AtLeast, d("90"), "%".into())
        );
        assert_eq!(
            q("=12月"),
            (ValueKind::Quantity, Direction::Equal, d("12"), "月".into())
        );
        assert_eq!(
            q("　95%"),
            (
                ValueKind::Quantity,
                Direction::Unspecified,
                d("95"),
                "%".into()
            )
        );
        assert_eq!(
            q("26.89万元"),
            (
                ValueKind::Quantity,
                Direction::Unspecified,
                d("26.89"),
                "万元".into()
            )
        );
        assert_eq!(
            q("90%以上"),
            (ValueKind::Quantity, Direction::AtLeast, d("90"), "%".into())
        );
        assert_eq!(
            q("不低于 3 场"),
            (ValueKind::Quantity, Direction::AtLeast, d("3"), "场".into())
        );
        assert_eq!(
            q("16家，12家获以奖代投奖励"),
            (
                ValueKind::Quantity,
                Direction::Unspecified,
                d("16"),
                "家".into()
            )
        );
    }

    #[test]
    fn deadlines() {
        let m = parse_measure("2024年5月30日前");
        assert_eq!(
            (m.kind, m.deadline.as_str()),
            (ValueKind::Deadline, "2024-05-30")
        );
        assert_eq!(parse_measure("2024年12月前").deadline, "2024-12-31");
        assert_eq!(parse_measure("　2023年12月31日").deadline, "2023-12-31");
        assert_eq!(parse_measure("2024年2月").deadline, "2024-02-29");
        assert_eq!(parse_measure("2023年全年").deadline, "2023-12-31");
        assert_eq!(parse_measure("2023年12月31日止").deadline, "2023-12-31");
        let prose = parse_measure(
            "2024年全年新增省级专精特新中小企业116家，新增国家专精特新小巨人企业7家。",
        );
        assert_eq!(prose.kind, ValueKind::Qualitative);
        assert_eq!(
            parse_measure("1月12日举办会议").kind,
            ValueKind::Qualitative
        );
        let count = parse_measure("33家企业被评为清洁生产企业");
        assert_eq!(
            (count.kind, count.value, count.unit.as_str()),
            (ValueKind::Quantity, d("33"), "家")
        );
    }

    #[test]
    fn not_applicable_and_qualitative() {
        for na in ["/", " 不适用", "", "——", "\\"] {
            assert_eq!(parse_measure(na).kind, ValueKind::NotApplicable, "{na:?}");
        }
        for text in ["明显", "较去年下降", "有所提升", "全年"] {
            assert_eq!(parse_measure(text).kind, ValueKind::Qualitative, "{text:?}");
        }
    }

    #[test]
    fn raw_text_is_kept() {
        assert_eq!(parse_measure("  ≥4个 ").raw, "≥4个");
    }
}
