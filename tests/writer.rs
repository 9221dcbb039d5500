//! One writer, a swap without a window, checks before touching, and failures
//! after the swap: `kiln render` against other renders, crashes at every
//! writing system call (through strace), and a `rendered/` it cannot swap.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::harness::{Repo, Run, KILN, MINIMAL_NAMESPACE};

/// A file kiln does not own; no render, crash or recovery may lose it.
const FOREIGN: (&str, &[u8]) = ("rendered/notes/keep.md", b"mine\n");

/// The minimal repository rendered once, with a file kiln does not own.
fn rendered_repo() -> Repo {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    repo.write(FOREIGN.0, FOREIGN.1);
    repo
}

/// Values that change, add and remove files compared with `rendered_repo`'s.
fn change_inputs(repo: &Repo) {
    let namespace = MINIMAL_NAMESPACE.replace("prod", "dev").replace("  web:", "  api:");
    repo.write("values/namespaces/apps.yaml", namespace.as_bytes());
}

/// `.rendered.kiln-*` entries beside `rendered/` other than the lock file.
fn leftovers(repo: &Repo) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".rendered.kiln-") && name != ".rendered.kiln-lock")
        .collect();
    names.sort();
    names
}

/// Messages with the pid of a process in them, the pid replaced by `N`.
fn without_pids(text: &str) -> String {
    let pid = regex::Regex::new(r"(pid |\.kiln-(?:staging|old)\.)[0-9]+").unwrap();
    pid.replace_all(text, "${1}N").into_owned()
}

#[test]
fn no_lock_a_second_render_fails_at_once_naming_the_first() {
    let repo = rendered_repo();
    change_inputs(&repo);
    let before = repo.snapshot();
    // This test holds the lock as a running render would, its pid recorded.
    let lock = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(repo.path().join(".rendered.kiln-lock"))
        .unwrap();
    lock.try_lock().unwrap();
    std::fs::write(repo.path().join(".rendered.kiln-lock"), format!("{}\n", std::process::id())).unwrap();
    repo.kiln(&["render"]).code(2).stderr(&format!(
        "error: another kiln render (pid {}) is writing rendered/; nothing was changed
  = help: wait for it to finish, then render again",
        std::process::id()
    ));
    assert_eq!(before, repo.snapshot());
    assert_eq!(leftovers(&repo), Vec::<String>::new());
    drop(lock);
    repo.kiln(&["render"]).code(0);
}

#[test]
fn no_lock_a_lock_left_by_a_dead_render_never_blocks() {
    let repo = rendered_repo();
    change_inputs(&repo);
    // A killed render leaves its pid; the kernel released its flock.
    repo.write(".rendered.kiln-lock", b"4194304\n");
    repo.kiln(&["render"]).code(0).stdout("rendered 4 objects into 4 files: 2 added, 0 changed, 2 removed");
    assert_eq!(repo.read(".rendered.kiln-lock"), "", "a finished render leaves no pid");
}

