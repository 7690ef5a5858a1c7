//! The batch report: one self-contained HTML file (inline CSS, inline SVG
//! charts, a few lines of inline script, no network assets) — headline
//! figures, grade distribution, score inflation by unit, findings by rule,
//! execution rate by unit, and the table of forms with their findings.

use std::fmt::Write;

use rust_decimal::Decimal;

use crate::summary::{BatchSummary, GroupSummary};
use crate::xlsx::severity_zh;
use crate::{percent, text, two_places, ExportMeta, ExportRecord, MAX_REPORT_ROWS};

/// Bars per chart; the rest are counted in a note.
const MAX_BARS: usize = 40;

pub(crate) struct ReportBuilder {
    meta: ExportMeta,
    rows: String,
    listed: usize,
    forms: usize,
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl ReportBuilder {
    pub(crate) fn new(meta: ExportMeta) -> Self {
        ReportBuilder {
            meta,
            rows: String::new(),
            listed: 0,
            forms: 0,
        }
    }

    /// Renders the form's table row now, so only its HTML is kept.
    pub(crate) fn add(&mut self, r: &ExportRecord) {
        self.forms += 1;
        if self.listed >= MAX_REPORT_ROWS {
            return;
        }
        self.listed += 1;
        let (budget, executed) = r.budget_and_executed();
        let card = r.card.as_ref();
        let inflation = r.inflation();
        let inflated = inflation.is_some_and(|d| d > Decimal::ZERO);
        let out = &mut self.rows;
        let _ = write!(
            out,
            "<tr class=\"form\"><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n{}\">{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            esc(r.region()),
            esc(r.unit()),
            esc(&r.form.project_name),
            text(budget),
            text(executed),
            percent(r.execution_rate()),
            text(card.and_then(|c| c.stated_total)),
            text(card.and_then(|c| c.recomputed_total)),
            if inflated { " up" } else { "" },
            text(inflation),
            esc(card.map(|c| c.grade.as_str()).unwrap_or("")),
            r.findings.len(),
        );
        if !r.findings.is_empty() {
            let _ = write!(
                out,
                "<tr class=\"findings\"><td colspan=\"11\"><details><summary>{} 个问题</summary><ul>",
                r.findings.len()
            );
            for f in &r.findings {
                let _ = write!(
                    out,
                    "<li class=\"{}\"><b>{}</b> <code>{}</code> {}：{}{}</li>",
                    f.severity.as_str(),
                    severity_zh(f.severity),
                    esc(&f.rule_id),
                    esc(&[&f.location.section, &f.location.row, &f.location.column]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" / ")),
                    esc(&f.message_zh),
                    if f.expected.is_empty() && f.stated.is_empty() {
                        String::new()
                    } else {
                        format!("（应为 {}，填报 {}）", esc(&f.expected), esc(&f.stated))
                    }
                );
            }
            out.push_str("</ul></details></td></tr>");
        }
    }

    pub(crate) fn finish(self, s: &BatchSummary) -> Vec<u8> {
        let title = if self.meta.title.is_empty() {
            "预算绩效自评 批次报告".to_string()
        } else {
            self.meta.title.clone()
        };
        let o = &s.overall;
        let mut h = String::new();
        let _ = write!(
            h,
            "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1><p class=\"meta\">生成于 {}；范围：{}</p>",
            esc(&title),
            esc(&title),
            esc(&self.meta.generated_at),
            esc(if self.meta.filter.is_empty() { "全部" } else { &self.meta.filter }),
        );
        h.push_str("<section class=\"cards\">");
        for (label, value) in [
            ("表数", o.forms.to_string()),
            (
                "全年预算数（万元，项目支出表）",
                o.full_year_budget.to_string(),
            ),
            ("全年执行数（万元）", o.executed.to_string()),
            ("执行率", percent(o.execution_rate())),
            (
                "平均总分 填报 / 重算",
                format!(
                    "{} / {}",
                    means(o.mean_stated_total()),
                    means(o.mean_recomputed_total())
                ),
            ),
            ("平均虚高", means(o.mean_inflation())),
            (
                "问题 错误 / 警告 / 提示",
                format!(
                    "{} / {} / {}",
                    o.findings_of("error"),
                    o.findings_of("warning"),
                    o.findings_of("info")
                ),
            ),
        ] {
            let _ = write!(h, "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\">{}</div></div>", esc(label), esc(&value));
        }
        h.push_str("</section><section class=\"charts\">");
        h.push_str(&grade_chart(o));
        h.push_str(&bar_chart(
            "inflation",
            "平均虚高（填报总分 − 重算总分）按预算单位",
            units_by(&s.units, |g| g.mean_inflation()),
            two_places,
        ));
        // Rules by their Chinese titles; the id is in each bar's tooltip.
        let mut rules: Vec<(String, Decimal)> = o
            .findings_by_rule
            .iter()
            .map(|(rule, n)| {
                let label = match self.meta.rule_titles.get(rule) {
                    Some(title) => format!("{title}\u{1f}{rule}"),
                    None => rule.clone(),
                };
                (label, Decimal::from(*n))
            })
            .collect();
        rules.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        h.push_str(&bar_chart("rules", "问题数按规则", rules, |d| {
            d.to_string()
        }));
        h.push_str(&bar_chart(
            "execution",
            "执行率按预算单位（项目支出表）",
            units_by(&s.units, |g| g.execution_rate()),
            |d| percent(Some(d)),
        ));
        h.push_str("</section>");
        let _ = write!(
            h,
            "<h2>各表</h2><p class=\"meta\">列出 {} 张表{}。<label>筛选 <input id=\"filter\" type=\"search\" placeholder=\"单位、项目…\"></label> <span id=\"shown\"></span></p>",
            self.listed,
            if self.listed < self.forms {
                format!("（共 {} 张；其余见 CSV 或 xlsx 导出）", self.forms)
            } else {
                String::new()
            }
        );
        h.push_str("<table id=\"forms\"><thead><tr><th>地区</th><th>预算单位</th><th>项目</th><th>全年预算数</th><th>全年执行数</th><th>执行率</th><th>总分(填报)</th><th>总分(重算)</th><th>差额</th><th>等级</th><th>问题</th></tr></thead><tbody>");
        h.push_str(&self.rows);
        h.push_str("</tbody></table>");
        let _ = write!(h, "<script>{SCRIPT}</script></body></html>");
        h.into_bytes()
    }
}

