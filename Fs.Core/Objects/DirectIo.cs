using Microsoft.Win32.SafeHandles;

namespace Fs.Core.Objects;

/// <summary>How a direct read or write of an object went.</summary>
internal enum DirectIoOutcome
{
    /// <summary>The whole object was written or read.</summary>
    Done,

    /// <summary>Nothing was done: the memory is not aligned or too small for direct I/O (use the page cache).</summary>
    Unaligned,

    /// <summary>Nothing was done: the file system refuses direct I/O (use the page cache, now and later).</summary>
    Unsupported,
}

/// <summary>
/// Object files written and read with O_DIRECT: the bytes go between the caller's memory and the disk without being
/// copied through the page cache, which on these machines costs more CPU than the disk transfer itself. Durability is
/// unchanged: like buffered writes, direct writes are on stable storage only after the store's syncfs (which flushes
/// the disk's cache and the file's metadata). Reads stay coherent with buffered writes: the kernel writes a file's
/// dirty pages back before a direct read of them.
/// </summary>
internal static unsafe class DirectIo
{
    /// <summary>
    /// Writes <paramref name="data"/> at offset 0 of the empty file behind <paramref name="handle"/>; blocks until done.
    /// The page-aligned bulk goes direct, the unaligned tail through the page cache.
    /// </summary>
    public static DirectIoOutcome Write(SafeFileHandle handle, ReadOnlyMemory<byte> data)
    {
        using var pin = data.Pin();
        var start = (byte*)pin.Pointer;
        if ((nuint)start % BlockBuffer.Alignment != 0)
            return DirectIoOutcome.Unaligned;
        var aligned = data.Length & ~(BlockBuffer.Alignment - 1);
        long done = 0;
        var outcome = WithDirect(handle, fd =>
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
                if (!Retry(done, "write", out var refused))
                    return refused;
            }
            return DirectIoOutcome.Done;
        });
        if (outcome == DirectIoOutcome.Done)
            RandomAccess.Write(handle, data.Span[(int)done..], done);
        return outcome;
    }

    /// <summary>
    /// Reads the whole <paramref name="length"/>-byte file behind <paramref name="handle"/> into the start of
    /// <paramref name="destination"/>, which must be page-aligned and hold the length rounded up to a page; blocks until done.
    /// </summary>
    public static DirectIoOutcome Read(SafeFileHandle handle, Memory<byte> destination, int length)
    {
        var rounded = ((long)length + BlockBuffer.Alignment - 1) & ~(long)(BlockBuffer.Alignment - 1);
        using var pin = destination.Pin();
        var start = (byte*)pin.Pointer;
        if ((nuint)start % BlockBuffer.Alignment != 0 || destination.Length < rounded)
            return DirectIoOutcome.Unaligned;
        long done = 0;
        var outcome = WithDirect(handle, fd =>
        {
            // Every request is whole pages; the file's end makes the last one short, and the kernel allows that.
            while (done < length)
            {
                var n = Libc.PRead(fd, start + done, (nuint)(rounded - done), done);
                if (n > 0)
                {
                    done += n;
                    if (done < length && done % BlockBuffer.Alignment != 0)
                        break;
                    continue;
                }
                if (n == 0)
                    throw new IOException($"object file shrank while being read ({done} of {length} bytes)");
                if (!Retry(done, "read", out var refused))
                    return refused;
            }
            return DirectIoOutcome.Done;
        });
        // A short read in the middle of a file (rare: a signal) leaves an unaligned offset; finish through the page cache.
        while (outcome == DirectIoOutcome.Done && done < length)
        {
            var n = RandomAccess.Read(handle, destination.Span[(int)done..length], done);
            if (n == 0)
                throw new IOException($"object file shrank while being read ({done} of {length} bytes)");
            done += n;
        }
        return outcome;
    }

    /// <summary>Runs <paramref name="transfer"/> on the handle's descriptor with O_DIRECT set, and clears it afterwards.</summary>
    private static DirectIoOutcome WithDirect(SafeFileHandle handle, Func<int, DirectIoOutcome> transfer)
    {
        if (!OperatingSystem.IsLinux())
            return DirectIoOutcome.Unsupported;
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
                    return DirectIoOutcome.Unsupported;
                throw Failure("fcntl(F_SETFL, O_DIRECT)");
            }
            try
            {
                return transfer(fd);
            }
            finally
            {
                Libc.Fcntl(fd, Libc.F_SETFL, flags);
            }
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    /// <summary>After a failed call: true to try again (EINTR); false with the outcome when the file system refuses direct I/O up front.</summary>
    private static bool Retry(long done, string what, out DirectIoOutcome refused)
    {
        refused = DirectIoOutcome.Unsupported;
        var errno = Libc.LastError;
        if (errno == Libc.EINTR)
            return true;
        if (errno == Libc.EINVAL && done == 0)
            return false;
        throw Failure($"direct {what}");
    }

    // ENOSPC in the exception's HResult is what the core recognises as a full disk.
    private static IOException Failure(string call) => Libc.Failure($"{call} of an object file");
}
