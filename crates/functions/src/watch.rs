//! `--watch`: a function's code directory is checked every [`WATCH_INTERVAL`](crate::settings::WATCH_INTERVAL) by a
//! fingerprint of its files (paths, sizes, modification times); when it moves, new invocations start new
//! environments.
//!
//! A poll rather than file-system notifications: it needs no dependency, sees changes on every file system (bind
//! mounts and network shares that inotify misses), and its cost is bounded (at most [`MAX_FILES`] entries per
//! check, on the blocking pool, only for functions of a server started with `--watch`).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::pool::PoolCore;

/// The most directory entries one check looks at.
pub(crate) const MAX_FILES: usize = 20_000;

/// The fingerprint of `pool`'s code directory now, which [`watch`] compares its checks with.
pub(crate) fn baseline(pool: &PoolCore) -> u64 {
    fingerprint(&pool.spec.code_dir, &skipped(pool))
}

/// The server's own files (function logs, runtime clients) may sit under a code directory (a data directory inside
/// the project): writing them is not a code change.
fn skipped(pool: &PoolCore) -> [PathBuf; 2] {
    [pool.settings.log_dir.clone(), pool.settings.runtimes_dir.clone()]
}

/// Watches `pool`'s code directory, whose fingerprint was `last` ([`baseline`]), until the server shuts down.
pub(crate) async fn watch(pool: Arc<PoolCore>, mut last: u64) {
    let dir = pool.spec.code_dir.clone();
    let skip = skipped(&pool);
    loop {
        tokio::select! {
            () = pool.shutdown.cancelled() => return,
            () = tokio::time::sleep(pool.settings.watch_interval) => {}
        }
        let now = fingerprint_blocking(&dir, &skip).await;
        if now != last {
            last = now;
            pool.code_changed();
        }
    }
}

async fn fingerprint_blocking(dir: &Path, skip: &[PathBuf]) -> u64 {
    let (dir, skip) = (dir.to_owned(), skip.to_vec());
    tokio::task::spawn_blocking(move || fingerprint(&dir, &skip)).await.unwrap_or_default()
}

/// A hash of every file's relative path, size and modification time under `dir`, outside the directories of
/// `skip` (at most [`MAX_FILES`] entries, visited in sorted order so the same tree hashes the same).
pub(crate) fn fingerprint(dir: &Path, skip: &[PathBuf]) -> u64 {
    let mut hasher = DefaultHasher::new();
    let mut stack = vec![dir.to_owned()];
    let mut seen = 0;
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else { continue };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            seen += 1;
            if seen > MAX_FILES {
                return hasher.finish();
            }
            let Ok(meta) = entry.metadata() else { continue };
            entry.path().strip_prefix(dir).unwrap_or(&entry.path()).hash(&mut hasher);
            if meta.is_dir() {
                if !skip.contains(&entry.path()) {
                    stack.push(entry.path());
                }
                continue;
            }
            meta.len().hash(&mut hasher);
            meta.modified().ok().hash(&mut hasher);
        }
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn a_changed_file_changes_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("lib")).unwrap();
        std::fs::write(dir.path().join("lib/a.txt"), "1").unwrap();
        let logs = dir.path().join("data/functions");
        std::fs::create_dir_all(&logs).unwrap();
        let skip = [logs.clone()];
        let first = fingerprint(dir.path(), &skip);
        assert_eq!(fingerprint(dir.path(), &skip), first);
        std::fs::write(logs.join("f.log"), "START RequestId: …").unwrap();
        assert_eq!(fingerprint(dir.path(), &skip), first, "the server's own files are not code");
        std::fs::write(dir.path().join("lib/a.txt"), "22").unwrap();
        let second = fingerprint(dir.path(), &skip);
        assert_ne!(second, first);
        std::fs::write(dir.path().join("b.txt"), "").unwrap();
        assert_ne!(fingerprint(dir.path(), &skip), second);
    }
}