fn means(d: Option<Decimal>) -> String {
    d.map(two_places).unwrap_or_default()
}

/// (unit, value) for units that have the value, largest first.
fn units_by(
    units: &[GroupSummary],
    value: impl Fn(&GroupSummary) -> Option<Decimal>,
) -> Vec<(String, Decimal)> {
    let mut bars: Vec<(String, Decimal)> = units
        .iter()
        .filter_map(|g| value(g).map(|v| (g.key.clone(), v)))
        .collect();
    bars.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    bars
}

const CHART_WIDTH: i64 = 560;
const LABEL_WIDTH: i64 = 220;
const BAR_HEIGHT: i64 = 18;

/// Pixels for `value` on a scale where `max` spans `width`.
fn px(value: Decimal, max: Decimal, width: i64) -> i64 {
    if max <= Decimal::ZERO {
        return 0;
    }
    let w = (value.abs() * Decimal::from(width) / max).round();
    i64::try_from(w).unwrap_or(width).min(width)
}

/// A horizontal bar chart as inline SVG; negative values grow left of the axis.
fn bar_chart(
    id: &str,
    title: &str,
    bars: Vec<(String, Decimal)>,
    show: impl Fn(Decimal) -> String,
) -> String {
    let hidden = bars.len().saturating_sub(MAX_BARS);
    let bars = &bars[..bars.len().min(MAX_BARS)];
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<figure id=\"chart-{id}\"><figcaption>{}</figcaption>",
        esc(title)
    );
    if bars.is_empty() {
        svg.push_str("<p class=\"meta\">无数据</p></figure>");
        return svg;
    }
    let max = bars
        .iter()
        .map(|b| b.1.abs())
        .max()
        .unwrap_or(Decimal::ZERO);
    let has_negative = bars.iter().any(|b| b.1 < Decimal::ZERO);
    let plot = CHART_WIDTH - LABEL_WIDTH - 70;
    let (axis, span) = if has_negative {
        (LABEL_WIDTH + plot / 2, plot / 2)
    } else {
        (LABEL_WIDTH, plot)
    };
    let height = bars.len() as i64 * (BAR_HEIGHT + 6) + 10;
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{CHART_WIDTH}\" height=\"{height}\" viewBox=\"0 0 {CHART_WIDTH} {height}\">"
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = 5 + i as i64 * (BAR_HEIGHT + 6);
        let w = px(*value, max, span);
        let x = if *value < Decimal::ZERO {
            axis - w
        } else {
            axis
        };
        let class = if *value < Decimal::ZERO { "neg" } else { "pos" };
        // A label may carry its tooltip after a unit separator.
        let (shown, hint) = label.split_once('\u{1f}').unwrap_or((label, ""));
        let short: String = shown.chars().take(16).collect();
        let _ = write!(
            svg,
            "<g><title>{} {}: {}</title><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect class=\"{class}\" x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{BAR_HEIGHT}\"></rect><text x=\"{}\" y=\"{}\">{}</text></g>",
            esc(shown),
            esc(hint),
            esc(&show(*value)),
            LABEL_WIDTH - 6,
            y + BAR_HEIGHT - 4,
            esc(&short),
            w.max(1),
            (if *value < Decimal::ZERO { axis } else { x + w }) + 4,
            y + BAR_HEIGHT - 4,
            esc(&show(*value)),
        );
    }
    let _ = write!(
        svg,
        "<line x1=\"{axis}\" y1=\"0\" x2=\"{axis}\" y2=\"{height}\" class=\"axis\"></line></svg>"
    );
    if hidden > 0 {
        let _ = write!(svg, "<p class=\"meta\">另有 {hidden} 项未画出。</p>");
    }
    svg.push_str("</figure>");
    svg
}

