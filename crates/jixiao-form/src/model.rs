use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Which of the three official forms this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum FormKind {
    /// Not given; rejected by validation.
    #[default]
    Unspecified,
    /// 项目支出绩效自评表.
    Project,
    /// 部门整体支出绩效自评表.
    Department,
    /// 部门整体支出绩效评价基础数据表.
    DepartmentBasicData,
}

impl FormKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FormKind::Unspecified => "unspecified",
            FormKind::Project => "project",
            FormKind::Department => "department",
            FormKind::DepartmentBasicData => "department_basic_data",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        [
            FormKind::Unspecified,
            FormKind::Project,
            FormKind::Department,
            FormKind::DepartmentBasicData,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// The units named in the form header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Units {
    /// 预算单位 / 市级预算部门（单位）名称.
    pub budget_unit: String,
    /// 主管部门.
    pub competent_department: String,
    /// 实施单位.
    pub implementing_unit: String,
    /// Region path such as 湖南省/株洲市.
    pub region: String,
}

impl Units {
    /// The unit a reviewer would file the form under: the budget unit, else the
    /// competent department, else the implementing unit.
    pub fn primary(&self) -> &str {
        [
            &self.budget_unit,
            &self.competent_department,
            &self.implementing_unit,
        ]
        .into_iter()
        .find(|s| !s.is_empty())
        .map(String::as_str)
        .unwrap_or("")
    }
}

/// Where a submission is in the pipeline: received → scored → audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubmissionStatus {
    /// Stored, scoring job queued.
    Received,
    /// Scorecard stored.
    Scored,
    /// Findings stored.
    Audited,
}

impl SubmissionStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            SubmissionStatus::Received => "received",
            SubmissionStatus::Scored => "scored",
            SubmissionStatus::Audited => "audited",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        [Self::Received, Self::Scored, Self::Audited]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// Which row of the fund block an amount belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum FundSource {
    #[default]
    Unspecified,
    /// 年度资金总额.
    Total,
    /// 当年财政拨款.
    CurrentAppropriation,
    /// 上年结转资金.
    PriorYearCarryover,
    /// 其他资金.
    Other,
    /// 基本支出.
    BasicExpenditure,
    /// 项目支出.
    ProjectExpenditure,
    /// A revenue line of a department form (按收入性质分); the label says which.
    Revenue,
}

impl FundSource {
    pub fn as_str(self) -> &'static str {
        match self {
            FundSource::Unspecified => "unspecified",
            FundSource::Total => "total",
            FundSource::CurrentAppropriation => "current_appropriation",
            FundSource::PriorYearCarryover => "prior_year_carryover",
            FundSource::Other => "other",
            FundSource::BasicExpenditure => "basic_expenditure",
            FundSource::ProjectExpenditure => "project_expenditure",
            FundSource::Revenue => "revenue",
        }
    }
}

/// One row of the fund block, amounts in 万元. Blank cells are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FundRow {
    pub source: FundSource,
    pub label: String,
    /// 年初预算数.
    pub initial_budget: Option<Decimal>,
    /// 全年预算数.
    pub full_year_budget: Option<Decimal>,
    /// 全年执行数.
    pub executed: Option<Decimal>,
}

/// 项目资金: the fund block and its budget-execution line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FundBlock {
    pub rows: Vec<FundRow>,
    /// 分值.
    pub weight: Option<Decimal>,
    /// 执行率 as written ("93.75%").
    pub stated_execution_rate: String,
    /// 得分.
    pub stated_score: Option<Decimal>,
}

impl FundBlock {
    /// The 年度资金总额 row, if the form has one.
    pub fn total(&self) -> Option<&FundRow> {
        self.rows.iter().find(|r| r.source == FundSource::Total)
    }
}

/// 年度总体目标.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Goal {
    /// 预期目标.
    pub expected: String,
    /// 实际完成情况.
    pub actual: String,
}

/// How a target is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Direction {
    #[default]
    Unspecified,
    /// ≥.
    AtLeast,
    /// ≤.
    AtMost,
    /// =.
    Equal,
    /// >.
    MoreThan,
    /// <.
    LessThan,
    /// 约.
    About,
}

