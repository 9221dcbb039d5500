//! This repository's backups as code (cluster review D-4, D-26) and storage
//! alerts (D-27), checked on the rendered tree: the objects, paths and names
//! the restore runbook (docs/runbooks.md, "Backup and restore") relies on
//! exist, and the backup scripts do the right thing against a fake
//! environment (fake `pg_dump`, `curl`, `mount` on PATH in a temp dir), as far
//! as a test can go without a cluster.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_yaml::Value;

use crate::harness::{root, text, Repo};

/// The pod spec of a rendered CronJob.
fn cronjob_pod(repo: &Repo, namespace: &str, name: &str) -> Value {
    let cronjob = repo.object(&format!("namespaces/{namespace}/cronjob-{name}.yaml"));
    cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"].clone()
}

/// The backup script a CronJob mounts from its `<name>-files` ConfigMap.
fn backup_script(repo: &Repo, name: &str) -> String {
    let files = repo.object(&format!("namespaces/ai-system-core/configmap-{name}-files.yaml"));
    text(&files["data"]["file-0"]).to_string()
}

/// The env ConfigMap of a workload, as (key, value) pairs.
fn env(repo: &Repo, name: &str) -> Vec<(String, String)> {
    let map = repo.object(&format!("namespaces/ai-system-core/configmap-{name}-env.yaml"));
    map["data"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(key, value)| (text(key).to_string(), text(value).to_string()))
        .collect()
}

fn env_value(repo: &Repo, name: &str, key: &str) -> String {
    env(repo, name).into_iter().find(|(k, _)| k == key).map(|(_, v)| v).unwrap_or_else(|| panic!("{name}: no {key}"))
}

/// The claim a pod mounts at `path`, from its volumeMounts and volumes.
fn claim_at(pod: &Value, path: &str) -> String {
    let mounts = pod["containers"][0]["volumeMounts"].as_sequence().unwrap();
    let mount = mounts.iter().find(|m| m["mountPath"] == path).unwrap_or_else(|| panic!("nothing mounted at {path}"));
    let volume = pod["volumes"].as_sequence().unwrap().iter().find(|v| v["name"] == mount["name"]).unwrap();
    text(&volume["persistentVolumeClaim"]["claimName"]).to_string()
}

