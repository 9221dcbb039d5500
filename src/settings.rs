//! The validated run configuration built once from raw arguments: the
//! repository root ([`crate::root`] finds it from the start directory), its
//! directories, and whether to colour output.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cli::{Arguments, ColorChoice, Command};
use crate::root::{self, Found};
use crate::{Error, Result};

pub const RENDERED_DIR: &str = "rendered";

#[derive(Debug, Clone)]
pub struct Settings {
    /// Repository root holding values/, templates/ and rendered/ (for
    /// `kiln diff`, possibly a bare git repository instead).
    pub root: PathBuf,
    pub rendered: PathBuf,
    /// Colour on stdout (diffs, reports) and on stderr (diagnostics of a render).
    pub color: bool,
    pub color_stderr: bool,
}

impl Settings {
    pub fn from_arguments(arguments: &Arguments) -> Result<Settings> {
        let start = arguments.root.clone().unwrap_or_else(|| PathBuf::from("."));
        if !start.is_dir() {
            return Err(Error::Usage { message: format!("`{}` is not a directory (given with -C)", start.display()) });
        }
        let root = match &arguments.command {
            // A completion script needs no repository.
            Command::Completions { .. } => start,
            // Nor does sealing one value for a certificate file.
            Command::Seal(seal) if seal.raw && seal.cert.is_some() => start,
            command => match root::find(&start)? {
                Found::Root(root) => root,
                // `kiln diff` reads revisions from git objects; it says itself
                // that the working tree needs a checkout.
                Found::Bare(dir) if matches!(command, Command::Diff { .. }) => dir,
                Found::Bare(dir) => {
                    return Err(Error::Usage {
                        message: format!(
                            "`{}` is a bare git repository without a working tree; run kiln in a clone (`kiln diff --head <rev>` reads revisions from a bare one)",
                            dir.display()
                        ),
                    })
                }
            },
        };
        let color_on = |terminal: bool| match arguments.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && terminal,
        };
        let (color, color_stderr) =
            (color_on(std::io::stdout().is_terminal()), color_on(std::io::stderr().is_terminal()));
        Ok(Settings { rendered: root.join(RENDERED_DIR), root, color, color_stderr })
    }
}