/// Two renders of different inputs into one `rendered/`, 200 times: the tree
/// is always exactly one input's render, the later of two serialized renders
/// wins, a loser prints the lock message, and the foreign file survives.
///
/// One directory holds `rendered/`; its `values` and `templates` link to
/// `/proc/self/cwd/…`, so each process reads the inputs of its own working
/// directory while both write the same `rendered/`.
#[test]
fn no_lock_two_renders_at_once_never_mix_lose_updates_or_foreign_files() {
    let inputs = [input_set(false), input_set(true)];
    let references: Vec<_> = inputs
        .iter()
        .map(|input| {
            let repo = Repo::new();
            copy_inputs(input.path(), repo.path());
            repo.kiln(&["render"]).code(0);
            repo.snapshot()
        })
        .collect();
    assert_ne!(references[0], references[1]);
    let shared = Repo::new();
    for dir in ["values", "templates"] {
        std::os::unix::fs::symlink(format!("/proc/self/cwd/{dir}"), shared.path().join(dir)).unwrap();
    }
    let render = |which: usize| -> Child {
        Command::new(KILN)
            .arg("-C")
            .arg(shared.path())
            .arg("render")
            .current_dir(inputs[which].path())
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Start from the first input's tree, with the foreign file in it.
    let mut seed = Command::new(KILN);
    seed.arg("-C").arg(shared.path()).arg("render").current_dir(inputs[0].path());
    shared.run(&mut seed).code(0);
    shared.write(FOREIGN.0, FOREIGN.1);
    let mut prior = 0;
    let (mut contended, mut serialized) = (0, 0);
    for round in 0..200 {
        let first = round % 2;
        // Most pairs start together, with a varying head start for the first
        // (never asserted on) so some meet the first's release; every fourth
        // pair runs one after the other, so serialized renders are checked on
        // any machine.
        let children = if round % 4 == 3 {
            let mut first_child = render(first);
            first_child.wait().unwrap();
            [first_child, render(1 - first)]
        } else {
            let head_start = std::time::Duration::from_millis((round as u64 % 4) * 20);
            [render(first), {
                std::thread::sleep(head_start);
                render(1 - first)
            }]
        };
        let order = [first, 1 - first];
        let pids = [children[0].id(), children[1].id()];
        let runs: Vec<Run> = children.into_iter().map(|child| finish(child, &shared)).collect();
        let tree = without_foreign(&shared);
        let on_disk = references.iter().position(|reference| *reference == tree);
        let Some(on_disk) = on_disk else { panic!("round {round}: rendered/ is a mix of both inputs\n{runs:?}") };
        assert_eq!(shared.read(FOREIGN.0).as_bytes(), FOREIGN.1, "round {round}: the foreign file survives");
        let expected = match (runs[0].code, runs[1].code) {
            (0, 2) | (2, 0) => {
                contended += 1;
                let (winner, loser) = if runs[0].code == 0 { (0, 1) } else { (1, 0) };
                assert_eq!(
                    runs[loser].stderr.trim_end(),
                    format!(
                        "error: another kiln render (pid {}) is writing rendered/; nothing was changed\n  = help: wait for it to finish, then render again",
                        pids[winner]
                    ),
                    "round {round}"
                );
                order[winner]
            }
            (0, 0) => {
                serialized += 1;
                // Serialized: the second one changes the tree unless it matches
                // what the first left. Only one reporting changes means it ran
                // second; both reporting changes means the first changed the
                // prior tree and the second changed it back.
                let changed: Vec<bool> =
                    runs.iter().map(|run| !run.stdout.contains(": 0 added, 0 changed, 0 removed")).collect();
                match (changed[0], changed[1]) {
                    (true, false) => order[0],
                    (false, true) => order[1],
                    (true, true) => prior,
                    (false, false) => panic!("round {round}: two different inputs cannot both be unchanged\n{runs:?}"),
                }
            }
            _ => panic!("round {round}: unexpected exit codes\n{runs:?}"),
        };
        assert_eq!(on_disk, expected, "round {round}: lost update\n{runs:?}");
        prior = on_disk;
        assert_eq!(leftovers(&shared), Vec::<String>::new(), "round {round}");
    }
    eprintln!("200 paired renders: {contended} refused by the lock, {serialized} serialized");
}

/// Values and templates of the minimal repository, the second with other values.
fn input_set(other: bool) -> Repo {
    let repo = Repo::minimal();
    if other {
        change_inputs(&repo);
    }
    repo
}

fn copy_inputs(from: &Path, to: &Path) {
    for dir in ["values", "templates"] {
        for (path, bytes) in crate::harness::read_tree(&from.join(dir)) {
            let target = to.join(dir).join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, bytes).unwrap();
        }
    }
}

fn finish(child: Child, repo: &Repo) -> Run {
    let output = child.wait_with_output().unwrap();
    let root = repo.path().display().to_string();
    let clean = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(&root, "<repo>");
    Run { code: output.status.code().unwrap_or(-1), stdout: clean(&output.stdout), stderr: clean(&output.stderr) }
}

/// `rendered/` without the foreign file (absent from the references).
fn without_foreign(repo: &Repo) -> Vec<(PathBuf, Vec<u8>)> {
    let foreign = Path::new(FOREIGN.0).strip_prefix("rendered").unwrap();
    repo.snapshot().into_iter().filter(|(path, _)| path != foreign).collect()
}

