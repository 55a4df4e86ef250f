using System.Runtime.InteropServices;

namespace Fs.Core.Objects;

/// <summary>Makes a directory's entries durable (fsync on the directory), or everything written to its file system (syncfs).</summary>
/// <remarks>.NET cannot open a directory as a file handle, so this goes to libc directly.</remarks>
internal static partial class DirectorySync
{
    private const int ORdOnly = 0;
    private const int OCloExec = 0x80000; // same value on x86_64 and aarch64
    private const int EIntr = 4;
    private const int EInval = 22;

    /// <summary>fsync(2) on the directory at <paramref name="path"/>; a no-op where directories cannot be synced.</summary>
    public static void Flush(string path) => Sync(path, Fsync, "fsync");

    /// <summary>syncfs(2): every file written on the file system holding <paramref name="path"/> is on stable storage on return.</summary>
    public static void FlushFileSystem(string path) => Sync(path, Syncfs, "syncfs");

    private static void Sync(string path, Func<int, int> sync, string call)
    {
        if (OperatingSystem.IsWindows())
            return;
        var fd = Open(path, ORdOnly | OCloExec);
        if (fd < 0)
            throw Failure("open", path);
        try
        {
            while (sync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EIntr)
                    continue;
                // Some file systems do not support fsync on directories; their renames are as durable as they get.
                if (errno == EInval)
                    return;
                throw Failure(call, path);
            }
        }
        finally
        {
            Close(fd);
        }
    }

    private static IOException Failure(string call, string path)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{call} of directory '{path}' failed: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int Syncfs(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
