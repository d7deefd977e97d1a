//! A Debian package's files, without root: `apt-get download` the `.deb` (with the system's
//! package lists, or with lists of our own when those are missing or stale) and unpack it with
//! `dpkg-deb -x`. Used for real speech recordings (`pocketsphinx-testdata`) by `viva loadtest`
//! and the tests.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DebError(String);

/// Unpacks `package` into `destination` (which must not exist yet), working in `work` (created,
/// then removed). The unpacked tree is renamed into place, so a concurrent caller never sees a
/// half-unpacked package; when another caller was first, its copy is kept.
pub fn fetch(package: &str, destination: &Path, work: &Path) -> Result<(), DebError> {
    std::fs::create_dir_all(work).map_err(|e| DebError(format!("{}: {e}", work.display())))?;
    let result = (|| {
        download(package, work)?;
        let deb = deb_in(work, package)
            .ok_or_else(|| DebError(format!("`apt-get download {package}` wrote no .deb")))?;
        let unpacked = work.join("unpacked");
        run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked))?;
        match std::fs::rename(&unpacked, destination) {
            Ok(()) => Ok(()),
            Err(_) if destination.is_dir() => Ok(()),
            Err(e) => Err(DebError(format!("{}: {e}", destination.display()))),
        }
    })();
    let _ = std::fs::remove_dir_all(work);
    result
}

/// `apt-get download PACKAGE` into `work`, with the system's package lists or, when that fails,
/// with lists of our own fetched into `work` (`apt-get update` needs no root when it writes to a
/// folder of ours).
fn download(package: &str, work: &Path) -> Result<(), DebError> {
    let Err(with_system_lists) = run(Command::new("apt-get")
        .args(["download", package])
        .current_dir(work))
    else {
        return Ok(());
    };
    let lists = work.join("lists");
    let cache = work.join("cache");
    for dir in [lists.join("partial"), cache.join("archives/partial")] {
        std::fs::create_dir_all(&dir).map_err(|e| DebError(format!("{}: {e}", dir.display())))?;
    }
    let own_lists = [
        format!("Dir::State::Lists={}", lists.display()),
        format!("Dir::Cache={}", cache.display()),
        "Debug::NoLocking=1".to_string(),
    ];
    let apt_get = |args: &[&str]| {
        let mut command = Command::new("apt-get");
        for option in &own_lists {
            command.arg("-o").arg(option);
        }
        command.args(args).current_dir(work);
        command
    };
    run(&mut apt_get(&["update"]))
        .and_then(|()| run(&mut apt_get(&["download", package])))
        .map_err(|e| {
            DebError(format!(
                "`apt-get download {package}` failed ({with_system_lists}), and with package \
                 lists of our own too ({e})"
            ))
        })
}

fn deb_in(work: &Path, package: &str) -> Option<PathBuf> {
    std::fs::read_dir(work)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{package}_")) && n.ends_with(".deb"))
        })
}

fn run(command: &mut Command) -> Result<(), DebError> {
    let output = command
        .output()
        .map_err(|e| DebError(format!("cannot run {:?}: {e}", command.get_program())))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(DebError(format!(
            "{:?} failed ({}): {}",
            command.get_program(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}
