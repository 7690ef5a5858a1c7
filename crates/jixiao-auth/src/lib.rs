//! Who may call what. API tokens are made here (printed once, stored only as a
//! SHA-256 hash), every RPC needs one scope, and a caller's tenant — a region
//! path such as 湖南省/株洲市 — sees its own region and the regions under it.
//! No transport and no storage: the server wires this to gRPC and the database.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// SubmitForm, SubmitBatch, ImportDocument.
    Submit,
    /// Every read: submissions, scorecards, findings, rulebooks, events,
    /// summaries, and the pure ScoreForm / AuditForm.
    Read,
    /// ExportBatch.
    Export,
    /// RescoreBatch and AuditDepartment: recomputation on demand.
    Rescore,
    /// Service-to-service calls (AuditSubmissions); only the internal token has it.
    Internal,
}

pub const ALL_SCOPES: [Scope; 5] = [
    Scope::Submit,
    Scope::Read,
    Scope::Export,
    Scope::Rescore,
    Scope::Internal,
];

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Submit => "submit",
            Scope::Read => "read",
            Scope::Export => "export",
            Scope::Rescore => "rescore",
            Scope::Internal => "internal",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        ALL_SCOPES.into_iter().find(|x| x.as_str() == s.trim())
    }

    /// `submit,read,export` → scopes; the internal scope is never granted to a token.
    pub fn parse_list(s: &str) -> Result<Vec<Scope>, String> {
        let mut out = Vec::new();
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let scope = Scope::from_name(name)
                .filter(|s| *s != Scope::Internal)
                .ok_or_else(|| {
                    format!("unknown scope {name:?}; scopes are submit, read, export, rescore")
                })?;
            if !out.contains(&scope) {
                out.push(scope);
            }
        }
        if out.is_empty() {
            return Err("at least one scope is required (submit, read, export, rescore)".into());
        }
        out.sort();
        Ok(out)
    }
}

/// The scope each RPC needs, by its gRPC path; `None` for the public ones
/// (health, reflection). Any other jixiao path needs the internal scope, so
/// a new RPC is closed until it is listed here.
pub fn required_scope(path: &str) -> Option<Scope> {
    let rest = path.strip_prefix("/jixiao.v1.")?;
    Some(match rest {
        "IntakeService/SubmitForm"
        | "IntakeService/SubmitBatch"
        | "IntakeService/ImportDocument" => Scope::Submit,
        "IntakeService/GetSubmission"
        | "IntakeService/GetSubmissions"
        | "IntakeService/ListSubmissions"
        | "ScoringService/ScoreForm"
        | "ScoringService/GetScoreCard"
        | "ScoringService/ListRulebooks"
        | "ScoringService/GetRulebook"
        | "AuditService/AuditForm"
        | "AuditService/ListFindings"
        | "AuditService/GetRuleCatalog"
        | "ExportService/WatchEvents"
        | "ExportService/GetBatchSummary" => Scope::Read,
        "ExportService/ExportBatch" => Scope::Export,
        "ScoringService/RescoreBatch" | "AuditService/AuditDepartment" => Scope::Rescore,
        _ => Scope::Internal,
    })
}

/// Whether `tenant` is `region` or lies under it (`湖南省/株洲市` under `湖南省`).
pub fn within(tenant: &str, region: &str) -> bool {
    tenant == region
        || (tenant.len() > region.len()
            && tenant.starts_with(region)
            && tenant.as_bytes()[region.len()] == b'/')
}

/// The tenant a token of every region is made for.
pub const ALL_REGIONS: &str = "*";
/// Where writes go when neither request nor caller names a tenant.
pub const DEFAULT_TENANT: &str = "default";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
}

/// Who is calling: what its token allows, and which regions it sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's public id; empty when tokens are off or for the internal token.
    pub token_id: String,
    /// `None`: every region (tokens off, the internal token, a `*` token).
    pub region: Option<String>,
    pub scopes: Vec<Scope>,
}

