//! Raw command-line arguments, as clap parses them. [`crate::settings`] turns
//! them into a validated run configuration.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  kiln render                 render values/ + templates/ into rendered/
  kiln render --diff          show what a render would change; exit 1 on drift
  kiln render --diff --stat   only the per-object summary
  kiln verify                 check rendered/ against SHA256SUMS and kiln.lock
  kiln validate               schema and policy checks of every rendered object
  kiln plan                   simulate scheduling on the declared nodes
  kiln sync                   how a first and a day-2 Argo CD sync of the root proceed, and where they stop
  kiln diff --base origin/main   what this branch changes in the cluster, object by object
  kiln diff --base main --format markdown   the same as a pull-request comment
  kiln explain workload ai-system-gpu/reasoning-suite
  printf %s \"$token\" | kiln seal --name model-api-keys --key HF_TOKEN
  kiln seal --list-placeholders   values still to replace; exit 1 when there are any
  kiln import compose -f compose.yaml --dry-run   what importing a Compose project would write
  kiln -C ../other-repo render --diff --format json

Exit codes: 0 ok / in sync, 1 drift or check failed, 2 error.";

#[derive(Debug, Parser)]
#[command(name = "kiln", version, about = "Render layered YAML values through Tera templates into a hashed, committed Kubernetes manifest tree", after_help = EXAMPLES)]
pub struct Arguments {
    /// Run as if kiln was started in DIR: the repository root is DIR or the nearest directory above it holding
    /// values/ and templates/
    #[arg(short = 'C', value_name = "DIR", global = true, env = "KILN_ROOT")]
    pub root: Option<PathBuf>,

    /// When to colour output
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render values/ and templates/ into rendered/ (atomically), or compare with --diff
    Render {
        /// Render in memory and compare with rendered/; never writes. Exit 1 on drift
        #[arg(long)]
        diff: bool,
        /// With --diff: print only the per-object summary, not the unified diff
        #[arg(long, requires = "diff")]
        stat: bool,
        /// Output format of --diff: text for people, json for scripts
        #[arg(long, value_enum, default_value_t = Format::Text, requires = "diff")]
        format: Format,
    },
    /// Check rendered/ against SHA256SUMS and kiln.lock against values/ and templates/, without rendering
    Verify {
        /// Output format: text for people, json for scripts
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Check every rendered object against the Kubernetes/CRD schemas and kiln's policies. Exit 1 on errors
    Validate {
        /// Output format: text for people, json for scripts
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Simulate the scheduler on the declared nodes: steady state, HPA max, each rollout, each node lost
    Plan {
        /// Output format: text for people, json for scripts
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Simulate Argo CD's first and day-2 sync of the root, wave by wave and Application by Application: what
    /// each step waits on and where it would stop. Exit 1 when one would stop
    Sync {
        /// Output format: text for people, json for scripts
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Compare two git revisions object by object: what a change does to the cluster, and what `kiln render`'s
    /// checks find in head. Exit 0 no change, 1 changes, head's rendered/ out of date or errors in head, 2 error
    Diff {
        /// The base revision (branch, tag or commit), read from git objects
        #[arg(long, value_name = "REV")]
        base: String,
        /// The head revision; default: the working tree (uncommitted changes included)
        #[arg(long, value_name = "REV")]
        head: Option<String>,
        /// Compare with the merge base of --base and the head instead: only what the head's branch changed
        #[arg(long)]
        merge_base: bool,
        /// Print only the summary, not the unified diffs (text format)
        #[arg(long)]
        stat: bool,
        /// Output format: text for people, json for scripts (schema in docs/pr-workflow.md), markdown for a pull-request comment
        #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
    },
    /// Show the effective values of a scope and the file and line that set each one
    Explain {
        /// `cluster`, `node <name>`, `namespace <name>` or `workload <namespace>/<name>`
        scope: String,
        /// The node, namespace or workload name
        name: Option<String>,
    },
    /// Seal a secret value for the cluster's Sealed Secrets certificate (`sealing.certificate`) and write it into
    /// the namespace's values; the plaintext is read from stdin or --from-file, never from the command line
    Seal(SealArguments),
    /// Bring an existing deployment's description into values
    #[command(subcommand)]
    Import(ImportCommand),
    /// Print a shell completion script
    Completions { shell: clap_complete::Shell },
}

/// `kiln seal`'s arguments (see `crate::seal::command`).
#[derive(Debug, clap::Args)]
pub struct SealArguments {
    /// The secret: `secrets.<NAME>` in the namespace's values, the SealedSecret's name
    #[arg(long, value_name = "NAME", required_unless_present = "list_placeholders")]
    pub name: Option<String>,
    /// The key to seal (`encryptedData.<KEY>`), its plaintext read from stdin or --from-file FILE
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// With --key or --raw: the file holding the plaintext. Without: KEY=FILE, once per key, to seal several keys
    #[arg(long, value_name = "FILE|KEY=FILE")]
    pub from_file: Vec<String>,
    /// The namespace to seal for, repeatable; default: every namespace whose values file declares the secret
    #[arg(long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,
    /// Where the controller may unseal it; default: the secret's `scope` in values, else strict
    #[arg(long, value_enum)]
    pub scope: Option<crate::seal::crypto::Scope>,
    /// Seal for this certificate (PEM) instead of `sealing.certificate` in values
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Print only the base64 ciphertext of one value, like `kubeseal --raw`; writes nothing
    #[arg(long, conflicts_with_all = ["print", "placeholder"])]
    pub raw: bool,
    /// Print the values snippet instead of editing the namespace's values file
    #[arg(long)]
    pub print: bool,
    /// Mark the secret `placeholder: true`: its values are stand-ins to replace before bootstrap
    #[arg(long)]
    pub placeholder: bool,
    /// List the values marked as placeholders; exit 1 when there is any
    #[arg(long, conflicts_with_all = ["name", "key", "from_file", "namespaces", "scope", "cert", "raw", "print", "placeholder"])]
    pub list_placeholders: bool,
}

/// `kiln import`'s sources.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import Docker Compose services as workloads of values/namespaces/<ns>.yaml, with a loss report. Exit 0
    /// everything mapped, 1 something approximated, dropped or left to seal, 2 invalid input
    Compose(ComposeArguments),
}

/// `kiln import compose`'s arguments (see `crate::import::compose::command`).
#[derive(Debug, clap::Args)]
pub struct ComposeArguments {
    /// A compose file; repeat to merge several, later files overriding earlier ones
    #[arg(short = 'f', long = "file", value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// The project directory relative paths resolve against; default: the first file's directory
    #[arg(long, value_name = "DIR")]
    pub project_directory: Option<PathBuf>,
    /// An env file for interpolation, after the project directory's .env; repeatable
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// A profile to enable; every profiled service is imported, enabled only for the selected profiles
    #[arg(long = "profile", value_name = "NAME")]
    pub profiles: Vec<String>,
    /// Import every service into this namespace
    #[arg(long, value_name = "NS", conflicts_with = "group_map")]
    pub namespace: Option<String>,
    /// Import the services of compose group GROUP into namespace NS; repeatable
    #[arg(long = "group-map", value_name = "GROUP=NS")]
    pub group_map: Vec<String>,
    /// Print what would be written (new files whole, edits as a diff) and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Write the loss report as JSON to FILE (schema in docs/import-compose.md)
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Output format of `kiln diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
    /// A pull-request comment that always fits GitHub's 65,536-character limit
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
