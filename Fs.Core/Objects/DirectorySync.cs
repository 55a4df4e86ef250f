namespace Fs.Core.Objects;

/// <summary>Makes a directory's entries durable (fsync on the directory), or everything written to its file system (syncfs).</summary>
/// <remarks>.NET cannot open a directory as a file handle, so this goes to libc directly.</remarks>
internal static class DirectorySync
{
    /// <summary>fsync(2) on the directory at <paramref name="path"/>; a no-op where directories cannot be synced.</summary>
    public static void Flush(string path) => Sync(path, Libc.Fsync, "fsync");

    /// <summary>syncfs(2): every file written on the file system holding <paramref name="path"/> is on stable storage on return.</summary>
    public static void FlushFileSystem(string path) => Sync(path, Libc.Syncfs, "syncfs");

    private static void Sync(string path, Func<int, int> sync, string call)
    {
        if (OperatingSystem.IsWindows())
            return;
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0)
            throw Failure("open", path);
        try
        {
            while (sync(fd) != 0)
            {
                var errno = Libc.LastError;
                if (errno == Libc.EINTR)
                    continue;
                // Some file systems do not support fsync on directories; their renames are as durable as they get.
                if (errno == Libc.EINVAL)
                    return;
                throw Failure(call, path);
            }
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    private static IOException Failure(string call, string path) => Libc.Failure($"{call} of directory '{path}'");
}