/// Which stored submissions a request selects: an exact tenant and/or a region subtree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantSelection {
    pub tenant: Option<String>,
    pub region: Option<String>,
}

fn clean(s: &str) -> &str {
    s.trim().trim_end_matches('/')
}

impl Caller {
    /// Everything, everywhere: tokens are off (loopback only) or the caller is another service.
    pub fn unrestricted(token_id: &str) -> Self {
        Caller {
            token_id: token_id.to_string(),
            region: None,
            scopes: ALL_SCOPES.to_vec(),
        }
    }

    pub fn may(&self, scope: Scope) -> Result<(), AccessError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(AccessError::PermissionDenied(format!(
                "this token lacks the {} scope",
                scope.as_str()
            )))
        }
    }

    /// Whether stored data of `tenant` is visible to this caller.
    pub fn sees(&self, tenant: &str) -> bool {
        self.region.as_deref().is_none_or(|r| within(tenant, r))
    }

    fn outside(&self, what: &str, value: &str) -> AccessError {
        AccessError::PermissionDenied(format!(
            "{what} {value:?} is outside this token's region {:?}",
            self.region.as_deref().unwrap_or("")
        ))
    }

    /// The tenant a submission is stored under: the requested one if the
    /// caller may write there, else the caller's own region.
    pub fn tenant_for_write(&self, requested: &str) -> Result<String, AccessError> {
        let requested = clean(requested);
        match (&self.region, requested.is_empty()) {
            (None, true) => Ok(DEFAULT_TENANT.to_string()),
            (None, false) => Ok(requested.to_string()),
            (Some(own), true) => Ok(own.clone()),
            (Some(own), false) if within(requested, own) => Ok(requested.to_string()),
            (Some(_), false) => Err(self.outside("tenant", requested)),
        }
    }

    /// What a listing selects from its `tenant` (exact) and `region` (subtree)
    /// fields, narrowed to what the caller sees. Without either, a restricted
    /// caller sees its whole region and an unrestricted one the default tenant.
    pub fn selection(&self, tenant: &str, region: &str) -> Result<TenantSelection, AccessError> {
        let (tenant, region) = (clean(tenant), clean(region));
        let tenant = (!tenant.is_empty()).then(|| tenant.to_string());
        let mut region = (!region.is_empty()).then(|| region.to_string());
        if let Some(own) = &self.region {
            if let Some(t) = &tenant {
                if !within(t, own) {
                    return Err(self.outside("tenant", t));
                }
            }
            region = match region {
                Some(r) if within(&r, own) => Some(r),
                // A wider region narrows to the caller's own.
                Some(r) if within(own, &r) => Some(own.clone()),
                Some(r) => return Err(self.outside("region", &r)),
                None => Some(own.clone()),
            };
        } else if tenant.is_none() && region.is_none() {
            return Ok(TenantSelection {
                tenant: Some(DEFAULT_TENANT.to_string()),
                region: None,
            });
        }
        Ok(TenantSelection { tenant, region })
    }
}

/// A token as handed to its owner: `jx_<id>_<secret>`. The id is public (it
/// names the token in lists and logs); only the hash of the whole is stored.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub id: String,
    pub token: String,
    pub hash: String,
}

fn random_hex(bytes: usize) -> Result<String, String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| format!("no randomness from the OS: {e}"))?;
    Ok(hex::encode(buf))
}

/// A new token: 6 random bytes of id, 32 of secret.
pub fn issue_token() -> Result<IssuedToken, String> {
    let id = random_hex(6)?;
    let token = format!("jx_{id}_{}", random_hex(32)?);
    let hash = hash_token(&token);
    Ok(IssuedToken { id, token, hash })
}

/// A random secret for the internal token of a single process.
pub fn random_secret() -> Result<String, String> {
    random_hex(32)
}

