use rust_decimal::Decimal;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The rulebook used when a submission names none.
pub const DEFAULT_RULEBOOK_ID: &str = "cn-national-default";

/// Rulebooks shipped with the engine, as (file name, text).
const BUILTIN: &[(&str, &str)] = &[
    (
        "cn-national-default.toml",
        include_str!("../rulebooks/cn-national-default.toml"),
    ),
    (
        "example-province-2023.toml",
        include_str!("../rulebooks/example-province-2023.toml"),
    ),
    (
        "explain-overachievement.toml",
        include_str!("../rulebooks/explain-overachievement.toml"),
    ),
];

/// Which amount the execution rate is divided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Denominator {
    /// 全年预算数.
    FullYearBudget,
    /// 年初预算数.
    InitialBudget,
}

impl Denominator {
    pub fn label(self) -> &'static str {
        match self {
            Denominator::FullYearBudget => "全年预算数",
            Denominator::InitialBudget => "年初预算数",
        }
    }
}

/// 预算执行率: weight × min(executed / denominator, 1) (uncapped when `cap_at_full` is false).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionRule {
    pub weight: Decimal,
    pub denominator: Denominator,
    pub cap_at_full: bool,
}

/// What happens when a ≥ target is exceeded by far.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OverAchievement {
    None,
    /// `points` off at `at_percent` % of the target or more.
    Penalty {
        at_percent: Decimal,
        points: Decimal,
    },
    /// Full marks, but a deviation explanation is required at `at_percent` % or more.
    ExplanationRequired {
        at_percent: Decimal,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtLeastRule {
    pub over_achievement: OverAchievement,
}

/// How a missed ≤ / < target scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AtMostMissed {
    /// weight × (2 × target − actual) / target, at least 0.
    LinearToZeroAtDouble,
    /// weight × target / actual.
    InverseProportional,
}

/// How a quantity target with no direction sign reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BareDirection {
    AtLeast,
    AtMost,
    Equal,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BareNumberRule {
    pub direction: BareDirection,
    /// Under 成本 (cost) indicators, where less is better.
    pub cost_direction: BareDirection,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtMostRule {
    pub missed: AtMostMissed,
}

/// = and 约 rows: met within `tolerance_percent` of the target, else weight × min/max.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToleranceRule {
    pub tolerance_percent: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineRule {
    /// Fraction of the weight a missed deadline keeps (0..=1).
    pub missed_fraction: Decimal,
}

/// Qualitative rows fall in bands, as percent of the weight: 达成
/// [achieved_min, 100], 部分达成 [partial_min, achieved_min), 未达成 [0, partial_min).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualitativeRule {
    pub achieved_min: Decimal,
    pub partial_min: Decimal,
    pub achieved_words: Vec<String>,
    pub partial_words: Vec<String>,
    pub not_achieved_words: Vec<String>,
}

/// What a not-applicable row's weight becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotApplicableWeight {
    /// Dropped: the total is out of less than 100.
    Exclude,
    /// The total is scaled back to 100 over the applicable weights.
    Rescale,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotApplicableRule {
    pub weight: NotApplicableWeight,
}

/// Below `rate_below` % budget execution the total is at most `max_total`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotalCap {
    pub rate_below: Decimal,
    pub max_total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotalRule {
    pub caps: Vec<TotalCap>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grade {
    pub name: String,
    /// Lowest total that earns this grade.
    pub min: Decimal,
}

/// Where a book applies when a submission names none: a region path prefix
/// (`湖南省`) and fiscal years (empty: any year).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Applies {
    pub region_prefix: String,
    #[serde(default)]
    pub years: Vec<i32>,
}

/// A versioned scoring rulebook. Province- and year-specific numbers live here,
/// never in code.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rulebook {
    pub id: String,
    pub version: String,
    pub title: String,
    pub applies: Vec<Applies>,
    pub execution: ExecutionRule,
    pub at_least: AtLeastRule,
    pub bare_number: BareNumberRule,
    pub at_most: AtMostRule,
    pub equal: ToleranceRule,
    pub about: ToleranceRule,
    pub deadline: DeadlineRule,
    pub qualitative: QualitativeRule,
    pub not_applicable: NotApplicableRule,
    pub total: TotalRule,
    /// Highest first.
    pub grades: Vec<Grade>,
    /// sha256 of the source text, hex.
    #[serde(skip)]
    pub digest: String,
    /// The source text, for GetRulebook.
    #[serde(skip)]
    pub source: String,
}

