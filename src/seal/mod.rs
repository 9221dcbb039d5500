//! `kiln seal` and the cluster's sealing certificate: values are sealed for
//! the Sealed Secrets controller's declared certificate without kubeseal.
//!
//! - [`crypto`]: the controller's hybrid encryption and scopes, and the
//!   certificate's fingerprint;
//! - [`edit`]: the surgical edits of a values file that keep its comments and order;
//! - [`command`]: the `kiln seal` forms (`--raw`, into values, `--print`,
//!   `--list-placeholders`);
//! - [`check`]: the declarations checked at load, and the `validate` check
//!   that every secret is sealed for the declared certificate.

pub mod check;
pub mod command;
pub mod crypto;
pub mod edit;
