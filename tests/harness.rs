//! A small builder for fixture repositories and `kiln` invocations.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

pub const KILN: &str = env!("CARGO_BIN_EXE_kiln");

/// A temporary repository root with values/ and templates/.
pub struct Repo {
    dir: tempfile::TempDir,
}

/// The result of one kiln run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Repo {
    pub fn new() -> Repo {
        Repo { dir: tempfile::tempdir().expect("temp dir") }
    }

    /// A minimal valid repository: one node, one namespace, one workload,
    /// passing `kiln validate` and `kiln plan`.
    pub fn minimal() -> Repo {
        Repo::new()
            .file("values/cluster.yaml", MINIMAL_CLUSTER)
            .file("values/nodes/n1.yaml", MINIMAL_NODE)
            .file("values/namespaces/apps.yaml", MINIMAL_NAMESPACE)
            .file("templates/workloads/deployment.yaml", MINIMAL_TEMPLATE)
            .file("templates/namespaces/network-policy.yaml", MINIMAL_NETWORK_POLICY)
    }

    /// A repository holding the `values/` and `templates/` of `tests/fixtures/<name>`,
    /// its files created in sorted order, or in reverse when `reverse` is set
    /// (directory listing order follows creation order on some filesystems).
    pub fn fixture(name: &str, reverse: bool) -> Repo {
        let repo = Repo::new();
        let source = fixture_dir(name);
        let mut files: Vec<(String, Vec<u8>)> = ["values", "templates"]
            .iter()
            .flat_map(|dir| {
                read_tree(&source.join(dir)).into_iter().map(move |(path, bytes)| (format!("{dir}/{path}"), bytes))
            })
            .collect();
        if reverse {
            files.reverse();
        }
        for (path, bytes) in files {
            repo.write(&path, &bytes);
        }
        repo
    }

    /// A copy of this repository's `values/` and `templates/`, nothing rendered.
    pub fn this_repository() -> Repo {
        let repo = Repo::new();
        for dir in ["values", "templates"] {
            for (path, bytes) in read_tree(&root().join(dir)) {
                repo.write(&format!("{dir}/{path}"), &bytes);
            }
        }
        repo
    }

    /// This repository with Istio's ambient mesh turned on as README,
    /// "Service mesh (opt-in)" says: the four charts enabled and the
    /// namespace file from the README's own block.
    pub fn this_repository_with_istio() -> Repo {
        let repo = Repo::this_repository();
        let cluster = repo.read("values/cluster.yaml");
        let off = "    enabled: false\n    namespace: istio-system\n";
        assert_eq!(cluster.matches(off).count(), 4, "the four Istio components are off");
        repo.write(
            "values/cluster.yaml",
            cluster.replace(off, "    enabled: true\n    namespace: istio-system\n").as_bytes(),
        );
        let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
        let section = readme.split("### Service mesh (opt-in)").nth(1).expect("README has the opt-in section");
        let block = section.split("```yaml\n").nth(1).and_then(|rest| rest.split("   ```").next()).unwrap();
        let namespace: String =
            block.lines().map(|line| format!("{}\n", line.strip_prefix("   ").unwrap_or(line))).collect();
        repo.write("values/namespaces/istio-system.yaml", namespace.as_bytes());
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(self, path: &str, text: &str) -> Repo {
        self.write(path, text.as_bytes());
        self
    }

    pub fn write(&self, path: &str, bytes: &[u8]) {
        let full = self.dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, bytes).unwrap();
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    pub fn remove(&self, path: &str) {
        std::fs::remove_file(self.dir.path().join(path)).unwrap();
    }

    pub fn exists(&self, path: &str) -> bool {
        self.dir.path().join(path).exists()
    }

    /// Runs `kiln -C <repo> <args>` without colour; the repository path in the
    /// output reads `<repo>` so messages can be compared exactly.
    pub fn kiln(&self, args: &[&str]) -> Run {
        let mut command = self.command();
        command.arg("-C").arg(self.dir.path()).args(args).env("NO_COLOR", "1");
        self.run(&mut command)
    }

    /// A `kiln` command with a clean environment, to customise before [`Repo::run`].
    pub fn command(&self) -> Command {
        let mut command = Command::new(KILN);
        command.env_remove("KILN_ROOT").env_remove("NO_COLOR");
        command
    }

    pub fn run(&self, command: &mut Command) -> Run {
        let output = command.output().expect("run kiln");
        let root = self.dir.path().display().to_string();
        let clean = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(&root, "<repo>");
        Run { code: output.status.code().unwrap_or(-1), stdout: clean(&output.stdout), stderr: clean(&output.stderr) }
    }

    /// Inode and modification time of every file under `rendered/`: equal
    /// stamps mean kiln did not rewrite the file.
    pub fn stamps(&self) -> BTreeMap<String, (u64, SystemTime)> {
        use std::os::unix::fs::MetadataExt as _;
        let root = self.dir.path().join("rendered");
        read_tree(&root)
            .into_keys()
            .map(|path| {
                let metadata = std::fs::metadata(root.join(&path)).unwrap();
                (path, (metadata.ino(), metadata.modified().unwrap()))
            })
            .collect()
    }

    /// Every file under `rendered/` with its bytes, for byte-identical comparisons.
    pub fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let root = self.dir.path().join("rendered");
        let mut files: Vec<(PathBuf, Vec<u8>)> = walkdir(&root)
            .into_iter()
            .map(|path| (path.strip_prefix(&root).unwrap().to_path_buf(), std::fs::read(&path).unwrap()))
            .collect();
        files.sort();
        files
    }

    /// This repository with each `(path, old, new)` edit applied: the first
    /// `old` in `path` replaced by `new` (which must be there).
    pub fn this_repository_edited(edits: &[(&str, &str, &str)]) -> Repo {
        Repo::this_repository().edited(edits)
    }

    /// This repository, rendered.
    pub fn this_repository_rendered() -> Repo {
        let repo = Repo::this_repository();
        repo.kiln(&["render"]).code(0);
        repo
    }

    /// The repository with each `(path, old, new)` edit applied.
    pub fn edited(self, edits: &[(&str, &str, &str)]) -> Repo {
        for (path, old, new) in edits {
            let text = self.read(path);
            assert!(text.contains(old), "{path} has no {old:?}");
            self.write(path, text.replacen(old, new, 1).as_bytes());
        }
        self
    }

    /// `kiln validate`'s output (stdout then stderr), checked to exit `code`
    /// and to leave rendered/ as it was.
    pub fn validate(&self, code: i32) -> String {
        let before = self.snapshot();
        let run = self.kiln(&["validate"]);
        run.code(code);
        assert_eq!(self.snapshot(), before, "validate wrote files");
        format!("{}{}", run.stdout, run.stderr)
    }

    /// The rendered object at `rendered/<path>`.
    pub fn object(&self, path: &str) -> serde_yaml::Value {
        serde_yaml::from_str(&self.read(&format!("rendered/{path}"))).unwrap()
    }
}