impl Direction {
    pub fn symbol(self) -> &'static str {
        match self {
            Direction::Unspecified => "",
            Direction::AtLeast => "≥",
            Direction::AtMost => "≤",
            Direction::Equal => "=",
            Direction::MoreThan => ">",
            Direction::LessThan => "<",
            Direction::About => "约",
        }
    }
}

/// What kind of value a measure holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum ValueKind {
    #[default]
    Unspecified,
    Quantity,
    Deadline,
    Qualitative,
    NotApplicable,
}

/// A target (年度指标值) or actual (实际完成值): raw text plus what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Measure {
    pub raw: String,
    pub kind: ValueKind,
    pub direction: Direction,
    pub value: Option<Decimal>,
    pub unit: String,
    /// ISO date for deadlines.
    pub deadline: String,
}

/// A 三级指标 row with its place in the indicator tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Indicator {
    /// 一级指标.
    pub level1: String,
    /// 二级指标.
    pub level2: String,
    /// 三级指标.
    pub name: String,
    /// 年度指标值.
    pub target: Measure,
    /// 实际完成值.
    pub actual: Measure,
    /// 分值.
    pub weight: Option<Decimal>,
    /// 得分.
    pub self_score: Option<Decimal>,
    /// 偏差原因分析及改进措施.
    pub deviation_reason: String,
}

/// A first-level weight written in the section label, e.g. 产出指标（50分）.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SectionWeight {
    pub level1: String,
    pub weight: Decimal,
}

/// 填表人 / 填报日期 / 联系电话.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Filer {
    pub name: String,
    pub date: String,
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BasicDataRow {
    pub label: String,
    pub values: Vec<String>,
}

/// The 基础数据表 contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BasicData {
    pub column_labels: Vec<String>,
    pub rows: Vec<BasicDataRow>,
}

/// One self-evaluation form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Form {
    pub kind: FormKind,
    /// 项目支出名称.
    pub project_name: String,
    pub units: Units,
    pub fiscal_year: i32,
    pub funds: FundBlock,
    pub goals: Vec<Goal>,
    pub indicators: Vec<Indicator>,
    pub section_weights: Vec<SectionWeight>,
    /// 总分 as written.
    pub stated_total: Option<Decimal>,
    pub filer: Filer,
    /// The form's own 绩效自评报告 text.
    pub narrative: String,
    pub basic_data: BasicData,
    /// What the document parser could not read, or read with a caveat.
    pub diagnostics: Vec<Diagnostic>,
    /// Where the form was found; not part of its content, so not in its digest.
    #[serde(skip)]
    pub origin: Origin,
}

impl Form {
    /// Every amount, weight, score and measured value without trailing zeros
    /// (`10.00` → `10`), as the form reads back once stored.
    pub fn normalize_decimals(&mut self) {
        fn n(d: &mut Option<Decimal>) {
            if let Some(d) = d {
                *d = d.normalize();
            }
        }
        for r in &mut self.funds.rows {
            n(&mut r.initial_budget);
            n(&mut r.full_year_budget);
            n(&mut r.executed);
        }
        n(&mut self.funds.weight);
        n(&mut self.funds.stated_score);
        for i in &mut self.indicators {
            n(&mut i.target.value);
            n(&mut i.actual.value);
            n(&mut i.weight);
            n(&mut i.self_score);
        }
        for s in &mut self.section_weights {
            s.weight = s.weight.normalize();
        }
        n(&mut self.stated_total);
    }
}

/// A problem found while reading a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Diagnostic {
    /// 1-based line (text export or sheet row); 0 when unknown.
    pub line: u32,
    /// Sheet and cell for spreadsheets, e.g. `Sheet1!C7`.
    pub cell: String,
    /// Field path in the form, e.g. `funds.stated_score`.
    pub path: String,
    /// Machine-readable kind: `score_as_percent`, `unreadable_number`, `form_rejected`, ….
    pub code: String,
    /// The text as written.
    pub raw: String,
    pub message: String,
}

/// Where in a document a form was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Origin {
    pub file_name: String,
    pub first_line: u32,
    pub last_line: u32,
    pub sheet: String,
}
