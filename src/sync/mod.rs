//! The Argo CD sync model of the rendered tree: which Application manages
//! which objects, in what order Argo CD applies them, what each step waits
//! on, and where a sync would stop. Entry point: [`Model::new`] (the model,
//! a stable API other checks build on); the checks and `kiln sync` run on it.
//!
//! Facts modelled, from argoproj/argo-cd (gitops-engine vendored under
//! `gitops-engine/`), read at the 2026-08 snapshot:
//! - Directory sources read the top level of their path unless
//!   `directory.recurse`, only `.yaml`/`.yml`/`.json` files, filtered by
//!   `include`/`exclude` globs on the path relative to the source
//!   (Argo CD's user-guide/directory.md; `reposerver/repository/repository.go`).
//! - Order: phase (PreSync, Sync, PostSync, SyncFail), then wave
//!   (`argocd.argoproj.io/sync-wave`, default 0, an unparsable value 0), then
//!   kind in Helm's install order with every other kind last, then name
//!   (`gitops-engine/pkg/sync/sync_tasks.go` `syncPhaseOrder`, `kindOrder`,
//!   `Less`); a CRD in the same sync is moved before its first custom
//!   resource and takes that resource's wave (`adjustDeps`).
//! - A sync of more than one wave or phase waits on each applied resource: a
//!   running non-hook task succeeds only when Healthy (or when its kind has
//!   no health check), fails when Degraded, and otherwise waits; a
//!   one-wave, one-phase sync does not wait (`sync_context.go`, `multiStep`,
//!   `operationPhases`). Waves that are already synced and healthy are
//!   skipped on later syncs (Argo CD docs, user-guide/sync-waves.md).
//! - Health: built-in checks exist only for Deployment, StatefulSet,
//!   ReplicaSet, DaemonSet, Service, PVC, Pod, Ingress, APIService, Job and
//!   HPA (`gitops-engine/pkg/health/health.go` `GetHealthCheckFunc`); a Job
//!   is Progressing until Complete and Degraded when Failed
//!   (`health_job.go`); SealedSecret has a bundled Lua check, Progressing
//!   until the controller reports `Synced` (`resource_customizations/
//!   bitnami.com/SealedSecret/health.lua`); a Deployment is Degraded once
//!   its Progressing condition reads `ProgressDeadlineExceeded`, while a
//!   StatefulSet or DaemonSet that never gets ready stays Progressing
//!   (`health_deployment.go`, `health_statefulset.go`); CRDs, HelmChart and Application
//!   have none, so Argo CD does not wait on them, unless the Application
//!   health Lua of Argo CD's operator-manual/health.md is configured in argocd-cm
//!   (`configs.cm` of the argo-cd chart), which copies the child's
//!   `status.health.status`.
//! - An Application's health is the worst of its resources' health, skipping
//!   hooks, resources annotated `argocd.argoproj.io/ignore-healthcheck:
//!   "true"`, a direct self-reference (`isSelfReferencedApp`), missing
//!   resources, and child Applications that are Missing or Unknown
//!   (`controller/health.go` `setApplicationHealth`; order Healthy <
//!   Suspended < Progressing < Missing < Degraded < Unknown, `health.go`).
//! - `Replace=true` makes Argo CD delete and re-create a live object
//!   (`kubectl replace`, with `Force=true` `--force`) on every sync that
//!   applies it (`sync_context.go` `applyObject`; the Argo CD docs'
//!   user-guide/sync-options.md); a hook without `hook-delete-policy` gets
//!   `BeforeHookCreation` (`hook/delete_policy.go`), and `hook: Skip` alone
//!   is never applied (`hook/hook.go` `Skip`).
//!
//! What kiln cannot know: the objects a Helm chart renders (kiln keeps a
//! table of the CRDs the charts in values install, [`crds`]), the live
//! state of the cluster (whether a Deployment becomes available, a Job
//! succeeds), and other Lua health checks configured outside values.

pub mod checks;
pub mod crds;
pub mod glob;
pub mod health;
pub mod model;
pub mod mutations;
pub mod order;
pub mod owners;
pub mod projects;
pub mod report;
pub mod resource;
pub mod run;

pub use model::{Application, Model, Project};