/// A directory of executables put first on PATH, each a shell script.
fn fake_bin(dir: &Path, tools: &[(&str, &str)]) -> PathBuf {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    for (name, body) in tools {
        let path = bin.join(name);
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

fn run_script(script: &Path, bin: &Path, vars: &[(&str, &str)]) -> Output {
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    Command::new("sh").arg(script).env("PATH", path).envs(vars.iter().copied()).output().unwrap()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

fn syntax_ok(script: &Path) {
    let check = Command::new("sh").arg("-n").arg(script).output().unwrap();
    assert!(check.status.success(), "sh -n {}: {}", script.display(), String::from_utf8_lossy(&check.stderr));
}

#[test]
fn postgres_dumps_run_on_a_schedule_with_retention() {
    let repo = Repo::this_repository_rendered();
    let cronjob = repo.object("namespaces/ai-system-core/cronjob-memory-db-backup.yaml");
    assert_eq!(cronjob["spec"]["schedule"], "30 1 * * *");
    assert_eq!(cronjob["spec"]["concurrencyPolicy"], "Forbid");
    let pod = cronjob_pod(&repo, "ai-system-core", "memory-db-backup");
    // The server's image, so pg_dump is the server's major version.
    let server = repo.object("namespaces/ai-system-core/statefulset-memory-stack.yaml");
    assert_eq!(pod["containers"][0]["image"], server["spec"]["template"]["spec"]["containers"][0]["image"]);
    assert_eq!(claim_at(&pod, "/backups"), "memory-db-dumps");
    let claim = repo.object("namespaces/ai-system-core/persistentvolumeclaim-memory-db-dumps.yaml");
    assert_eq!(claim["spec"]["storageClassName"], "nfs-client");
    assert_eq!(env_value(&repo, "memory-db-backup", "BACKUP_DIR"), "/backups");
    assert_eq!(env_value(&repo, "memory-db-backup", "BACKUP_KEEP"), "14");
    let password = &pod["containers"][0]["env"][0];
    assert_eq!(
        (text(&password["name"]), text(&password["valueFrom"]["secretKeyRef"]["name"])),
        ("PGPASSWORD", "memory-db-credentials")
    );

    let work = tempfile::tempdir().unwrap();
    let script = work.path().join("backup.sh");
    fs::write(&script, backup_script(&repo, "memory-db-backup")).unwrap();
    syntax_ok(&script);
    let dumps = work.path().join("dumps");
    fs::create_dir(&dumps).unwrap();
    // 15 earlier dumps, a file that is not a dump, and a partial one left by a killed run.
    for day in 1..=15 {
        fs::write(dumps.join(format!("memory-202401{day:02}T013000Z.dump")), "old").unwrap();
    }
    fs::write(dumps.join("README"), "not a dump").unwrap();
    // pg_dump writes its archive where --file says, as the real one does.
    let bin = fake_bin(
        work.path(),
        &[("pg_dump", r#"[ "$1" = --format=custom ] || exit 9; out=${2#--file=}; echo archive >"$out""#)],
    );
    let vars = [("BACKUP_DIR", dumps.to_str().unwrap()), ("BACKUP_KEEP", "14")];
    let run = run_script(&script, &bin, &vars);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let left = listing(&dumps);
    assert_eq!(left.len(), 15, "{left:?}"); // 14 dumps and the README
    assert!(left.contains(&"README".to_string()));
    // The two oldest went; the new dump is complete and under its final name.
    assert!(!left.contains(&"memory-20240101T013000Z.dump".to_string()));
    assert!(!left.contains(&"memory-20240102T013000Z.dump".to_string()));
    assert!(left.contains(&"memory-20240103T013000Z.dump".to_string()));
    let new: Vec<&String> =
        left.iter().filter(|n| n.starts_with("memory-2") && !n.starts_with("memory-2024")).collect();
    assert_eq!(new.len(), 1, "{left:?}");
    assert_eq!(fs::read_to_string(dumps.join(new[0])).unwrap(), "archive\n");

    // A failed dump deletes nothing and leaves no partial file.
    let before = listing(&dumps);
    let bin = fake_bin(work.path(), &[("pg_dump", r#"out=${2#--file=}; echo half >"$out"; exit 1"#)]);
    let run = run_script(&script, &bin, &vars);
    assert!(!run.status.success());
    assert_eq!(listing(&dumps), before);

    let run = run_script(&script, &bin, &[("BACKUP_DIR", dumps.to_str().unwrap()), ("BACKUP_KEEP", "0")]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&run.stderr), "BACKUP_KEEP must be a positive number, not '0'\n");
}

#[test]
fn qdrant_snapshots_go_to_the_nas() {
    let repo = Repo::this_repository_rendered();
    // Qdrant writes its snapshots to the NAS volume, not to an emptyDir; its
    // live storage stays on local-path (D-4).
    let server = repo.object("namespaces/ai-system-core/statefulset-vector-store.yaml");
    let pod = &server["spec"]["template"]["spec"];
    assert_eq!(env_value(&repo, "vector-store", "QDRANT__STORAGE__SNAPSHOTS_PATH"), "/qdrant/snapshots");
    assert_eq!(claim_at(pod, "/qdrant/snapshots"), "vector-store-snapshots");
    let claim = repo.object("namespaces/ai-system-core/persistentvolumeclaim-vector-store-snapshots.yaml");
    assert_eq!(claim["spec"]["storageClassName"], "nfs-client");
    assert_eq!(server["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"], "local-path");

    let cronjob = repo.object("namespaces/ai-system-core/cronjob-vector-store-backup.yaml");
    assert_eq!(cronjob["spec"]["schedule"], "45 1 * * *");
    assert_eq!(
        env_value(&repo, "vector-store-backup", "QDRANT_URL"),
        "http://vector-store.ai-system-core.svc.cluster.local:6333"
    );
    let job_pod = cronjob_pod(&repo, "ai-system-core", "vector-store-backup");
    let key = &job_pod["containers"][0]["env"][0];
    assert_eq!(
        (text(&key["name"]), text(&key["valueFrom"]["secretKeyRef"]["key"])),
        ("QDRANT_API_KEY", "QDRANT_API_KEY")
    );

    let work = tempfile::tempdir().unwrap();
    let script = work.path().join("backup.sh");
    fs::write(&script, backup_script(&repo, "vector-store-backup")).unwrap();
    syntax_ok(&script);
    let calls = work.path().join("calls");
    // Qdrant's answers (api.qdrant.tech, Snapshots): POST /snapshots returns
    // the new snapshot's description, GET /snapshots the list, 16 of them.
    let listed: Vec<String> = (1..=16)
        .map(|hour| {
            format!(
                r#"{{"name":"full-snapshot-2024-03-04-{hour:02}-00-00.snapshot","creation_time":"2024-03-04T{hour:02}:00:00","size":1048576,"checksum":"ab"}}"#
            )
        })
        .collect();
    let fake_curl = format!(
        r#"echo "$*" >>"{calls}"
case "$*" in
  *"-X POST"*) printf '%s' '{{"result":{{"name":"full-snapshot-2024-03-04-16-00-00.snapshot","creation_time":"2024-03-04T16:00:00","size":1048576,"checksum":"ab"}},"status":"ok","time":0.5}}' ;;
  *"-X DELETE"*) printf '%s' '{{"result":true,"status":"ok","time":0.01}}' ;;
  *) printf '%s' '{{"result":[{list}],"status":"ok","time":0.001}}' ;;
esac"#,
        calls = calls.display(),
        list = listed.join(","),
    );
    let bin = fake_bin(work.path(), &[("curl", &fake_curl)]);
    let vars = [("QDRANT_URL", "http://vector-store:6333"), ("QDRANT_API_KEY", "k3y"), ("BACKUP_KEEP", "14")];
    let run = run_script(&script, &bin, &vars);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let made = fs::read_to_string(&calls).unwrap();
    let made: Vec<&str> = made.lines().collect();
    assert_eq!(
        made,
        [
            "-fsS -X POST -H api-key: k3y http://vector-store:6333/snapshots?wait=true",
            "-fsS -H api-key: k3y http://vector-store:6333/snapshots",
            "-fsS -X DELETE -H api-key: k3y http://vector-store:6333/snapshots/full-snapshot-2024-03-04-02-00-00.snapshot",
            "-fsS -X DELETE -H api-key: k3y http://vector-store:6333/snapshots/full-snapshot-2024-03-04-01-00-00.snapshot",
        ]
    );

    // A snapshot Qdrant refuses deletes nothing.
    fs::remove_file(&calls).unwrap();
    let bin = fake_bin(work.path(), &[("curl", &format!(r#"echo "$*" >>"{}"; exit 22"#, calls.display()))]);
    let run = run_script(&script, &bin, &vars);
    assert!(!run.status.success());
    assert_eq!(fs::read_to_string(&calls).unwrap().lines().count(), 1);
}

#[test]
fn etcd_snapshots_leave_mainpc() {
    let repo = Repo::this_repository_rendered();
    let node = "rendered/nodes/mainpc";
    // The k3s config leaves the data and snapshot directories at k3s's
    // defaults, which the copy script reads.
    let config = repo.read(&format!("{node}/etc/rancher/k3s/config.yaml"));
    assert!(config.contains("etcd-snapshot-schedule-cron: \"0 */6 * * *\""), "{config}");
    assert!(!config.contains("etcd-snapshot-dir") && !config.contains("data-dir"), "{config}");
    let timer = repo.read(&format!("{node}/etc/systemd/system/kiln-etcd-snapshot-copy.timer"));
    assert!(timer.contains("\nOnCalendar=*-*-* 00/6:30:00\n"), "{timer}");
    let service = repo.read(&format!("{node}/etc/systemd/system/kiln-etcd-snapshot-copy.service"));
    assert!(service.contains("\nExecStart=/usr/local/sbin/kiln-etcd-snapshot-copy\n"), "{service}");
    let bootstrap = repo.read(&format!("{node}/bootstrap.sh"));
    for line in [
        r#"install -D -m 0755 "$here/etcd-snapshot-copy.sh" /usr/local/sbin/kiln-etcd-snapshot-copy"#,
        "systemctl enable --now kiln-etcd-snapshot-copy.timer",
        "install -d -m 0755 /var/lib/node_exporter/textfile_collector",
    ] {
        assert!(bootstrap.lines().any(|l| l == line), "bootstrap.sh lacks {line}");
    }
    // pc2 is no server: no copy, but the textfile directory node-exporter reads.
    assert!(!repo.exists("rendered/nodes/pc2/etcd-snapshot-copy.sh"));
    assert!(repo
        .read("rendered/nodes/pc2/bootstrap.sh")
        .contains("\ninstall -d -m 0755 /var/lib/node_exporter/textfile_collector\n"));
    // node-exporter reads that directory through the host root its chart mounts at /host/root.
    let kps = repo.read("rendered/namespaces/argocd/application-kube-prometheus-stack.yaml");
    assert!(
        kps.contains("--collector.textfile.directory=/host/root/var/lib/node_exporter/textfile_collector"),
        "{kps}"
    );

    // The script against a fake host: the snapshot and textfile directories
    // moved into a temp dir, `mount` linking the mount point to a fake NAS.
    let work = tempfile::tempdir().unwrap();
    let (snapshots, textfile, run_dir, nas) =
        (work.path().join("snapshots"), work.path().join("textfile"), work.path().join("run"), work.path().join("nas"));
    for dir in [&snapshots, &run_dir, &nas] {
        fs::create_dir(dir).unwrap();
    }
    let original = repo.read(&format!("{node}/etcd-snapshot-copy.sh"));
    let script_text = original
        .replace("/var/lib/rancher/k3s/server/db/snapshots", snapshots.to_str().unwrap())
        .replace("/var/lib/node_exporter/textfile_collector", textfile.to_str().unwrap())
        .replace("/run/", &format!("{}/", run_dir.display()));
    assert_ne!(script_text, original);
    let script = work.path().join("copy.sh");
    fs::write(&script, &script_text).unwrap();
    syntax_ok(&script);
    for stamp in 1_700_000_001..=1_700_000_030u64 {
        fs::write(snapshots.join(format!("etcd-snapshot-mainpc-{stamp}")), stamp.to_string()).unwrap();
    }
    fs::write(snapshots.join("on-demand-mainpc-1699999999"), "before an upgrade").unwrap();
    let target = nas.join("etcd-snapshots/mainpc");
    fs::create_dir_all(&target).unwrap();
    fs::write(target.join("etcd-snapshot-mainpc-1600000000"), "older than all").unwrap();
    let mounts = work.path().join("mounts");
    let fake_mount = format!(
        r#"echo "$*" >>"{mounts}"; for last; do :; done; rmdir "$last" && ln -s "{nas}" "$last""#,
        mounts = mounts.display(),
        nas = nas.display()
    );
    let bin = fake_bin(work.path(), &[("mount", &fake_mount), ("umount", r#"rm "$1" && mkdir "$1""#)]);
    let run = run_script(&script, &bin, &[]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(fs::read_to_string(&mounts).unwrap().lines().count(), 1);
    assert!(fs::read_to_string(&mounts)
        .unwrap()
        .starts_with("-t nfs -o nfsvers=4.1,hard,timeo=600 192.168.1.20:/export/k3s "));
    let copied = listing(&target);
    let mut expected: Vec<String> =
        (1_700_000_003..=1_700_000_030u64).map(|s| format!("etcd-snapshot-mainpc-{s}")).collect();
    expected.push("on-demand-mainpc-1699999999".into());
    expected.sort();
    assert_eq!(copied, expected, "the newest 28 scheduled snapshots and the on-demand one");
    assert_eq!(fs::read_to_string(target.join("etcd-snapshot-mainpc-1700000030")).unwrap(), "1700000030");
    let metric = fs::read_to_string(textfile.join("kiln-etcd-snapshot-copy.prom")).unwrap();
    let sample = metric.lines().last().unwrap();
    assert!(sample.starts_with("kiln_etcd_snapshot_copy_last_success_timestamp_seconds "), "{metric}");
    assert!(metric.contains("\n# TYPE kiln_etcd_snapshot_copy_last_success_timestamp_seconds gauge\n"), "{metric}");
    assert_eq!(listing(&run_dir), Vec::<String>::new(), "the mount point is removed");

    // An unreachable NAS: the run fails and records no success.
    fs::remove_file(textfile.join("kiln-etcd-snapshot-copy.prom")).unwrap();
    let bin = fake_bin(work.path(), &[("mount", "echo 'mount.nfs: Connection timed out' >&2; exit 32")]);
    let run = run_script(&script, &bin, &[]);
    assert!(!run.status.success());
    assert_eq!(listing(&textfile), Vec::<String>::new());
    assert_eq!(listing(&run_dir), Vec::<String>::new());
}

/// The alerts of one rendered PrometheusRule, by name.
fn alerts(repo: &Repo, rule: &str) -> Vec<(String, String)> {
    let object = repo.object(&format!("namespaces/monitoring/prometheusrule-{rule}.yaml"));
    let mut out = Vec::new();
    for group in object["spec"]["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            out.push((text(&rule["alert"]).to_string(), text(&rule["expr"]).to_string()));
        }
    }
    out
}

#[test]
fn a_stale_backup_alerts() {
    let repo = Repo::this_repository_rendered();
    let rules = alerts(&repo, "kiln-backups");
    let names: Vec<&str> = rules.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["BackupTooOld", "EtcdSnapshotNotOffsite"]);
    let (_, too_old) = &rules[0];
    for cronjob in ["memory-db-backup", "vector-store-backup"] {
        let success = format!(
            r#"(time() - kube_cronjob_status_last_successful_time{{job="kube-state-metrics", namespace="ai-system-core", cronjob="{cronjob}"}}) > 26 * 3600"#
        );
        assert!(too_old.contains(&success), "{too_old}");
        let never = format!(
            r#"kube_cronjob_created{{job="kube-state-metrics", namespace="ai-system-core", cronjob="{cronjob}"}}"#
        );
        assert!(too_old.contains(&never), "{too_old}");
    }
    // learning-train is a CronJob too, but no backup.
    assert!(!too_old.contains("learning-train"));
    let (_, offsite) = &rules[1];
    assert!(offsite.contains(
        r#"kiln_etcd_snapshot_copy_last_success_timestamp_seconds{job="node-exporter", node="mainpc"}) > 13 * 3600"#
    ));
    // The metric the alert reads is the one the copy script writes.
    let script = repo.read("rendered/nodes/mainpc/etcd-snapshot-copy.sh");
    assert!(script.contains("metric=kiln_etcd_snapshot_copy_last_success_timestamp_seconds\n"));

    // A backup without its maximum age fails the render, naming the key.
    let repo = Repo::this_repository();
    let path = "values/namespaces/ai-system-core.yaml";
    let values = repo.read(path);
    let broken = values.replacen("      backup: {maxAgeHours: 26}\n", "      backup: {}\n", 1);
    assert_ne!(broken, values);
    repo.write(path, broken.as_bytes());
    let before = repo.snapshot();
    let run = repo.kiln(&["render"]);
    run.code(2);
    let cause = "  = cause: required value `namespaces.ai-system-core.workloads.memory-db-backup.vars.backup.maxAgeHours` is missing or empty; set it in values";
    assert!(run.stderr.lines().any(|line| line == cause), "{}", run.stderr);
    assert_eq!(repo.snapshot(), before);
}

#[test]
fn storage_alerts_measure_what_the_class_can_tell() {
    let repo = Repo::this_repository_rendered();
    let rules = alerts(&repo, "kiln-storage");
    let names: Vec<&str> = rules.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["LocalPathFilesystemNearlyFull", "NFSExportNearlyFull"]);
    // local-path: the node filesystem, not the PVC's stats.
    let (_, local) = &rules[0];
    assert!(local.contains(r#"node_filesystem_avail_bytes{job="node-exporter", mountpoint="/"}"#), "{local}");
    assert!(!local.contains("kubelet_volume_stats"), "{local}");
    // NFS: the export, once, through the PVCs of the NFS class only.
    let (_, nfs) = &rules[1];
    assert!(nfs.trim_start().starts_with("min("), "{nfs}");
    assert!(
        nfs.contains(r#"kube_persistentvolumeclaim_info{job="kube-state-metrics", storageclass="nfs-client"}"#),
        "{nfs}"
    );
    // No alert anywhere reads a PVC's stats as if they were its own.
    for rule in ["kiln-workloads", "kiln-cluster", "kiln-gpu", "kiln-gitops", "kiln-backups"] {
        for (name, expr) in alerts(&repo, rule) {
            assert!(!expr.contains("kubelet_volume_stats"), "{rule}/{name}: {expr}");
        }
    }
}

#[test]
fn the_restore_runbook_names_what_is_rendered() {
    let runbooks = fs::read_to_string(root().join("docs/runbooks.md")).unwrap();
    let start = runbooks.find("## Backup and restore").unwrap();
    let section = &runbooks[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |end| end + 3)];
    let repo = Repo::this_repository_rendered();
    // Every object, path and name the procedures use, as the runbook writes it,
    // and the rendered file that holds it (as the cluster names it there).
    let names: [(&str, &str, &str); 12] = [
        (
            "cronjob/memory-db-backup",
            "name: memory-db-backup",
            "namespaces/ai-system-core/cronjob-memory-db-backup.yaml",
        ),
        (
            "cronjob/vector-store-backup",
            "name: vector-store-backup",
            "namespaces/ai-system-core/cronjob-vector-store-backup.yaml",
        ),
        (
            "memory-db-dumps",
            "name: memory-db-dumps",
            "namespaces/ai-system-core/persistentvolumeclaim-memory-db-dumps.yaml",
        ),
        (
            "vector-store-snapshots",
            "name: vector-store-snapshots",
            "namespaces/ai-system-core/persistentvolumeclaim-vector-store-snapshots.yaml",
        ),
        // A StatefulSet's first pod, and its first volume claim (<template>-<set>-0).
        ("memory-stack-0", "name: memory-stack\n", "namespaces/ai-system-core/statefulset-memory-stack.yaml"),
        ("storage-vector-store-0", "name: storage\n", "namespaces/ai-system-core/statefulset-vector-store.yaml"),
        (
            "/qdrant/snapshots",
            "QDRANT__STORAGE__SNAPSHOTS_PATH: /qdrant/snapshots",
            "namespaces/ai-system-core/configmap-vector-store-env.yaml",
        ),
        ("/backups", "BACKUP_DIR: /backups", "namespaces/ai-system-core/configmap-memory-db-backup-env.yaml"),
        (
            "kiln-etcd-snapshot-copy.timer",
            "systemctl enable --now kiln-etcd-snapshot-copy.timer",
            "nodes/mainpc/bootstrap.sh",
        ),
        ("etcd-snapshots/mainpc", "directory=etcd-snapshots/mainpc", "nodes/mainpc/etcd-snapshot-copy.sh"),
        (
            "/var/lib/rancher/k3s/server/db/snapshots",
            "snapshots=/var/lib/rancher/k3s/server/db/snapshots",
            "nodes/mainpc/etcd-snapshot-copy.sh",
        ),
        ("192.168.1.20:/export/k3s", "nas=192.168.1.20:/export/k3s", "nodes/mainpc/etcd-snapshot-copy.sh"),
    ];
    for (name, rendered_as, file) in names {
        assert!(section.contains(name), "docs/runbooks.md, \"Backup and restore\": no {name}");
        assert!(
            repo.read(&format!("rendered/{file}")).contains(rendered_as),
            "rendered/{file} does not hold {rendered_as}"
        );
    }
    // The commands the runbook gives use those names as the cluster knows them.
    for command in [
        "kubectl -n ai-system-core create job --from=cronjob/memory-db-backup",
        "kubectl -n ai-system-core create job --from=cronjob/vector-store-backup",
        "pg_restore",
        "--cluster-reset --cluster-reset-restore-path=",
        "--storage-snapshot",
    ] {
        assert!(section.contains(command), "docs/runbooks.md, \"Backup and restore\": no `{command}`");
    }
}