/// SHA-256 of the token, hex. The secret is 256 random bits, so no salt or
/// slow hash is needed: the hash cannot be reversed by guessing.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The public id of a well-formed token.
pub fn token_id(token: &str) -> Option<&str> {
    let rest = token.strip_prefix("jx_")?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 12 && secret.len() == 64).then_some(id)
}

/// Constant-time comparison of a presented token with a stored hash or secret.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn city() -> Caller {
        Caller {
            token_id: "t".into(),
            region: Some("湖南省/株洲市".into()),
            scopes: vec![Scope::Read],
        }
    }

    #[test]
    fn regions_contain_the_regions_under_them_on_path_boundaries() {
        assert!(within("湖南省/株洲市", "湖南省"));
        assert!(within("湖南省", "湖南省"));
        assert!(!within("湖南省株洲", "湖南省"));
        assert!(!within("湖南省", "湖南省/株洲市"));
    }

    #[test]
    fn a_city_token_writes_and_reads_only_under_its_city() {
        let c = city();
        assert_eq!(c.tenant_for_write("").unwrap(), "湖南省/株洲市");
        assert_eq!(
            c.tenant_for_write("湖南省/株洲市/醴陵市").unwrap(),
            "湖南省/株洲市/醴陵市"
        );
        assert!(matches!(
            c.tenant_for_write("湖南省/岳阳市"),
            Err(AccessError::PermissionDenied(_))
        ));
        assert!(c.sees("湖南省/株洲市/醴陵市") && !c.sees("湖南省/岳阳市") && !c.sees("湖南省"));
        let all = c.selection("", "").unwrap();
        assert_eq!(all.region.as_deref(), Some("湖南省/株洲市"));
        // Asking for the province narrows to the city.
        assert_eq!(
            c.selection("", "湖南省").unwrap().region.as_deref(),
            Some("湖南省/株洲市")
        );
        assert!(c.selection("湖南省/岳阳市", "").is_err());
        assert!(c.selection("", "湖南省/岳阳市").is_err());
    }

    #[test]
    fn without_tokens_the_default_tenant_is_the_default() {
        let c = Caller::unrestricted("");
        assert_eq!(c.tenant_for_write("").unwrap(), DEFAULT_TENANT);
        assert_eq!(
            c.selection("", "").unwrap().tenant.as_deref(),
            Some(DEFAULT_TENANT)
        );
        let r = c.selection("", "湖南省").unwrap();
        assert_eq!((r.tenant, r.region.as_deref()), (None, Some("湖南省")));
    }

    #[test]
    fn tokens_are_random_well_formed_and_stored_as_hashes() {
        let a = issue_token().unwrap();
        let b = issue_token().unwrap();
        assert_ne!(a.token, b.token);
        assert_eq!(token_id(&a.token), Some(a.id.as_str()));
        assert_eq!(a.hash, hash_token(&a.token));
        assert!(!a.hash.contains(&a.token[16..]));
        assert_eq!(token_id("jx_short_x"), None);
        assert!(same_secret(&a.hash, &hash_token(&a.token)));
        assert!(!same_secret(&a.hash, &b.hash));
    }

    #[test]
    fn every_rpc_has_a_scope_and_unknown_ones_are_closed() {
        assert_eq!(
            required_scope("/jixiao.v1.IntakeService/SubmitForm"),
            Some(Scope::Submit)
        );
        assert_eq!(
            required_scope("/jixiao.v1.ExportService/ExportBatch"),
            Some(Scope::Export)
        );
        assert_eq!(
            required_scope("/jixiao.v1.AuditService/AuditSubmissions"),
            Some(Scope::Internal)
        );
        assert_eq!(
            required_scope("/jixiao.v1.IntakeService/Nope"),
            Some(Scope::Internal)
        );
        assert_eq!(required_scope("/grpc.health.v1.Health/Check"), None);
        assert_eq!(
            Scope::parse_list("read, submit,read").unwrap(),
            [Scope::Submit, Scope::Read]
        );
        assert!(Scope::parse_list("internal").is_err());
        assert!(Scope::parse_list("delete").is_err());
    }
}
