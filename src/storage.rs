//! Files the server keeps on disk (the SQLite database, the cookie key, uploads) are private to
//! the account it runs as: directories 0700, files 0600, whatever the umask says.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

const PRIVATE_DIR: u32 = 0o700;
const PRIVATE_FILE: u32 = 0o600;

/// Creates `path` (and any missing parents) as a private directory, and makes an existing one
/// private.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR)
        .create(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(PRIVATE_DIR))
}

/// Writes a new private file in a directory made private if it is missing. Fails if the file
/// exists.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            create_private_dir(dir)?;
        }
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE)
        .open(path)?
        .write_all(contents)
}

/// Makes an existing file private, or creates it empty and private (a database file created
/// this way before its engine opens it keeps these permissions, and SQLite gives its journal
/// files the same).
pub fn ensure_private_file(path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(PRIVATE_FILE)
        .open(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(PRIVATE_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn directories_and_files_are_private_whatever_existed_before() {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("data/files");
        create_private_dir(&dir).expect("create");
        assert_eq!(mode(&dir), 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        create_private_dir(&dir).expect("again");
        assert_eq!(mode(&dir), 0o700, "an existing directory is tightened");

        let file = dir.join("upload");
        write_private(&file, b"bytes").expect("write");
        assert_eq!(mode(&file), 0o600);
        assert!(write_private(&file, b"again").is_err(), "never overwrites");

        let db = root.path().join("viva.db");
        std::fs::write(&db, b"").expect("plain write");
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        ensure_private_file(&db).expect("tighten");
        assert_eq!(mode(&db), 0o600);
    }
}