/// A rulebook file that cannot be used, with the file and the reason.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("rulebook {file}: {reason}")]
pub struct RulebookError {
    pub file: String,
    pub reason: String,
}

impl Rulebook {
    /// Parses and checks a rulebook. `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, RulebookError> {
        let err = |reason: String| RulebookError {
            file: file.to_string(),
            reason,
        };
        let mut rb: Rulebook = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let percent = |key: &str, v: Decimal| {
            if v < Decimal::ZERO || v > Decimal::ONE_HUNDRED {
                Err(err(format!(
                    "key `{key}`: must be between 0 and 100, got {v}"
                )))
            } else {
                Ok(())
            }
        };
        if rb.id.trim().is_empty() {
            return Err(err("key `id`: must not be empty".into()));
        }
        if rb.version.trim().is_empty() {
            return Err(err("key `version`: must not be empty".into()));
        }
        percent("execution.weight", rb.execution.weight)?;
        percent("equal.tolerance_percent", rb.equal.tolerance_percent)?;
        percent("about.tolerance_percent", rb.about.tolerance_percent)?;
        percent("qualitative.achieved_min", rb.qualitative.achieved_min)?;
        percent("qualitative.partial_min", rb.qualitative.partial_min)?;
        if rb.qualitative.partial_min > rb.qualitative.achieved_min {
            return Err(err(
                "key `qualitative.partial_min`: must not exceed `achieved_min`".into(),
            ));
        }
        if rb.deadline.missed_fraction < Decimal::ZERO || rb.deadline.missed_fraction > Decimal::ONE
        {
            return Err(err(format!(
                "key `deadline.missed_fraction`: must be between 0 and 1, got {}",
                rb.deadline.missed_fraction
            )));
        }
        match &rb.at_least.over_achievement {
            OverAchievement::Penalty { at_percent, points } => {
                if *at_percent <= Decimal::ONE_HUNDRED {
                    return Err(err(
                        "key `at_least.over_achievement.at_percent`: must be above 100".into(),
                    ));
                }
                percent("at_least.over_achievement.points", *points)?;
            }
            OverAchievement::ExplanationRequired { at_percent }
                if *at_percent <= Decimal::ONE_HUNDRED =>
            {
                return Err(err(
                    "key `at_least.over_achievement.at_percent`: must be above 100".into(),
                ));
            }
            _ => {}
        }
        for (i, cap) in rb.total.caps.iter().enumerate() {
            percent(&format!("total.caps[{i}].rate_below"), cap.rate_below)?;
            percent(&format!("total.caps[{i}].max_total"), cap.max_total)?;
        }
        if rb.grades.is_empty() {
            return Err(err("key `grades`: at least one grade is required".into()));
        }
        if rb.grades.windows(2).any(|w| w[0].min <= w[1].min) {
            return Err(err(
                "key `grades`: `min` must strictly decrease, highest grade first".into(),
            ));
        }
        rb.digest = hex::encode(Sha256::digest(text.as_bytes()));
        rb.source = text.to_string();
        Ok(rb)
    }

    /// The grade a total earns; the lowest grade for totals below every threshold.
    pub fn grade(&self, total: Decimal) -> &str {
        self.grades
            .iter()
            .find(|g| total >= g.min)
            .or(self.grades.last())
            .map(|g| g.name.as_str())
            .unwrap_or("")
    }

    fn applies_to(&self, region: &str, year: i32) -> bool {
        self.applies.iter().any(|a| {
            region.starts_with(a.region_prefix.as_str())
                && (a.years.is_empty() || a.years.contains(&year))
        })
    }
}

/// The rulebooks a deployment knows, and which one applies when none is named.
#[derive(Debug, Clone)]
pub struct Rulebooks {
    books: Vec<Rulebook>,
    default_id: String,
}

impl Rulebooks {
    /// Fails when two books share an id and version, or the default is unknown.
    pub fn new(books: Vec<Rulebook>, default_id: &str) -> Result<Self, RulebookError> {
        let err = |reason: String| RulebookError {
            file: "(rulebook set)".into(),
            reason,
        };
        for (i, a) in books.iter().enumerate() {
            if books[..i]
                .iter()
                .any(|b| b.id == a.id && b.version == a.version)
            {
                return Err(err(format!(
                    "rulebook {} version {} is defined twice",
                    a.id, a.version
                )));
            }
        }
        if !books.iter().any(|b| b.id == default_id) {
            return Err(err(format!(
                "default rulebook {default_id:?} is not loaded"
            )));
        }
        Ok(Self {
            books,
            default_id: default_id.to_string(),
        })
    }