/// Forms per recomputed grade as vertical bars, 优 to 差.
fn grade_chart(o: &GroupSummary) -> String {
    let grades = ["优", "良", "中", "差"];
    let counts: Vec<u64> = grades
        .iter()
        .map(|g| o.grades.get(*g).copied().unwrap_or(0))
        .collect();
    let max = Decimal::from(counts.iter().copied().max().unwrap_or(0));
    let (width, height, plot) = (360i64, 220i64, 170i64);
    let mut svg = format!(
        "<figure id=\"chart-grades\"><figcaption>等级分布（重算）</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">"
    );
    for (i, (g, n)) in grades.iter().zip(&counts).enumerate() {
        let h = px(Decimal::from(*n), max, plot);
        let x = 30 + i as i64 * 80;
        let y = 20 + plot - h;
        let _ = write!(
            svg,
            "<g><title>{g}: {n}</title><rect class=\"grade g{i}\" x=\"{x}\" y=\"{y}\" width=\"50\" height=\"{h}\"></rect><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{n}</text><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{g}</text></g>",
            x + 25,
            y - 4,
            x + 25,
            height - 8,
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

const STYLE: &str = "body{font-family:'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif;margin:24px;color:#222}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin-top:28px}.meta{color:#666;font-size:13px}\
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.card{border:1px solid #d0d7de;border-radius:6px;padding:10px 14px;min-width:150px}\
.card .label{font-size:12px;color:#666}.card .value{font-size:20px;font-weight:600;margin-top:4px}\
.charts{display:flex;flex-wrap:wrap;gap:24px}figure{margin:0}figcaption{font-weight:600;margin-bottom:6px}\
svg text{font-size:12px;fill:#333}rect.pos{fill:#4472c4}rect.neg{fill:#c0504d}line.axis{stroke:#999}\
rect.g0{fill:#2e7d32}rect.g1{fill:#7cb342}rect.g2{fill:#f9a825}rect.g3{fill:#c62828}\
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #d0d7de;padding:4px 6px;vertical-align:top}\
th{background:#d9e1f2;position:sticky;top:0}td.n{text-align:right;font-variant-numeric:tabular-nums}td.up{background:#ffeb9c}\
tr.findings td{background:#fafafa}li.error b{color:#c62828}li.warning b{color:#b26a00}li.info b{color:#1f5fa8}";

/// The filter box: hides the rows (and their findings) that do not match.
const SCRIPT: &str = "(function(){var input=document.getElementById('filter');var shown=document.getElementById('shown');\
var rows=Array.prototype.slice.call(document.querySelectorAll('#forms tbody tr.form'));\
function apply(){var q=input.value.trim().toLowerCase();var n=0;rows.forEach(function(tr){\
var hit=!q||tr.textContent.toLowerCase().indexOf(q)>=0;tr.hidden=!hit;var next=tr.nextElementSibling;\
if(next&&next.classList.contains('findings')){next.hidden=!hit;}if(hit){n++;}});shown.textContent=n+' 张';}\
input.addEventListener('input',apply);apply();})();";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{d, record};
    use crate::SummaryBuilder;

    #[test]
    fn text_is_escaped_and_no_asset_is_fetched() {
        let mut b = ReportBuilder::new(ExportMeta::default());
        let mut s = SummaryBuilder::default();
        let r = record("sub_1", "<script>alert(1)</script>局", "100", "80");
        b.add(&r);
        s.add(&r);
        let html = String::from_utf8(b.finish(&s.finish())).unwrap();
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;局"));
        for remote in ["http://", "https://", "src=", "@import", "url("] {
            let outside_svg_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
            assert!(!outside_svg_ns.contains(remote), "{remote}");
        }
        assert!(html.contains("id=\"chart-grades\""));
        assert!(html.contains("80.00%"));
    }

    #[test]
    fn bars_scale_to_the_largest_and_negative_ones_grow_left() {
        assert_eq!(px(d("5"), d("10"), 200), 100);
        assert_eq!(px(d("-10"), d("10"), 200), 200);
        assert_eq!(px(d("1"), d("0"), 200), 0);
        let svg = bar_chart(
            "t",
            "t",
            vec![("a".into(), d("2")), ("b".into(), d("-1"))],
            |v| v.to_string(),
        );
        assert!(svg.contains("class=\"neg\""));
        assert_eq!(svg.matches("<rect").count(), 2);
    }
}