#[test]
fn rendered_that_is_a_regular_file_is_refused_before_anything_is_touched() {
    let repo = Repo::minimal().file("rendered", "not a tree\n");
    repo.kiln(&["render"]).code(2).stderr(
        "error: `rendered` is a file, not a directory
  --> <repo>/rendered
  = help: move it out of the way (kiln writes rendered/ as a directory), then render again; nothing was changed",
    );
    assert_eq!(repo.read("rendered"), "not a tree\n");
    assert!(!repo.exists(".rendered.kiln-lock"), "nothing is created");
    assert_eq!(leftovers(&repo), Vec::<String>::new());
}

/// Permissions do not bind root, so as root the render runs as `nobody`
/// over a repository it owns, as a user would over theirs.
#[test]
fn read_only_rendered_is_refused_before_anything_is_touched() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::os::unix::process::CommandExt as _;
    let repo = rendered_repo();
    change_inputs(&repo);
    let as_root = running_as_root();
    if as_root {
        for path in walk_all(repo.path()) {
            std::os::unix::fs::lchown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
        }
    }
    let rendered = repo.path().join("rendered");
    std::fs::set_permissions(&rendered, std::fs::Permissions::from_mode(0o555)).unwrap();
    let before = repo.snapshot();
    let render = || {
        let mut command = repo.command();
        command.arg("-C").arg(repo.path()).arg("render").env("NO_COLOR", "1");
        if as_root {
            command.uid(NOBODY).gid(NOBODY);
        }
        repo.run(&mut command)
    };
    render().code(2).stderr(
        "error: a directory in rendered/ is not writable: Permission denied (os error 13)
  --> <repo>/rendered
  = help: kiln replaces the whole tree and removes the old one: make it writable (`chmod -R u+w rendered`), then render again; nothing was changed",
    );
    assert_eq!(before, repo.snapshot());
    assert_eq!(leftovers(&repo), Vec::<String>::new());
    // Once writable, the next render goes through.
    std::fs::set_permissions(&rendered, std::fs::Permissions::from_mode(0o755)).unwrap();
    render().code(0);
}

const NOBODY: u32 = 65534;

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    // A file this process creates is owned by its effective uid.
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid() == 0
}

