//! `kiln seal`: its output decrypts with an independent implementation of the
//! controller's format (tests/fixtures/unseal.py, Python `cryptography`) and
//! a key pair made here with openssl as the sealed-secrets docs make one
//! ("Bring your own certificates"), for every scope; it edits values without
//! touching anything else; `validate` reports a secret sealed for another
//! key; placeholders are listed.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::harness::{root, Repo, Run, MINIMAL_CLUSTER, MINIMAL_NAMESPACE};

/// A repository with a sealing certificate generated for it; the private key
/// is `keys/sealing.key`, outside values/.
fn sealing_repo() -> Repo {
    let repo = Repo::minimal().file(
        "templates/namespaces/sealed-secrets.yaml",
        &std::fs::read_to_string(root().join("templates/namespaces/sealed-secrets.yaml")).unwrap(),
    );
    keygen(&repo, "keys/sealing");
    let certificate = repo.read("keys/sealing.crt");
    let indented: String = certificate.lines().map(|line| format!("    {line}\n")).collect();
    repo.write("values/cluster.yaml", format!("{MINIMAL_CLUSTER}sealing:\n  certificate: |\n{indented}").as_bytes());
    repo
}

/// `openssl req -x509 … -newkey rsa` as in the sealed-secrets docs (2048 bits to be quick).
fn keygen(repo: &Repo, stem: &str) {
    std::fs::create_dir_all(repo.path().join(stem).parent().unwrap()).unwrap();
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-days",
            "365",
            "-nodes",
            "-newkey",
            "rsa:2048",
            "-subj",
            "/CN=sealed-secret/O=sealed-secret",
        ])
        .arg("-keyout")
        .arg(repo.path().join(format!("{stem}.key")))
        .arg("-out")
        .arg(repo.path().join(format!("{stem}.crt")))
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success());
}

