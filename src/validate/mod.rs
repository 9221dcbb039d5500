//! Validation stage: proves every rendered object is valid for the cluster's
//! Kubernetes version ([`schema`]) and follows kiln's policies ([`policy`],
//! one file per policy, HPA metrics against the prometheus-adapter rules among
//! them), honouring the justified per-workload `policyExceptions` in values;
//! that Argo CD converges on the tree (`sync::checks`: health cycles, jobs and
//! hooks, CRD order; `sync::owners`: owners, projects, prune blast radius,
//! controller mutations), and that every secret is sealed for the declared
//! certificate (`seal::check`), and that every value set for a pinned Helm
//! chart is one of the chart's ([`chart_values`]). Entry point: [`validate`], which returns
//! findings and never fails.

pub(crate) mod catalog;
pub(crate) mod chart_values;
pub(crate) mod policy;
pub(crate) mod prune;
pub(crate) mod schema;

use crate::build::Build;
use crate::finding::{Findings, Locator};

/// Schema and policy findings for a build.
pub fn validate(build: &Build) -> Findings {
    let locator = Locator::new(build);
    let mut findings = schema::check(build, &locator);
    findings.extend(policy::check(build, &locator));
    findings.extend(chart_values::check(build, &locator));
    // One model of the Argo CD layer for both families of sync checks.
    let model = crate::sync::Model::new(build);
    findings.extend(crate::sync::owners::check(build, &model, &locator));
    findings.extend(crate::seal::check::check(build, &locator));
    let sync = crate::sync::checks::check(&model, &locator);
    findings.extend(crate::sync::checks::without_duplicates(sync, &findings));
    Findings::new(findings)
}