fn walk_all(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.symlink_metadata().unwrap().is_dir() {
            out.extend(walk_all(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// `rendered/` as a bind mount of itself: same device, another mount, where
/// rename(2) fails with EXDEV. Needs a private mount namespace (unshare).
#[test]
fn rendered_on_another_mount_is_refused_before_anything_is_touched() {
    let repo = rendered_repo();
    change_inputs(&repo);
    let before = repo.snapshot();
    let rendered = repo.path().join("rendered");
    let mut command = Command::new("unshare");
    command
        .args([
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            r#"mount --bind "$1" "$1" || exit 97; shift; exec "$@""#,
            "sh",
        ])
        .arg(&rendered)
        .arg(KILN)
        .arg("-C")
        .arg(repo.path())
        .arg("render")
        .env("NO_COLOR", "1");
    let run = repo.run(&mut command);
    if run.code == 97 || run.stderr.starts_with("unshare:") {
        return skip_or_fail("a private mount namespace (unshare --map-root-user --mount)", &run.stderr);
    }
    run.code(2).stderr(
        "error: rendered/ is on another filesystem or mount than the directory holding it, so kiln cannot swap a new tree in
  --> <repo>/rendered
  = help: make rendered/ a plain directory of the repository (not a mount point), then render again; nothing was changed",
    );
    assert_eq!(before, repo.snapshot());
    assert_eq!(leftovers(&repo), Vec::<String>::new());
}

/// Tests that need a system tool skip loudly without it, unless CI asks for
/// them with `KILN_REQUIRE_STRACE=1`.
fn skip_or_fail(what: &str, detail: &str) {
    if std::env::var_os("KILN_REQUIRE_STRACE").is_some_and(|value| value == "1") {
        panic!("KILN_REQUIRE_STRACE=1 but {what} is not available: {detail}");
    }
    eprintln!(
        "\n*** SKIPPED: {what} is not available ({}); set KILN_REQUIRE_STRACE=1 to make this an error ***\n",
        detail.trim()
    );
}

/// strace, if it can trace here.
fn strace() -> Option<()> {
    match Command::new("strace").args(["-f", "-qq", "-o", "/dev/null", "true"]).output() {
        Ok(output) if output.status.success() => Some(()),
        Ok(output) => {
            skip_or_fail("strace", &String::from_utf8_lossy(&output.stderr));
            None
        }
        Err(error) => {
            skip_or_fail("strace", &error.to_string());
            None
        }
    }
}

/// `kiln <args>` under strace with the given tampering expressions, on one
/// CPU: kiln then uses one thread, and strace counts calls per thread, so the
/// n-th call is the same call in every run.
fn traced(repo: &Repo, injections: &[String], args: &[&str]) -> Run {
    let mut command = Command::new("taskset");
    command.args(["-c", "0", "strace", "-f", "-qq", "-o", "/dev/null"]);
    for injection in injections {
        command.arg("-e").arg(injection);
    }
    command.arg(KILN).arg("-C").arg(repo.path()).args(args).env("NO_COLOR", "1");
    repo.run(&mut command)
}

/// The system calls that change the filesystem (or make it durable) on a
/// changing render; a kill at any of them must leave the old or the new tree.
/// `openat` is left out: nearly all of its calls read inputs, and the state
/// before a staged file is created equals the state before the previous
/// file's write returned, which the `write` points cover.
const WRITING_CALLS: &[&str] = &[
    "write",
    "pwrite64",
    "ftruncate",
    "flock",
    "mkdir",
    "mkdirat",
    "link",
    "linkat",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "rmdir",
    "fsync",
    "fdatasync",
    "syncfs",
];

/// Where the two-rename fallback differs from the exchange: the swap and what
/// follows it (everything before is the same code).
const FALLBACK_CALLS: &[&str] = &["rename", "renameat", "unlinkat", "rmdir", "fsync", "fdatasync", "syncfs"];

/// Kills `kiln render` of a change at the n-th call of each writing system
/// call, for every n until the render completes, and checks the old or the
/// new tree after the next command's recovery. `fallback` makes renameat2
/// unsupported, so the two-rename swap runs.
fn crash_everywhere(calls: &[&str], fallback: bool) {
    if strace().is_none() {
        return;
    }
    let old = rendered_repo().snapshot();
    let new = {
        let repo = rendered_repo();
        change_inputs(&repo);
        repo.kiln(&["render"]).code(0);
        repo.snapshot()
    };
    // The old tree, written directly: one render fewer per crash point.
    let old_repo = || {
        let repo = Repo::minimal();
        for (path, bytes) in &old {
            repo.write(&format!("rendered/{}", path.display()), bytes);
        }
        change_inputs(&repo);
        repo
    };
    let mut points = Vec::new();
    for call in calls {
        let mut reached = 0;
        for n in 1.. {
            assert!(n < 5000, "{call}: the render never completed");
            let repo = old_repo();
            let mut injections = vec![format!("inject={call}:signal=KILL:when={n}")];
            if fallback {
                injections.push("inject=renameat2:error=EINVAL".into());
            }
            let run = traced(&repo, &injections, &["render"]);
            if run.code != -1 {
                run.code(0);
                assert_eq!(repo.snapshot(), new, "{call} #{n}: not killed, so the render completed");
                break;
            }
            reached += 1;
            // The next command that reads rendered/ recovers it.
            repo.kiln(&["render", "--diff", "--stat"]);
            let after = repo.snapshot();
            assert!(
                after == old || after == new,
                "{call} #{n}: rendered/ is neither the old nor the new tree: {after:?}"
            );
            assert_eq!(leftovers(&repo), Vec::<String>::new(), "{call} #{n}: recovery leaves nothing beside rendered/");
            repo.kiln(&["render"]).code(0);
            assert_eq!(repo.snapshot(), new, "{call} #{n}: the render after the crash completes");
        }
        points.push(format!("{call} {reached}"));
    }
    eprintln!("crash points (fallback: {fallback}): {}; each left the old or the new tree", points.join(", "));
}

#[test]
fn swap_window_a_kill_at_any_writing_call_leaves_the_old_or_the_new_tree() {
    crash_everywhere(WRITING_CALLS, false);
}

#[test]
fn swap_window_a_kill_during_the_two_rename_fallback_leaves_the_old_or_the_new_tree() {
    crash_everywhere(FALLBACK_CALLS, true);
}

#[test]
fn failure_after_the_swap_only_warns_and_the_next_render_cleans_up() {
    if strace().is_none() {
        return;
    }
    let repo = rendered_repo();
    change_inputs(&repo);
    let new = {
        let reference = rendered_repo();
        change_inputs(&reference);
        reference.kiln(&["render"]).code(0);
        reference.snapshot()
    };
    // Removing the old tree is the only unlinking a render does.
    let run = traced(&repo, &["inject=unlinkat:error=EACCES".into()], &["render"]);
    run.code(0).stdout("rendered 4 objects into 4 files: 2 added, 0 changed, 2 removed");
    assert_eq!(
        without_pids(&run.stderr),
        "warning: rendered/ was replaced, but kiln could not remove the previous tree `<repo>/.rendered.kiln-staging.N`: Permission denied (os error 13); the next render removes it
note: kept rendered/notes/keep.md, which kiln does not own
"
    );
    assert_eq!(repo.snapshot(), new);
    assert_eq!(leftovers(&repo).len(), 1);
    repo.kiln(&["render"]).code(0).stdout("rendered 4 objects into 4 files: 0 added, 0 changed, 0 removed");
    assert_eq!(leftovers(&repo), Vec::<String>::new());
    assert_eq!(repo.snapshot(), new);
}

#[test]
fn readers_put_back_a_tree_a_crashed_fallback_swap_moved_aside() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    let before = repo.snapshot();
    std::fs::rename(repo.path().join("rendered"), repo.path().join(".rendered.kiln-old.4194304")).unwrap();
    repo.write(".rendered.kiln-staging.4194304/SHA256SUMS", b"half");
    repo.kiln(&["verify"]).code(0);
    assert_eq!(before, repo.snapshot());
    assert_eq!(leftovers(&repo), Vec::<String>::new());
}

#[test]
fn readers_leave_leftovers_alone_while_a_writer_holds_the_lock() {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    let before = repo.snapshot();
    repo.write(".rendered.kiln-staging.4194304/SHA256SUMS", b"half");
    let lock = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(repo.path().join(".rendered.kiln-lock"))
        .unwrap();
    lock.try_lock().unwrap();
    repo.kiln(&["render", "--diff", "--stat"]).code(0);
    repo.kiln(&["verify"]).code(0);
    assert_eq!(leftovers(&repo), vec![".rendered.kiln-staging.4194304".to_string()], "the writer's paths are its own");
    assert_eq!(before, repo.snapshot());
    drop(lock);
    repo.kiln(&["verify"]).code(0);
    assert_eq!(leftovers(&repo), Vec::<String>::new());
}

/// A tree of more than 1,024 files is written in parts, each flushed while
/// the next is written; the swapped-in tree is whole and verifies, and a
/// second render of it changes nothing.
#[test]
fn a_large_tree_flushed_early_is_whole_after_the_swap() {
    let repo = Repo::minimal().file(
        "templates/namespaces/many.yaml",
        "{%- for i in range(end=1100) %}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ \"many-\" ~ i }}\n  namespace: {{ namespace.name }}\ndata:\n  index: {{ \"n\" ~ i }}\n{%- endfor %}\n",
    );
    repo.kiln(&["render"]).code(0);
    let many =
        repo.snapshot().into_iter().filter(|(path, _)| path.to_string_lossy().contains("/configmap-many-")).count();
    assert_eq!(many, 1100);
    repo.kiln(&["verify"]).code(0);
    assert!(repo.kiln(&["render"]).code(0).stdout.contains(": 0 added, 0 changed, 0 removed"));
    assert!(leftovers(&repo).is_empty(), "{:?}", leftovers(&repo));
}
