using System.Runtime.InteropServices;

namespace Fs.Core;

/// <summary>
/// The libc calls the core makes where .NET has no equivalent (directories as descriptors, syncfs, flock, O_DIRECT,
/// huge-page mappings), with the constants they take; the values are the same on x86_64 and aarch64 unless said
/// otherwise.
/// </summary>
internal static unsafe partial class Libc
{
    public const int O_RDONLY = 0;
    public const int O_RDWR = 2;
    public const int O_CREAT = 0x40;
    public const int O_WRONLY = 1;
    public const int O_CLOEXEC = 0x80000;
    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_FOLLOW = 0x400;

    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EEXIST = 17;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int EOPNOTSUPP = 95;

    public const int F_GETFL = 3;
    public const int F_SETFL = 4;

    public const int PROT_READ = 1;
    public const int PROT_WRITE = 2;
    public const int MAP_PRIVATE = 2;
    public const int MAP_ANONYMOUS = 0x20;
    public const int MADV_HUGEPAGE = 14;
    public const int MADV_POPULATE_WRITE = 23;

    /// <summary>What mmap returns on failure.</summary>
    public static readonly void* MAP_FAILED = (void*)-1;

    public const int LOCK_EX = 2;
    public const int LOCK_NB = 4;

    /// <summary>O_DIRECT is one of the few open flags whose value differs between the Linux architectures .NET runs on.</summary>
    public static readonly int O_DIRECT = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x10000 : 0x4000;

    /// <summary>O_TMPFILE includes O_DIRECTORY, whose value differs between the architectures too.</summary>
    public static readonly int O_TMPFILE = 0x400000 | (RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x4000 : 0x10000);

    /// <summary>The errno of the last call made here.</summary>
    public static int LastError => Marshal.GetLastPInvokeError();

    /// <summary>An IOException for the last call's errno, carrying it as HResult as .NET's own I/O exceptions on Unix do.</summary>
    public static IOException Failure(string what)
    {
        var errno = LastError;
        return new IOException($"{what} failed: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    public static partial int Syncfs(int fd);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    public static partial nint PWrite(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "linkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int LinkAt(int oldDirectory, string oldPath, int newDirectory, string newPath, int flags);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    public static partial nint PRead(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial void* MMap(void* address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int MUnmap(void* address, nuint length);

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    public static partial int MAdvise(void* address, nuint length, int advice);
}
