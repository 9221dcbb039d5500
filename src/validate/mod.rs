//! Validation stage: proves every rendered object is valid for the cluster's
//! Kubernetes version ([`schema`]) and follows kiln's policies ([`policy`],
//! and [`hpa_metrics`], which needs the whole tree: HPA metrics against the
//! prometheus-adapter rules),
//! honouring the justified per-workload `policyExceptions` in values. Entry
//! point: [`validate`], which returns findings and never fails.

pub mod catalog;
pub mod hpa_metrics;
pub mod policy;
pub mod prune;
pub mod schema;

use crate::build::Build;
use crate::finding::{Findings, Locator};

/// Schema and policy findings for a build.
pub fn validate(build: &Build) -> Findings {
    let locator = Locator::new(build);
    let mut findings = schema::check(build, &locator);
    findings.extend(policy::check(build, &locator));
    findings.extend(hpa_metrics::check(build, &locator));
    let sync = crate::sync::checks::check(build, &locator);
    findings.extend(crate::sync::checks::without_duplicates(sync, &findings));
    Findings::new(findings)
}
