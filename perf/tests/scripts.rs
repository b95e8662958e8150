//! The measuring scripts next to this crate (`perf/*.sh`): each parses, and each run without
//! arguments prints its usage (the lines of its header comment) and exits 2 without
//! starting anything. Their measurements need DPDK, testpmd and perf, so they are run by
//! hand, not here; this keeps a refactor of the shared `lib.sh` from breaking one unseen.

use std::path::PathBuf;
use std::process::Command;

fn scripts() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("perf/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sh"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_script_parses() {
    let all = scripts();
    for want in [
        "lib.sh",
        "profile.sh",
        "side-by-side.sh",
        "versus-testpmd.sh",
    ] {
        assert!(
            all.iter().any(|p| p.ends_with(want)),
            "perf/{want} is missing: {all:?}"
        );
    }
    for s in &all {
        let out = Command::new("bash")
            .arg("-n")
            .arg(s)
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "{}: {}",
            s.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_script_without_arguments_prints_its_usage_and_exits_2() {
    for s in scripts().iter().filter(|p| !p.ends_with("lib.sh")) {
        let name = s.file_name().unwrap().to_string_lossy().into_owned();
        let out = Command::new("bash").arg(s).output().expect("bash runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{name}: {text}");
        assert!(
            text.contains(&format!("perf/{name} CONFIG")),
            "{name}: the usage names the script and its first argument: {text}"
        );
        assert!(
            !text.contains("#!") && !text.lines().any(|l| l.starts_with('#')),
            "{name}: the usage is the header without its comment marks: {text}"
        );
    }
}