    /// The newest version of `id`; the default book for an empty id.
    pub fn get(&self, id: &str) -> Option<&Rulebook> {
        let id = if id.trim().is_empty() {
            self.default_id.as_str()
        } else {
            id.trim()
        };
        self.books
            .iter()
            .filter(|b| b.id == id)
            .max_by(|a, b| a.version.cmp(&b.version))
    }

    pub fn default_id(&self) -> &str {
        &self.default_id
    }

    pub fn ids(&self) -> Vec<&str> {
        self.books.iter().map(|b| b.id.as_str()).collect()
    }

    pub fn all(&self) -> &[Rulebook] {
        &self.books
    }

    /// The book for a submission that names none: the newest book whose
    /// `applies` matches the region and year (the longest region prefix wins),
    /// else the default.
    pub fn select(&self, region: &str, year: i32) -> Option<&Rulebook> {
        self.books
            .iter()
            .filter(|b| b.applies_to(region, year))
            .max_by(|a, b| {
                let prefix = |r: &Rulebook| {
                    r.applies
                        .iter()
                        .filter(|x| region.starts_with(x.region_prefix.as_str()))
                        .map(|x| x.region_prefix.len())
                        .max()
                        .unwrap_or(0)
                };
                prefix(a).cmp(&prefix(b)).then(a.version.cmp(&b.version))
            })
            .or_else(|| self.get(""))
    }
}

/// The rulebooks compiled into the engine.
pub fn builtin_rulebooks() -> Result<Vec<Rulebook>, RulebookError> {
    BUILTIN
        .iter()
        .map(|(file, text)| Rulebook::from_toml(file, text))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_book_loads_and_selection_follows_region_and_year() {
        let books = Rulebooks::new(builtin_rulebooks().unwrap(), DEFAULT_RULEBOOK_ID).unwrap();
        assert_eq!(books.all().len(), 3);
        assert_eq!(
            books.select("示例省/示例市", 2024).unwrap().id,
            "example-province-2023"
        );
        assert_eq!(
            books.select("示例省/示例市", 2022).unwrap().id,
            DEFAULT_RULEBOOK_ID
        );
        assert_eq!(
            books.select("湖南省/株洲市", 2024).unwrap().id,
            DEFAULT_RULEBOOK_ID
        );
        assert_eq!(
            books.get("explain-overachievement").unwrap().version,
            "2024.1"
        );
        assert!(books.get("nope").is_none());
    }

    #[test]
    fn out_of_range_settings_name_their_key() {
        let base = include_str!("../rulebooks/example-province-2023.toml");
        for (from, to, key) in [
            (
                "missed_fraction = \"0.5\"",
                "missed_fraction = \"2\"",
                "deadline.missed_fraction",
            ),
            (
                "partial_min = \"50\"",
                "partial_min = \"90\"",
                "qualitative.partial_min",
            ),
            (
                "at_percent = \"150\"",
                "at_percent = \"90\"",
                "at_least.over_achievement.at_percent",
            ),
            (
                "missed = \"inverse_proportional\"",
                "missed = \"halve\"",
                "halve",
            ),
        ] {
            let e = Rulebook::from_toml("example.toml", &base.replace(from, to)).unwrap_err();
            assert!(e.to_string().contains(key), "{key}: {e}");
        }
    }

    #[test]
    fn builtin_default_loads() {
        let books = builtin_rulebooks().unwrap();
        let rb = books.iter().find(|b| b.id == DEFAULT_RULEBOOK_ID).unwrap();
        assert_eq!(rb.execution.weight, Decimal::from(10));
        assert_eq!(rb.grade(Decimal::from(90)), "优");
        assert_eq!(rb.grade(Decimal::new(8999, 2)), "良");
        assert_eq!(rb.grade(Decimal::from(59)), "差");
        assert_eq!(rb.digest.len(), 64);
    }

    #[test]
    fn invalid_rulebook_names_file_key_and_reason() {
        let text = include_str!("../rulebooks/cn-national-default.toml")
            .replace("weight = \"10\"", "weight = \"110\"");
        let e = Rulebook::from_toml("bad.toml", &text).unwrap_err();
        assert_eq!(e.file, "bad.toml");
        assert!(e.reason.contains("execution.weight"), "{e}");

        let e = Rulebook::from_toml("typo.toml", &format!("{text}\nbogus = 1\n")).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
    }
}
