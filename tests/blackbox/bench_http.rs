//! `ledger bench ...` runs the `ledger-bench` binary found beside `ledger`, passing
//! its arguments and exit status through, and names the build command when it is
//! missing. The benchmarks themselves are tested in the bench crate
//! (`cargo test -p ledger-bench`).

use std::path::{Path, PathBuf};

use tokio::process::Command;

/// A folder holding only a `ledger` binary (a hard link to the one under test, so
/// `current_exe` names this folder), beside the test's target folder.
fn lone_ledger() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a scratch folder");
    let ledger = dir
        .path()
        .join(format!("ledger{}", std::env::consts::EXE_SUFFIX));
    let original = Path::new(env!("CARGO_BIN_EXE_ledger"));
    if std::fs::hard_link(original, &ledger).is_err() {
        std::fs::copy(original, &ledger).expect("copy the ledger binary");
    }
    (dir, ledger)
}

#[tokio::test]
async fn bench_without_ledger_bench_names_the_build_command() {
    let (_dir, ledger) = lone_ledger();
    let output = Command::new(&ledger)
        .args(["bench", "latency", "--json"])
        .output()
        .await
        .expect("run ledger");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "stdout stays clean for --json");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cargo build --release -p ledger-bench"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn bench_runs_ledger_bench_with_its_arguments_and_exit_status() {
    use std::os::unix::fs::PermissionsExt;

    let (dir, ledger) = lone_ledger();
    // A stand-in that echoes its arguments one per line and fails distinctly.
    let fake = dir.path().join("ledger-bench");
    std::fs::write(&fake, "#!/bin/sh\nprintf '%s\\n' \"$@\"\nexit 3\n").expect("write");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for args in [
        &["latency", "--json", "--sockets", "20", "--seconds", "1"][..],
        &["import", "--help"][..],
        &["--help"][..],
    ] {
        let output = Command::new(&ledger)
            .arg("bench")
            .args(args)
            .output()
            .await
            .expect("run ledger");
        assert_eq!(output.status.code(), Some(3), "{args:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(stdout.lines().collect::<Vec<_>>(), args);
    }
}
