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
internal static unsafe class DirectWrite
{
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
            var flags = Libc.Fcntl(fd, Libc.F_GETFL, 0);
            if (flags < 0)
                throw Failure("fcntl(F_GETFL)");
            if (Libc.Fcntl(fd, Libc.F_SETFL, flags | Libc.O_DIRECT) != 0)
            {
                if (Libc.LastError == Libc.EINVAL)
                    return DirectWriteOutcome.Unsupported;
                throw Failure("fcntl(F_SETFL, O_DIRECT)");
            }
            long done = 0;
            try
            {
                // A short direct write leaves an unaligned offset; whatever is left then goes through the page cache.
                while (done < aligned && done % BlockBuffer.Alignment == 0)
                {
                    var n = Libc.PWrite(fd, start + done, (nuint)(aligned - done), done);
                    if (n >= 0)
                    {
                        done += n;
                        continue;
                    }
                    var errno = Libc.LastError;
                    if (errno == Libc.EINTR)
                        continue;
                    if (errno == Libc.EINVAL && done == 0)
                        return DirectWriteOutcome.Unsupported;
                    throw Failure("direct write");
                }
            }
            finally
            {
                Libc.Fcntl(fd, Libc.F_SETFL, flags);
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

    // ENOSPC in the exception's HResult is what the core recognises as a full disk.
    private static IOException Failure(string call) => Libc.Failure($"{call} of an object file");
}