/// A YAML value that must be a string.
pub fn text(value: &serde_yaml::Value) -> &str {
    value.as_str().unwrap_or_else(|| panic!("not a string: {value:?}"))
}

/// This crate's root: the repository with its own values, templates and docs.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/<name>` in this crate.
pub fn fixture_dir(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

/// Every file below `dir` by relative path (with `/`), with its bytes.
pub fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir(dir)
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
            (relative, std::fs::read(&path).unwrap())
        })
        .collect()
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walkdir(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

impl Run {
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(self.code, expected, "exit code\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn stderr(&self, expected: &str) -> &Run {
        assert_eq!(self.stderr.trim_end(), expected.trim_end(), "stderr differs");
        self
    }

    #[track_caller]
    pub fn stdout(&self, expected: &str) -> &Run {
        assert_eq!(self.stdout.trim_end(), expected.trim_end(), "stdout differs");
        self
    }
}

pub const MINIMAL_CLUSTER: &str = "\
name: demo
kubernetesVersion: \"1.31\"
git:
  repoURL: https://example.com/repo.git
  revision: main
defaults:
  workload:
    replicas: 1
";

pub const MINIMAL_NODE: &str = "\
name: n1
role: server
labels:
  gpu: \"true\"
capacity:
  cpu: \"4\"
  memory: 8Gi
";

pub const MINIMAL_NAMESPACE: &str = "\
name: apps
workloads:
  web:
    kind: Deployment
    image: nginx:1.27
    env:
      MODE: prod
";

pub const MINIMAL_TEMPLATE: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ workload.name ~ \"-env\" }}
data: {{ workload.env | to_yaml | nindent(width=2) }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ workload.name }}
spec:
  replicas: {{ workload.replicas }}
  selector:
    matchLabels: {app: {{ workload.name }}}
  template:
    metadata:
      labels: {app: {{ workload.name }}}
    spec:
      containers:
        - name: app
          image: {{ workload.image | required(path=\"workload.image\") }}
          envFrom: [{configMapRef: {name: {{ workload.name ~ \"-env\" }}}}]
          resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
            seccompProfile: {type: RuntimeDefault}
";

/// Default-deny plus DNS egress, which `namespace-network-policy` requires.
pub const MINIMAL_NETWORK_POLICY: &str = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-dns
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - ports:
        - {port: 53, protocol: UDP}
        - {port: 53, protocol: TCP}
";

/// Renders the minimal repository, breaks it with `change`, then checks that
/// `render` and `render --diff` both fail with exactly `expected` on stderr and
/// leave the rendered tree as it was.
#[track_caller]
pub fn rejects(change: impl FnOnce(&Repo), expected: &str) {
    let repo = Repo::minimal();
    repo.kiln(&["render"]).code(0);
    let before = repo.snapshot();
    change(&repo);
    for args in [&["render"][..], &["render", "--diff"]] {
        repo.kiln(args).code(2).stdout("").stderr(expected);
    }
    assert_eq!(before, repo.snapshot(), "a failed render must leave rendered/ byte-identical");
}

/// The minimal namespace with `extra` appended to its `web` workload.
pub fn web_with(extra: &str) -> String {
    format!("{MINIMAL_NAMESPACE}{extra}")
}

/// Whether `KILN_UPDATE_SNAPSHOTS` asks the snapshot tests to rewrite their
/// expected trees. In CI it panics instead: a snapshot CI rewrote would pass
/// whatever the output became, so a stale snapshot must fail there.
pub fn update_snapshots() -> bool {
    let var = |name: &str| std::env::var_os(name);
    snapshot_update(var("KILN_UPDATE_SNAPSHOTS").as_deref(), var("CI").as_deref(), var("TF_BUILD").as_deref())
        .unwrap_or_else(|refusal| panic!("{refusal}"))
}

/// The decision behind [`update_snapshots`], from the variables' values.
/// CI is detected as insta detects it (mitsuhiko/insta `insta/src/utils.rs`,
/// `is_ci`): `CI` set to anything but empty, `0` or `false`, or else
/// `TF_BUILD` (Azure Pipelines) set. insta's default (`INSTA_UPDATE=auto`,
/// `insta/src/env.rs`) writes no snapshot in CI; kiln refuses the request
/// outright, so a CI job cannot be configured into accepting new output.
pub fn snapshot_update(update: Option<&OsStr>, ci: Option<&OsStr>, tf_build: Option<&OsStr>) -> Result<bool, String> {
    let in_ci = match ci.map(|value| value.to_string_lossy()) {
        Some(value) => !matches!(value.as_ref(), "" | "0" | "false"),
        None => tf_build.is_some(),
    };
    match (update.is_some(), in_ci) {
        (true, true) => Err("KILN_UPDATE_SNAPSHOTS is set in CI (the CI or TF_BUILD environment variable is set): \
             CI never rewrites snapshots, a stale one must fail; refresh them locally with \
             `KILN_UPDATE_SNAPSHOTS=1 cargo test --locked snapshot`, review `git diff tests/fixtures` and commit"
            .to_string()),
        (update, _) => Ok(update),
    }
}
