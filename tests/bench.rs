//! The benchmark's synthetic clusters (`bench/gen.py` + `bench/templates/`)
//! must keep passing `validate` and `plan`, or `bench/run.sh` measures a
//! render that refuses to write. Regression test for the benchmark that
//! broke silently when render started running the checks.

use std::process::Command;

use crate::harness::Repo;

#[test]
fn bench_generator_clusters_render_without_findings() {
    let repo = Repo::new();
    let generator = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/gen.py");
    let generated = Command::new("python3")
        .args([generator, "--objects", "300", "--out"])
        .arg(repo.path())
        .output()
        .expect("the benchmark generator needs python3");
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let run = repo.kiln(&["render"]);
    run.code(0).stderr("");
    assert!(run.stdout.starts_with("rendered "), "{}", run.stdout);
    let objects: usize = run.stdout["rendered ".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!((290..=310).contains(&objects), "asked for about 300 objects, got {objects}");
}

/// The import benchmark's compose file once mounted named volumes it did not
/// declare, so every import exited 2 (invalid input) and the benchmark timed
/// an error. It must load and map: exit 1, for the approximations it reports.
#[test]
fn import_benchmark_compose_file_is_valid_compose() {
    let repo = Repo::this_repository();
    let generator = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/compose.py");
    let generated = Command::new("python3").args([generator, "20"]).output().expect("the generator needs python3");
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    repo.write("compose.yaml", &generated.stdout);
    let compose = repo.path().join("compose.yaml");
    let run = repo.kiln(&["import", "compose", "-f", compose.to_str().unwrap(), "--namespace", "bench", "--dry-run"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
}
