//! A submission's findings of one scope are stored in one row, packed: each
//! finding is its severity, its rule id and its payload, each length-prefixed
//! (big-endian: `[severity i32][rule len u32][rule][payload len u32][payload]`).
//! One row per form instead of one per finding: the findings table and its
//! indexes were the largest part of PostgreSQL's work per form (BENCHMARKS.md).
//! Packing is concatenation, so the rows of one list read back in order are
//! the list packed whole; migration 10 turned each old row into a list of one
//! in SQL with the same layout.

use crate::{error::internal, NewFinding, Result};

/// A finding's position in listings is its row's `seq` shifted left by this
/// many bits plus its index in the row.
pub(crate) const INDEX_BITS: u32 = 16;
/// So a row holds at most this many findings.
const PER_ROW: usize = 1 << INDEX_BITS;

/// One finding as read back from its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Packed {
    pub severity: i32,
    pub rule_id: String,
    pub finding: Vec<u8>,
}

/// What one stored row holds: the packed findings and the columns listings
/// narrow rows by.
pub(crate) struct Row {
    pub rule_ids: String,
    pub max_severity: i32,
    pub findings: Vec<u8>,
}

/// The rows a submission's findings of one scope are stored in, in order
/// (none when it has none).
pub(crate) fn rows(findings: &[NewFinding]) -> impl Iterator<Item = Row> + '_ {
    findings.chunks(PER_ROW).map(|part| Row {
        rule_ids: rule_ids(part),
        max_severity: max_severity(part),
        findings: pack(part),
    })
}

pub(crate) fn pack(findings: &[NewFinding]) -> Vec<u8> {
    let size = findings
        .iter()
        .map(|f| 12 + f.rule_id.len() + f.finding.len())
        .sum();
    let mut out = Vec::with_capacity(size);
    for f in findings {
        out.extend_from_slice(&f.severity.to_be_bytes());
        out.extend_from_slice(&(f.rule_id.len() as u32).to_be_bytes());
        out.extend_from_slice(f.rule_id.as_bytes());
        out.extend_from_slice(&(f.finding.len() as u32).to_be_bytes());
        out.extend_from_slice(&f.finding);
    }
    out
}

/// The findings of a row; a blob cut short or a rule id that is not UTF-8 is
/// an error naming the row, never a panic.
pub(crate) fn unpack(row_seq: i64, mut blob: &[u8]) -> Result<Vec<Packed>> {
    let bad = |what: &str| internal(&format!("findings row {row_seq}: {what}"));
    let mut out = Vec::new();
    while !blob.is_empty() {
        let severity = i32::from_be_bytes(take::<4>(&mut blob).ok_or_else(|| bad("cut short"))?);
        let rule = take_prefixed(&mut blob).ok_or_else(|| bad("cut short"))?;
        let rule_id = String::from_utf8(rule.to_vec()).map_err(|_| bad("rule id is not UTF-8"))?;
        let finding = take_prefixed(&mut blob)
            .ok_or_else(|| bad("cut short"))?
            .to_vec();
        out.push(Packed {
            severity,
            rule_id,
            finding,
        });
    }
    Ok(out)
}

/// The rule ids of a row for its `rule_ids` column: each once, between
/// spaces, so a listing by rule narrows rows with `LIKE '% id %'`.
fn rule_ids(findings: &[NewFinding]) -> String {
    let mut out = String::from(" ");
    for f in findings {
        if !out.contains(&format!(" {} ", f.rule_id)) {
            out.push_str(&f.rule_id);
            out.push(' ');
        }
    }
    out
}

/// The highest severity of a row, for its `max_severity` column.
fn max_severity(findings: &[NewFinding]) -> i32 {
    findings.iter().map(|f| f.severity).max().unwrap_or(0)
}

fn take<const N: usize>(blob: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = blob.split_first_chunk::<N>()?;
    *blob = rest;
    Some(*head)
}

fn take_prefixed<'a>(blob: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_be_bytes(take::<4>(blob)?) as usize;
    if blob.len() < len {
        return None;
    }
    let (head, rest) = blob.split_at(len);
    *blob = rest;
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(rule: &str, severity: i32, payload: &[u8]) -> NewFinding {
        NewFinding {
            rule_id: rule.into(),
            severity,
            finding: payload.to_vec(),
        }
    }

    #[test]
    fn a_packed_list_reads_back_as_it_was() {
        let list = [
            f("A-01", 3, b"\x00\x01x"),
            f("审计-02", 1, b""),
            f("A-01", 2, b"yy"),
        ];
        let back = unpack(7, &pack(&list)).unwrap();
        assert_eq!(back.len(), 3);
        for (b, f) in back.iter().zip(&list) {
            assert_eq!(
                (b.severity, b.rule_id.as_str(), b.finding.as_slice()),
                (f.severity, f.rule_id.as_str(), f.finding.as_slice())
            );
        }
        assert!(unpack(7, &[]).unwrap().is_empty());
        assert_eq!(rule_ids(&list), " A-01 审计-02 ");
        assert_eq!(max_severity(&list), 3);
    }

    #[test]
    fn packing_is_concatenation() {
        let (a, b) = ([f("R1", 1, b"a")], [f("R2", 2, b"bb")]);
        let whole = [a[0].clone(), b[0].clone()];
        assert_eq!([pack(&a), pack(&b)].concat(), pack(&whole));
    }

    #[test]
    fn every_cut_of_a_row_is_an_error_not_a_panic() {
        let blob = pack(&[f("R1", 2, b"payload"), f("R2", 3, b"more")]);
        for cut in 1..blob.len() {
            let first = pack(&[f("R1", 2, b"payload")]).len();
            let got = unpack(9, &blob[..cut]);
            if cut == first {
                assert_eq!(got.unwrap().len(), 1);
            } else {
                let e = got.unwrap_err();
                assert!(e.message.contains("findings row 9"), "{}", e.message);
            }
        }
        let mut bad_rule = pack(&[f("R", 1, b"")]);
        bad_rule[8] = 0xff;
        assert!(unpack(1, &bad_rule).unwrap_err().message.contains("UTF-8"));
    }
}
