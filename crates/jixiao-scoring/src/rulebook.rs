use rust_decimal::Decimal;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The rulebook used when a submission names none.
pub const DEFAULT_RULEBOOK_ID: &str = "cn-national-default";

/// Rulebooks shipped with the engine, as (file name, text).
const BUILTIN: &[(&str, &str)] = &[(
    "cn-national-default.toml",
    include_str!("../rulebooks/cn-national-default.toml"),
)];

/// Which amount the execution rate is divided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Denominator {
    /// 全年预算数.
    FullYearBudget,
    /// 年初预算数.
    InitialBudget,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionRule {
    pub weight: Decimal,
    pub denominator: Denominator,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grade {
    pub name: String,
    /// Lowest total that earns this grade.
    pub min: Decimal,
}

/// A versioned scoring rulebook. Province- and year-specific numbers live here,
/// never in code.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rulebook {
    pub id: String,
    pub version: String,
    pub title: String,
    pub execution: ExecutionRule,
    /// Highest first.
    pub grades: Vec<Grade>,
    /// sha256 of the source text, hex.
    #[serde(skip)]
    pub digest: String,
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
        if rb.id.trim().is_empty() {
            return Err(err("key `id`: must not be empty".into()));
        }
        if rb.version.trim().is_empty() {
            return Err(err("key `version`: must not be empty".into()));
        }
        if rb.execution.weight < Decimal::ZERO || rb.execution.weight > Decimal::ONE_HUNDRED {
            return Err(err(format!(
                "key `execution.weight`: must be between 0 and 100, got {}",
                rb.execution.weight
            )));
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
