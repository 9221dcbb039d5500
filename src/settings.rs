//! The validated run configuration built once from raw arguments: resolved
//! repository root and directories, and whether to colour output.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cli::{Arguments, ColorChoice};
use crate::{Error, Result};

pub const RENDERED_DIR: &str = "rendered";

#[derive(Debug, Clone)]
pub struct Settings {
    /// Repository root holding values/, templates/ and rendered/.
    pub root: PathBuf,
    pub rendered: PathBuf,
    /// Colour on stdout (diffs, reports) and on stderr (diagnostics of a render).
    pub color: bool,
    pub color_stderr: bool,
}

impl Settings {
    pub fn from_arguments(arguments: &Arguments) -> Result<Settings> {
        let root = arguments.root.clone().unwrap_or_else(|| PathBuf::from("."));
        if !root.is_dir() {
            return Err(Error::Usage { message: format!("`{}` is not a directory (given with -C)", root.display()) });
        }
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
