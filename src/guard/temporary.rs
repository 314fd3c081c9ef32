//! The registry of temporary files and folders being written, so that a signal can remove them before the
//! process exits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

/// Temporary files and folders being written (an output's temporary file, a report's staging folder, spill
/// files), so that a signal can remove them before the process exits.
static TEMPORARY: LazyLock<Mutex<BTreeMap<u64, PathBuf>>> =
    LazyLock::new(|| Mutex::new(BTreeMap::new()));
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A temporary path registered for removal on a signal; dropping it unregisters it (the owner removed or
/// published the path itself).
#[derive(Debug)]
pub struct Temporary(u64);

impl Temporary {
    /// Registers `path` (a file, or a folder removed with everything in it).
    pub fn register(path: &Path) -> Self {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        TEMPORARY
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, path.to_path_buf());
        Temporary(id)
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        TEMPORARY
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.0);
    }
}

/// Removes every registered temporary file and folder (on a signal, before exiting). Safe to call from any
/// thread, more than once.
pub fn remove_temporaries() {
    remove_where(|_| true);
}

/// Removes the registered temporaries that `which` accepts.
fn remove_where(which: impl Fn(&Path) -> bool) {
    let paths: Vec<PathBuf> = TEMPORARY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .filter(|p| which(p))
        .cloned()
        .collect();
    for path in paths {
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {
                let _ = std::fs::remove_dir_all(&path);
            }
            Ok(_) => {
                let _ = std::fs::remove_file(&path);
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_temporaries_are_removed_and_dropped_ones_are_not() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (kept, removed, folder) = (
            dir.path().join("kept"),
            dir.path().join("removed"),
            dir.path().join("folder"),
        );
        std::fs::write(&kept, b"x").expect("write");
        std::fs::write(&removed, b"x").expect("write");
        std::fs::create_dir_all(folder.join("inner")).expect("mkdir");
        let unregistered = Temporary::register(&kept);
        drop(unregistered);
        let _file = Temporary::register(&removed);
        let _folder = Temporary::register(&folder);
        // Only this test's: other tests may have temporaries of their own registered meanwhile.
        remove_where(|p| p.starts_with(dir.path()));
        assert!(kept.exists());
        assert!(!removed.exists());
        assert!(!folder.exists());
    }
}
