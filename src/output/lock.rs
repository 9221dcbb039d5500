//! One writer at a time: an exclusive lock on `.rendered.kiln-lock` beside
//! `rendered/`, held by `kiln render` from recovery to cleanup.
//!
//! The lock is flock(2) (`File::try_lock` is `flock(LOCK_EX | LOCK_NB)` on
//! Linux). Per flock(2) (man7.org/linux/man-pages/man2/flock.2.html) the lock
//! belongs to the open file description and "is released either by an explicit
//! LOCK_UN operation ... or when all such file descriptors have been closed";
//! the kernel closes them when a process dies, so a render that was killed
//! never blocks the next one and there is no stale-lock heuristic. std opens
//! files with `O_CLOEXEC`, so no child process inherits the lock.
//!
//! The file holds the holder's pid (one line) only so the loser can name it.
//! The holder writes it right after locking and empties the file before
//! unlocking, so a loser that reads an empty file looks again: either the
//! holder has just locked (its pid follows at once) or just finished (the lock
//! is free). A render killed while holding the lock leaves its pid behind; the
//! next holder overwrites it, and only a loser reading in between would name
//! the dead pid.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// How often a loser looks again for the holder's pid before giving up on it.
const PID_LOOKS: usize = 100;

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct Lock {
    file: File,
}

impl Lock {
    /// Takes the lock for a writer, or fails with [`Error::Busy`] naming the
    /// holder's pid; never waits for the holder to finish.
    pub fn acquire(path: &Path) -> Result<Lock> {
        let file = open(path)?;
        for _ in 0..PID_LOOKS {
            if try_lock(&file, path)? {
                return Lock::hold(file, path);
            }
            if let Some(pid) = holder(&file) {
                return Err(Error::Busy { pid: Some(pid) });
            }
            // The holder writes its pid one system call after locking.
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Err(Error::Busy { pid: None })
    }

    /// Takes the lock if nobody holds it (readers that only tidy up).
    pub fn try_acquire(path: &Path) -> Result<Option<Lock>> {
        let file = open(path)?;
        if try_lock(&file, path)? {
            Lock::hold(file, path).map(Some)
        } else {
            Ok(None)
        }
    }

    fn hold(file: File, path: &Path) -> Result<Lock> {
        let line = format!("{}\n", std::process::id());
        // Written over any stale pid, then cut to length: a reader in between
        // still sees this pid as the first line.
        file.write_all_at(line.as_bytes(), 0)
            .and_then(|()| file.set_len(line.len() as u64))
            .map_err(|source| lock_error("record the pid in", path, source))?;
        Ok(Lock { file })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Emptied before the descriptor closes, so nobody reads a finished pid.
        let _ = self.file.set_len(0);
    }
}

fn open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|source| lock_error("open", path, source))
}

fn try_lock(file: &File, path: &Path) -> Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(source)) => Err(lock_error("lock", path, source)),
    }
}

/// The pid on the lock file's first line, if the holder has written it.
fn holder(file: &File) -> Option<u32> {
    // Read at offset 0 each time: the loser looks more than once.
    let mut buffer = [0u8; 24];
    let length = file.read_at(&mut buffer, 0).ok()?;
    let text = std::str::from_utf8(buffer.get(..length)?).ok()?;
    let (line, _) = text.split_once('\n')?;
    line.parse().ok()
}

fn lock_error(action: &str, path: &Path, source: std::io::Error) -> Error {
    Error::Rendered {
        path: PathBuf::from(path),
        message: format!("could not {action} the lock file that keeps two renders apart: {source}"),
        help: Some(
            "make the directory holding rendered/ writable for this user, then render again; nothing was changed"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_with_the_holders_pid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".rendered.kiln-lock");
        let held = Lock::acquire(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{}\n", std::process::id()));
        match Lock::acquire(&path) {
            Err(Error::Busy { pid }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Busy, got {other:?}"),
        }
        assert!(Lock::try_acquire(&path).unwrap().is_none());
        drop(held);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "", "a released lock names nobody");
        assert!(Lock::try_acquire(&path).unwrap().is_some());
    }

    #[test]
    fn a_stale_pid_from_a_dead_holder_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".rendered.kiln-lock");
        // What a killed render leaves: its pid, but no lock (the kernel dropped it).
        std::fs::write(&path, "4194304999\n").unwrap();
        let _held = Lock::acquire(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{}\n", std::process::id()));
    }
}
