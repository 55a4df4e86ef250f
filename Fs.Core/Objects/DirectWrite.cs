using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Fs.Core.Objects;

/// <summary>How a direct write of an object went.</summary>
internal enum DirectWriteOutcome
{
    /// <summary>The whole object is in the file.</summary>
    Written,

    /// <summary>Nothing was written: the memory is not aligned for direct I/O (write it the ordinary way).</summary>
    Unaligned,

    /// <summary>Nothing was written: the file system refuses direct I/O (write it, and later objects, the ordinary way).</summary>
    Unsupported,
}

/// <summary>
/// Writes a new object file with O_DIRECT: the bulk of the bytes goes from the caller's memory to the disk without
/// being copied into the page cache, which on these machines costs more than the disk write itself. The unaligned
/// tail is written through the page cache. Durability is unchanged: like buffered writes, direct writes are on
/// stable storage only after the store's syncfs (which flushes the disk's cache and the file's metadata).
/// </summary>
internal static unsafe partial class DirectWrite
{
    private const int FGetFl = 3;
    private const int FSetFl = 4;
    private const int EIntr = 4;
    private const int EInval = 22;

    // O_DIRECT is one of the few open flags whose value differs between the Linux architectures .NET runs on.
    private static readonly int ODirect = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x10000 : 0x4000;

    /// <summary>Writes <paramref name="data"/> at offset 0 of the empty file behind <paramref name="handle"/>; blocks until done.</summary>
    public static DirectWriteOutcome Write(SafeFileHandle handle, ReadOnlyMemory<byte> data)
    {
        if (!OperatingSystem.IsLinux())
            return DirectWriteOutcome.Unsupported;
        using var pin = data.Pin();
        var start = (byte*)pin.Pointer;
        if ((nuint)start % BlockBuffer.Alignment != 0)
            return DirectWriteOutcome.Unaligned;
        var aligned = data.Length & ~(BlockBuffer.Alignment - 1);

        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            var fd = (int)handle.DangerousGetHandle();
            var flags = Fcntl(fd, FGetFl, 0);
            if (flags < 0)
                throw Failure("fcntl(F_GETFL)");
            if (Fcntl(fd, FSetFl, flags | ODirect) != 0)
            {
                if (Marshal.GetLastPInvokeError() == EInval)
                    return DirectWriteOutcome.Unsupported;
                throw Failure("fcntl(F_SETFL, O_DIRECT)");
            }
            long done = 0;
            try
            {
                // A short direct write leaves an unaligned offset; whatever is left then goes through the page cache.
                while (done < aligned && done % BlockBuffer.Alignment == 0)
                {
                    var n = PWrite(fd, start + done, (nuint)(aligned - done), done);
                    if (n >= 0)
                    {
                        done += n;
                        continue;
                    }
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == EIntr)
                        continue;
                    if (errno == EInval && done == 0)
                        return DirectWriteOutcome.Unsupported;
                    throw Failure("direct write");
                }
            }
            finally
            {
                Fcntl(fd, FSetFl, flags);
            }
            RandomAccess.Write(handle, data.Span[(int)done..], done);
            return DirectWriteOutcome.Written;
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    private static IOException Failure(string call)
    {
        var errno = Marshal.GetLastPInvokeError();
        // The errno as HResult, as .NET's own I/O exceptions on Unix carry it: ENOSPC is recognised by the core.
        return new IOException($"{call} of an object file failed: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    private static partial nint PWrite(int fd, byte* buffer, nuint count, long offset);
}
