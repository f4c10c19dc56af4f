//! Files only their user reads: the spool's batches and the metric slots.
//! Mode 0700 directories and 0600 files on Unix. On Windows they are under
//! the user's profile (`%LOCALAPPDATA%`), whose inherited ACLs already keep
//! other users out.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// `dir` and its missing parents, private.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A new file, private; an error if `path` exists.
pub(crate) fn create_private_file(path: &Path) -> io::Result<fs::File> {
    private_options().create_new(true).open(path)
}

/// `path`, made private if it does not exist, opened for writing (a lock file).
pub(crate) fn open_private_file(path: &Path) -> io::Result<fs::File> {
    private_options().create(true).truncate(false).open(path)
}

/// Writes `bytes` to `temp`, then renames it to `path`: a reader sees the
/// old file or the new one, never half of one, even if the process dies.
pub(crate) fn replace_atomically(temp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let _ = fs::remove_file(temp);
    let mut file = create_private_file(temp)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(error) = written.and_then(|()| fs::rename(temp, path)) {
        let _ = fs::remove_file(temp);
        return Err(error);
    }
    Ok(())
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}
