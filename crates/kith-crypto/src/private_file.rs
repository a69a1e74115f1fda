//! Writing secrets to disk: a fresh temporary file only this user can read,
//! flushed, then renamed over the target, so a reader sees the old file or
//! the new one and nobody else ever sees either.

use rand::RngCore;
use std::io::Write;
use std::path::Path;

/// Replaces `path` with `bytes`, mode 0600.
///
/// The temporary file has a random name and is created exclusively
/// (`O_EXCL`), so neither a stale file with a wider mode nor a planted
/// symbolic link can receive the secret.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("secret");
    let mut suffix = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut suffix);
    let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = dir.join(format!(".{name}.{suffix}.tmp"));
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_with_a_private_file_and_ignores_stale_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        // A stale, world-readable temporary under the old fixed name changes nothing.
        std::fs::write(dir.path().join(".secret.key.tmp"), b"stale").unwrap();
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 2, "only the target and the unrelated stale file remain");
    }
}