/// `sha256:` of the certificate's DER, computed by openssl and sha2, not kiln.
fn fingerprint(repo: &Repo, stem: &str) -> String {
    let output = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(repo.path().join(format!("{stem}.crt")))
        .output()
        .unwrap();
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(&output.stdout);
    format!("sha256:{}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn seal(repo: &Repo, args: &[&str], stdin: &[u8]) -> Run {
    let mut command = repo.command();
    command.arg("-C").arg(repo.path()).arg("seal").args(args).env("NO_COLOR", "1");
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    let clean = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(&repo.path().display().to_string(), "<repo>");
    Run { code: output.status.code().unwrap_or(-1), stdout: clean(&output.stdout), stderr: clean(&output.stderr) }
}

/// The plaintexts of `ciphertexts` as unseal.py decrypts them, or `Err` with its message.
fn unseal(key: &Path, namespace: &str, name: &str, scope: &str, ciphertexts: &[&str]) -> Result<Vec<String>, String> {
    let mut child = Command::new("python3")
        .arg(root().join("tests/fixtures/unseal.py"))
        .arg(key)
        .args([namespace, name, scope])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(ciphertexts.join("\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    if output.status.success() {
        Ok(String::from_utf8(output.stdout).unwrap().lines().map(str::to_string).collect())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

fn value_at(repo: &Repo, file: &str, path: &[&str]) -> serde_yaml::Value {
    let mut value: serde_yaml::Value = serde_yaml::from_str(&repo.read(file)).unwrap();
    for key in path {
        value = value.get(key).cloned().unwrap_or(serde_yaml::Value::Null);
    }
    value
}

#[test]
fn raw_output_unseals_with_an_independent_implementation_for_every_scope() {
    let repo = sealing_repo();
    let key = repo.path().join("keys/sealing.key");
    for scope in ["strict", "namespace-wide", "cluster-wide"] {
        // The certificate declared in values, and the one given with --cert.
        let cert = repo.path().join("keys/sealing.crt").display().to_string();
        for extra in [vec![], vec!["--cert", cert.as_str()]] {
            let mut args = vec!["--raw", "--namespace", "apps", "--name", "db", "--scope", scope];
            args.extend(extra);
            let run = seal(&repo, &args, b"hunter2\n");
            run.code(0).stderr("");
            assert_eq!(run.stdout.lines().count(), 1, "only the ciphertext: {}", run.stdout);
            let sealed = run.stdout.trim();
            assert_eq!(unseal(&key, "apps", "db", scope, &[sealed]), Ok(vec!["b'hunter2\\n'".to_string()]));
        }
    }
    // The label binds the scope: a strict value does not unseal under another name or scope.
    let strict = seal(&repo, &["--raw", "--namespace", "apps", "--name", "db"], b"x").stdout;
    for (name, scope) in [("other", "strict"), ("db", "namespace-wide"), ("db", "cluster-wide")] {
        assert!(unseal(&key, "apps", name, scope, &[strict.trim()]).is_err(), "{name} {scope}");
    }
    // And a value sealed for another certificate does not unseal with this key.
    keygen(&repo, "keys/other");
    let other = repo.path().join("keys/other.crt").display().to_string();
    let foreign = seal(&repo, &["--raw", "--namespace", "apps", "--name", "db", "--cert", &other], b"x").stdout;
    assert!(unseal(&key, "apps", "db", "strict", &[foreign.trim()]).is_err());
}

#[test]
fn plaintext_is_read_from_stdin_or_a_file_never_from_argv() {
    let repo = sealing_repo();
    let run = seal(&repo, &["--raw", "--namespace", "apps", "--name", "db", "hunter2"], b"");
    run.code(2);
    assert!(run.stderr.starts_with("error: unexpected argument 'hunter2' found"), "{}", run.stderr);
    repo.write("keys/password.txt", b"from a file");
    let file = repo.path().join("keys/password.txt").display().to_string();
    let run = seal(&repo, &["--raw", "--namespace", "apps", "--name", "db", "--from-file", &file], b"ignored");
    let key = repo.path().join("keys/sealing.key");
    assert_eq!(unseal(&key, "apps", "db", "strict", &[run.code(0).stdout.trim()]), Ok(vec!["b'from a file'".into()]));
}

/// apps with a secret `db` whose two keys were sealed before kiln recorded certificates.
fn namespace_with_secret() -> String {
    let old = crate::values_trust::sealed_placeholder();
    format!(
        "\
# The apps namespace.
name: apps
secrets:
  # The database's credentials.
  db:
    encryptedData:
      user: {old}   # sealed long ago
      password: {old}
workloads:
  web:
    kind: Deployment
    image: nginx:1.27
    env:
      MODE: prod
"
    )
}

#[test]
fn seal_writes_into_the_namespace_values_keeping_comments_and_order() {
    let repo = sealing_repo().file("values/namespaces/apps.yaml", &namespace_with_secret());
    let user = repo.path().join("keys/user.txt");
    let password = repo.path().join("keys/password.txt");
    std::fs::write(&user, "admin").unwrap();
    std::fs::write(&password, "s3cret").unwrap();
    let user_arg = format!("user={}", user.display());
    let password_arg = format!("password={}", password.display());
    seal(&repo, &["--name", "db", "--from-file", &user_arg, "--from-file", &password_arg], b"")
        .code(0)
        .stdout("")
        .stderr("sealed `user`, `password` of secret `db` for namespace apps (strict scope) into values/namespaces/apps.yaml\nrun `kiln render` to update rendered/");
    let text = repo.read("values/namespaces/apps.yaml");
    let sealed = |key: &str| value_at(&repo, "values/namespaces/apps.yaml", &["secrets", "db", "encryptedData", key]);
    let (user_sealed, password_sealed) = (sealed("user"), sealed("password"));
    let (user_sealed, password_sealed) = (user_sealed.as_str().unwrap(), password_sealed.as_str().unwrap());
    let old = crate::values_trust::sealed_placeholder();
    let expected =
        namespace_with_secret().replace(&format!("{old}   # sealed"), &format!("{user_sealed}   # sealed")).replace(
            &format!("password: {old}\n"),
            &format!("password: {password_sealed}\n    sealedFor: {}\n", fingerprint(&repo, "keys/sealing")),
        );
    assert_eq!(text, expected);
    let key = repo.path().join("keys/sealing.key");
    assert_eq!(
        unseal(&key, "apps", "db", "strict", &[user_sealed, password_sealed]),
        Ok(vec!["b'admin'".into(), "b's3cret'".into()])
    );
    // The rendered SealedSecret carries the ciphertext and validates.
    repo.kiln(&["render"]).code(0);
    assert!(repo.read("rendered/namespaces/apps/sealedsecret-db.yaml").contains(password_sealed));
    repo.kiln(&["validate"]).code(0);
}

#[test]
fn print_shows_the_snippet_and_writes_nothing() {
    let repo = sealing_repo();
    let before = repo.read("values/namespaces/apps.yaml");
    let run = seal(
        &repo,
        &["--print", "--namespace", "apps", "--name", "db", "--key", "password", "--scope", "namespace-wide"],
        b"pw",
    );
    run.code(0).stderr("");
    let sealed = run.stdout.lines().last().unwrap().trim().strip_prefix("password: ").unwrap().to_string();
    run.stdout(&format!(
        "# values/namespaces/apps.yaml\nsecrets:\n  db:\n    scope: namespace-wide\n    sealedFor: {}\n    encryptedData:\n      password: {sealed}",
        fingerprint(&repo, "keys/sealing")
    ));
    assert_eq!(repo.read("values/namespaces/apps.yaml"), before);
    assert_eq!(
        unseal(&repo.path().join("keys/sealing.key"), "apps", "any", "namespace-wide", &[&sealed]),
        Ok(vec!["b'pw'".into()])
    );
}

#[test]
fn non_strict_scopes_are_written_and_rendered_as_the_controllers_annotations() {
    let repo = sealing_repo();
    for (name, scope) in [("shared", "namespace-wide"), ("everywhere", "cluster-wide")] {
        seal(&repo, &["--namespace", "apps", "--name", name, "--key", "token", "--scope", scope], b"t").code(0);
        assert_eq!(
            value_at(&repo, "values/namespaces/apps.yaml", &["secrets", name, "scope"]),
            serde_yaml::Value::from(scope)
        );
    }
    repo.kiln(&["render"]).code(0);
    let shared = repo.read("rendered/namespaces/apps/sealedsecret-shared.yaml");
    assert!(shared.contains("sealedsecrets.bitnami.com/namespace-wide: 'true'"), "{shared}");
    let everywhere = repo.read("rendered/namespaces/apps/sealedsecret-everywhere.yaml");
    assert!(everywhere.contains("sealedsecrets.bitnami.com/cluster-wide: 'true'"), "{everywhere}");
    // A declared scope is not silently overridden.
    seal(&repo, &["--namespace", "apps", "--name", "shared", "--key", "token", "--scope", "strict"], b"t")
        .code(2)
        .stderr(
            "error: secret `shared` is declared `scope: namespace-wide`, not `strict`
  --> values/namespaces/apps.yaml:12:5
  = key: secrets.shared.scope
  = help: change `scope` in values first: every key of a secret is sealed for one scope",
        );
}

#[test]
fn a_secret_declared_for_several_namespaces_is_sealed_for_each() {
    let declaring = |namespace: &str| {
        MINIMAL_NAMESPACE
            .replace("name: apps\n", &format!("name: {namespace}\nsecrets:\n  api:\n    encryptedData: {{}}\n"))
    };
    let repo = sealing_repo()
        .file("values/namespaces/apps.yaml", &declaring("apps"))
        .file("values/namespaces/batch.yaml", &declaring("batch").replace("  web:", "  worker:"))
        .file("values/namespaces/quiet.yaml", &MINIMAL_NAMESPACE.replace("apps", "quiet").replace("  web:", "  idle:"));
    seal(&repo, &["--name", "api", "--key", "TOKEN"], b"tok").code(0).stderr(
        "sealed `TOKEN` of secret `api` for namespace apps (strict scope) into values/namespaces/apps.yaml
sealed `TOKEN` of secret `api` for namespace batch (strict scope) into values/namespaces/batch.yaml
run `kiln render` to update rendered/",
    );
    let key = repo.path().join("keys/sealing.key");
    let sealed = |namespace: &str| {
        value_at(&repo, &format!("values/namespaces/{namespace}.yaml"), &["secrets", "api", "encryptedData", "TOKEN"])
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(unseal(&key, "apps", "api", "strict", &[&sealed("apps")]), Ok(vec!["b'tok'".into()]));
    assert_eq!(unseal(&key, "batch", "api", "strict", &[&sealed("batch")]), Ok(vec!["b'tok'".into()]));
    // Each namespace has its own copy: one does not unseal in the other.
    assert!(unseal(&key, "batch", "api", "strict", &[&sealed("apps")]).is_err());
    assert!(!repo.read("values/namespaces/quiet.yaml").contains("secrets"));
}

#[test]
fn a_secret_partly_sealed_for_another_certificate_is_refused() {
    let repo = sealing_repo().file("values/namespaces/apps.yaml", &namespace_with_secret());
    let before = repo.read("values/namespaces/apps.yaml");
    seal(&repo, &["--name", "db", "--key", "password"], b"pw").code(2).stderr(
        "error: secret `db` in namespace apps also has `user`, not sealed for this certificate
  --> values/namespaces/apps.yaml:5:3
  = key: secrets.db.sealedFor
  = help: seal every key in the same run (`--from-file KEY=FILE` for each), so the whole secret is sealed for one certificate",
    );
    assert_eq!(repo.read("values/namespaces/apps.yaml"), before);
}

#[test]
fn validate_fails_a_secret_sealed_for_an_unknown_key() {
    let repo = sealing_repo();
    seal(&repo, &["--namespace", "apps", "--name", "db", "--key", "password"], b"pw").code(0);
    repo.kiln(&["validate"]).code(0);
    let declared = fingerprint(&repo, "keys/sealing");
    // Re-sealed by hand for another certificate, or with no fingerprint recorded.
    let other = format!("sha256:{}", "0".repeat(64));
    let text = repo.read("values/namespaces/apps.yaml");
    for (edited, recorded) in [
        (text.replace(&declared, &other), format!("values record `sealedFor: {other}`")),
        (text.replace(&format!("    sealedFor: {declared}\n"), ""), "values record no `sealedFor`".into()),
    ] {
        repo.write("values/namespaces/apps.yaml", edited.as_bytes());
        let at = if recorded.contains("no") {
            "values/namespaces/apps.yaml:9:3\n  = key: secrets.db"
        } else {
            "values/namespaces/apps.yaml:12:5\n  = key: secrets.db.sealedFor"
        };
        let run = repo.kiln(&["validate"]);
        run.code(1);
        assert_eq!(
            run.stdout.split("\n\n").next().unwrap(),
            format!(
                "error[sealed-for-certificate]: secret `db` is sealed for an unknown key: re-seal with `kiln seal`
  --> {at}
  = object: SealedSecret.bitnami.com apps/db, at spec.encryptedData
  = rendered: rendered/namespaces/apps/sealedsecret-db.yaml from templates/namespaces/sealed-secrets.yaml (rendering namespace apps, document 1)
  = help: {recorded}, the declared certificate (`sealing.certificate`) is {declared}: `kiln seal --namespace apps --name db --key <key>` for each key (see README, \"Runbook: sealing a secret\")
"
            )
            .trim_end()
        );
    }
}

#[test]
fn list_placeholders_lists_the_marked_values_and_exits_1() {
    let repo = sealing_repo();
    seal(&repo, &["--list-placeholders"], b"").code(0).stdout("no placeholders");
    seal(&repo, &["--namespace", "apps", "--name", "db", "--key", "password", "--placeholder"], b"change-me").code(0);
    assert_eq!(
        value_at(&repo, "values/namespaces/apps.yaml", &["secrets", "db", "placeholder"]),
        serde_yaml::Value::Bool(true)
    );
    let cluster = repo.read("values/cluster.yaml").replace("sealing:\n", "sealing:\n  placeholder: true\n");
    repo.write("values/cluster.yaml", cluster.as_bytes());
    seal(&repo, &["--list-placeholders"], b"").code(1).stdout(
        "values/cluster.yaml:10:3: sealing.certificate: a stand-in certificate: declare your controller's certificate, then re-seal every secret
values/namespaces/apps.yaml:13:5: secrets.db (namespace apps): stand-in values for `password`: seal the real ones with `kiln seal`
2 placeholders: replace them before bootstrap (README, \"Runbook: sealing a secret\")",
    );
    // Sealing every key of the secret for real removes its mark.
    seal(&repo, &["--name", "db", "--key", "password"], b"real").code(0);
    assert_eq!(
        value_at(&repo, "values/namespaces/apps.yaml", &["secrets", "db", "placeholder"]),
        serde_yaml::Value::Null
    );
}

#[test]
fn an_invalid_sealing_certificate_is_refused_at_its_values_line() {
    let repo = sealing_repo();
    let cluster = format!("{MINIMAL_CLUSTER}sealing:\n  certificate: |\n    -----BEGIN PRIVATE KEY-----\n    AAAA\n    -----END PRIVATE KEY-----\n");
    repo.write("values/cluster.yaml", cluster.as_bytes());
    repo.kiln(&["validate"]).code(2).stderr(
        "error: the sealing certificate is a PEM `PRIVATE KEY`, not a `CERTIFICATE` (use the certificate, e.g. `kubeseal --fetch-cert`, never the private key)
  --> values/cluster.yaml:10:3
  = key: sealing.certificate
  = help: paste the controller's certificate (PEM, `-----BEGIN CERTIFICATE-----`) as a block scalar: `certificate: |`",
    );
}

/// The sealing repository with the node templates of this repository and
/// the given extra values in values/cluster.yaml.
fn bootstrap_repo(extra: &str) -> Repo {
    let repo = sealing_repo();
    for template in ["bootstrap.yaml", "sealing-certificate.yaml"] {
        let text = std::fs::read_to_string(root().join("templates/nodes").join(template)).unwrap();
        repo.write(&format!("templates/nodes/{template}"), text.as_bytes());
    }
    let cluster = repo.read("values/cluster.yaml").replace("name: demo\n", "name: demo\nk3sVersion: v1.31.7+k3s1\n");
    let cluster = cluster.replace("  revision: main\n", &format!("  revision: main\n{extra}"));
    repo.write("values/cluster.yaml", cluster.as_bytes());
    repo
}

/// What `sh` assigns to `variable` on its line of the script.
fn shell_assignment(script: &str, variable: &str) -> String {
    let line = script.lines().find(|line| line.starts_with(&format!("{variable}="))).unwrap();
    let output = Command::new("sh").arg("-c").arg(format!("{line}\nprintf %s \"${variable}\"")).output().expect("sh");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn bootstrap_installs_the_sealing_key_and_repo_credential_from_quoted_local_paths() {
    let key = "/root/my keys/$(reboot)'s.key";
    let credentials = "/root/creds;rm -rf x.env";
    let repo = bootstrap_repo(&format!("  credentialsFile: \"{credentials}\"\n"));
    let cluster = repo.read("values/cluster.yaml").replace("sealing:\n", &format!("sealing:\n  keyFile: \"{key}\"\n"));
    repo.write("values/cluster.yaml", cluster.as_bytes());
    repo.kiln(&["render"]).code(0);
    let script = repo.read("rendered/nodes/n1/bootstrap.sh");
    assert_eq!(shell_assignment(&script, "sealing_key"), key);
    assert_eq!(shell_assignment(&script, "repo_credentials"), credentials);
    // The Secrets exist before the manifests that make k3s install Argo CD are applied.
    let at = |text: &str| script.find(text).unwrap_or_else(|| panic!("{text} not in\n{script}"));
    assert!(
        at("sealedsecrets.bitnami.com/sealed-secrets-key=active")
            < at("until k3s kubectl apply -f \"$here/manifests\"")
    );
    assert!(at("argocd.argoproj.io/secret-type=repository") < at("until k3s kubectl apply -f \"$here/manifests\""));
    assert!(at("test -s \"$sealing_key\"") < at("curl -sfL"));
    let status = Command::new("sh").arg("-n").arg(repo.path().join("rendered/nodes/n1/bootstrap.sh")).status().unwrap();
    assert!(status.success());
    // The certificate beside it is the declared one, byte for byte in DER.
    let rendered = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(repo.path().join("rendered/nodes/n1/sealing-certificate.pem"))
        .output()
        .unwrap();
    let declared = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(repo.path().join("keys/sealing.crt"))
        .output()
        .unwrap();
    assert!(rendered.status.success());
    assert_eq!(rendered.stdout, declared.stdout);
}

#[test]
fn bootstrap_refuses_while_the_sealing_certificate_is_a_placeholder() {
    let repo = bootstrap_repo("");
    repo.kiln(&["render"]).code(0);
    assert!(!repo.read("rendered/nodes/n1/bootstrap.sh").contains("sealing.placeholder"));
    let cluster = repo.read("values/cluster.yaml").replace("sealing:\n", "sealing:\n  placeholder: true\n");
    repo.write("values/cluster.yaml", cluster.as_bytes());
    repo.kiln(&["render"]).code(0);
    let script = repo.read("rendered/nodes/n1/bootstrap.sh");
    let gate = "echo \"sealing.placeholder is set in values/cluster.yaml: declare your controller's certificate, re-seal every secret and render (README, \\\"Runbook: sealing a secret\\\"); \\`kiln seal --list-placeholders\\` lists what is left\" >&2\nexit 1\n";
    let at = script.find(gate).unwrap_or_else(|| panic!("no gate in\n{script}"));
    assert!(at < script.find("curl -sfL").unwrap() && at < script.find("install -D").unwrap());
}
