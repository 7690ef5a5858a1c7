//! A Fiscal Data Package of the fund blocks: `amounts.csv`, one row per fund
//! row of each form, and `datapackage.json` describing it — measures 年初预算数
//! (phase approved), 全年预算数 (adjusted) and 全年执行数 (executed), in 万元
//! (CNY, factor 10000) — zipped into one file.

use std::io::{Cursor, Write};

use jixiao_form::FundSource;
use serde_json::json;
use zip::write::SimpleFileOptions;
use zip::ZipWriter;

use crate::{csv, text, ExportError, ExportMeta, ExportRecord};

const DATA_FILE: &str = "amounts.csv";

/// (name, type, title) of each column of `amounts.csv`.
const FIELDS: [(&str, &str, &str); 14] = [
    ("submission_id", "string", "submission"),
    ("fund_row", "integer", "row of the fund block, from 0"),
    ("region", "string", "地区"),
    ("budget_unit", "string", "预算单位"),
    ("competent_department", "string", "主管部门"),
    ("implementing_unit", "string", "实施单位"),
    ("project", "string", "项目名称"),
    ("form_kind", "string", "表种 (project, department)"),
    ("fiscal_year", "integer", "年度"),
    ("fund_source", "string", "资金来源"),
    ("fund_label", "string", "资金来源（原文）"),
    ("approved", "number", "年初预算数（万元）"),
    ("adjusted", "number", "全年预算数（万元）"),
    ("executed", "number", "全年执行数（万元）"),
];

pub(crate) struct PackageBuilder {
    meta: ExportMeta,
    zip: ZipWriter<Cursor<Vec<u8>>>,
    rows: Vec<u8>,
    error: Option<String>,
}

impl PackageBuilder {
    pub(crate) fn new(meta: ExportMeta) -> Self {
        let mut rows = Vec::new();
        csv::row(&mut rows, FIELDS.iter().map(|f| f.0.to_string()));
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        let error = zip
            .start_file(DATA_FILE, SimpleFileOptions::default())
            .err()
            .map(|e| e.to_string());
        PackageBuilder {
            meta,
            zip,
            rows,
            error,
        }
    }

    /// The form's fund rows; revenue lines of department forms are not
    /// expenditure and stay out (the measures are spending).
    pub(crate) fn add(&mut self, r: &ExportRecord) {
        for (i, row) in r.form.funds.rows.iter().enumerate() {
            if row.source == FundSource::Revenue {
                continue;
            }
            csv::row(
                &mut self.rows,
                [
                    r.submission_id.clone(),
                    i.to_string(),
                    r.region().to_string(),
                    r.form.units.budget_unit.clone(),
                    r.form.units.competent_department.clone(),
                    r.form.units.implementing_unit.clone(),
                    r.form.project_name.clone(),
                    r.form.kind.as_str().to_string(),
                    r.form.fiscal_year.to_string(),
                    row.source.as_str().to_string(),
                    row.label.clone(),
                    text(row.initial_budget),
                    text(row.full_year_budget),
                    text(row.executed),
                ],
            );
        }
        // Rows go into the zip as they come, so the CSV is never held twice.
        if self.rows.len() >= 64 * 1024 {
            self.flush_rows();
        }
    }

    fn flush_rows(&mut self) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.zip.write_all(&self.rows) {
            self.error = Some(e.to_string());
        }
        self.rows.clear();
    }

    pub(crate) fn finish(mut self) -> Result<Vec<u8>, ExportError> {
        self.flush_rows();
        let descriptor = descriptor(&self.meta);
        let fail = |reason: String| ExportError::Write {
            format: "fiscal data package",
            reason,
        };
        if let Some(e) = self.error {
            return Err(fail(e));
        }
        self.zip
            .start_file("datapackage.json", SimpleFileOptions::default())
            .map_err(|e| fail(e.to_string()))?;
        self.zip
            .write_all(
                serde_json::to_string_pretty(&descriptor)
                    .map_err(|e| fail(e.to_string()))?
                    .as_bytes(),
            )
            .map_err(|e| fail(e.to_string()))?;
        Ok(self
            .zip
            .finish()
            .map_err(|e| fail(e.to_string()))?
            .into_inner())
    }
}

fn descriptor(meta: &ExportMeta) -> serde_json::Value {
    let measure = |phase: &str| {
        json!({
            "source": phase, "currency": "CNY", "factor": 10000,
            "direction": "expenditure", "phase": phase,
        })
    };
    let dimension = |attributes: &[&str], kind: &str| {
        json!({
            "attributes": attributes.iter().map(|a| (a.to_string(), json!({"source": a}))).collect::<serde_json::Map<_, _>>(),
            "primaryKey": attributes[0],
            "dimensionType": kind,
        })
    };
    json!({
        // The reference validator's fiscal-data-package profile extends the
        // tabular one and asks for this value here.
        "profile": "tabular-data-package",
        "name": "jixiao-fund-amounts",
        "title": if meta.title.is_empty() { "预算绩效自评表资金情况" } else { meta.title.as_str() },
        "description": format!(
            "项目资金 of each self-evaluation form (预算绩效自评表), one row per fund row; \
             rows with fund_source 'total' are the 年度资金总额 of their form, the others its sources. \
             Amounts in 万元. Selection: {}. Generated {}.",
            if meta.filter.is_empty() { "all forms" } else { &meta.filter },
            meta.generated_at
        ),
        "resources": [{
            "name": "amounts",
            "path": DATA_FILE,
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": {
                "fields": FIELDS.iter().map(|(name, ty, title)| json!({"name": name, "type": ty, "title": title})).collect::<Vec<_>>(),
                "primaryKey": ["submission_id", "fund_row"],
                "missingValues": [""],
            },
        }],
        "model": {
            "measures": {
                "approved": measure("approved"),
                "adjusted": measure("adjusted"),
                "executed": measure("executed"),
            },
            "dimensions": {
                "submission": dimension(&["submission_id", "fund_row"], "fact"),
                "unit": dimension(&["budget_unit", "competent_department", "implementing_unit"], "entity"),
                "region": dimension(&["region"], "location"),
                "project": dimension(&["project", "form_kind"], "activity"),
                "fiscal_period": dimension(&["fiscal_year"], "datetime"),
                "fund": dimension(&["fund_source", "fund_label"], "other"),
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::testing::record;

    #[test]
    fn a_zip_of_the_amounts_and_their_descriptor() {
        let mut p = PackageBuilder::new(ExportMeta::default());
        p.add(&record("sub_1", "甲局", "139.98", "124.51"));
        let bytes = p.finish().unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut csv = String::new();
        zip.by_name(DATA_FILE)
            .unwrap()
            .read_to_string(&mut csv)
            .unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[1],
            "sub_1,0,湖南省/株洲市,甲局,,,甲局项目,project,2024,total,年度资金总额,139.98,139.98,124.51"
        );
        let mut json = String::new();
        zip.by_name("datapackage.json")
            .unwrap()
            .read_to_string(&mut json)
            .unwrap();
        let d: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(d["model"]["measures"]["adjusted"]["phase"], "adjusted");
        assert_eq!(
            d["resources"][0]["schema"]["fields"]
                .as_array()
                .unwrap()
                .len(),
            lines[0].split(',').count()
        );
    }
}
